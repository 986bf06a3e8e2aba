using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Bruno.Storage.Index;

/// <summary>
/// The full-precision vectors of one int8 collection while its tenant is open, out of memory: fixed-size records in
/// a file of the tenant's folder that has no name (it is removed as soon as it is created, and the space is freed when
/// the tenant closes or the process dies), each sealed with AES-256-GCM under a key that exists only in this object
/// (docs/decisions/0048). The store's segments stay the durable copy; this file is a cache rebuilt at every open, so it
/// is never backed up, moved or migrated, and nothing can read it once the process has let it go.
/// <para>
/// Record: u64 nonce counter | ciphertext of the vector's float32 values | 16-byte tag; the associated data binds the
/// record to its index and its row's ordinal, so a record moved, replayed or altered does not decrypt
/// (<see cref="DataUnreadableException"/>). A freed record is overwritten with zeros at once (a deleted row leaves no
/// copy) and reused. Writes (<see cref="Write"/>) and reads (<see cref="Read"/>) are safe from any number of threads;
/// the caller guarantees that a record is not read once it is freed (rows are freed only after the change that removed
/// them is published, under the collection's write lock). A failed write throws <see cref="StorageException"/> from
/// <see cref="Write"/>; <see cref="Free"/> never throws.
/// </para>
/// </summary>
internal sealed class VectorSpill : IDisposable
{
    private const int NonceBytes = 8;
    private const int TagBytes = 16;
    private readonly FileStream _stream; // held so that nothing finalises it; only its handle is used
    private readonly SafeFileHandle _file;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ThreadLocal<AesGcm> _aes;
    private readonly Lock _gate = new();
    private readonly Stack<int> _free = new();
    private readonly int _dimension;
    private long _nonce;
    private int _next;

    /// <summary>Creates the file in <paramref name="folder"/> and removes its name at once. Throws <see cref="StorageException"/> when it cannot be created.</summary>
    public VectorSpill(string folder, int dimension)
    {
        _dimension = dimension;
        RecordBytes = NonceBytes + (dimension * sizeof(float)) + TagBytes;
        var path = Path.Combine(folder, $".vectors-{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
            Options = FileOptions.DeleteOnClose,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            _stream = new FileStream(path, options);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException("The tenant's spill file for vectors could not be created (is the disk full or the folder read-only?).", e);
        }

        _file = _stream.SafeFileHandle;
        try
        {
            File.Delete(path); // the open handle keeps the data; nothing is left behind by a crash
        }
        catch (IOException)
        {
            // where a file in use cannot lose its name, DeleteOnClose removes it when the tenant closes
        }

        _aes = new ThreadLocal<AesGcm>(() => new AesGcm(_key, TagBytes), trackAllValues: true);
    }

    /// <summary>Bytes one record takes in the file.</summary>
    public int RecordBytes { get; }

    /// <summary>Records in use (written and not freed).</summary>
    public int InUse
    {
        get
        {
            lock (_gate)
            {
                return _next - _free.Count;
            }
        }
    }

    /// <summary>
    /// Seals vectors (consecutive in <paramref name="vectors"/>, one per ordinal) into records, freed ones first, then new
    /// ones at the end of the file (one write for those); their indexes go to <paramref name="records"/>. Throws
    /// <see cref="StorageException"/> when the file cannot be written (disk full): then nothing is allocated.
    /// </summary>
    public void Write(ReadOnlySpan<float> vectors, ReadOnlySpan<long> ordinals, Span<int> records)
    {
        var count = ordinals.Length;
        int reused = 0, first;
        lock (_gate)
        {
            while (reused < count && _free.TryPop(out var r))
            {
                records[reused++] = r;
            }

            first = _next;
            _next += count - reused;
        }

        for (var i = reused; i < count; i++)
        {
            records[i] = first + i - reused;
        }

        var bytes = ArrayPool<byte>.Shared.Rent(count * RecordBytes);
        try
        {
            var aes = _aes.Value!;
            Span<byte> aad = stackalloc byte[16];
            Span<byte> nonce = stackalloc byte[12];
            for (var i = 0; i < count; i++)
            {
                var record = bytes.AsSpan(i * RecordBytes, RecordBytes);
                BinaryPrimitives.WriteInt64LittleEndian(record, Interlocked.Increment(ref _nonce));
                NonceOf(record, nonce);
                Aad(aad, records[i], ordinals[i]);
                aes.Encrypt(nonce, MemoryMarshal.AsBytes(vectors.Slice(i * _dimension, _dimension)), record[NonceBytes..^TagBytes], record[^TagBytes..], aad);
            }

            for (var i = 0; i < reused; i++)
            {
                RandomAccess.Write(_file, bytes.AsSpan(i * RecordBytes, RecordBytes), (long)records[i] * RecordBytes);
            }

            if (count > reused)
            {
                RandomAccess.Write(_file, bytes.AsSpan(reused * RecordBytes, (count - reused) * RecordBytes), (long)first * RecordBytes);
            }
        }
        catch (IOException e)
        {
            for (var i = 0; i < count; i++)
            {
                Free(records[i]);
                records[i] = -1;
            }

            throw new StorageException("The tenant's vectors could not be written to its spill file (is the disk full?); nothing was stored.", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <summary>
    /// Reads record <paramref name="record"/> of the row with <paramref name="ordinal"/> into <paramref name="vector"/>.
    /// Throws <see cref="DataUnreadableException"/> when it does not decrypt (the file was altered).
    /// </summary>
    public void Read(int record, long ordinal, Span<float> vector)
    {
        if (ordinal < 1)
        {
            ReadFile(record, ordinal, vector); // a row without an ordinal (built in memory, tests): nothing names it uniquely
            return;
        }

        var recent = _recent ??= new RecentReads();
        if (recent.TryCopy(this, ordinal, vector[.._dimension]))
        {
            return; // read moments ago on this thread (a hit materialised after its re-rank)
        }

        ReadFile(record, ordinal, vector);
        recent.Keep(this, ordinal, vector[.._dimension]);
    }

    private void ReadFile(int record, long ordinal, Span<float> vector)
    {
        var rented = RecordBytes > 4096 ? ArrayPool<byte>.Shared.Rent(RecordBytes) : null;
        var bytes = rented is null ? stackalloc byte[RecordBytes] : rented.AsSpan(0, RecordBytes);
        try
        {
            if (record < 0 || RandomAccess.Read(_file, bytes, (long)record * RecordBytes) != RecordBytes)
            {
                throw Altered();
            }

            Span<byte> aad = stackalloc byte[16];
            Span<byte> nonce = stackalloc byte[12];
            Aad(aad, record, ordinal);
            NonceOf(bytes, nonce);
            _aes.Value!.Decrypt(nonce, bytes[NonceBytes..^TagBytes], bytes[^TagBytes..], MemoryMarshal.AsBytes(vector[.._dimension]), aad);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Altered();
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Overwrites a record with zeros and makes it reusable. Never throws: a record that could not be zeroed is still only ciphertext under a key that dies with this object.</summary>
    public void Free(int record)
    {
        if (record < 0)
        {
            return;
        }

        try
        {
            var zeros = ArrayPool<byte>.Shared.Rent(RecordBytes);
            Array.Clear(zeros, 0, RecordBytes);
            RandomAccess.Write(_file, zeros.AsSpan(0, RecordBytes), (long)record * RecordBytes);
            ArrayPool<byte>.Shared.Return(zeros);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // see the summary
        }

        lock (_gate)
        {
            _free.Push(record);
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        foreach (var aes in _aes.Values)
        {
            aes.Dispose();
        }

        _aes.Dispose();
        CryptographicOperations.ZeroMemory(_key);
    }

    /// <summary>
    /// The vectors this thread read last, by spill and ordinal: a search materialises its hits right after re-ranking
    /// them, on the same thread, and this spares the second read and decryption. An ordinal names one vector for the life
    /// of a spill (rows get new ordinals when replaced, and the engine's ordinals start at 1), so an entry is never stale.
    /// About 512 KB a thread.
    /// </summary>
    [ThreadStatic]
    private static RecentReads? _recent;

    private sealed class RecentReads
    {
        private const int Bytes = 512 * 1024;
        private readonly VectorSpill?[] _owners = new VectorSpill?[256];
        private readonly long[] _ordinals = new long[256];
        private readonly float[]?[] _vectors = new float[256][];
        private int _next;

        public bool TryCopy(VectorSpill owner, long ordinal, Span<float> vector)
        {
            var n = Entries(vector.Length);
            for (var i = 0; i < n; i++)
            {
                if (_ordinals[i] == ordinal && ReferenceEquals(_owners[i], owner) && _vectors[i] is { } v && v.Length == vector.Length)
                {
                    v.CopyTo(vector);
                    return true;
                }
            }

            return false;
        }

        public void Keep(VectorSpill owner, long ordinal, ReadOnlySpan<float> vector)
        {
            var i = _next = (_next + 1) % Entries(vector.Length);
            if (_vectors[i]?.Length != vector.Length)
            {
                _vectors[i] = new float[vector.Length];
            }

            vector.CopyTo(_vectors[i]);
            (_owners[i], _ordinals[i]) = (owner, ordinal);
        }

        private static int Entries(int dimension) => Math.Clamp(Bytes / (dimension * sizeof(float)), 16, 256);
    }

    private static DataUnreadableException Altered() => new("A full-precision vector held for re-ranking does not decrypt: its file was altered.");

    /// <summary>The 12-byte GCM nonce: the record's 8-byte counter and 4 zero bytes (no counter is used twice under the key).</summary>
    private static void NonceOf(ReadOnlySpan<byte> record, Span<byte> nonce)
    {
        record[..NonceBytes].CopyTo(nonce);
        nonce[NonceBytes..].Clear();
    }

    private static void Aad(Span<byte> aad, int record, long ordinal)
    {
        BinaryPrimitives.WriteInt64LittleEndian(aad, record);
        BinaryPrimitives.WriteInt64LittleEndian(aad[8..], ordinal);
    }
}
