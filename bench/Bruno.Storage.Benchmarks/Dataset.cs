using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bruno.Storage.Benchmarks;

/// <summary>
/// The shared dataset format (docs/benchmarks.md): manifest.json plus, per tenant, vectors.f32, rows.jsonl, queries.f32,
/// truth.json and truth_u3.json. Any engine can be measured on the same bytes.
/// </summary>
internal sealed class Dataset
{
    /// <summary>The files each tenant's folder holds, every one named with its sha256 in a format 2 manifest.</summary>
    public static readonly string[] TenantFiles = ["vectors.f32", "rows.jsonl", "queries.f32", "truth.json", "truth_u3.json"];

    /// <summary>Queries in the mixed loop when the manifest does not say (`mixed_queries`).</summary>
    public const int MixedQueries = 4000;

    public required string Root { get; init; }

    public required int Dimension { get; init; }

    public required int K { get; init; }

    public required int Seed { get; init; }

    public required int MixedCount { get; init; }

    public required List<TenantData> Tenants { get; init; }

    /// <summary>What the result JSON says of the dataset: where, which manifest (its sha256), whether its files were checked.</summary>
    public required JsonObject Info { get; init; }

    /// <summary>
    /// The mixed loop's (tenant, query) pairs, the same in every engine's harness: a fresh mulberry32 seeded with the
    /// manifest's seed; per step t = floor(next() * T), then q = floor(next() * Q).
    /// </summary>
    public IEnumerable<(int Tenant, int Query)> MixedSequence()
    {
        var rng = new Mulberry32(Seed);
        var queries = Tenants[0].Queries.Length / Dimension;
        for (var i = 0; i < MixedCount; i++)
        {
            var t = (int)Math.Floor(rng.Next() * Tenants.Count);
            var q = (int)Math.Floor(rng.Next() * queries);
            yield return (t, q);
        }
    }

    /// <summary>sha256 of the pairs written "t q\n" one after the other, as bench/lancedb/format.mjs computes it.</summary>
    public static string SequenceSha(IEnumerable<(int Tenant, int Query)> pairs) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Concat(pairs.Select(p => $"{p.Tenant} {p.Query}\n")))));

    /// <summary>
    /// Reads a dataset after checking the sha256 of every file its manifest names. Format 2 must name them all; a format 1
    /// manifest names none and loads unverified. A mismatch or a missing value throws <see cref="DatasetException"/>.
    /// </summary>
    public static Dataset Load(string root)
    {
        var manifestPath = Path.Combine(root, "manifest.json");
        var manifestBytes = File.ReadAllBytes(manifestPath);
        var manifest = JsonNode.Parse(manifestBytes)!;
        var format = manifest["format_version"]?.GetValue<int>() ?? 1;
        var verified = Verify(root, manifest, format);
        var d = manifest["D"]!.GetValue<int>();
        var tenants = manifest["tenants"]!.AsArray().Select(t =>
        {
            var dir = Path.Combine(root, t!["dir"]!.GetValue<string>());
            return TenantData.Open(
                t["tenant_id"]!.GetValue<string>(),
                dir,
                d,
                ReadFloats(Path.Combine(dir, "queries.f32")),
                JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir, "truth.json")))!,
                JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir, "truth_u3.json")))!);
        }).ToList();
        var info = new JsonObject
        {
            ["path"] = Path.GetFullPath(root),
            ["manifest_sha256"] = Convert.ToHexStringLower(SHA256.HashData(manifestBytes)),
            ["verified"] = verified,
            ["format_version"] = format,
            ["generator"] = manifest["generator"]?.GetValue<string>(),
        };
        return new Dataset
        {
            Root = root,
            Dimension = d,
            K = manifest[nameof(K)]!.GetValue<int>(),
            Seed = manifest["seed"]!.GetValue<int>(),
            MixedCount = manifest["mixed_queries"]?.GetValue<int>() ?? MixedQueries,
            Tenants = tenants,
            Info = info,
        };
    }

    private static bool Verify(string root, JsonNode manifest, int format)
    {
        var manifestPath = Path.Combine(root, "manifest.json");
        if (manifest["sha256"] is not JsonObject sums)
        {
            return format < 2 ? false : throw new DatasetException($"{manifestPath}: format {format} without sha256 values");
        }

        foreach (var t in manifest["tenants"]!.AsArray())
        {
            foreach (var file in TenantFiles)
            {
                var rel = $"{t!["dir"]!.GetValue<string>()}/{file}";
                if (sums[rel] is null)
                {
                    throw new DatasetException($"{manifestPath}: no sha256 for {rel}");
                }
            }
        }

        foreach (var (rel, want) in sums)
        {
            var path = Path.Combine(root, rel);
            if (!File.Exists(path))
            {
                throw new DatasetException($"{manifestPath} names {rel}, which is missing");
            }

            using var stream = File.OpenRead(path);
            var got = Convert.ToHexStringLower(SHA256.HashData(stream));
            if (got != want!.GetValue<string>())
            {
                throw new DatasetException($"sha256 mismatch: {rel} is {got}, the manifest says {want}");
            }
        }

        return true;
    }

    /// <summary>
    /// Writes a seeded, clustered dataset in format 2: ~64 centres per tenant, rows = normalise(centre + 0.04 noise),
    /// 10 users, row ids t{tenant index:D3}-d{row:D6}, and the sha256 of every file in the manifest.
    /// </summary>
    public static void Generate(string root, int tenants, int rows, int dim, int queries, int seed, string prefix)
    {
        const int k = 10;
        Directory.CreateDirectory(root);
        var sums = new JsonObject();
        var vocabulary = Enumerable.Range(0, 4000).Select(i => Word(i)).ToArray();
        var manifestTenants = new JsonArray();
        for (var t = 0; t < tenants; t++)
        {
            var rng = new Random(seed + (t * 7919));
            var id = $"{prefix}{t:D3}";
            var dir = Path.Combine("tenants", id);
            var full = Path.Combine(root, dir);
            Directory.CreateDirectory(full);
            var centres = Enumerable.Range(0, 64).Select(_ => Normalise(Gaussian(rng, dim, 1f))).ToArray();
            var vectors = new float[rows * dim];
            using (var jsonl = new StreamWriter(Path.Combine(full, "rows.jsonl")))
            {
                for (var i = 0; i < rows; i++)
                {
                    var c = rng.Next(centres.Length);
                    var v = Normalise(Add(centres[c], Gaussian(rng, dim, 0.04f)));
                    v.CopyTo(vectors, i * dim);
                    var words = Enumerable.Range(0, 24).Select(_ => vocabulary[rng.NextDouble() < 0.6 ? (c * 50) + rng.Next(50) : rng.Next(vocabulary.Length)]);
                    jsonl.WriteLine(JsonSerializer.Serialize(new RowLine(RowId(t, i), id, $"u{i % 10}", 1_767_225_600_000L + (i * 1000L), string.Join(' ', words))));
                }
            }

            var qs = new float[queries * dim];
            for (var q = 0; q < queries; q++)
            {
                Normalise(Add(centres[rng.Next(centres.Length)], Gaussian(rng, dim, 0.04f))).CopyTo(qs, q * dim);
            }

            File.WriteAllBytes(Path.Combine(full, "vectors.f32"), MemoryMarshal.AsBytes(vectors.AsSpan()).ToArray());
            File.WriteAllBytes(Path.Combine(full, "queries.f32"), MemoryMarshal.AsBytes(qs.AsSpan()).ToArray());
            File.WriteAllText(Path.Combine(full, "truth.json"), JsonSerializer.Serialize(Truth(vectors, qs, dim, k, _ => true)));
            File.WriteAllText(Path.Combine(full, "truth_u3.json"), JsonSerializer.Serialize(Truth(vectors, qs, dim, k, i => i % 10 == 3)));
            foreach (var file in TenantFiles)
            {
                using var stream = File.OpenRead(Path.Combine(full, file));
                sums[$"tenants/{id}/{file}"] = Convert.ToHexStringLower(SHA256.HashData(stream));
            }

            manifestTenants.Add(new JsonObject { ["tenant_id"] = id, ["dir"] = dir, ["rows"] = rows, ["queries"] = queries });
        }

        var manifest = new JsonObject
        {
            ["format_version"] = 2,
            ["generator"] = "bench/Bruno.Storage.Benchmarks",
            ["T"] = tenants,
            ["N"] = rows,
            ["D"] = dim,
            ["Q"] = queries,
            [nameof(K)] = k,
            ["seed"] = seed,
            ["tenants"] = manifestTenants,
            ["metric"] = "dot",
            ["normalised"] = true,
            ["users"] = 10,
            ["mixed_queries"] = MixedQueries,
            ["sha256"] = sums,
        };
        File.WriteAllText(Path.Combine(root, "manifest.json"), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The format's row id: tenant index and row index, e.g. t000-d000123.</summary>
    public static string RowId(int tenant, int row) => $"t{tenant:D3}-d{row:D6}";

    private static int[][] Truth(float[] vectors, float[] queries, int dim, int k, Func<int, bool> include)
    {
        var n = vectors.Length / dim;
        var result = new int[queries.Length / dim][];
        Parallel.For(0, result.Length, q =>
        {
            var query = queries.AsSpan(q * dim, dim);
            result[q] = [.. Enumerable.Range(0, n).Where(include)
                .Select(i => (i, s: TensorPrimitives.Dot(queries.AsSpan(q * dim, dim), vectors.AsSpan(i * dim, dim))))
                .OrderByDescending(x => x.s).ThenBy(x => x.i).Take(k).Select(x => x.i)];
            _ = query.Length;
        });
        return result;
    }

    private static string Word(int i)
    {
        const string letters = "abcdefghijklmnopqrstuvwxyz";
        var a = letters[i % 26];
        var b = letters[(i / 26) % 26];
        var c = letters[(i / 676) % 26];
        return $"{c}{a}{b}{(char)('a' + (i % 7))}o";
    }

    private static float[] Gaussian(Random rng, int dim, float scale)
    {
        var v = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            var u1 = 1 - rng.NextDouble();
            var u2 = rng.NextDouble();
            v[i] = scale * (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return v;
    }

    private static float[] Add(float[] a, float[] b)
    {
        var r = new float[a.Length];
        TensorPrimitives.Add(a, b, r);
        return r;
    }

    private static float[] Normalise(float[] v)
    {
        TensorPrimitives.Divide(v, TensorPrimitives.Norm(v), v);
        return v;
    }

    private static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
}

internal sealed record RowLine(
    [property: System.Text.Json.Serialization.JsonPropertyName("id")] string Id,
    [property: System.Text.Json.Serialization.JsonPropertyName("tenant_id")] string TenantId,
    [property: System.Text.Json.Serialization.JsonPropertyName("user_id")] string UserId,
    [property: System.Text.Json.Serialization.JsonPropertyName("created_at")] long CreatedAt,
    [property: System.Text.Json.Serialization.JsonPropertyName("text")] string Text);

/// <summary>
/// One tenant of a dataset, read from its files as the benchmark goes: only the row ids (for recall), the queries and the
/// truth stay in memory, so the process's peak RSS is the engine's and not the dataset's (bench/lancedb/run.mjs reads
/// the same way). Rows and vectors are read by position: rows.jsonl through the byte offset of each line, vectors.f32
/// at row × dimension × 4.
/// </summary>
internal sealed class TenantData
{
    private readonly string _rows;
    private readonly string _vectors;
    private readonly long[] _starts;
    private readonly long _rowsLength;

    private TenantData(string id, string dir, int dimension, string[] ids, long[] starts, float[] queries, int[][] truth, int[][] truthU3)
    {
        Id = id;
        Dimension = dimension;
        Ids = ids;
        _starts = starts;
        _rows = Path.Combine(dir, "rows.jsonl");
        _rowsLength = new FileInfo(_rows).Length;
        _vectors = Path.Combine(dir, "vectors.f32");
        Queries = queries;
        Truth = truth;
        TruthU3 = truthU3;
        var length = new FileInfo(_vectors).Length;
        if (length != (long)ids.Length * dimension * sizeof(float))
        {
            throw new DatasetException($"{_vectors} holds {length} bytes, not {ids.Length} rows of {dimension} floats");
        }
    }

    public string Id { get; }

    public int Dimension { get; }

    /// <summary>The rows' ids in the order of rows.jsonl (what truth.json's indices name).</summary>
    public string[] Ids { get; }

    public int Count => Ids.Length;

    public float[] Queries { get; }

    public int[][] Truth { get; }

    public int[][] TruthU3 { get; }

    /// <summary>Indexes rows.jsonl (each line's offset and the row's id) without keeping the rows.</summary>
    public static TenantData Open(string id, string dir, int dimension, float[] queries, int[][] truth, int[][] truthU3)
    {
        var starts = new List<long>();
        var ids = new List<string>();
        var line = new ArrayBufferWriter<byte>();
        var buffer = new byte[1 << 16];
        long position = 0, lineStart = 0;
        using (var stream = File.OpenRead(Path.Combine(dir, "rows.jsonl")))
        {
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                var span = buffer.AsSpan(0, n);
                while (span.IndexOf((byte)'\n') is var nl && nl >= 0)
                {
                    line.Write(span[..nl]);
                    position += nl + 1;
                    span = span[(nl + 1)..];
                    EndLine();
                    lineStart = position;
                }

                line.Write(span);
                position += span.Length;
            }
        }

        EndLine();
        return new TenantData(id, dir, dimension, [.. ids], [.. starts], queries, truth, truthU3);

        void EndLine()
        {
            var bytes = line.WrittenSpan.TrimEnd((byte)'\r');
            if (!bytes.IsEmpty)
            {
                starts.Add(lineStart);
                ids.Add(ParseRow(bytes).Id);
            }

            line.ResetWrittenCount();
        }
    }

    /// <summary>Rows [start, start + count) into <paramref name="rows"/> (cleared first) and their vectors, when asked, into <paramref name="vectors"/>.</summary>
    public void Read(int start, int count, List<RowLine> rows, float[]? vectors)
    {
        rows.Clear();
        var from = _starts[start];
        var to = start + count < _starts.Length ? _starts[start + count] : _rowsLength;
        var bytes = ArrayPool<byte>.Shared.Rent((int)(to - from));
        try
        {
            var span = bytes.AsSpan(0, (int)(to - from));
            ReadExactly(_rows, span, from);
            while (!span.IsEmpty)
            {
                var nl = span.IndexOf((byte)'\n');
                var line = (nl < 0 ? span : span[..nl]).TrimEnd((byte)'\r');
                span = nl < 0 ? [] : span[(nl + 1)..];
                if (!line.IsEmpty)
                {
                    rows.Add(ParseRow(line));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }

        if (vectors is not null)
        {
            ReadExactly(_vectors, MemoryMarshal.AsBytes(vectors.AsSpan(0, count * Dimension)), (long)start * Dimension * sizeof(float));
        }
    }

    /// <summary>Row <paramref name="i"/>'s text.</summary>
    public string Text(int i)
    {
        var rows = new List<RowLine>(1);
        Read(i, 1, rows, null);
        return rows[0].Text;
    }

    /// <summary>Every vector at once, for a brute-force truth the files do not hold (the access benchmark only).</summary>
    public float[] AllVectors()
    {
        var all = new float[Count * Dimension];
        ReadExactly(_vectors, MemoryMarshal.AsBytes(all.AsSpan()), 0);
        return all;
    }

    private static void ReadExactly(string path, Span<byte> into, long offset)
    {
        using var handle = File.OpenHandle(path);
        while (!into.IsEmpty)
        {
            var n = RandomAccess.Read(handle, into, offset);
            if (n == 0)
            {
                throw new DatasetException($"{path} ends before byte {offset + into.Length}");
            }

            into = into[n..];
            offset += n;
        }
    }

    /// <summary>One line of rows.jsonl, read field by field (a tenth of the serializer's time: the harness reads while it measures).</summary>
    private static RowLine ParseRow(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line);
        string? id = null, tenant = null, user = null, text = null;
        long created = 0;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new DatasetException("rows.jsonl holds a line that is not a JSON object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                id = reader.GetString();
            }
            else if (reader.ValueTextEquals("tenant_id"u8))
            {
                reader.Read();
                tenant = reader.GetString();
            }
            else if (reader.ValueTextEquals("user_id"u8))
            {
                reader.Read();
                user = reader.GetString();
            }
            else if (reader.ValueTextEquals("created_at"u8))
            {
                reader.Read();
                created = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                text = reader.GetString();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return id is null || user is null || text is null
            ? throw new DatasetException("rows.jsonl holds a row without id, user_id or text")
            : new RowLine(id, tenant ?? string.Empty, user, created, text);
    }
}

/// <summary>A dataset that fails its manifest's checks; the benchmark prints the message on one line and exits 1.</summary>
internal sealed class DatasetException(string message) : Exception(message);

/// <summary>
/// mulberry32, the format's random sequence (docs/benchmarks.md): the state advances by 0x6D2B79F5, is mixed, and the
/// 32-bit result over 2^32 is a double in [0, 1). Written from the public-domain definition, as bench/lancedb/format.mjs is.
/// </summary>
internal sealed class Mulberry32(int seed)
{
    private uint _state = unchecked((uint)seed);

    public double Next()
    {
        unchecked
        {
            _state += 0x6D2B79F5;
            var t = (_state ^ (_state >> 15)) * (_state | 1);
            t = (t + ((t ^ (t >> 7)) * (t | 61))) ^ t;
            return (t ^ (t >> 14)) / 4294967296.0;
        }
    }
}
