using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Format;

/// <summary>
/// The plaintext layout of one row, before it is encrypted. Version 1:
/// u8 version | str id | str text | i64 created-at (UTC ticks) | str user id ("" = none) |
/// varint metadata count, then per entry: str key, u8 kind, value (str | f64 | i64 ticks | u8) |
/// varint dimension, then the floats (IEEE 754, little-endian). str = varint byte length + UTF-8.
/// Version 2 is version 1 with the row's readers between the metadata and the dimension: varint count, then per
/// principal u8 kind (<see cref="PrincipalKind"/>) and str name, users first, then by name (ordinal). A row
/// without readers (the whole tenant) is still written as version 1, byte for byte as before; version 1 rows read as
/// rows without readers.
/// </summary>
internal static class RowCodec
{
    /// <summary>The version of a row without readers.</summary>
    public const byte Version = 1;

    /// <summary>The version of a row with readers.</summary>
    public const byte VersionWithReaders = 2;

    public static void Write(IBufferWriter<byte> w, StoredRow row, long createdTicks) => Write(w, row, row.Vector.Span, createdTicks);

    /// <summary>Encodes <paramref name="row"/> with <paramref name="vector"/> in place of its own.</summary>
    public static void Write(IBufferWriter<byte> w, StoredRow row, ReadOnlySpan<float> vector, long createdTicks)
    {
        WriteByte(w, row.Readers is null ? Version : VersionWithReaders);
        WriteString(w, row.Id);
        WriteString(w, row.Text);
        WriteInt64(w, createdTicks);
        WriteString(w, row.UserId?.Value ?? string.Empty);
        WriteVarint(w, (uint)row.Metadata.Count);
        foreach (var (key, value) in row.Metadata.Count == 0 ? Enumerable.Empty<KeyValuePair<string, MetadataValue>>() : row.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            WriteString(w, key);
            WriteByte(w, (byte)value.Kind);
            switch (value.Kind)
            {
                case MetadataKind.String:
                    WriteString(w, value.RawString!);
                    break;
                case MetadataKind.Number:
                    WriteInt64(w, BitConverter.DoubleToInt64Bits(value.RawNumber));
                    break;
                case MetadataKind.Time:
                    WriteInt64(w, (long)value.RawNumber);
                    break;
                case MetadataKind.Bool:
                    WriteByte(w, (byte)value.RawNumber);
                    break;
                default:
                    throw new InvalidOperationException("Unknown metadata kind.");
            }
        }

        if (row.Readers is { } readers)
        {
            WriteVarint(w, (uint)readers.Count);
            for (var i = 0; i < readers.Count; i++)
            {
                WriteByte(w, (byte)readers[i].Kind);
                WriteString(w, readers[i].Name);
            }
        }

        WriteVarint(w, (uint)vector.Length);
        var bytes = MemoryMarshal.AsBytes(vector);
        if (BitConverter.IsLittleEndian)
        {
            w.Write(bytes);
        }
        else
        {
            foreach (var f in vector)
            {
                WriteInt32(w, BitConverter.SingleToInt32Bits(f));
            }
        }
    }

    private static readonly IReadOnlyDictionary<string, MetadataValue> NoMetadata = new Dictionary<string, MetadataValue>();

    /// <summary>Decodes a row; throws <see cref="StorageFormatException"/> for an unknown version or malformed bytes.</summary>
    public static StoredRow Read(ReadOnlySpan<byte> data)
    {
        var row = ReadFields(data, null, out var pos, out var dim);
        var vector = new float[dim];
        ReadVector(data, pos, vector);
        return row with { Vector = vector };
    }

    /// <summary>
    /// Decodes a row whose owner is already known (from its segment), its vector into <paramref name="vector"/>; the
    /// returned row carries no vector and shares <paramref name="owner"/>'s string. Throws
    /// <see cref="StorageFormatException"/> for malformed bytes, a wrong dimension or a different owner.
    /// </summary>
    public static StoredRow Read(ReadOnlySpan<byte> data, Span<float> vector, UserId? owner)
    {
        var row = ReadFields(data, owner, out var pos, out var dim);
        if (dim != vector.Length)
        {
            throw new StorageFormatException($"A row has {dim} dimensions where its collection has {vector.Length}.");
        }

        ReadVector(data, pos, vector);
        return row;
    }

    /// <summary>The id of an encoded row, without decoding the rest.</summary>
    public static string ReadId(ReadOnlySpan<byte> data)
    {
        try
        {
            CheckVersion(data[0]);

            var pos = 1;
            return ReadString(data, ref pos);
        }
        catch (IndexOutOfRangeException)
        {
            throw new StorageFormatException("A row is truncated.");
        }
    }

    private static StoredRow ReadFields(ReadOnlySpan<byte> data, UserId? owner, out int pos, out int dim)
    {
        try
        {
            pos = 0;
            var version = data[pos++];
            CheckVersion(version);

            var id = ReadString(data, ref pos);
            var text = ReadString(data, ref pos);
            var created = BinaryPrimitives.ReadInt64LittleEndian(data[pos..]);
            pos += 8;
            var userLength = (int)ReadVarint(data, ref pos);
            var userBytes = data.Slice(pos, userLength);
            pos += userLength;
            UserId? user;
            if (owner is { } known)
            {
                // Segments hold the rows of one owner: compare bytes instead of allocating the id again.
                if (!Ascii.Equals(userBytes, known.Value))
                {
                    throw new StorageFormatException("A row names another owner than its segment.");
                }

                user = known;
            }
            else
            {
                user = userLength == 0 ? null : UserId.Parse(Encoding.UTF8.GetString(userBytes));
            }

            var count = (int)ReadVarint(data, ref pos);
            var metadata = count == 0 ? null : new Dictionary<string, MetadataValue>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var key = ReadString(data, ref pos);
                var kind = (MetadataKind)data[pos++];
                MetadataValue value;
                switch (kind)
                {
                    case MetadataKind.String:
                        value = MetadataValue.String(ReadString(data, ref pos));
                        break;
                    case MetadataKind.Number:
                        value = MetadataValue.Number(BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(data[pos..])));
                        pos += 8;
                        break;
                    case MetadataKind.Time:
                        value = MetadataValue.Time(new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(data[pos..]), TimeSpan.Zero));
                        pos += 8;
                        break;
                    case MetadataKind.Bool:
                        value = MetadataValue.Bool(data[pos++] != 0);
                        break;
                    default:
                        throw new StorageFormatException($"Unknown metadata kind {(byte)kind}.");
                }

                metadata![key] = value;
            }

            Principal[]? readers = null;
            if (version == VersionWithReaders)
            {
                var n = (int)ReadVarint(data, ref pos);
                if (n > StoredRow.MaxReaders)
                {
                    throw new StorageFormatException($"A row names {n} readers; at most {StoredRow.MaxReaders} are written.");
                }

                readers = new Principal[n];
                for (var i = 0; i < n; i++)
                {
                    var kind = (PrincipalKind)data[pos++];
                    readers[i] = Principal.Of(kind, ReadString(data, ref pos));
                }
            }

            dim = (int)ReadVarint(data, ref pos);
            if (data.Length - pos != dim * 4)
            {
                throw new StorageFormatException("A row's vector does not fill the rest of the row.");
            }

            return new StoredRow
            {
                Id = id,
                Text = text,
                CreatedAt = new DateTimeOffset(created, TimeSpan.Zero),
                UserId = user,
                Metadata = metadata ?? NoMetadata,
                Readers = readers,
                Vector = ReadOnlyMemory<float>.Empty,
            };
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException)
        {
            throw new StorageFormatException("A row is truncated or malformed: " + e.GetType().Name);
        }
    }

    private static void CheckVersion(byte version)
    {
        if (version is not (Version or VersionWithReaders))
        {
            throw new StorageFormatException($"Row format version {version} is not supported (this engine reads {Version} and {VersionWithReaders}).");
        }
    }

    private static void ReadVector(ReadOnlySpan<byte> data, int pos, Span<float> target)
    {
        var src = data.Slice(pos, target.Length * 4);
        if (BitConverter.IsLittleEndian)
        {
            src.CopyTo(MemoryMarshal.AsBytes(target));
        }
        else
        {
            for (var i = 0; i < target.Length; i++)
            {
                target[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(src[(i * 4)..]));
            }
        }
    }

    private static void WriteByte(IBufferWriter<byte> w, byte b)
    {
        w.GetSpan(1)[0] = b;
        w.Advance(1);
    }

    private static void WriteInt64(IBufferWriter<byte> w, long v)
    {
        BinaryPrimitives.WriteInt64LittleEndian(w.GetSpan(8), v);
        w.Advance(8);
    }

    private static void WriteInt32(IBufferWriter<byte> w, int v)
    {
        BinaryPrimitives.WriteInt32LittleEndian(w.GetSpan(4), v);
        w.Advance(4);
    }

    /// <summary>Writes <paramref name="v"/> as LEB128 (also used by <see cref="GraphCodec"/>).</summary>
    internal static void WriteVarint(IBufferWriter<byte> w, uint v)
    {
        var span = w.GetSpan(5);
        var n = 0;
        while (v >= 0x80)
        {
            span[n++] = (byte)(v | 0x80);
            v >>= 7;
        }

        span[n++] = (byte)v;
        w.Advance(n);
    }

    private static void WriteString(IBufferWriter<byte> w, string s)
    {
        var len = Encoding.UTF8.GetByteCount(s);
        WriteVarint(w, (uint)len);
        Encoding.UTF8.GetBytes(s, w.GetSpan(len));
        w.Advance(len);
    }

    private static uint ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        uint v = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            var b = data[pos++];
            v |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return v;
            }
        }

        throw new StorageFormatException("A varint is malformed.");
    }

    private static string ReadString(ReadOnlySpan<byte> data, ref int pos)
    {
        var len = (int)ReadVarint(data, ref pos);
        var s = Encoding.UTF8.GetString(data.Slice(pos, len));
        pos += len;
        return s;
    }
}
