using System.Security.Cryptography;
using System.Text;

namespace Bruno.Core.Audit;

/// <summary>
/// The installation's signing key (ECDSA P-256): it signs audit checkpoints and erasure receipts, so that anyone holding
/// the public key can check them off the machine. The private key lives in <c>secrets/platform-signing.pem</c> (0600,
/// created on first use, never replaced); the public key is copied to <c>platform-signing.pub.pem</c> in the data root.
/// Throws <see cref="IOException"/> when the files cannot be read or written and <see cref="CryptographicException"/>
/// when the key file is not a valid key.
/// </summary>
public sealed class PlatformSigner : IDisposable
{
    private readonly ECDsa _key;

    private PlatformSigner(ECDsa key)
    {
        _key = key;
        PublicKeyPem = key.ExportSubjectPublicKeyInfoPem();
        KeyId = KeyIdOf(key);
    }

    /// <summary>The public key, PEM (SubjectPublicKeyInfo).</summary>
    public string PublicKeyPem { get; }

    /// <summary>Names the key: the first 16 hex digits of the SHA-256 of its public key.</summary>
    public string KeyId { get; }

    /// <summary>Loads the data root's key, creating it (and the public copy) on first use.</summary>
    public static PlatformSigner ForDataDirectory(DataDirectory data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var path = data.PlatformSigningKeyPath;
        if (!File.Exists(path))
        {
            using var fresh = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            try
            {
                using (var stream = new FileStream(tmp, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew,
                    Access = FileAccess.Write,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                }))
                {
                    stream.Write(Encoding.ASCII.GetBytes(fresh.ExportPkcs8PrivateKeyPem() + "\n"));
                    stream.Flush(flushToDisk: true);
                }

                File.Move(tmp, path, overwrite: false); // whole or not at all: a process starting beside this one never reads half a key
            }
            catch (IOException) when (File.Exists(path))
            {
                // another process created it first: use theirs
            }
            finally
            {
                File.Delete(tmp);
            }
        }

        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(path));
        var signer = new PlatformSigner(key);
        if (!File.Exists(data.PlatformPublicKeyPath) || File.ReadAllText(data.PlatformPublicKeyPath) != signer.PublicKeyPem + "\n")
        {
            File.WriteAllText(data.PlatformPublicKeyPath, signer.PublicKeyPem + "\n");
        }

        return signer;
    }

    /// <summary>Signs <paramref name="data"/>; the signature is base64 (IEEE P1363 form).</summary>
    public string Sign(ReadOnlySpan<byte> data) => Convert.ToBase64String(_key.SignData(data, HashAlgorithmName.SHA256));

    /// <summary>
    /// Whether <paramref name="signature"/> (base64) is a valid signature of <paramref name="data"/> by one of
    /// <paramref name="trusted"/>. False for a malformed signature; never throws for bad input.
    /// </summary>
    public static bool Verify(IEnumerable<TrustedKey> trusted, string keyId, ReadOnlySpan<byte> data, string signature)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        var bytes = new byte[(signature?.Length ?? 0) * 3 / 4 + 3];
        if (signature is null || !Convert.TryFromBase64String(signature, bytes, out var written))
        {
            return false;
        }

        foreach (var key in trusted)
        {
            if (key.Id == keyId && key.Key.VerifyData(data, bytes.AsSpan(0, written), HashAlgorithmName.SHA256))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The id of a key, as <see cref="KeyId"/>.</summary>
    public static string KeyIdOf(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}

/// <summary>A public key trusted to have signed checkpoints or receipts.</summary>
/// <param name="Id">Its <see cref="PlatformSigner.KeyIdOf"/>.</param>
/// <param name="Key">The key.</param>
public sealed record TrustedKey(string Id, ECDsa Key)
{
    /// <summary>Reads a PEM public key; throws <see cref="ArgumentException"/> when the text holds none.</summary>
    public static TrustedKey FromPem(string pem)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new ArgumentException("The file does not hold an ECDSA public key in PEM form.");
        }

        return new TrustedKey(PlatformSigner.KeyIdOf(key), key);
    }
}
