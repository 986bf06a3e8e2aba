using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Bruno.Cluster.Remote;
using Bruno.Core.Cluster;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Bruno.Cluster;

/// <summary>
/// The credentials of mutual TLS between the tiers (<see cref="ClusterTlsOptions"/>, docs/decisions/0036): this
/// process's certificate and key and the authority its peers must chain to, read from their PEM files. It gives the
/// store port's TLS options (<see cref="ServerOptions"/>) and the socket handler of every client of a store node
/// (<see cref="CreateHandler"/>: gateways now, store node to store node calls later).
/// <para>
/// Both sides accept a peer only when its certificate chains to the authority file (custom root trust: the system's
/// roots are never consulted; no revocation check) and allows the usage (server or client authentication); a client
/// also requires the node's certificate to name the host it dialled. A refused peer fails the handshake: no request is
/// read, and the client's call fails as the node being unavailable.
/// </para>
/// <para>
/// Rotation: the files are read again whenever their contents change (cert-manager and the kubelet replace them in
/// place), checked at every new TLS connection, server or client. Connections already open keep the certificate they
/// were made with until they close: a client's take no new calls after <see cref="ConnectionLifetime"/>. Files that do
/// not load (a key that does not match yet, a missing file) are logged once and the previous credentials stay in use.
/// Thread-safe; one instance per process.
/// </para>
/// </summary>
public sealed partial class ClusterTls
{
    private readonly ClusterTlsOptions _files;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private volatile Credentials _current;
    private byte[]? _refused;

    /// <summary>
    /// Reads the files of <paramref name="files"/> now; throws <see cref="ClusterTlsException"/> naming the setting at
    /// fault when one is missing or wrong.
    /// </summary>
    public ClusterTls(ClusterTlsOptions files, ILogger<ClusterTls>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        _files = files;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var contents = Contents() ?? throw new ClusterTlsException("Bruno:Cluster:Tls: the certificate, key or authority file could not be read.");
        _current = Load(contents);
    }

    /// <summary>How long a client's connection to a store node takes new calls (see <see cref="CreateHandler"/>).</summary>
    public static readonly TimeSpan ConnectionLifetime = TimeSpan.FromHours(1);

    /// <summary>The certificate this process presents now (with its key).</summary>
    public X509Certificate2 Certificate => Current().Material.Certificate;

    /// <summary>
    /// A socket handler for clients of store nodes over https: it presents this process's current certificate and
    /// accepts a node whose certificate chains to the authority and names the host of its address. It connects as the
    /// cleartext handler does (<see cref="RemoteStorageEngine"/>'s connect callback: a restarted node is reached at once).
    /// </summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = RemoteStorageEngine.SocketHandler();
        // a connection is not reused for new calls after this (calls on it finish), so a renewed certificate or
        // authority is in use everywhere within the hour even on connections never idle long enough to close
        handler.PooledConnectionLifetime = ConnectionLifetime;
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            // asked for at each handshake, so a new connection presents a renewed certificate
            LocalCertificateSelectionCallback = (_, _, _, _, _) => Certificate,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusts(certificate, chain, errors, ClusterTlsMaterial.ServerAuthentication),
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };
        return handler;
    }

    /// <summary>
    /// The store port's TLS: the current certificate (with the intermediates that follow it in its file), a client
    /// certificate required and checked against the authority, the protocols negotiated by ALPN (HTTP/2). Options are
    /// made per connection, so a renewed certificate or authority is used from the next handshake on.
    /// </summary>
    public TlsHandshakeCallbackOptions ServerOptions() => new()
    {
        HandshakeTimeout = TimeSpan.FromSeconds(10),
        OnConnection = _ =>
        {
            var current = Current();
            return ValueTask.FromResult(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = current.ServerContext,
                ClientCertificateRequired = true,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Trusts(certificate, chain, errors, ClusterTlsMaterial.ClientAuthentication),
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            });
        },
    };

    /// <summary>Whether a peer's certificate is accepted (see the type's remarks); a refusal is logged with its reason.</summary>
    internal bool Trusts(X509Certificate? presented, X509Chain? received, SslPolicyErrors errors, Oid usage)
    {
        if (presented is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            Log.PeerRefused(_logger, "-", "no certificate presented");
            return false;
        }

        var certificate = presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            Log.PeerRefused(_logger, certificate.Subject, "the certificate does not name the host dialled");
            return false;
        }

        // the platform's chain was built against the system's roots: ours is built again against the authority file,
        // with the intermediates the peer sent
        var status = Current().Material.ChainErrors(certificate, usage, received?.ChainPolicy.ExtraStore);
        if (status is not null)
        {
            Log.PeerRefused(_logger, certificate.Subject, $"does not chain to Bruno:Cluster:Tls:AuthorityFile for {usage.FriendlyName ?? usage.Value} ({status})");
            return false;
        }

        return true;
    }

    // The credentials for the files as they are now: those in use unless the contents changed and load.
    private Credentials Current()
    {
        var current = _current;
        var contents = Contents();
        if (contents is null || CryptographicOperations.FixedTimeEquals(contents.Hash, current.Hash))
        {
            return current;
        }

        lock (_gate)
        {
            current = _current;
            if (CryptographicOperations.FixedTimeEquals(contents.Hash, current.Hash) || (_refused is not null && CryptographicOperations.FixedTimeEquals(contents.Hash, _refused)))
            {
                return current;
            }

            try
            {
                // the credentials replaced are left to the collector: a handshake in progress may still use them
                _current = Load(contents);
                _refused = null;
                Log.Reloaded(_logger, _current.Material.Certificate.Subject, _current.Material.Certificate.NotAfter);
                return _current;
            }
            catch (ClusterTlsException e)
            {
                _refused = contents.Hash;
                Log.ReloadRefused(_logger, e.Message);
                return current;
            }
        }
    }

    private Credentials Load(FileContents contents)
    {
        var material = _files.Read();
        var context = SslStreamCertificateContext.Create(material.Certificate, material.Intermediates, offline: true);
        return new Credentials(contents.Hash, material, context);
    }

    // A hash of the three files' bytes (null while one cannot be read, e.g. in the middle of a replacement).
    private FileContents? Contents()
    {
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var path in new[] { _files.CertificateFile, _files.KeyFile, _files.AuthorityFile })
            {
                var bytes = File.ReadAllBytes(path!);
                hash.AppendData(BitConverter.GetBytes(bytes.Length));
                hash.AppendData(bytes);
                CryptographicOperations.ZeroMemory(bytes); // the key's bytes among them
            }

            return new FileContents(hash.GetHashAndReset());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private sealed record FileContents(byte[] Hash);

    private sealed record Credentials(byte[] Hash, ClusterTlsMaterial Material, SslStreamCertificateContext ServerContext);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3850, Level = LogLevel.Information, Message = "Cluster TLS files changed: now presenting {Subject}, valid until {NotAfter:u}")]
        public static partial void Reloaded(ILogger logger, string subject, DateTime notAfter);

        [LoggerMessage(EventId = 3851, Level = LogLevel.Warning, Message = "Cluster TLS files changed but were not used, the previous credentials stay: {Reason}")]
        public static partial void ReloadRefused(ILogger logger, string reason);

        [LoggerMessage(EventId = 3852, Level = LogLevel.Warning, Message = "Refused a TLS peer of the cluster ({Subject}): {Reason}")]
        public static partial void PeerRefused(ILogger logger, string subject, string reason);
    }
}
