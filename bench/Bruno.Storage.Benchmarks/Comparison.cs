using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bruno.Storage.Benchmarks;

/// <summary>
/// <c>--compare</c>: Bruno's result files against other engines' (bench/lancedb/run.mjs writes the same measure names),
/// one Markdown table of the medians per engine, with the ratio and which direction is better, also written as JSON.
/// </summary>
internal static class Comparison
{
    // Numbers that describe the run rather than measure it.
    private static readonly HashSet<string> Descriptive = ["queries", "rows", "dim", "tenants", "rows_per_tenant", "opens", "ef", "round", "seed",
        "open_tenants_measured", "open_tenants_after", "caller_groups", "groups", "visible_rows", "cores"];

    // Parts of a result file that are not measures.
    private static readonly HashSet<string> Skipped = ["machine", "datasets", "date", "quick", "engine", "engine_version", "mixed_sequence"];

    public static int Run(IReadOnlyList<string> ours, IReadOnlyList<string> others, string outFile)
    {
        if (others.Count == 0)
        {
            Console.Error.WriteLine("--results needs --compare OTHER.json (another engine's result file)");
            return 1;
        }

        var bruno = new Engine("Bruno", [.. ours.Select(Read)]);
        var engines = others.Select(Read).GroupBy(j => $"{j["engine"]?.GetValue<string>() ?? "other"} {j["engine_version"]?.GetValue<string>() ?? ""}".Trim())
            .Select(g => new Engine(g.Key, [.. g])).ToList();

        var rows = new JsonArray();
        var table = new StringBuilder();
        table.Append("| measure | better | Bruno");
        foreach (var e in engines)
        {
            table.Append(CultureInfo.InvariantCulture, $" | {e.Name} | Bruno / {e.Name}");
        }

        table.AppendLine(" |");
        table.Append("|---|---|---:");
        table.Append(string.Concat(engines.Select(_ => "|---:|---:")));
        table.AppendLine("|");
        foreach (var (measure, ourValue) in bruno.Medians)
        {
            if (!engines.Any(e => e.Medians.ContainsKey(measure)))
            {
                continue;
            }

            var better = Better(measure);
            var row = new JsonObject { ["measure"] = measure, ["better"] = better, ["Bruno"] = ourValue };
            table.Append(CultureInfo.InvariantCulture, $"| {measure} | {better} | {Format(ourValue)}");
            foreach (var e in engines)
            {
                if (e.Medians.TryGetValue(measure, out var theirs))
                {
                    double? ratio = theirs == 0 ? null : Math.Round(ourValue / theirs, 3);
                    row[e.Name] = theirs;
                    row[$"Bruno / {e.Name}"] = ratio;
                    table.Append(CultureInfo.InvariantCulture, $" | {Format(theirs)} | {(ratio is { } r ? Format(r) + "×" + Ahead(better, r) : "—")}");
                }
                else
                {
                    table.Append(" | — | —");
                }
            }

            table.AppendLine(" |");
            rows.Add(row);
        }

        var notes = new JsonArray();
        foreach (var e in engines)
        {
            foreach (var part in new[] { "multi", "large" })
            {
                var ourSha = Sha(bruno.Files, part);
                var theirSha = Sha(e.Files, part);
                if (ourSha.Count > 0 && theirSha.Count > 0 && !ourSha.SetEquals(theirSha))
                {
                    notes.Add($"the {part} dataset differs: Bruno read manifest {string.Join(", ", ourSha)}, {e.Name} read {string.Join(", ", theirSha)}");
                }
            }
        }

        foreach (var e in engines)
        {
            var ourSequence = Sha(bruno.Files, "mixed");
            var theirSequence = Sha(e.Files, "mixed");
            if (ourSequence.Count > 0 && theirSequence.Count > 0 && !ourSequence.SetEquals(theirSequence))
            {
                notes.Add($"the mixed loop ran another sequence: Bruno {string.Join(", ", ourSequence)}, {e.Name} {string.Join(", ", theirSequence)}");
            }
        }

        var markdown = table.ToString();
        var result = new JsonObject
        {
            ["date"] = DateTimeOffset.UtcNow.ToString("O"),
            ["statistic"] = "median over each engine's result files",
            ["engines"] = new JsonArray([.. new[] { bruno }.Concat(engines).Select(e => (JsonNode)new JsonObject
            {
                ["name"] = e.Name,
                ["runs"] = e.Files.Count,
                ["dates"] = new JsonArray([.. e.Files.Select(f => (JsonNode?)f["date"]?.DeepClone())]),
                ["machine"] = e.Files[0]["machine"]?.DeepClone(),
                ["datasets"] = e.Files[0]["datasets"]?.DeepClone(),
            })]),
            ["mismatches"] = notes,
            ["rows"] = rows,
            ["markdown"] = markdown,
        };
        Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
        File.WriteAllText(outFile, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"Medians: Bruno {bruno.Files.Count} run(s){string.Concat(engines.Select(e => $", {e.Name} {e.Files.Count} run(s)"))}. The ratio is Bruno's figure over the other's; (Bruno ahead) or (Bruno behind) reads the better column.");
        foreach (var note in notes)
        {
            Console.WriteLine($"warning: {note}");
        }

        Console.WriteLine();
        Console.Write(markdown);
        Console.WriteLine($"written to {outFile}");
        return 0;
    }

    private static JsonObject Read(string file)
    {
        var json = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
        json["engine"] ??= "bruno";
        return json;
    }

    // The manifests' sha256 a part read, or ("mixed") the mixed loop's sequence checksum.
    private static HashSet<string> Sha(List<JsonObject> files, string part) =>
        [.. files.Select(f => (part == "mixed" ? f["multi"]?["mixed_sequence"]?["sha256"] : f["datasets"]?[part]?["manifest_sha256"])?.GetValue<string>()).OfType<string>()];

    // Lower for time, bytes and memory; higher for throughput and recall; "—" where neither is meant.
    private static string Better(string measure)
    {
        var leaf = measure[(measure.LastIndexOf('.') + 1)..];
        return measure.Contains("recall", StringComparison.Ordinal) || leaf is "qps" || leaf.Contains("per_s", StringComparison.Ordinal) || leaf.Contains("share", StringComparison.Ordinal) ? "higher"
            : measure.Contains("_ms", StringComparison.Ordinal) || leaf.EndsWith("_s", StringComparison.Ordinal) || leaf.Contains("bytes", StringComparison.Ordinal) || leaf.EndsWith("_mb", StringComparison.Ordinal) || leaf.Contains("_kb", StringComparison.Ordinal) ? "lower"
            : "—";
    }

    private static string Ahead(string better, double ratio) => better switch
    {
        "lower" when ratio < 1 => " (Bruno ahead)",
        "lower" when ratio > 1 => " (Bruno behind)",
        "higher" when ratio > 1 => " (Bruno ahead)",
        "higher" when ratio < 1 => " (Bruno behind)",
        _ => "",
    };

    private static string Format(double v) => Math.Abs(v) >= 1000 ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString("0.####", CultureInfo.InvariantCulture);

    // Numeric leaves by path (multi.exact.p50_ms); array elements that name their ef by it (large.approx_ef_sweep[ef=64].p50_ms).
    private static void Flatten(JsonNode? node, string path, Dictionary<string, double> into)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    if (!(path.Length == 0 && Skipped.Contains(key)) && !Descriptive.Contains(key) && key != "mixed_sequence")
                    {
                        Flatten(value, path.Length == 0 ? key : $"{path}.{key}", into);
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var label = a[i]?["ef"] is { } ef ? $"ef={ef.ToJsonString().Trim('"')}" : i.ToString(CultureInfo.InvariantCulture);
                    Flatten(a[i], $"{path}[{label}]", into);
                }

                break;
            case JsonValue v when v.TryGetValue<double>(out var d):
                into[path] = d;
                break;
            default:
                break;
        }
    }

    private sealed class Engine
    {
        public Engine(string name, List<JsonObject> files)
        {
            Name = name;
            Files = files;
            var all = files.Select(f =>
            {
                var flat = new Dictionary<string, double>();
                Flatten(f, "", flat);
                return flat;
            }).ToList();
            foreach (var key in all.SelectMany(f => f.Keys).Distinct())
            {
                var values = all.Where(f => f.ContainsKey(key)).Select(f => f[key]).Order().ToList();
                var mid = values.Count / 2;
                Medians[key] = values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
            }
        }

        public string Name { get; }

        public List<JsonObject> Files { get; }

        public Dictionary<string, double> Medians { get; } = [];
    }
}
