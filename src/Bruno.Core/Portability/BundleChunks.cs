using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Bruno.Core.Portability;

/// <summary>
/// The encrypted part of a bundle: the payload cut into chunks of the header's chunk size, each one frame
/// <c>u8 flags (1 = final) | u32 plaintext length | 12-byte nonce | ciphertext | 16-byte tag</c>, sealed with AES-256-GCM
/// under a fresh random nonce. The associated data of chunk <c>i</c> is the header's SHA-256, <c>i</c> as u64 and the
/// flags byte: a chunk moved, dropped, repeated, marked final early or taken from another bundle does not authenticate,
/// and a file that ends before a final chunk is truncated. Every chunk but the last is full.
/// </summary>
internal static class BundleChunks
{
    public const int NonceBytes = 12;
    public const int TagBytes = 16;
    public const int FrameHead = 1 + 4;
    public const int Overhead = FrameHead + NonceBytes + TagBytes;
    public const byte Final = 1;

    public static void AssociatedData(Span<byte> aad, ReadOnlySpan<byte> headerHash, long index, byte flags)
    {
        headerHash.CopyTo(aad);
        BinaryPrimitives.WriteInt64LittleEndian(aad[32..], index);
        aad[40] = flags;
    }
}

/// <summary>Writes the payload as sealed chunks. Not thread-safe; <see cref="CompleteAsync"/> writes the final chunk.</summary>
internal sealed class ChunkSealer(Stream output, byte[] key, byte[] headerHash, int chunkBytes) : IDisposable
{
    private readonly AesGcm _aes = new(key, BundleChunks.TagBytes);
    private readonly byte[] _plain = new byte[chunkBytes];
    private readonly byte[] _frame = new byte[BundleChunks.Overhead + chunkBytes];
    private int _filled;
    private long _index;
    private bool _completed;

    /// <summary>Payload bytes written so far.</summary>
    public long PayloadBytes { get; private set; }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        PayloadBytes += data.Length;
        while (!data.IsEmpty)
        {
            if (_filled == _plain.Length)
            {
                // A full chunk is sealed only once more data follows: the last chunk is always the one marked final.
                await output.WriteAsync(_frame.AsMemory(0, Seal(0)), ct);
            }

            var n = Math.Min(data.Length, _plain.Length - _filled);
            data[..n].CopyTo(_plain.AsMemory(_filled));
            _filled += n;
            data = data[n..];
        }
    }

    /// <summary>Seals what is left as the final chunk and flushes the output.</summary>
    public async ValueTask CompleteAsync(CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _completed = true;
        await output.WriteAsync(_frame.AsMemory(0, Seal(BundleChunks.Final)), ct);
        await output.FlushAsync(ct);
    }

    private int Seal(byte flags)
    {
        var frame = _frame.AsSpan(0, BundleChunks.Overhead + _filled);
        frame[0] = flags;
        BinaryPrimitives.WriteInt32LittleEndian(frame[1..], _filled);
        var nonce = frame.Slice(BundleChunks.FrameHead, BundleChunks.NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        Span<byte> aad = stackalloc byte[41];
        BundleChunks.AssociatedData(aad, headerHash, _index, flags);
        _aes.Encrypt(nonce, _plain.AsSpan(0, _filled), frame.Slice(BundleChunks.FrameHead + BundleChunks.NonceBytes, _filled), frame[^BundleChunks.TagBytes..], aad);
        _index++;
        _filled = 0;
        return frame.Length;
    }

    public void Dispose()
    {
        _aes.Dispose();
        CryptographicOperations.ZeroMemory(_plain);
    }
}

/// <summary>
/// Reads the payload back from its chunks, authenticating each one before any of its bytes is used. Throws
/// <see cref="BundleException"/> for a chunk that does not authenticate, a malformed frame, a file that ends before the
/// final chunk, or bytes after it.
/// </summary>
internal sealed class ChunkOpener(Stream input, byte[] key, byte[] headerHash, int chunkBytes) : IDisposable
{
    private readonly AesGcm _aes = new(key, BundleChunks.TagBytes);
    private readonly byte[] _plain = new byte[chunkBytes];
    private readonly byte[] _frame = new byte[BundleChunks.Overhead + chunkBytes];
    private int _position;
    private int _length;
    private long _index;
    private bool _final;

    /// <summary>Fills <paramref name="destination"/> with the next payload bytes.</summary>
    public async ValueTask ReadExactlyAsync(Memory<byte> destination, CancellationToken ct)
    {
        while (!destination.IsEmpty)
        {
            if (_position == _length)
            {
                if (_final)
                {
                    throw BundleException.Damaged("its content ends in the middle of a record.");
                }

                await NextAsync(ct);
                continue;
            }

            var n = Math.Min(destination.Length, _length - _position);
            _plain.AsMemory(_position, n).CopyTo(destination);
            _position += n;
            destination = destination[n..];
        }
    }

    /// <summary>Checks that the payload has been read to the end of the final chunk and that nothing follows it.</summary>
    public async ValueTask EndAsync(CancellationToken ct)
    {
        if (_position != _length || !_final)
        {
            throw BundleException.Damaged("it holds data after its end record.");
        }

        if (await input.ReadAsync(new byte[1], ct) != 0)
        {
            throw BundleException.Damaged("the file has bytes after its final chunk.");
        }
    }

    private async ValueTask NextAsync(CancellationToken ct)
    {
        await FillAsync(_frame.AsMemory(0, BundleChunks.FrameHead), ct);
        var flags = _frame[0];
        var length = BinaryPrimitives.ReadInt32LittleEndian(_frame.AsSpan(1));
        if (flags > BundleChunks.Final || length < 0 || length > _plain.Length || (flags != BundleChunks.Final && length != _plain.Length))
        {
            throw BundleException.Damaged($"chunk {_index} has a malformed frame.");
        }

        await FillAsync(_frame.AsMemory(BundleChunks.FrameHead, BundleChunks.NonceBytes + length + BundleChunks.TagBytes), ct);
        Open(flags, length);
        _index++;
        _final = flags == BundleChunks.Final;
        _position = 0;
        _length = length;
    }

    private void Open(byte flags, int length)
    {
        var nonce = _frame.AsSpan(BundleChunks.FrameHead, BundleChunks.NonceBytes);
        var cipher = _frame.AsSpan(BundleChunks.FrameHead + BundleChunks.NonceBytes, length);
        var tag = _frame.AsSpan(BundleChunks.FrameHead + BundleChunks.NonceBytes + length, BundleChunks.TagBytes);
        Span<byte> aad = stackalloc byte[41];
        BundleChunks.AssociatedData(aad, headerHash, _index, flags);
        try
        {
            _aes.Decrypt(nonce, cipher, tag, _plain.AsSpan(0, length), aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw BundleException.Damaged($"chunk {_index} does not authenticate (changed, moved, dropped or from another bundle).");
        }
    }

    private async ValueTask FillAsync(Memory<byte> buffer, CancellationToken ct)
    {
        if (await input.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct) < buffer.Length)
        {
            throw BundleException.Truncated();
        }
    }

    public void Dispose()
    {
        _aes.Dispose();
        CryptographicOperations.ZeroMemory(_plain);
    }
}
