using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Bruno.Storage.Model;

namespace Bruno.Storage.Format;

/// <summary>
/// Builds the plaintext of a segment: the rows of one owner in one collection, sealed together as one blob, with their
/// BM25 terms so that opening a tenant does not tokenise its texts again. Layout, version 2 (format 3; integers
/// little-endian, varint = LEB128):
/// <code>
/// u8 version (2) | u32 row count | per row: u64 ordinal, u32 length, the row (RowCodec, with its vector)
/// | u32 term count | per term: varint UTF-8 length, the term
/// | per row: varint length in terms, varint distinct terms n, n × (varint term index, varint frequency)
/// </code>
/// The ordinal is the row's persistent number in its collection (it names the row's node in the stored HNSW graph).
/// Version 1 (format 2) had no ordinals; it is only read, by the migration to format 3. One instance per thread, reused between segments.
/// </summary>
internal sealed class SegmentWriter : IBufferWriter<byte>
{
    public const byte Version = 2;

    /// <summary>The version of format 2's segments (no ordinals, vectors inside the rows), read by the migration only.</summary>
    public const byte Version1 = 1;

    /// <summary>Ordinals are 40 bits (room for a collection id above them in a 64-bit key, should one be needed).</summary>
    public const long MaxOrdinal = (1L << 40) - 1;
    private readonly Dictionary<string, int> _table = new(StringComparer.Ordinal);
    private readonly List<int> _terms = [];
    private byte[] _buffer = [];
    private int _written;
    private int _rowStart = -1;

    /// <summary>Rows added since <see cref="Start"/>.</summary>
    public int Rows { get; private set; }

    public void Start()
    {
        _written = 0;
        Rows = 0;
        _table.Clear();
        _terms.Clear();
        GetSpan(5)[0] = Version;
        Advance(5);
    }

    /// <summary>Encodes <paramref name="row"/> under <paramref name="ordinal"/> with its vector, creation time (UTC ticks) and analysed terms.</summary>
    public void Add(StoredRow row, long ordinal, ReadOnlySpan<float> vector, long createdTicks, (string Term, int Tf)[] terms, int length)
    {
        BeginRow(ordinal);
        RowCodec.Write(this, row, vector, createdTicks);
        EndRow(terms, length);
    }

    /// <summary>Appends a row already encoded (kept from another segment when one is rewritten or merged), under its ordinal.</summary>
    public void AddEncoded(long ordinal, ReadOnlySpan<byte> row, (string Term, int Tf)[] terms, int length)
    {
        BeginRow(ordinal);
        row.CopyTo(GetSpan(row.Length));
        Advance(row.Length);
        EndRow(terms, length);
    }

    /// <summary>Writes the row count and the term block; the segment is the returned span (valid until the next <see cref="Start"/>).</summary>
    public ReadOnlySpan<byte> Finish()
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(1), (uint)Rows);
        BinaryPrimitives.WriteUInt32LittleEndian(GetSpan(4), (uint)_table.Count);
        Advance(4);
        foreach (var term in _table.Keys)
        {
            var n = Encoding.UTF8.GetByteCount(term);
            WriteVarint((uint)n);
            Encoding.UTF8.GetBytes(term, GetSpan(n));
            Advance(n);
        }

        foreach (var v in _terms)
        {
            WriteVarint((uint)v);
        }

        return _buffer.AsSpan(0, _written);
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void BeginRow(long ordinal)
    {
        if (ordinal is < 1 or > MaxOrdinal)
        {
            throw new InvalidOperationException($"Ordinal {ordinal} is out of range.");
        }

        BinaryPrimitives.WriteInt64LittleEndian(GetSpan(8), ordinal);
        Advance(8);
        _rowStart = _written;
        GetSpan(4);
        Advance(4);
    }

    private void EndRow((string Term, int Tf)[] terms, int length)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_rowStart), (uint)(_written - _rowStart - 4));
        _rowStart = -1;
        Rows++;
        _terms.Add(length);
        _terms.Add(terms.Length);
        foreach (var (term, tf) in terms)
        {
            if (!_table.TryGetValue(term, out var index))
            {
                _table[term] = index = _table.Count; // the table's insertion order is its index order
            }

            _terms.Add(index);
            _terms.Add(tf);
        }
    }

    private void WriteVarint(uint v)
    {
        var span = GetSpan(5);
        var n = 0;
        while (v >= 0x80)
        {
            span[n++] = (byte)(v | 0x80);
            v >>= 7;
        }

        span[n++] = (byte)v;
        Advance(n);
    }

    private void Ensure(int sizeHint)
    {
        var need = _written + Math.Max(sizeHint, 1);
        if (need > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(Math.Max(need, 4096), _buffer.Length * 2));
        }
    }
}

/// <summary>
/// Walks a decrypted segment: first its rows (<c>NextRow</c>), then its term table (<see cref="NextTerm"/>), then
/// each row's terms (<see cref="NextNumber"/>), in the order <see cref="SegmentWriter"/> wrote them. Throws
/// <see cref="StorageFormatException"/> when the bytes are malformed.
/// </summary>
internal ref struct SegmentReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _pos;
    private int _rowsLeft;
    private int _termsLeft = -1;

    public SegmentReader(ReadOnlySpan<byte> data)
    {
        if (data.Length < 5 || data[0] is not (SegmentWriter.Version or SegmentWriter.Version1))
        {
            throw new StorageFormatException(data.Length < 5 ? "A segment is truncated." : $"Segment format version {data[0]} is not supported (this engine reads {SegmentWriter.Version1} and {SegmentWriter.Version}).");
        }

        _data = data;
        Version = data[0];
        Rows = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(data[1..]), int.MaxValue);
        _rowsLeft = Rows;
        _pos = 5;
    }

    /// <summary>Resumes reading a segment at its term table: <paramref name="termsAt"/> is <see cref="Position"/> after its last row.</summary>
    public SegmentReader(ReadOnlySpan<byte> data, int termsAt)
        : this(data)
    {
        _pos = termsAt;
        _rowsLeft = 0;
    }

    public int Rows { get; }

    /// <summary>The segment's plaintext version: 2 (rows with ordinals) or 1 (format 2, read by the migration).</summary>
    public byte Version { get; }

    /// <summary>Where the reader stands in the segment.</summary>
    public readonly int Position => _pos;

    public bool NextRow(out ReadOnlySpan<byte> row) => NextRow(out row, out _);

    /// <summary>The next row and its ordinal (0 in a version-1 segment, which has none); false after the last.</summary>
    public bool NextRow(out ReadOnlySpan<byte> row, out long ordinal)
    {
        if (_rowsLeft == 0)
        {
            row = default;
            ordinal = 0;
            return false;
        }

        ordinal = 0;
        if (Version == SegmentWriter.Version)
        {
            if (_data.Length - _pos < 8)
            {
                throw Truncated();
            }

            ordinal = BinaryPrimitives.ReadInt64LittleEndian(_data[_pos..]);
            _pos += 8;
            if (ordinal is < 1 or > SegmentWriter.MaxOrdinal)
            {
                throw new StorageFormatException("A segment holds an out-of-range ordinal.");
            }
        }

        var length = ReadU32();
        if (length == 0 || length > (uint)(_data.Length - _pos))
        {
            throw Truncated();
        }

        row = _data.Slice(_pos, (int)length);
        _pos += (int)length;
        _rowsLeft--;
        return true;
    }

    /// <summary>The next term of the table, as UTF-8; false after the last.</summary>
    public bool NextTerm(out ReadOnlySpan<byte> term)
    {
        if (_termsLeft < 0)
        {
            if (_rowsLeft != 0)
            {
                throw new InvalidOperationException("Read the rows first.");
            }

            _termsLeft = (int)Math.Min(ReadU32(), int.MaxValue);
        }

        if (_termsLeft == 0)
        {
            term = default;
            return false;
        }

        var length = NextNumber();
        if (length > _data.Length - _pos)
        {
            throw Truncated();
        }

        term = _data.Slice(_pos, length);
        _pos += length;
        _termsLeft--;
        return true;
    }

    /// <summary>The next varint of the per-row term lists.</summary>
    public int NextNumber()
    {
        uint v = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (_pos >= _data.Length)
            {
                throw Truncated();
            }

            var b = _data[_pos++];
            v |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return v <= int.MaxValue ? (int)v : throw new StorageFormatException("A segment holds an out-of-range number.");
            }
        }

        throw new StorageFormatException("A segment holds a malformed number.");
    }

    /// <summary>Checks that nothing follows the last row's terms.</summary>
    public readonly void End()
    {
        if (_pos != _data.Length)
        {
            throw new StorageFormatException("A segment has bytes after its end.");
        }
    }

    private static StorageFormatException Truncated() => new("A segment is truncated.");

    private uint ReadU32()
    {
        if (_data.Length - _pos < 4)
        {
            throw Truncated();
        }

        var v = BinaryPrimitives.ReadUInt32LittleEndian(_data[_pos..]);
        _pos += 4;
        return v;
    }
}
