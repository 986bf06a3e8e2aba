using System.Text.Json;
using System.Text.Json.Nodes;
using Bruno.Core.Evaluation;

namespace Bruno.Quality.Benchmarks;

/// <summary>Prints and serialises runs.</summary>
internal static class Report
{
    private static readonly JsonSerializerOptions Snake = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static void Print(string corpus, string label, EvaluationRun run)
    {
        var m = run.Metrics;
        static string F(double? v) => v is null ? "   -" : v.Value.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine($"   {label,-11} hit@1 {F(m.HitAt1)} hit@5 {F(m.HitAt5)} mrr {F(m.MrrAt10)} | acc {F(m.AnswerAccuracy)} cite {F(m.CitationPrecision)} | refuse P {F(m.NoAnswerPrecision)} R {F(m.NoAnswerRecall)} | conf {F(m.ConfidenceRight)}/{F(m.ConfidenceWrong)} ece {F(m.CalibrationError)} auc {F(m.ConfidenceAuc)} | p50 {m.LatencyP50Ms:F1} ms p95 {m.LatencyP95Ms:F1} ms | long {m.LongQuotes} rep {m.RepeatedSentences}");
        foreach (var (style, s) in run.ByStyle.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"     {style,-9} hit@1 {F(s.HitAt1)} hit@5 {F(s.HitAt5)} mrr {F(s.MrrAt10)} | acc {F(s.AnswerAccuracy)} ({s.Answerable} cases)");
        }
    }

    public static JsonNode Json(EvaluationRun run, bool includeCases)
    {
        var node = JsonSerializer.SerializeToNode(run, Snake)!.AsObject();
        if (!includeCases)
        {
            node.Remove("cases");
        }

        return node;
    }
}
