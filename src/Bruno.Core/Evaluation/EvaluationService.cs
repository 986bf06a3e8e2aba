using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Retrieval;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Core.Evaluation;

/// <summary>
/// Runs evaluation cases against a tenant's current knowledge and retrieval settings (the extractive answer: free,
/// repeatable, and what the service answers without a chat model), computes the figures of
/// <see cref="EvaluationMetrics"/>, and keeps runs in the tenant's own store (collection <c>evaluations</c>, one row
/// per run and one per case, written at once) to be listed, read, compared and deleted. Throws
/// <see cref="EvaluationRejectedException"/> for bad cases before anything runs.
/// </summary>
public sealed partial class EvaluationService(AskService ask, DocumentService documents, TimeProvider? clock = null)
{
    /// <summary>Most cases in one run.</summary>
    public const int MaxCases = 500;

    private const string CollectionName = "evaluations";
    private static readonly CollectionSpec Spec = new(CollectionName, 1, "none", VectorMetric.Dot);
    private static readonly ReadOnlyMemory<float> NoVector = new[] { 1f };
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    /// <summary>Checks cases: 1 to <see cref="MaxCases"/>, each with a valid question, and expected documents (valid ids) unless it must not be answered.</summary>
    public static void Validate(IReadOnlyList<EvaluationCase>? cases)
    {
        if (cases is null || cases.Count is 0 or > MaxCases)
        {
            throw new EvaluationRejectedException($"An evaluation has 1-{MaxCases} cases.");
        }

        for (var i = 0; i < cases.Count; i++)
        {
            var c = cases[i] ?? throw new EvaluationRejectedException($"Case {i + 1} is empty.");
            var q = c.Question?.Trim() ?? string.Empty;
            if (q.Length is 0 or > AskService.MaxQuestionLength || q.Contains('\0', StringComparison.Ordinal))
            {
                throw new EvaluationRejectedException($"Case {i + 1}: a question has 1-{AskService.MaxQuestionLength} characters.");
            }

            var expected = c.ExpectedDocuments ?? [];
            if (c.MustNotAnswer ? expected.Count > 0 : expected.Count is 0 or > 20)
            {
                throw new EvaluationRejectedException($"Case {i + 1}: list 1-20 expected documents, or none with must_not_answer.");
            }

            foreach (var id in expected)
            {
                try
                {
                    DocumentService.ValidateId(id);
                }
                catch (DocumentRejectedException)
                {
                    throw new EvaluationRejectedException($"Case {i + 1}: expected document '{Clip(id)}' is not a valid document id.");
                }
            }

            if (c.ExpectedPhrase is { } phrase && (phrase.Trim().Length is 0 or > 500 || c.MustNotAnswer))
            {
                throw new EvaluationRejectedException($"Case {i + 1}: an expected phrase has 1-500 characters and only answerable cases have one.");
            }

            if (c.Id is { Length: > 100 } || c.Style is { Length: > 40 })
            {
                throw new EvaluationRejectedException($"Case {i + 1}: an id has at most 100 characters and a style at most 40.");
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="cases"/> over the tenant's knowledge with <paramref name="settings"/>; keeps the run in the
    /// tenant's store when <paramref name="keep"/>. <paramref name="mode"/> other than re-ranked measures a baseline.
    /// The run sees what <paramref name="viewer"/> may read, and nothing else; a kept run that ranked a document not
    /// open to the whole tenant is kept readable by that viewer alone (its cases name what they found).
    /// </summary>
    public async Task<EvaluationRun> RunAsync(ITenantStore store, Viewer viewer, IReadOnlyList<EvaluationCase> cases, RetrievalOptions settings, string? label = null, bool keep = true, RankingMode mode = RankingMode.Reranked, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(viewer);
        ArgumentNullException.ThrowIfNull(settings);
        Validate(cases);
        if (label is { Length: > 200 } || label?.Any(char.IsControl) == true)
        {
            throw new EvaluationRejectedException("A label has at most 200 characters and no control characters.");
        }

        var collection = await documents.CollectionAsync(store);
        var documentCount = (int)await collection.CountAsync(viewer.Restrict(Filter.All.Where("kind", "document")), ct);
        var results = new List<CaseResult>(cases.Count);
        foreach (var c in cases)
        {
            ct.ThrowIfCancellationRequested();
            var started = Stopwatch.GetTimestamp();
            var (retrieval, _) = await ask.RetrieveForEvaluationAsync(store, viewer, c.Question.Trim(), settings, mode, ct);
            var response = AskService.Respond(retrieval, settings);
            var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            results.Add(Judge(c, retrieval, response, latency));
        }

        var run = new EvaluationRun(
            NewId(),
            _clock.GetUtcNow(),
            label,
            documentCount,
            settings,
            Metrics(results),
            results.Where(r => r.Style is not null).GroupBy(r => r.Style!).ToDictionary(g => g.Key, g => Metrics([.. g]), StringComparer.Ordinal),
            results);
        if (keep)
        {
            // what a run found is as private as the most private document it found
            var found = results.SelectMany(r => r.RankedDocuments.Concat(r.CitedDocuments)).Distinct(StringComparer.Ordinal).Select(d => (MetadataValue)d).ToArray();
            var these = Filter.All.Where("kind", "document").WhereIn("document_id", found);
            var restricted = found.Length > 0 && await collection.CountAsync(these, ct) > await collection.CountAsync(these.AndReadableBy([]), ct);
            await SaveAsync(store, run, restricted ? [Principal.User(viewer.User)] : null, ct);
        }

        return run;
    }

    /// <summary>Runs kept for the tenant that <paramref name="viewer"/> may read, newest first.</summary>
    public static async Task<IReadOnlyList<EvaluationSummary>> ListAsync(ITenantStore store, Viewer viewer, int limit = 50, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(viewer);
        var collection = await store.EnsureCollectionAsync(Spec, ct);
        var rows = await collection.LatestAsync(viewer.Restrict(Filter.All.Where("kind", "run")), Math.Clamp(limit, 1, 1_000), ct);
        return [.. rows.Select(r => JsonSerializer.Deserialize<EvaluationSummary>(r.Text, Json)!)];
    }

    /// <summary>A kept run with its cases, or null (also when <paramref name="viewer"/> may not read it).</summary>
    public static async Task<EvaluationRun?> GetAsync(ITenantStore store, Viewer viewer, string id, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(viewer);
        var collection = await store.EnsureCollectionAsync(Spec, ct);
        if (!IdPattern().IsMatch(id ?? string.Empty) || await collection.GetAsync("run:" + id, ct) is not { } row || !Readable(viewer, row))
        {
            return null;
        }

        var detail = JsonSerializer.Deserialize<StoredRun>(row.Metadata["detail"].AsString, Json)!;
        var summary = JsonSerializer.Deserialize<EvaluationSummary>(row.Text, Json)!;
        var cases = new List<CaseResult>();
        for (var i = 0; i < detail.Cases; i++)
        {
            if (await collection.GetAsync($"case:{id}:{i:D4}", ct) is { } c)
            {
                cases.Add(JsonSerializer.Deserialize<CaseResult>(c.Text, Json)!);
            }
        }

        return new EvaluationRun(summary.Id, summary.CreatedAt, summary.Label, summary.Documents, detail.Settings, summary.Metrics, detail.ByStyle, cases);
    }

    /// <summary>Deletes a kept run and its cases; false when there was none <paramref name="viewer"/> may read.</summary>
    public static async Task<bool> DeleteAsync(ITenantStore store, Viewer viewer, string id, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(viewer);
        var collection = await store.EnsureCollectionAsync(Spec, ct);
        if (!IdPattern().IsMatch(id ?? string.Empty) || await collection.GetAsync("run:" + id, ct) is not { } row || !Readable(viewer, row))
        {
            return false;
        }

        await collection.DeleteWhereAsync(Filter.All.Where("run_id", id!), ct);
        return true;
    }

    /// <summary>A kept run's summary, read by its id (null when the id is malformed or unknown, or the run not readable by <paramref name="viewer"/>).</summary>
    private static async Task<EvaluationSummary?> SummaryAsync(ITenantStore store, Viewer viewer, string? id, CancellationToken ct)
    {
        var collection = await store.EnsureCollectionAsync(Spec, ct);
        return IdPattern().IsMatch(id ?? string.Empty) && await collection.GetAsync("run:" + id, ct) is { } row && Readable(viewer, row)
            ? JsonSerializer.Deserialize<EvaluationSummary>(row.Text, Json)
            : null;
    }

    /// <summary>Whether <paramref name="viewer"/> may read a kept run's row (by its readers, as a document's).</summary>
    private static bool Readable(Viewer viewer, StoredRow row) => viewer.CanRead(DocumentAccess.Stored(row.Readers));

    /// <summary>Two kept runs side by side, or null when either is missing (or not readable by <paramref name="viewer"/>).</summary>
    public static async Task<EvaluationComparison?> CompareAsync(ITenantStore store, Viewer viewer, string first, string second, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        var a = await SummaryAsync(store, viewer, first, ct);
        var b = await SummaryAsync(store, viewer, second, ct);
        if (a is null || b is null)
        {
            return null;
        }

        var change = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var (name, x, y) in Figures(a.Metrics).Zip(Figures(b.Metrics), (p, q) => (p.Name, p.Value, q.Value)))
        {
            change[name] = x is null || y is null ? null : Math.Round(y.Value - x.Value, 4);
        }

        return new EvaluationComparison(a, b, change);
    }

    /// <summary>The figures by name (snake case), for comparisons and thresholds.</summary>
    public static IEnumerable<(string Name, double? Value)> Figures(EvaluationMetrics m)
    {
        ArgumentNullException.ThrowIfNull(m);
        yield return ("hit_at_1", m.HitAt1);
        yield return ("hit_at_5", m.HitAt5);
        yield return ("mrr_at_10", m.MrrAt10);
        yield return ("answer_accuracy", m.AnswerAccuracy);
        yield return ("citation_precision", m.CitationPrecision);
        yield return ("no_answer_precision", m.NoAnswerPrecision);
        yield return ("no_answer_recall", m.NoAnswerRecall);
        yield return ("confidence_right", m.ConfidenceRight);
        yield return ("confidence_wrong", m.ConfidenceWrong);
        yield return ("calibration_error", m.CalibrationError);
        yield return ("confidence_auc", m.ConfidenceAuc);
        yield return ("latency_p50_ms", m.LatencyP50Ms);
        yield return ("latency_p95_ms", m.LatencyP95Ms);
    }

    /// <summary>How one case fared.</summary>
    private static CaseResult Judge(EvaluationCase c, RetrievalResult retrieval, (string Text, bool Answered, IReadOnlyList<int> Cited, double Confidence) response, double latency)
    {
        var expected = (c.ExpectedDocuments ?? []).ToHashSet(StringComparer.Ordinal);
        var ranked = retrieval.Ranked.Select(r => r.DocumentId).Distinct(StringComparer.Ordinal).Take(10).ToList();
        var rank = ranked.FindIndex(expected.Contains);
        var cited = response.Cited.Select(i => retrieval.Passages[i].DocumentId).ToList();
        bool correct;
        if (c.MustNotAnswer)
        {
            correct = !response.Answered;
        }
        else if (c.ExpectedPhrase is { } phrase)
        {
            correct = response.Answered && Collapse(response.Text).Contains(Collapse(phrase), StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            correct = response.Answered && cited.Any(expected.Contains);
        }

        return new CaseResult(c.Id, c.Question, c.Style, c.MustNotAnswer, [.. expected.Order(StringComparer.Ordinal)], response.Answered, correct, rank < 0 ? null : rank + 1, ranked, cited, Math.Round(response.Confidence, 4), Math.Round(latency, 2), response.Text);
    }

    /// <summary>The figures of a set of case results (see <see cref="EvaluationMetrics"/>).</summary>
    public static EvaluationMetrics Metrics(IReadOnlyList<CaseResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var answerable = results.Where(r => !r.MustNotAnswer).ToList();
        var unanswerable = results.Where(r => r.MustNotAnswer).ToList();
        double? Share(IReadOnlyCollection<CaseResult> set, Func<CaseResult, bool> test) => set.Count == 0 ? null : Math.Round((double)set.Count(test) / set.Count, 4);

        var answered = answerable.Where(r => r.Answered).ToList();
        var citations = answered.SelectMany(r => r.CitedDocuments.Select(d => (r, d))).ToList();
        double? citationPrecision = citations.Count == 0 ? null : Math.Round((double)citations.Count(x => x.r.ExpectedDocuments.Contains(x.d, StringComparer.Ordinal)) / citations.Count, 4);
        var refused = results.Where(r => !r.Answered).ToList();
        var right = results.Where(r => r.Correct).Select(r => r.Confidence).ToList();
        var wrong = results.Where(r => !r.Correct).Select(r => r.Confidence).ToList();
        var latencies = results.Select(r => r.LatencyMs).Order().ToList();
        return new EvaluationMetrics(
            results.Count,
            answerable.Count,
            unanswerable.Count,
            Share(answerable, r => r.ExpectedRank == 1),
            Share(answerable, r => r.ExpectedRank is <= 5),
            answerable.Count == 0 ? null : Math.Round(answerable.Average(r => r.ExpectedRank is { } k and <= 10 ? 1.0 / k : 0), 4),
            Share(answerable, r => r.Correct),
            citationPrecision,
            Share(refused, r => r.MustNotAnswer),
            Share(unanswerable, r => !r.Answered),
            right.Count == 0 ? null : Math.Round(right.Average(), 4),
            wrong.Count == 0 ? null : Math.Round(wrong.Average(), 4),
            results.Count == 0 ? null : Math.Round(CalibrationError(results), 4),
            right.Count == 0 || wrong.Count == 0 ? null : Math.Round(Auc(right, wrong), 4),
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.95),
            results.Count(r => LongestQuote(r.Answer) > ExtractiveAnswerer.MaxSentenceLength + 2),
            results.Count(r => HasRepeatedSentence(r.Answer)));
    }

    /// <summary>Expected calibration error over ten equal-width bins.</summary>
    public static double CalibrationError(IReadOnlyList<CaseResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var error = 0.0;
        foreach (var bin in results.GroupBy(r => Math.Min(9, (int)(r.Confidence * 10))))
        {
            var n = bin.Count();
            error += (double)n / results.Count * Math.Abs(bin.Average(r => r.Confidence) - bin.Average(r => r.Correct ? 1.0 : 0.0));
        }

        return error;
    }

    /// <summary>The probability that a right response scores above a wrong one (ties count half).</summary>
    public static double Auc(IReadOnlyList<double> right, IReadOnlyList<double> wrong)
    {
        ArgumentNullException.ThrowIfNull(right);
        ArgumentNullException.ThrowIfNull(wrong);
        var wins = 0.0;
        foreach (var r in right)
        {
            foreach (var w in wrong)
            {
                wins += r > w ? 1 : r == w ? 0.5 : 0;
            }
        }

        return wins / (right.Count * (double)wrong.Count);
    }

    /// <summary>The longest sentence an answer quotes outside code blocks, in characters (citations removed).</summary>
    public static int LongestQuote(string answer) => Quoted(answer).Select(s => s.Length).DefaultIfEmpty(0).Max();

    /// <summary>Whether an answer quotes one sentence twice.</summary>
    public static bool HasRepeatedSentence(string answer)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return Quoted(answer).Select(s => string.Join(' ', Retrieval.Lexicon.Words(s))).Where(s => s.Length > 0).Any(s => !seen.Add(s));
    }

    private static IEnumerable<string> Quoted(string answer)
    {
        var prose = FencedCode().Replace(answer ?? string.Empty, " ");
        return Citation().Split(prose).Select(s => s.Trim()).Where(s => s.Length > 0);
    }

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? 0 : Math.Round(sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)], 2);

    private static string Collapse(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));

    private static string Clip(string? s) => s is null ? string.Empty : s.Length > 40 ? s[..40] + "…" : s;

    private string NewId() => $"{_clock.GetUtcNow():yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..8]}";

    private static async Task SaveAsync(ITenantStore store, EvaluationRun run, IReadOnlyList<Principal>? readers, CancellationToken ct)
    {
        var collection = await store.EnsureCollectionAsync(Spec, ct);
        var summary = new EvaluationSummary(run.Id, run.CreatedAt, run.Label, run.Documents, run.Metrics);
        var rows = new List<StoredRow>
        {
            new()
            {
                Id = "run:" + run.Id,
                Text = JsonSerializer.Serialize(summary, Json),
                Vector = NoVector,
                CreatedAt = run.CreatedAt,
                Readers = readers,
                Metadata = new Dictionary<string, MetadataValue>(StringComparer.Ordinal)
                {
                    ["kind"] = "run",
                    ["run_id"] = run.Id,
                    ["detail"] = JsonSerializer.Serialize(new StoredRun(run.Cases.Count, run.Settings, run.ByStyle), Json),
                },
            },
        };
        for (var i = 0; i < run.Cases.Count; i++)
        {
            rows.Add(new StoredRow
            {
                Id = $"case:{run.Id}:{i:D4}",
                Text = JsonSerializer.Serialize(run.Cases[i], Json),
                Vector = NoVector,
                CreatedAt = run.CreatedAt,
                Readers = readers,
                Metadata = new Dictionary<string, MetadataValue>(StringComparer.Ordinal) { ["kind"] = "case", ["run_id"] = run.Id },
            });
        }

        await collection.UpsertAsync(rows, ct);
    }

    private sealed record StoredRun(int Cases, RetrievalOptions Settings, IReadOnlyDictionary<string, EvaluationMetrics> ByStyle);

    [GeneratedRegex(@"\[\d+\]")]
    private static partial Regex Citation();

    [GeneratedRegex("```[^`]*```")]
    private static partial Regex FencedCode();

    [GeneratedRegex("^[0-9]{14}-[0-9a-f]{8}$")]
    private static partial Regex IdPattern();
}
