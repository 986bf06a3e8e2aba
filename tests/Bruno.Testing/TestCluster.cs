using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Storage.Identity;

namespace Bruno.Testing;

/// <summary>
/// Bruno as two tiers, all real processes on 127.0.0.1: store nodes and gateways (<c>bruno serve --role …</c>) over a
/// fresh PostgreSQL catalog database. Store nodes share the master key; everyone shares the cluster token and the
/// token-signing keys (kept in the first gateway's data folder, which the CLI can be pointed at with <c>--data</c>).
/// Heartbeats run every second so that placement sees load and silence quickly; a node's lease is 5 s, a move's 3 s.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly string _root;
    private readonly TokenService _tokens;
    private readonly string? _clientAddress;

    private readonly Dictionary<string, Uri> _grpc = new(StringComparer.Ordinal);

    private TestCluster(string root, List<BrunoProcess> stores, List<BrunoProcess> gateways, TokenService tokens, string catalog, string token, TlsFiles? tls, string? clientAddress) =>
        (_root, Stores, Gateways, _tokens, Catalog, ClusterToken, Tls, _clientAddress) = (root, stores, gateways, tokens, catalog, token, tls, clientAddress);


    /// <summary>With mutual TLS between the tiers: the files every process uses (one certificate, as one Kubernetes Secret); else null.</summary>
    public TlsFiles? Tls { get; }

    /// <summary>The catalog's connection string (tests that act on the placement tables directly).</summary>
    public string Catalog { get; }

    /// <summary>The token every process shares.</summary>
    public string ClusterToken { get; }

    /// <summary>Where a store node's internal API listens.</summary>
    public Uri StoreApi(string node) => _grpc[node];

    /// <summary>The store nodes, named store-1, store-2… in order.</summary>
    public IReadOnlyList<BrunoProcess> Stores { get; }

    /// <summary>The gateways.</summary>
    public IReadOnlyList<BrunoProcess> Gateways { get; }

    /// <summary>The first gateway's data folder, whose <c>secrets/</c> every process uses (give it to the CLI as --data).</summary>
    public string GatewayData => Path.Combine(_root, "gateway-1");

    /// <summary>A store node's data folder.</summary>
    public string StoreData(string node) => Path.Combine(_root, node);

    /// <summary>
    /// Starts <paramref name="stores"/> store nodes and <paramref name="gateways"/> gateways on a new database of the shared
    /// test server, or on <paramref name="catalog"/>; throws with a process's output if one does not start. With
    /// <paramref name="tls"/>, a certificate authority is made for the cluster and every process uses mutual TLS
    /// (<c>Bruno:Cluster:Tls</c>) with one certificate it issued; store nodes advertise https://.
    /// </summary>
    /// <remarks>
    /// <paramref name="settings"/> adds to (or replaces) the environment every process gets. <paramref name="hosts"/>
    /// says where each process ("store-1", "gateway-2"…) runs (a <see cref="NetworkNamespace"/>'s host); by default on
    /// 127.0.0.1. The test's clients (<see cref="Client"/>) call from <paramref name="clientAddress"/> when given.
    /// <paramref name="nodeSettings"/> adds settings of one process by name (a store node's zone).
    /// </remarks>
    public static async Task<TestCluster> StartAsync(
        int stores, int gateways, CancellationToken ct, string? catalog = null, bool tls = false, IReadOnlyDictionary<string, string>? settings = null,
        Func<string, TestHost>? hosts = null, string? clientAddress = null, Func<string, IReadOnlyDictionary<string, string>>? nodeSettings = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "bruno-cluster-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        var secrets = Path.Combine(root, "gateway-1", "secrets");
        TlsFiles? tlsFiles = null;
        if (tls)
        {
            using var authority = TestAuthority.Create("bruno-cluster-ca");
            tlsFiles = authority.Issue(Path.Combine(root, "cluster-tls"), "bruno-cluster");
        }

        var common = new Dictionary<string, string>(tlsFiles?.Environment() ?? new Dictionary<string, string>())
        {
            ["BRUNO_CATALOG__PROVIDER"] = "postgres",
            ["BRUNO_CATALOG__CONNECTIONSTRING"] = catalog ?? TestPostgres.NewDatabase(),
            ["BRUNO_CLUSTER__TOKEN"] = "cluster-" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)),
            ["BRUNO_CLUSTER__HEARTBEATSECONDS"] = "1",
            ["BRUNO_CLUSTER__NODETIMEOUTSECONDS"] = "5",
            ["BRUNO_CLUSTER__MOVELEASESECONDS"] = "3",
            ["BRUNO_SECRETSFOLDER"] = secrets,
            // the tests drive load from a few users: the plan's request limits are not what they test
            ["BRUNO_PLANS__default__REQUESTSPERMINUTE"] = "100000",
            ["BRUNO_PLANS__default__REQUESTSPERHOUR"] = "1000000",
            ["BRUNO_PLANS__default__REQUESTSPERDAY"] = "10000000",
            ["BRUNO_PLANS__default__CLIENTREQUESTSPERMINUTE"] = "100000",
            ["BRUNO_PLANS__default__CONCURRENT"] = "100",
            // the same, replicated asynchronously (a replica at most 8 writes behind)
            ["BRUNO_PLANS__async__REQUESTSPERMINUTE"] = "100000",
            ["BRUNO_PLANS__async__REQUESTSPERHOUR"] = "1000000",
            ["BRUNO_PLANS__async__REQUESTSPERDAY"] = "10000000",
            ["BRUNO_PLANS__async__CLIENTREQUESTSPERMINUTE"] = "100000",
            ["BRUNO_PLANS__async__CONCURRENT"] = "100",
            ["BRUNO_PLANS__async__REPLICATION"] = "async",
            ["BRUNO_PLANS__async__REPLICATIONLAGWRITES"] = "8",
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string>())
        {
            common[name] = value;
        }

        var options = new BrunoOptions { DataRoot = Path.Combine(root, "gateway-1"), SecretsFolder = secrets };
        var tokens = TokenService.ForDataDirectory(DataDirectory.For(options), options); // creates the shared signing keys
        _ = Bruno.Core.Audit.PlatformSigner.ForDataDirectory(DataDirectory.For(options));
        var masterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var storeList = new List<BrunoProcess>();
        var gatewayList = new List<BrunoProcess>();
        var cluster = new TestCluster(root, storeList, gatewayList, tokens, common["BRUNO_CATALOG__CONNECTIONSTRING"], common["BRUNO_CLUSTER__TOKEN"], tlsFiles, clientAddress);
        var scheme = tls ? "https" : "http";
        try
        {
            var starts = new List<Task<BrunoProcess>>();
            for (var i = 1; i <= stores; i++)
            {
                var name = $"store-{i}";
                var host = hosts?.Invoke(name) ?? TestHost.Loopback;
                starts.Add(BrunoProcess.OnFreePortsAsync(() =>
                {
                    var grpc = BrunoProcess.FreePort();
                    var url = new Uri($"{scheme}://{host.Address}:{grpc}");
                    lock (cluster._grpc)
                    {
                        cluster._grpc[name] = url;
                    }

                    var env = new Dictionary<string, string>(common)
                    {
                        ["BRUNO_MASTERKEY"] = masterKey,
                        ["BRUNO_CLUSTER__NODENAME"] = name,
                        ["BRUNO_CLUSTER__STOREPORT"] = grpc.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        ["BRUNO_CLUSTER__STOREBIND"] = host.Address,
                        ["BRUNO_CLUSTER__ADVERTISEURL"] = url.ToString().TrimEnd('/'),
                    };
                    foreach (var (key, value) in nodeSettings?.Invoke(name) ?? new Dictionary<string, string>())
                    {
                        env[key] = value;
                    }

                    return BrunoProcess.StartAsync(name, "store", Path.Combine(root, name), BrunoProcess.FreePort(), env, ct, host);
                }));
            }

            storeList.AddRange(await Task.WhenAll(starts));
            starts.Clear();
            for (var i = 1; i <= gateways; i++)
            {
                var name = $"gateway-{i}";
                starts.Add(BrunoProcess.OnFreePortsAsync(() => BrunoProcess.StartAsync(name, "gateway", Path.Combine(root, name), BrunoProcess.FreePort(), common, ct, hosts?.Invoke(name))));
            }

            gatewayList.AddRange(await Task.WhenAll(starts));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The store node by name.</summary>
    public BrunoProcess Store(string node) => Stores.Single(s => s.Name == node);

    /// <summary>An operator token (valid at every gateway).</summary>
    public string PlatformToken() => _tokens.IssuePlatformToken("operator", TimeSpan.FromMinutes(30));

    /// <summary>A one-time console sign-in link of an operator (what <c>bruno console link --operator</c> signs), for any gateway.</summary>
    public string OperatorConsoleLink(string name) => _tokens.IssueConsoleOperatorLink(name, Bruno.Core.Tenants.ConsoleLinks.Lifetime);

    /// <summary>A token of <paramref name="user"/> of <paramref name="tenant"/> (query and ingest unless scopes are given).</summary>
    public string UserToken(string tenant, string user, params string[] scopes) =>
        _tokens.IssueUserToken(TenantId.Parse(tenant), UserId.Parse(user), scopes.Length == 0 ? [Scopes.Query, Scopes.Ingest] : scopes, TimeSpan.FromMinutes(30));

    /// <summary>A client of gateway <paramref name="index"/> (0-based) carrying <paramref name="token"/>.</summary>
    public HttpClient Client(int index, string token)
    {
        var handler = new SocketsHttpHandler();
        if (_clientAddress is { } from)
        {
            handler.ConnectCallback = async (context, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                try
                {
                    socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(from), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, token);
                    return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            };
        }

        var c = new HttpClient(handler) { BaseAddress = Gateways[index].Address, Timeout = TimeSpan.FromSeconds(60) };
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>Creates tenants through a gateway's admin API.</summary>
    public async Task CreateTenantsAsync(int gateway, CancellationToken ct, params string[] tenants)
    {
        using var admin = Client(gateway, PlatformToken());
        foreach (var tenant in tenants)
        {
            using var response = await admin.PostAsJsonAsync("/admin/v1/tenants", new { id = tenant, display_name = tenant }, ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"creating {tenant}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }
        }
    }

    /// <summary>The store node that owns <paramref name="tenant"/>, as the catalog says.</summary>
    public async Task<string> OwnerAsync(string tenant, CancellationToken ct)
    {
        using var admin = Client(0, PlatformToken());
        var placement = await admin.GetFromJsonAsync<JsonElement>($"/admin/v1/tenants/{tenant}/placement", ct);
        return placement.GetProperty("node").GetString()!;
    }

    /// <summary>Kills every process and deletes the folders.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var p in Gateways.Concat(Stores))
        {
            await p.DisposeAsync();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // a killed process's file may linger for a moment; the temp folder is cleaned eventually
        }
    }
}
