using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bruno.Storage.Benchmarks;

/// <summary>
/// The shared dataset format (docs/benchmarks.md): manifest.json plus, per tenant, vectors.f32, rows.jsonl, queries.f32,
/// truth.json and truth_u3.json. Any engine can be measured on the same bytes.
/// </summary>
internal sealed class Dataset
{
    public required string Root { get; init; }

    public required int Dimension { get; init; }

    public required int K { get; init; }

    public required List<TenantData> Tenants { get; init; }

    public static Dataset Load(string root)
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(root, "manifest.json")))!;
        var d = manifest["D"]!.GetValue<int>();
        var tenants = manifest["tenants"]!.AsArray().Select(t =>
        {
            var dir = Path.Combine(root, t!["dir"]!.GetValue<string>());
            var rows = File.ReadLines(Path.Combine(dir, "rows.jsonl")).Select(l => JsonSerializer.Deserialize<RowLine>(l)!).ToList();
            return new TenantData(
                t["tenant_id"]!.GetValue<string>(),
                ReadFloats(Path.Combine(dir, "vectors.f32")),
                rows,
                ReadFloats(Path.Combine(dir, "queries.f32")),
                JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir, "truth.json")))!,
                JsonSerializer.Deserialize<int[][]>(File.ReadAllText(Path.Combine(dir, "truth_u3.json")))!);
        }).ToList();
        return new Dataset { Root = root, Dimension = d, K = manifest[nameof(K)]!.GetValue<int>(), Tenants = tenants };
    }

    /// <summary>Writes a seeded, clustered dataset: ~64 centres per tenant, rows = normalise(centre + 0.04 noise), 10 users.</summary>
    public static void Generate(string root, int tenants, int rows, int dim, int queries, int seed, string prefix)
    {
        const int k = 10;
        Directory.CreateDirectory(root);
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
                    jsonl.WriteLine(JsonSerializer.Serialize(new RowLine($"r{i}", id, $"u{i % 10}", 1_767_225_600_000L + (i * 1000L), string.Join(' ', words))));
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
            manifestTenants.Add(new JsonObject { ["tenant_id"] = id, ["dir"] = dir, ["rows"] = rows, ["queries"] = queries });
        }

        var manifest = new JsonObject
        {
            ["format_version"] = 1,
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
        };
        File.WriteAllText(Path.Combine(root, "manifest.json"), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

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

internal sealed record TenantData(string Id, float[] Vectors, List<RowLine> Rows, float[] Queries, int[][] Truth, int[][] TruthU3);
