namespace Bruno.Core.Retrieval;

/// <summary>
/// Retrieval and fusion parameters (section <c>Bruno:Retrieval</c>; the original design's numbers by default). Checked
/// by <see cref="RetrievalOptionsValidator"/>.
/// </summary>
public sealed class RetrievalOptions
{
    /// <summary>Candidates taken from each list (dense and BM25) before fusion.</summary>
    public int CandidatesPerList { get; set; } = 40;

    /// <summary>Reciprocal-rank-fusion constant.</summary>
    public int RrfK { get; set; } = 60;

    /// <summary>Fused candidates the re-ranker scores (the second stage).</summary>
    public int RerankCandidates { get; set; } = 40;

    /// <summary>
    /// The relevance bar: the probability (from the re-ranker) that a passage comes from a page answering the question,
    /// below which it never reaches an answer, a prompt or a search result. When no passage clears it, the answer says
    /// the documents do not hold one. The default was chosen on the evaluation sets (docs/decisions/0020).
    /// </summary>
    public double MinRelevance { get; set; } = RelevanceModel.DefaultBar;

    /// <summary>
    /// The answerability bar: the least probability (from <see cref="AnswerabilityModel"/>) that the documents
    /// hold an answer for one to be given. Higher refuses more questions the documents do not answer, and more that
    /// they do. The default was chosen on the evaluation sets (docs/decisions/0020).
    /// </summary>
    public double MinAnswerability { get; set; } = AnswerabilityModel.DefaultBar;

    /// <summary>Passages used for the answer (at most).</summary>
    public int FinalCount { get; set; } = 5;

    /// <summary>Sentences an extractive answer quotes (at most).</summary>
    public int AnswerSentences { get; set; } = 3;

    /// <summary>Token budget of the context given to the model (characters / 4).</summary>
    public int ContextTokens { get; set; } = 2_846;

    /// <summary>These settings with the tenant's overrides applied (null fields keep these values).</summary>
    public RetrievalOptions With(RetrievalOverrides? overrides) => overrides is null ? this : new RetrievalOptions
    {
        CandidatesPerList = overrides.CandidatesPerList ?? CandidatesPerList,
        RrfK = overrides.RrfK ?? RrfK,
        RerankCandidates = overrides.RerankCandidates ?? RerankCandidates,
        MinRelevance = overrides.MinRelevance ?? MinRelevance,
        MinAnswerability = overrides.MinAnswerability ?? MinAnswerability,
        FinalCount = overrides.FinalCount ?? FinalCount,
        AnswerSentences = overrides.AnswerSentences ?? AnswerSentences,
        ContextTokens = overrides.ContextTokens ?? ContextTokens,
    };
}

/// <summary>A tenant's own retrieval numbers; a null field keeps the service's value.</summary>
public sealed record RetrievalOverrides(int? CandidatesPerList = null, int? RrfK = null, int? FinalCount = null, int? ContextTokens = null, int? RerankCandidates = null, double? MinRelevance = null, int? AnswerSentences = null, double? MinAnswerability = null);
