using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bruno.Testing;

/// <summary>
/// A certificate authority made for a test (EC P-256, in memory), which issues certificates as PEM files the way a
/// Kubernetes TLS Secret or cert-manager mounts them: <c>tls.crt</c>, <c>tls.key</c> and <c>ca.crt</c> in a folder.
/// </summary>
public sealed class TestAuthority : IDisposable
{
    private readonly ECDsa _key;

    private TestAuthority(X509Certificate2 certificate, ECDsa key) => (Certificate, _key) = (certificate, key);

    /// <summary>The authority's certificate (with its key).</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A new self-signed authority named <paramref name="name"/>, valid from an hour ago for a year.</summary>
    public static TestAuthority Create(string name)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 1, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var now = DateTimeOffset.UtcNow;
        return new TestAuthority(request.CreateSelfSigned(now.AddHours(-1), now.AddYears(1)), key);
    }

    /// <summary>
    /// Issues a certificate for <paramref name="name"/> naming <c>localhost</c> and 127.0.0.1 (or <paramref name="hosts"/>),
    /// for server and client authentication unless <paramref name="usages"/> says otherwise, and writes it with its key
    /// and this authority's certificate into <paramref name="folder"/> (created). Returns the files.
    /// </summary>
    public TlsFiles Issue(string folder, string name, string[]? hosts = null, OidCollection? usages = null)
    {
        Directory.CreateDirectory(folder);
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages ?? [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var host in hosts ?? ["localhost", "127.0.0.1"])
        {
            if (IPAddress.TryParse(host, out var ip))
            {
                names.AddIpAddress(ip);
            }
            else
            {
                names.AddDnsName(host);
            }
        }

        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa(_key), now.AddMinutes(-30), now.AddDays(30), RandomNumberGenerator.GetBytes(16));
        var files = new TlsFiles(folder);
        File.WriteAllText(files.CertificateFile, certificate.ExportCertificatePem() + "\n");
        File.WriteAllText(files.KeyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(files.AuthorityFile, Certificate.ExportCertificatePem() + "\n");
        return files;
    }

    /// <summary>Disposes the authority's certificate and key.</summary>
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}

/// <summary>The three PEM files of a TLS Secret in <paramref name="Folder"/>: <c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>.</summary>
public sealed record TlsFiles(string Folder)
{
    /// <summary>The certificate.</summary>
    public string CertificateFile => Path.Combine(Folder, "tls.crt");

    /// <summary>Its private key.</summary>
    public string KeyFile => Path.Combine(Folder, "tls.key");

    /// <summary>The authority's certificate.</summary>
    public string AuthorityFile => Path.Combine(Folder, "ca.crt");

    /// <summary>The settings <c>Bruno:Cluster:Tls:*</c> naming these files.</summary>
    public Dictionary<string, string?> Settings() => new()
    {
        ["Bruno:Cluster:Tls:CertificateFile"] = CertificateFile,
        ["Bruno:Cluster:Tls:KeyFile"] = KeyFile,
        ["Bruno:Cluster:Tls:AuthorityFile"] = AuthorityFile,
    };

    /// <summary>The same settings as environment variables of a <c>bruno</c> process.</summary>
    public Dictionary<string, string> Environment() => new()
    {
        ["BRUNO_CLUSTER__TLS__CERTIFICATEFILE"] = CertificateFile,
        ["BRUNO_CLUSTER__TLS__KEYFILE"] = KeyFile,
        ["BRUNO_CLUSTER__TLS__AUTHORITYFILE"] = AuthorityFile,
    };

    /// <summary>The options naming these files.</summary>
    public Core.Cluster.ClusterTlsOptions Options() => new() { CertificateFile = CertificateFile, KeyFile = KeyFile, AuthorityFile = AuthorityFile };
}
