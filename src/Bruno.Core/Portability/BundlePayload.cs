using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bruno.Core.Retrieval;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Core.Portability;

/// <summary>
/// The plaintext payload: records <c>u32 length | u8 type | body</c> in this order: one <see cref="RecordType.Tenant"/>;
/// per collection (by name) one <see cref="RecordType.Collection"/>, its rows (by id) and a
/// <see cref="RecordType.CollectionEnd"/> with their count and the SHA-256 of their records; then
/// <see cref="RecordType.End"/> with the totals and the SHA-256 of every payload byte before it.
/// Strings are <c>u32 byte length | UTF-8</c>; integers and floats little-endian.
/// </summary>
internal enum RecordType : byte
{
    /// <summary>The tenant's settings, as JSON (<see cref="BundleSettings"/>).</summary>
    Tenant = 1,

    /// <summary>str name | u32 dimension | str model | u8 metric.</summary>
    Collection = 2,

    /// <summary>
    /// str id | str text | i64 created-at (UTC ticks) | str user ("" = none) | u16 metadata count, then per entry (by key):
    /// str key | u8 kind | str, f64 bits, i64 UTC ticks or u8 | u32 dimension | the vector's float32 bits; then, only
    /// for a row with readers (<see cref="StoredRow.Readers"/>), u16 count and per principal u8 kind | str name. A row
    /// without readers is encoded as before access lists existed, so its record and every digest over it are unchanged.
    /// </summary>
    Row = 3,

    /// <summary>u64 rows | 32-byte SHA-256 of the collection's row records.</summary>
    CollectionEnd = 4,

    /// <summary>u32 collections | u64 rows | 32-byte SHA-256 of the payload before this record.</summary>
    End = 5,
}

/// <summary>What a bundle carries of the tenant's catalog record and settings (never its API keys).</summary>
internal sealed record BundleSettings(
    string DisplayName,
    string Plan,
    string Isolation,
    IReadOnlyList<string> Compliance,
    RetrievalOverrides? Retrieval,
    int? MemoryRetentionDays,
    DateTimeOffset? MemoryConsolidatedUntil,
    string SourceStatus,
    DateTimeOffset SourceCreatedAt)
{
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}

/// <summary>One collection as a bundle describes it: its spec, how many rows, their digest.</summary>
internal sealed record BundleCollection(CollectionSpec Spec, long Rows, byte[] Digest);

/// <summary>What a read of a whole payload found.</summary>
internal sealed record BundleContents(BundleSettings Settings, IReadOnlyList<BundleCollection> Collections, long Rows, long PayloadBytes);

/// <summary>Receives a payload's content in order while it is read (the import's second pass).</summary>
internal interface IBundleSink
{
    Task CollectionAsync(CollectionSpec spec, CancellationToken ct);

    Task RowAsync(StoredRow row, CancellationToken ct);

    Task CollectionEndAsync(CancellationToken ct);
}

/// <summary>The SHA-256 of a sequence of rows, each encoded as its bundle record: equal digests, equal rows.</summary>
internal sealed class RowDigest : IDisposable
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly ArrayBufferWriter<byte> _scratch = new();

    public long Rows { get; private set; }

    public void Add(StoredRow row)
    {
        _scratch.ResetWrittenCount();
        BundleRecords.Row(_scratch, row);
        Add(_scratch.WrittenSpan);
    }

    /// <summary>Adds a row record already encoded.</summary>
    public void Add(ReadOnlySpan<byte> record)
    {
        _hash.AppendData(record);
        Rows++;
    }

    public byte[] Finish() => _hash.GetHashAndReset();

    public void Dispose() => _hash.Dispose();
}

/// <summary>Encodes and decodes the payload's records.</summary>
internal static class BundleRecords
{
    /// <summary>Largest record accepted: a row's text (1 Mi characters) and metadata with room to spare.</summary>
    public const int MaxRecordBytes = 32 << 20;

    private const int MaxStringBytes = 8 << 20;
    private static readonly IReadOnlyDictionary<string, MetadataValue> NoMetadata = new Dictionary<string, MetadataValue>();
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static void Tenant(ArrayBufferWriter<byte> w, BundleSettings settings) =>
        Record(w, RecordType.Tenant, b => b.Write(JsonSerializer.SerializeToUtf8Bytes(settings, BundleSettings.Json)));

    public static void Collection(ArrayBufferWriter<byte> w, CollectionSpec spec) => Record(w, RecordType.Collection, b =>
    {
        String(b, spec.Name);
        Int32(b, spec.Dimension);
        String(b, spec.Model);
        Byte(b, (byte)spec.Metric);
    });

    public static void Row(ArrayBufferWriter<byte> w, StoredRow row) => Record(w, RecordType.Row, b =>
    {
        String(b, row.Id);
        String(b, row.Text);
        Int64(b, row.CreatedAt.UtcTicks);
        String(b, row.UserId?.Value ?? string.Empty);
        Int16(b, (ushort)row.Metadata.Count);
        foreach (var (key, value) in row.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            String(b, key);
            Byte(b, (byte)value.Kind);
            switch (value.Kind)
            {
                case MetadataKind.String:
                    String(b, value.AsString);
                    break;
                case MetadataKind.Number:
                    Int64(b, BitConverter.DoubleToInt64Bits(value.AsNumber));
                    break;
                case MetadataKind.Time:
                    Int64(b, value.AsTime.UtcTicks);
                    break;
                case MetadataKind.Bool:
                    Byte(b, value.AsBool ? (byte)1 : (byte)0);
                    break;
                default:
                    throw new InvalidOperationException($"Unknown metadata kind {value.Kind}.");
            }
        }

        var vector = row.Vector.Span;
        Int32(b, vector.Length);
        if (BitConverter.IsLittleEndian)
        {
            b.Write(MemoryMarshal.AsBytes(vector));
        }
        else
        {
            foreach (var f in vector)
            {
                Int32(b, BitConverter.SingleToInt32Bits(f));
            }
        }

        if (row.Readers is { } readers)
        {
            Int16(b, (ushort)readers.Count);
            foreach (var p in readers)
            {
                Byte(b, (byte)p.Kind);
                String(b, p.Name);
            }
        }
    });

    public static void CollectionEnd(ArrayBufferWriter<byte> w, long rows, byte[] digest) => Record(w, RecordType.CollectionEnd, b =>
    {
        Int64(b, rows);
        b.Write(digest);
    });

    public static void End(ArrayBufferWriter<byte> w, int collections, long rows, byte[] payloadHash) => Record(w, RecordType.End, b =>
    {
        Int32(b, collections);
        Int64(b, rows);
        b.Write(payloadHash);
    });

    public static BundleSettings ReadTenant(ReadOnlySpan<byte> body)
    {
        try
        {
            return JsonSerializer.Deserialize<BundleSettings>(body, BundleSettings.Json) ?? throw BundleException.Damaged("its tenant record is empty.");
        }
        catch (JsonException)
        {
            throw BundleException.Damaged("its tenant record is not readable.");
        }
    }

    public static CollectionSpec ReadCollection(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        var name = r.String();
        var dimension = r.Int32();
        var model = r.String();
        var metric = (VectorMetric)r.Byte();
        r.End();
        if (!Enum.IsDefined(metric) || dimension is < 1 or > CollectionSpec.MaxDimension)
        {
            throw BundleException.Damaged($"collection '{Describe(name)}' has a dimension or metric this build does not accept.");
        }

        try
        {
            return new CollectionSpec(IdentifierRules.ValidateName(name, "collection name"), dimension, model, metric);
        }
        catch (ArgumentException)
        {
            throw BundleException.Damaged("a collection has an invalid name.");
        }
    }

    public static StoredRow ReadRow(ReadOnlySpan<byte> body, CollectionSpec spec)
    {
        try
        {
            var r = new Reader(body);
            var id = IdentifierRules.ValidateRowId(r.String());
            var text = r.String();
            var created = new DateTimeOffset(r.Int64(), TimeSpan.Zero);
            var user = r.String();
            var count = r.UInt16();
            var metadata = count == 0 ? null : new Dictionary<string, MetadataValue>(count, StringComparer.Ordinal);
            for (var i = 0; i < count; i++)
            {
                var key = IdentifierRules.ValidateName(r.String(), "metadata key");
                var kind = (MetadataKind)r.Byte();
                metadata![key] = kind switch
                {
                    MetadataKind.String => MetadataValue.String(r.String()),
                    MetadataKind.Number => MetadataValue.Number(BitConverter.Int64BitsToDouble(r.Int64())),
                    MetadataKind.Time => MetadataValue.Time(new DateTimeOffset(r.Int64(), TimeSpan.Zero)),
                    MetadataKind.Bool => MetadataValue.Bool(r.Byte() switch { 0 => false, 1 => true, _ => throw new FormatException() }),
                    _ => throw new FormatException(),
                };
            }

            if (metadata is not null && metadata.Count != count)
            {
                throw new FormatException(); // a key twice
            }

            var dimension = r.Int32();
            if (dimension != spec.Dimension)
            {
                throw new FormatException();
            }

            var vector = new float[dimension];
            r.Floats(vector);
            Principal[]? readers = null;
            if (!r.AtEnd)
            {
                readers = new Principal[r.UInt16()];
                if (readers.Length > StoredRow.MaxReaders)
                {
                    throw new FormatException();
                }

                for (var i = 0; i < readers.Length; i++)
                {
                    var kind = (PrincipalKind)r.Byte();
                    readers[i] = Principal.Of(kind, r.String());
                }
            }

            r.End();
            foreach (var f in vector)
            {
                if (!float.IsFinite(f))
                {
                    throw new FormatException();
                }
            }

            return new StoredRow
            {
                Id = id,
                Text = text,
                Vector = vector,
                CreatedAt = created,
                UserId = user.Length == 0 ? null : UserId.Parse(user),
                Metadata = metadata ?? NoMetadata,
                Readers = readers,
            };
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw BundleException.Damaged($"a row of collection '{spec.Name}' is malformed.");
        }
    }

    public static (long Rows, byte[] Digest) ReadCollectionEnd(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        var rows = r.Int64();
        var digest = r.Bytes(32);
        r.End();
        return (rows, digest);
    }

    public static (int Collections, long Rows, byte[] Hash) ReadEnd(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        var collections = r.Int32();
        var rows = r.Int64();
        var hash = r.Bytes(32);
        r.End();
        return (collections, rows, hash);
    }

    /// <summary>A name for a message: printable, short.</summary>
    private static string Describe(string s) => new([.. s.Take(64).Select(c => char.IsControl(c) ? '?' : c)]);

    /// <summary>Appends one record: its length is written once the body is (records are built in memory, one at a time).</summary>
    private static void Record(ArrayBufferWriter<byte> w, RecordType type, Action<ArrayBufferWriter<byte>> body)
    {
        var start = w.WrittenCount;
        Int32(w, 0);
        Byte(w, (byte)type);
        body(w);
        var length = w.WrittenCount - start - 4;
        if (length > MaxRecordBytes)
        {
            throw new InvalidOperationException("A bundle record is larger than the format allows.");
        }

        BinaryPrimitives.WriteInt32LittleEndian(MemoryMarshal.AsMemory(w.WrittenMemory).Span.Slice(start, 4), length);
    }

    private static void Byte(ArrayBufferWriter<byte> w, byte v)
    {
        w.GetSpan(1)[0] = v;
        w.Advance(1);
    }

    private static void Int16(ArrayBufferWriter<byte> w, ushort v)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(w.GetSpan(2), v);
        w.Advance(2);
    }

    private static void Int32(ArrayBufferWriter<byte> w, int v)
    {
        BinaryPrimitives.WriteInt32LittleEndian(w.GetSpan(4), v);
        w.Advance(4);
    }

    private static void Int64(ArrayBufferWriter<byte> w, long v)
    {
        BinaryPrimitives.WriteInt64LittleEndian(w.GetSpan(8), v);
        w.Advance(8);
    }

    private static void String(ArrayBufferWriter<byte> w, string s)
    {
        var length = Encoding.UTF8.GetByteCount(s);
        Int32(w, length);
        Encoding.UTF8.GetBytes(s, w.GetSpan(length));
        w.Advance(length);
    }

    /// <summary>Reads a record body; anything short, over-long or left over is <see cref="BundleException"/>.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public byte Byte() => Take(1)[0];

        public ushort UInt16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public byte[] Bytes(int n) => Take(n).ToArray();

        public string String()
        {
            var length = Int32();
            if (length is < 0 or > MaxStringBytes)
            {
                throw BundleException.Damaged("a record holds a string of impossible length.");
            }

            try
            {
                return Strict.GetString(Take(length));
            }
            catch (DecoderFallbackException)
            {
                throw BundleException.Damaged("a record holds a string that is not UTF-8.");
            }
        }

        public void Floats(Span<float> target)
        {
            var bytes = Take(target.Length * 4);
            if (BitConverter.IsLittleEndian)
            {
                bytes.CopyTo(MemoryMarshal.AsBytes(target));
                return;
            }

            for (var i = 0; i < target.Length; i++)
            {
                target[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * 4)..]));
            }
        }

        public readonly bool AtEnd => _pos == _data.Length;

        public readonly void End()
        {
            if (_pos != _data.Length)
            {
                throw BundleException.Damaged("a record is longer than its content.");
            }
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || n > _data.Length - _pos)
            {
                throw BundleException.Damaged("a record is shorter than its content.");
            }

            var span = _data.Slice(_pos, n);
            _pos += n;
            return span;
        }
    }
}
