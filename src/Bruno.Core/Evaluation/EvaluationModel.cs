using System.Text.Json.Serialization;
using Bruno.Core.Retrieval;

namespace Bruno.Core.Evaluation;

/// <summary>
/// One evaluation case: a question, the documents that answer it (any of them counts), a phrase a right answer
/// contains (optional), or <see cref="MustNotAnswer"/> for a question the documents do not answer.
/// </summary>
public sealed record EvaluationCase(string Question, IReadOnlyList<string>? ExpectedDocuments = null, string? ExpectedPhrase = null, bool MustNotAnswer = false)
{
    /// <summary>The caller's name for the case (optional).</summary>
    public string? Id { get; init; }

    /// <summary>How it is asked (for example <c>natural</c> or <c>keyword</c>); figures are also given per style.</summary>
    public string? Style { get; init; }
}

/// <summary>What one case got.</summary>
public sealed record CaseResult(
    string? Id,
    string Question,
    string? Style,
    bool MustNotAnswer,
    IReadOnlyList<string> ExpectedDocuments,
    bool Answered,
    bool Correct,
    int? ExpectedRank,
    IReadOnlyList<string> RankedDocuments,
    IReadOnlyList<string> CitedDocuments,
    double Confidence,
    double LatencyMs,
    string Answer);

/// <summary>
/// The figures of a run. Retrieval is judged at the document level over the re-ranked candidates: hit@k is the share
/// of answerable cases with an expected document among the first k distinct documents, MRR@10 the mean reciprocal
/// rank of the first one within ten. Answer accuracy is the share of answerable cases answered with the expected
/// phrase in the answer (or, without a phrase, citing an expected document). Citation precision is the share of cited
/// passages, over answered answerable cases, that come from an expected document. No-answer precision is the share of
/// refusals that were right, recall the share of unanswerable cases refused. Calibration error is the expected
/// calibration error of the confidence over ten equal-width bins; AUC the probability that a right response has a
/// higher confidence than a wrong one. Figures with nothing to measure are null.
/// </summary>
public sealed record EvaluationMetrics(
    int Cases,
    int Answerable,
    int Unanswerable,
    [property: JsonPropertyName("hit_at_1")] double? HitAt1,
    [property: JsonPropertyName("hit_at_5")] double? HitAt5,
    [property: JsonPropertyName("mrr_at_10")] double? MrrAt10,
    double? AnswerAccuracy,
    double? CitationPrecision,
    double? NoAnswerPrecision,
    double? NoAnswerRecall,
    double? ConfidenceRight,
    double? ConfidenceWrong,
    double? CalibrationError,
    double? ConfidenceAuc,
    double LatencyP50Ms,
    double LatencyP95Ms,
    int LongQuotes,
    int RepeatedSentences);

/// <summary>A run: when, over which settings, its figures (overall and per style) and every case.</summary>
public sealed record EvaluationRun(
    string Id,
    DateTimeOffset CreatedAt,
    string? Label,
    int Documents,
    RetrievalOptions Settings,
    EvaluationMetrics Metrics,
    IReadOnlyDictionary<string, EvaluationMetrics> ByStyle,
    IReadOnlyList<CaseResult> Cases);

/// <summary>A run as listed: its id, time, label and figures, without the cases.</summary>
public sealed record EvaluationSummary(string Id, DateTimeOffset CreatedAt, string? Label, int Documents, EvaluationMetrics Metrics);

/// <summary>Two runs side by side: each one's figures and the change of each figure (second minus first).</summary>
public sealed record EvaluationComparison(EvaluationSummary First, EvaluationSummary Second, IReadOnlyDictionary<string, double?> Change);

/// <summary>Refused evaluation input, with a message safe to show the caller (HTTP 400).</summary>
public sealed class EvaluationRejectedException(string message) : Exception(message);
