using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Bruno.Storage.Identity;

namespace Bruno.Core.Portability;

/// <summary>
/// The clear-text start of a bundle (all integers little-endian):
/// <c>"BRUNOBDL"</c> | u16 format version (1) | u8 length + tenant id (ASCII) | i64 created-at (Unix ms) |
/// u8 KDF (1 = PBKDF2-HMAC-SHA256) | u32 iterations | u8 length + salt | u8 cipher (1 = AES-256-GCM) |
/// u32 plaintext bytes per chunk | 16-byte key check. Its SHA-256 is bound into every chunk, so no byte of it can be
/// changed without every chunk failing to authenticate.
/// </summary>
internal sealed record BundleHeader(TenantId Tenant, DateTimeOffset CreatedAt, int Iterations, byte[] Salt, int ChunkBytes, byte[] KeyCheck)
{
    public const ushort FormatVersion = 1;
    public const int MinIterations = 600_000;
    public const int MaxIterations = 10_000_000;
    public const int SaltBytes = 32;
    public const int KeyCheckBytes = 16;
    public const int MinChunkBytes = 4 << 10;
    public const int MaxChunkBytes = 16 << 20;
    private const byte KdfPbkdf2Sha256 = 1;
    private const byte CipherAes256Gcm = 1;

    public static ReadOnlySpan<byte> Magic => "BRUNOBDL"u8;

    /// <summary>The header's bytes.</summary>
    public byte[] Encode()
    {
        var tenant = Encoding.ASCII.GetBytes(Tenant.Value);
        using var m = new MemoryStream();
        m.Write(Magic);
        Span<byte> n = stackalloc byte[8];
        BinaryPrimitives.WriteUInt16LittleEndian(n, FormatVersion);
        m.Write(n[..2]);
        m.WriteByte((byte)tenant.Length);
        m.Write(tenant);
        BinaryPrimitives.WriteInt64LittleEndian(n, CreatedAt.ToUnixTimeMilliseconds());
        m.Write(n);
        m.WriteByte(KdfPbkdf2Sha256);
        BinaryPrimitives.WriteInt32LittleEndian(n, Iterations);
        m.Write(n[..4]);
        m.WriteByte((byte)Salt.Length);
        m.Write(Salt);
        m.WriteByte(CipherAes256Gcm);
        BinaryPrimitives.WriteInt32LittleEndian(n, ChunkBytes);
        m.Write(n[..4]);
        m.Write(KeyCheck);
        return m.ToArray();
    }

    /// <summary>
    /// Reads and checks the header at the stream's position; returns it with its exact bytes. Throws
    /// <see cref="BundleException"/> for another file, another format version, out-of-range parameters or a short file.
    /// </summary>
    public static async Task<(BundleHeader Header, byte[] Bytes)> ReadAsync(Stream input, CancellationToken ct)
    {
        var bytes = new List<byte>(160);
        async Task<byte[]> TakeAsync(int count, bool start = false)
        {
            var buffer = new byte[count];
            var read = await input.ReadAtLeastAsync(buffer, count, throwOnEndOfStream: false, ct);
            if (read < count)
            {
                throw start && (read == 0 || !buffer.AsSpan(0, read).SequenceEqual(Magic[..read]))
                    ? new BundleException(BundleFailure.NotABundle, "This file is not a Bruno tenant bundle.")
                    : BundleException.Truncated();
            }

            bytes.AddRange(buffer);
            return buffer;
        }

        if (!(await TakeAsync(Magic.Length, start: true)).AsSpan().SequenceEqual(Magic))
        {
            throw new BundleException(BundleFailure.NotABundle, "This file is not a Bruno tenant bundle.");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(await TakeAsync(2));
        if (version != FormatVersion)
        {
            throw new BundleException(BundleFailure.UnsupportedVersion, $"This bundle has format version {version}; this build of Bruno reads version {FormatVersion}.");
        }

        var tenantLength = (await TakeAsync(1))[0];
        if (!TenantId.TryParse(Encoding.ASCII.GetString(await TakeAsync(tenantLength)), out var tenant))
        {
            throw BundleException.Damaged("its header names no valid tenant id.");
        }

        var created = BinaryPrimitives.ReadInt64LittleEndian(await TakeAsync(8));
        var kdf = (await TakeAsync(1))[0];
        var iterations = BinaryPrimitives.ReadInt32LittleEndian(await TakeAsync(4));
        var salt = await TakeAsync((await TakeAsync(1))[0]);
        var cipher = (await TakeAsync(1))[0];
        var chunkBytes = BinaryPrimitives.ReadInt32LittleEndian(await TakeAsync(4));
        var check = await TakeAsync(KeyCheckBytes);
        if (kdf != KdfPbkdf2Sha256 || cipher != CipherAes256Gcm || iterations is < MinIterations or > MaxIterations
            || salt.Length is < 16 or > 64 || chunkBytes is < MinChunkBytes or > MaxChunkBytes
            || created is < 0 or > 253_402_300_799_999)
        {
            throw BundleException.Damaged("its header holds key or chunk parameters this build does not accept.");
        }

        return (new BundleHeader(tenant, DateTimeOffset.FromUnixTimeMilliseconds(created), iterations, salt, chunkBytes, check), [.. bytes]);
    }
}

/// <summary>
/// The keys of one bundle, from the passphrase: PBKDF2-HMAC-SHA256 over its UTF-8 bytes and the bundle's salt gives a
/// 32-byte secret; HKDF-SHA256 expands it into the AES-256-GCM key and a 16-byte key check (stored in the header, so a
/// wrong passphrase is told apart from a damaged file). Zeroed on dispose.
/// </summary>
internal sealed class BundleKey : IDisposable
{
    private BundleKey(byte[] encryption, byte[] check) => (Encryption, Check) = (encryption, check);

    public byte[] Encryption { get; }

    public byte[] Check { get; }

    public static BundleKey Derive(string passphrase, byte[] salt, int iterations)
    {
        var secret = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(passphrase), salt, iterations, HashAlgorithmName.SHA256, 32);
        try
        {
            return new BundleKey(
                HKDF.Expand(HashAlgorithmName.SHA256, secret, 32, "bruno bundle v1 aes-256-gcm"u8.ToArray()),
                HKDF.Expand(HashAlgorithmName.SHA256, secret, BundleHeader.KeyCheckBytes, "bruno bundle v1 key check"u8.ToArray()));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
    }

    /// <summary>Whether this key is the one <paramref name="header"/> was written with (constant time).</summary>
    public bool Opens(BundleHeader header) => CryptographicOperations.FixedTimeEquals(Check, header.KeyCheck);

    public void Dispose()
    {
        CryptographicOperations.ZeroMemory(Encryption);
        CryptographicOperations.ZeroMemory(Check);
    }
}
