using System.Globalization;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Bruno.Cluster.Remote;
using Bruno.Core;
using Bruno.Core.Cluster;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Bruno.Testing;

namespace Bruno.Cluster.Tests;

/// <summary>
/// Mutual TLS between the tiers (docs/decisions/0036): a store node (in process, real Kestrel on a real socket) whose
/// store port requires a client certificate from the deployment's authority, reached through
/// <see cref="RemoteStorageEngine"/> with <see cref="ClusterTls"/>'s handler. Certificates are made by the test
/// (<see cref="TestAuthority"/>) and written as the PEM files a TLS Secret mounts.
/// </summary>
public sealed class ClusterTlsTests : IAsyncLifetime
{
    private const string Token = "store-tls-token-0123456789abcdefghij";
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-tls-").FullName;
    private readonly TestAuthority _authority = TestAuthority.Create("bruno-test-ca");
    private readonly TestAuthority _stranger = TestAuthority.Create("someone-elses-ca");
    private RunningServer _node = null!;
    private TlsFiles _nodeFiles = null!;
    private TlsFiles _gatewayFiles = null!;
    private Uri _grpc = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _nodeFiles = _authority.Issue(Path.Combine(_root, "node"), "store-1");
        _gatewayFiles = _authority.Issue(Path.Combine(_root, "gateway"), "gateway");
        var catalog = TestPostgres.NewDatabase();
        (_node, var port) = await RunningServer.StartOnFreePortAsync(port => new Dictionary<string, string?>(_nodeFiles.Settings())
        {
            ["Bruno:Cluster:Role"] = "store",
            ["Bruno:Cluster:NodeName"] = "store-1",
            ["Bruno:Cluster:AdvertiseUrl"] = $"https://127.0.0.1:{port}",
            ["Bruno:Cluster:StorePort"] = port.ToString(CultureInfo.InvariantCulture),
            ["Bruno:Cluster:StoreBind"] = "127.0.0.1",
            ["Bruno:Cluster:Token"] = Token,
            ["Bruno:Catalog:Provider"] = "postgres",
            ["Bruno:Catalog:ConnectionString"] = catalog,
        });
        _grpc = new Uri($"https://127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        await _node.DisposeAsync();
        _authority.Dispose();
        _stranger.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static TenantId NewTenant() => TenantId.Parse($"tls-{Guid.NewGuid():N}"[..20]);

    private static StoredRow Row(string id) => new() { Id = id, Text = "The ferry leaves at noon.", Vector = new float[] { 1, 2, 3, 4 } };

    private static readonly CollectionSpec Docs = new("docs", 4, "test-model");

    /// <summary>A client of the node through <paramref name="tls"/>'s handler, recording the thumbprint of every node certificate it is shown.</summary>
    private RemoteStorageEngine Client(ClusterTls tls, List<string>? seen = null)
    {
        var handler = tls.CreateHandler();
        var check = handler.SslOptions.RemoteCertificateValidationCallback!;
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            lock (seen ?? [])
            {
                seen?.Add(((X509Certificate2)certificate!).Thumbprint);
            }

            return check(sender, certificate, chain, errors);
        };
        return new RemoteStorageEngine("store-1", _grpc, Token, handler);
    }

    /// <summary>A handler that checks the node's certificate as a gateway does but presents <paramref name="certificate"/> (none when null).</summary>
    private SocketsHttpHandler Presenting(X509Certificate2? certificate)
    {
        var trust = new ClusterTls(_gatewayFiles.Options());
        var handler = RemoteStorageEngine.SocketHandler();
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, c, chain, errors) => trust.Trusts(c, chain, errors, ClusterTlsMaterial.ServerAuthentication),
            ClientCertificates = certificate is null ? null : [certificate],
        };
        return handler;
    }

    private static IEnumerable<Exception> Causes(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException ?? (x as Grpc.Core.RpcException)?.Status.DebugException)
        {
            yield return x;
        }
    }

    private static string Thumbprint(TlsFiles files) => X509CertificateLoader.LoadCertificateFromFile(files.CertificateFile).Thumbprint;

    [Fact]
    public async Task AGatewayWithACertificateFromTheAuthority_IsServed()
    {
        var tenant = NewTenant();
        var seen = new List<string>();
        using var client = Client(new ClusterTls(_gatewayFiles.Options()), seen);

        await client.CreateTenantAsync(tenant, Ct);
        var docs = await client.Tenant(tenant).EnsureCollectionAsync(Docs, Ct);
        Assert.Equal(1, await docs.UpsertAsync([Row("ferry")], Ct));

        Assert.Equal("The ferry leaves at noon.", (await docs.GetAsync("ferry", Ct))!.Text);
        Assert.Equal([Thumbprint(_nodeFiles)], seen); // one handshake, with the node's certificate
    }

    [Fact]
    public async Task AClientWithoutACertificate_IsRefusedAtTheHandshake_AndChangesNothing()
    {
        var tenant = NewTenant();
        using var anonymous = new RemoteStorageEngine("store-1", _grpc, Token, Presenting(null));

        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => anonymous.CreateTenantAsync(tenant, Ct));
        Assert.Equal("store-1", e.Node);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => anonymous.LoadAsync(Ct));

        using var gateway = Client(new ClusterTls(_gatewayFiles.Options()));
        Assert.False(await gateway.TenantExistsAsync(tenant, Ct));
    }

    [Fact]
    public async Task AClientCertificateFromAnotherAuthority_IsRefused_AndChangesNothing()
    {
        var tenant = NewTenant();
        var strangerFiles = _stranger.Issue(Path.Combine(_root, "stranger"), "gateway");
        using var certificate = X509Certificate2.CreateFromPemFile(strangerFiles.CertificateFile, strangerFiles.KeyFile);
        using var stranger = new RemoteStorageEngine("store-1", _grpc, Token, Presenting(certificate));

        await Assert.ThrowsAsync<StoreUnavailableException>(() => stranger.CreateTenantAsync(tenant, Ct));

        using var gateway = Client(new ClusterTls(_gatewayFiles.Options()));
        Assert.False(await gateway.TenantExistsAsync(tenant, Ct));
    }

    [Fact]
    public async Task ANodeCertificateFromAnotherAuthority_IsRefusedByTheClient()
    {
        // a gateway of another deployment: its own certificate and authority, consistent, but not the node's
        var elsewhere = new ClusterTls(_stranger.Issue(Path.Combine(_root, "elsewhere"), "gateway").Options());
        using var client = Client(elsewhere);

        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => client.LoadAsync(Ct));
        Assert.Contains(Causes(e), x => x is AuthenticationException && x.Message.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal)); // the client's check said no
    }

    [Fact]
    public async Task ARenewedNodeCertificate_IsPresentedOnNewConnections_WhileOpenOnesGoOn()
    {
        var gatewayTls = new ClusterTls(_gatewayFiles.Options());
        var before = new List<string>();
        using var open = Client(gatewayTls, before);
        await open.LoadAsync(Ct);
        Assert.Equal([Thumbprint(_nodeFiles)], before);

        // cert-manager renews in place: new key, new certificate, same authority
        var old = Thumbprint(_nodeFiles);
        _authority.Issue(_nodeFiles.Folder, "store-1");
        Assert.NotEqual(old, Thumbprint(_nodeFiles));

        var after = new List<string>();
        using (var fresh = Client(gatewayTls, after))
        {
            await fresh.LoadAsync(Ct);
        }

        Assert.Equal([Thumbprint(_nodeFiles)], after);
        await open.LoadAsync(Ct); // the open connection keeps the certificate it was made with
        Assert.Equal([old], before);

        // renewed for a name the client did not dial: the next connection is refused by the client
        _authority.Issue(_nodeFiles.Folder, "store-1", hosts: ["store-1.elsewhere.example"]);
        using var misnamed = Client(gatewayTls);
        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => misnamed.LoadAsync(Ct));
        Assert.Contains(Causes(e), x => x is AuthenticationException);
    }

    [Fact]
    public async Task ARenewedClientCertificate_IsPresentedFromTheNextConnection_AndBrokenFilesKeepThePrevious()
    {
        var tls = new ClusterTls(_gatewayFiles.Options());
        var first = tls.Certificate.Thumbprint;
        _authority.Issue(_gatewayFiles.Folder, "gateway");
        Assert.Equal(Thumbprint(_gatewayFiles), tls.Certificate.Thumbprint);
        Assert.NotEqual(first, tls.Certificate.Thumbprint);
        using (var client = Client(tls))
        {
            await client.LoadAsync(Ct); // the node accepts the renewed certificate
        }

        // a key that is not the certificate's (half a replacement): the previous credentials stay in use
        var renewed = tls.Certificate.Thumbprint;
        var other = _authority.Issue(Path.Combine(_root, "other"), "gateway");
        File.Copy(other.KeyFile, _gatewayFiles.KeyFile, overwrite: true);
        Assert.Equal(renewed, tls.Certificate.Thumbprint);
        using var still = Client(tls);
        await still.LoadAsync(Ct);
    }

    [Fact]
    public void BadFiles_AreRefused_WithAMessageNamingTheSetting()
    {
        string Refusal(ClusterTlsOptions options) => Assert.Throws<ClusterTlsException>(options.Read).Message;

        var good = _gatewayFiles.Options();
        Assert.Contains("needs CertificateFile, KeyFile and AuthorityFile together", Refusal(new ClusterTlsOptions { CertificateFile = good.CertificateFile }), StringComparison.Ordinal);
        Assert.Equal(
            $"Bruno:Cluster:Tls:KeyFile is '{Path.Combine(_root, "missing.key")}', which does not exist.",
            Refusal(new ClusterTlsOptions { CertificateFile = good.CertificateFile, KeyFile = Path.Combine(_root, "missing.key"), AuthorityFile = good.AuthorityFile }));

        var other = _authority.Issue(Path.Combine(_root, "other"), "gateway");
        Assert.StartsWith("Bruno:Cluster:Tls:KeyFile", Refusal(new ClusterTlsOptions { CertificateFile = good.CertificateFile, KeyFile = other.KeyFile, AuthorityFile = good.AuthorityFile }), StringComparison.Ordinal);

        var garbage = Path.Combine(_root, "garbage.crt");
        File.WriteAllText(garbage, "not a certificate");
        Assert.Equal($"Bruno:Cluster:Tls:AuthorityFile '{garbage}' holds no PEM certificate.", Refusal(new ClusterTlsOptions { CertificateFile = good.CertificateFile, KeyFile = good.KeyFile, AuthorityFile = garbage }));

        var strangers = _stranger.Issue(Path.Combine(_root, "stranger"), "gateway");
        Assert.Contains("does not chain to AuthorityFile", Refusal(new ClusterTlsOptions { CertificateFile = good.CertificateFile, KeyFile = good.KeyFile, AuthorityFile = strangers.AuthorityFile }), StringComparison.Ordinal);

        using var material = good.Read();
        Assert.Equal(Thumbprint(_gatewayFiles), material.Certificate.Thumbprint);
        Assert.True(material.Certificate.HasPrivateKey);
    }

    [Fact]
    public void AStoreNodeWithTls_MustAdvertiseHttps()
    {
        var options = new BrunoOptions();
        options.Catalog.Provider = "postgres";
        options.Catalog.ConnectionString = "Host=catalog;Database=bruno";
        (options.Cluster.Role, options.Cluster.NodeName, options.Cluster.Token, options.Cluster.Tls) = ("store", "store-1", Token, _nodeFiles.Options());
        options.Cluster.AdvertiseUrl = "http://127.0.0.1:7070";
        Assert.Contains("Bruno:Cluster:AdvertiseUrl must be https://host:port when Bruno:Cluster:Tls is set (gateways check the node's certificate against that host).", BrunoOptionsValidator.Errors(options));

        options.Cluster.AdvertiseUrl = "https://127.0.0.1:7070";
        Assert.Empty(BrunoOptionsValidator.Errors(options));
    }
}
