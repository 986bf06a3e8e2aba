namespace Bruno.Storage.Model;

/// <summary>What a search ranks by.</summary>
public enum SearchMode
{
    /// <summary>Nearest vectors. Exact below the collection's ANN threshold or when <see cref="SearchRequest.Exact"/> is set, HNSW above it.</summary>
    Vector,

    /// <summary>BM25 over the rows' text.</summary>
    FullText,

    /// <summary>Both lists fused by reciprocal-rank fusion.</summary>
    Hybrid,
}

/// <summary>A search: mode, query vector and/or text, how many hits, and the typed filter every hit must pass.</summary>
public sealed record SearchRequest
{
    /// <summary>Largest K accepted.</summary>
    public const int MaxK = 1000;

    /// <summary>What to rank by.</summary>
    public SearchMode Mode { get; init; } = SearchMode.Vector;

    /// <summary>The query embedding (Vector and Hybrid), of the collection's dimension.</summary>
    public ReadOnlyMemory<float> Vector { get; init; }

    /// <summary>The query text (FullText and Hybrid), at most 16,384 characters.</summary>
    public string? Text { get; init; }

    /// <summary>How many hits to return, 1 to 1,000.</summary>
    public int K { get; init; } = 10;

    /// <summary>Which rows may be returned.</summary>
    public Filter Filter { get; init; } = Filter.All;

    /// <summary>Force exact k-NN even above the ANN threshold.</summary>
    public bool Exact { get; init; }

    /// <summary>HNSW search breadth; null for the engine's default. Larger is slower and more accurate.</summary>
    public int? Ef { get; init; }

    /// <summary>For Hybrid: how many candidates each list contributes before fusion (at least K).</summary>
    public int CandidatesPerList { get; init; } = 20;

    /// <summary>For Hybrid: the reciprocal-rank-fusion constant k (score = sum of 1 / (k + rank)).</summary>
    public int RrfK { get; init; } = 60;

    /// <summary>When set, the engine records there how long each stage of this search took.</summary>
    public Telemetry.SearchTimings? Timings { get; init; }

    /// <summary>
    /// When set (FullText and Hybrid), the engine records there the collection's statistics for the query's terms, as
    /// of this search: how many rows are indexed and in how many of them each term occurs (for callers that weigh terms
    /// by rarity when they re-rank).
    /// </summary>
    public TermStatistics? Statistics { get; init; }
}

/// <summary>
/// Full-text statistics of a collection for the terms of one query, filled in by the engine when passed as
/// <see cref="SearchRequest.Statistics"/>. Terms are those <see cref="TextTerms.Of"/> gives for the query text. One
/// instance per search; not thread-safe.
/// </summary>
public sealed class TermStatistics
{
    /// <summary>Rows in the full-text index (every live row of the collection).</summary>
    public int Rows { get; set; }

    /// <summary>Average length of an indexed row, in terms.</summary>
    public double AverageLength { get; set; }

    /// <summary>For each query term, the number of rows it occurs in (0 for a term no row holds).</summary>
    public Dictionary<string, int> DocumentFrequency { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The term's inverse document frequency as BM25 weighs it, <c>ln(1 + (N - df + 0.5) / (df + 0.5))</c>; a term not
    /// recorded counts as occurring nowhere.
    /// </summary>
    public double Idf(string term) =>
        Math.Log(1 + ((Rows - DocumentFrequency.GetValueOrDefault(term) + 0.5) / (DocumentFrequency.GetValueOrDefault(term) + 0.5)));
}

/// <summary>One hit: the row, its score (similarity, BM25 or fused), and its rank in each list it came from (1-based).</summary>
public sealed record SearchHit(StoredRow Row, float Score, int? VectorRank = null, int? TextRank = null);
