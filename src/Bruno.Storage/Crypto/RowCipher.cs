using System.Security.Cryptography;

namespace Bruno.Storage.Crypto;

/// <summary>
/// AES-256-GCM for row payloads. Stored blob: u8 version (1) | 12-byte random nonce | ciphertext | 16-byte tag.
/// The associated data binds each blob to its tenant, collection, row and owner, so blobs cannot be moved between them.
/// Not thread-safe: one instance per key per thread.
/// </summary>
internal sealed class RowCipher(byte[] key) : IDisposable
{
    public const int Overhead = 1 + 12 + 16;
    private const byte Version = 1;
    private readonly AesGcm _aes = new(key, 16);

    public byte[] Encrypt(ReadOnlySpan<byte> plain, ReadOnlySpan<byte> aad)
    {
        var blob = new byte[Overhead + plain.Length];
        Encrypt(plain, aad, blob);
        return blob;
    }

    /// <summary>Seals <paramref name="plain"/> into the first <see cref="Overhead"/> + plain.Length bytes of <paramref name="blob"/>.</summary>
    public void Encrypt(ReadOnlySpan<byte> plain, ReadOnlySpan<byte> aad, Span<byte> blob)
    {
        blob[0] = Version;
        var nonce = blob.Slice(1, 12);
        RandomNumberGenerator.Fill(nonce);
        _aes.Encrypt(nonce, plain, blob.Slice(13, plain.Length), blob.Slice(13 + plain.Length, 16), aad);
    }

    /// <summary>Decrypts into <paramref name="plain"/> (length = blob length - <see cref="Overhead"/>); false when the bytes or key are wrong.</summary>
    public bool TryDecrypt(ReadOnlySpan<byte> blob, Span<byte> plain, ReadOnlySpan<byte> aad)
    {
        if (blob.Length < Overhead || blob[0] != Version)
        {
            return false;
        }

        try
        {
            _aes.Decrypt(blob.Slice(1, 12), blob.Slice(13, blob.Length - Overhead), blob[^16..], plain, aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    public void Dispose() => _aes.Dispose();
}
