using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Bruno.Core.Cluster;

/// <summary>
/// Mutual TLS between gateways and store nodes (configuration section <c>Bruno:Cluster:Tls</c>, docs/decisions/0036):
/// PEM files as a Kubernetes TLS Secret or cert-manager mounts them. Off when none is set; when any is set, all three
/// are needed, and every process of the deployment presents its certificate and accepts only peers whose certificate
/// chains to <see cref="AuthorityFile"/>. The files are read again when they change (see Bruno.Cluster's <c>ClusterTls</c>).
/// </summary>
public sealed class ClusterTlsOptions
{
    /// <summary>This process's certificate, PEM (<c>tls.crt</c>): the leaf first, then any intermediates.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The certificate's private key, unencrypted PEM (<c>tls.key</c>: PKCS#8, PKCS#1 or SEC 1).</summary>
    public string? KeyFile { get; set; }

    /// <summary>The certificate authority every peer's certificate must chain to, PEM (<c>ca.crt</c>); never the system store.</summary>
    public string? AuthorityFile { get; set; }

    /// <summary>Whether any of the files is set (then all must be).</summary>
    public bool Enabled => !string.IsNullOrEmpty(CertificateFile) || !string.IsNullOrEmpty(KeyFile) || !string.IsNullOrEmpty(AuthorityFile);

    /// <summary>
    /// Reads and checks the three files: they exist, the key is the certificate's, the authority parses and the
    /// certificate chains to it (custom root trust, no revocation check). Throws <see cref="ClusterTlsException"/> with a
    /// message naming the setting at fault; the caller owns the certificates returned.
    /// </summary>
    public ClusterTlsMaterial Read()
    {
        if (string.IsNullOrEmpty(CertificateFile) || string.IsNullOrEmpty(KeyFile) || string.IsNullOrEmpty(AuthorityFile))
        {
            throw new ClusterTlsException("Bruno:Cluster:Tls needs CertificateFile, KeyFile and AuthorityFile together (PEM files, e.g. tls.crt, tls.key and ca.crt of a TLS Secret).");
        }

        foreach (var (name, path) in new[] { ("CertificateFile", CertificateFile), ("KeyFile", KeyFile), ("AuthorityFile", AuthorityFile) })
        {
            if (!File.Exists(path))
            {
                throw new ClusterTlsException($"Bruno:Cluster:Tls:{name} is '{path}', which does not exist.");
            }
        }

        var chain = Certificates(CertificateFile, "CertificateFile");
        var authorities = Certificates(AuthorityFile, "AuthorityFile");
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(CertificateFile, KeyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Dispose(chain, authorities);
            throw new ClusterTlsException($"Bruno:Cluster:Tls:KeyFile '{KeyFile}' is not the private key of CertificateFile '{CertificateFile}' (an unencrypted PEM key matching it is needed).");
        }

        var intermediates = new X509Certificate2Collection();
        intermediates.AddRange(chain.Skip(1).ToArray());
        chain[0].Dispose();
        var material = new ClusterTlsMaterial(certificate, intermediates, authorities);
        var status = material.ChainErrors(certificate, expect: null);
        if (status is not null)
        {
            material.Dispose();
            throw new ClusterTlsException($"Bruno:Cluster:Tls:CertificateFile '{CertificateFile}' does not chain to AuthorityFile '{AuthorityFile}' ({status}).");
        }

        return material;
    }

    private static X509Certificate2Collection Certificates(string path, string setting)
    {
        var certificates = new X509Certificate2Collection();
        try
        {
            certificates.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            Dispose(certificates);
            throw new ClusterTlsException($"Bruno:Cluster:Tls:{setting} '{path}' could not be read as PEM certificates ({e.GetType().Name}).");
        }

        if (certificates.Count == 0)
        {
            throw new ClusterTlsException($"Bruno:Cluster:Tls:{setting} '{path}' holds no PEM certificate.");
        }

        return certificates;
    }

    private static void Dispose(params X509Certificate2Collection[] collections)
    {
        foreach (var c in collections.SelectMany(c => c))
        {
            c.Dispose();
        }
    }

    internal IEnumerable<string> Validate()
    {
        if (!Enabled)
        {
            yield break;
        }

        string? error = null;
        try
        {
            Read().Dispose();
        }
        catch (ClusterTlsException e)
        {
            error = e.Message;
        }

        if (error is not null)
        {
            yield return error;
        }
    }
}

/// <summary>What <see cref="ClusterTlsOptions.Read"/> found: a certificate with its key, its intermediates, and the authorities peers must chain to.</summary>
public sealed class ClusterTlsMaterial(X509Certificate2 certificate, X509Certificate2Collection intermediates, X509Certificate2Collection authorities) : IDisposable
{
    /// <summary>The Server Authentication extended key usage (1.3.6.1.5.5.7.3.1).</summary>
    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    /// <summary>The Client Authentication extended key usage (1.3.6.1.5.5.7.3.2).</summary>
    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2");

    /// <summary>This process's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; } = certificate;

    /// <summary>The intermediates that followed the certificate in its file (sent with it by a server).</summary>
    public X509Certificate2Collection Intermediates { get; } = intermediates;

    /// <summary>The trust anchors: every certificate of the authority file.</summary>
    public X509Certificate2Collection Authorities { get; } = authorities;

    /// <summary>
    /// Null when <paramref name="presented"/> chains to <see cref="Authorities"/> (and, when <paramref name="expect"/> is
    /// given, allows that extended key usage; a certificate with no such extension allows every usage); otherwise what
    /// is wrong, as the chain's status flags. <paramref name="extra"/> adds intermediates the peer sent.
    /// </summary>
    public string? ChainErrors(X509Certificate2 presented, Oid? expect, IEnumerable<X509Certificate2>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(presented);
        using var chain = new X509Chain();
        var policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.RevocationMode = X509RevocationMode.NoCheck; // a private authority publishes no revocation lists; rotation replaces certificates instead
        policy.DisableCertificateDownloads = true;
        policy.CustomTrustStore.AddRange(Authorities);
        policy.ExtraStore.AddRange(Intermediates);
        foreach (var c in extra ?? [])
        {
            policy.ExtraStore.Add(c);
        }

        if (expect is not null)
        {
            policy.ApplicationPolicy.Add(expect);
        }

        try
        {
            return chain.Build(presented)
                ? null
                : string.Join(", ", chain.ChainStatus.Select(s => s.Status.ToString()).Distinct(StringComparer.Ordinal).DefaultIfEmpty("untrusted"));
        }
        finally
        {
            // the chain's elements are copies made for it (never the instances handed in, which their owners dispose)
            var given = new HashSet<X509Certificate2>(ReferenceEqualityComparer.Instance) { presented };
            given.UnionWith(policy.ExtraStore);
            given.UnionWith(policy.CustomTrustStore);
            foreach (var element in chain.ChainElements)
            {
                if (!given.Contains(element.Certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }

    /// <summary>Disposes the certificates.</summary>
    public void Dispose()
    {
        Certificate.Dispose();
        foreach (var c in Intermediates.Concat(Authorities))
        {
            c.Dispose();
        }
    }
}

/// <summary>A TLS file of <see cref="ClusterTlsOptions"/> is missing or wrong; the message names the setting.</summary>
public sealed class ClusterTlsException(string message) : Exception(message);
