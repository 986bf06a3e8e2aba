using System.Text.Json;
using System.Text.RegularExpressions;
using Bruno.Core.Evaluation;

namespace Bruno.Quality.Benchmarks;

/// <summary>A corpus of bench/eval: where its files are (a Debian package installs them) and how to read them.</summary>
internal sealed partial record Corpus(string Name, string Package, string Root, IReadOnlyList<string> Include, string ContentType, string Description)
{
    public static Corpus Load(string folder)
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "corpus.json")));
        var r = json.RootElement;
        var include = r.GetProperty("include") is { ValueKind: JsonValueKind.Array } a ? a.EnumerateArray().Select(e => e.GetString()!).ToList() : [r.GetProperty("include").GetString()!];
        return new Corpus(r.GetProperty("name").GetString()!, r.GetProperty("package").GetString()!, r.GetProperty("root").GetString()!, include, r.GetProperty("content_type").GetString()!, r.GetProperty("description").GetString()!);
    }

    /// <summary>The cases of a corpus (cases.jsonl: question, expected_documents, expected_phrase, must_not_answer, style, id).</summary>
    public static List<EvaluationCase> Cases(string folder)
    {
        var cases = new List<EvaluationCase>();
        foreach (var line in File.ReadLines(Path.Combine(folder, "cases.jsonl")))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            var expected = r.TryGetProperty("expected_documents", out var e) && e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().Select(x => x.GetString()!).ToList() : [];
            var phrase = r.TryGetProperty("expected_phrase", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
            var must = r.TryGetProperty("must_not_answer", out var m) && m.ValueKind == JsonValueKind.True;
            cases.Add(new EvaluationCase(r.GetProperty("question").GetString()!, [.. expected.Select(Id)], phrase, must)
            {
                Id = r.TryGetProperty("id", out var id) ? id.GetString() : null,
                Style = r.TryGetProperty("style", out var st) ? st.GetString() : null,
            });
        }

        return cases;
    }

    /// <summary>The corpus's files, in name order.</summary>
    public List<string> Files() =>
        !Directory.Exists(Root) ? [] : [.. Include.SelectMany(pattern => Directory.GetFiles(Root, pattern)).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>A file's document id: its path under the root without the extension, '/' as '.', other characters as '-'.</summary>
    public string IdOf(string file)
    {
        var relative = Path.GetRelativePath(Root, file);
        return Id(Path.ChangeExtension(relative, null)!.Replace('/', '.'));
    }

    /// <summary>A page name as a document id: other characters as '-', and a leading 'p' when it starts with neither letter nor digit.</summary>
    public static string Id(string name)
    {
        var id = Invalid().Replace(name, "-");
        return char.IsAsciiLetterOrDigit(id[0]) ? id : "p" + id;
    }

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex Invalid();
}
