using System.Diagnostics;

namespace Bruno.Storage.Telemetry;

/// <summary>
/// The engine's traces: one span per search stage (<c>vector_search</c>, <c>keyword_search</c>, <c>fusion</c>) from the
/// activity source <see cref="SourceName"/>, each tagged with <c>tenant_id</c> and the number of candidates it produced,
/// and one per tenant opened from disk (<c>tenant_open</c>: collections, live rows and graph nodes loaded; error status
/// and <c>error.type</c> when the open fails).
/// Nothing is recorded unless a listener (an OpenTelemetry tracer provider) subscribes to the source; spans never carry
/// query text or row content.
/// </summary>
public static class SearchTelemetry
{
    /// <summary>The activity source's name, for <c>AddSource</c>.</summary>
    public const string SourceName = "Bruno.Storage";

    internal static readonly ActivitySource Source = new(SourceName);
}

/// <summary>
/// Where a search spent its time, filled in by the engine when passed as <see cref="Model.SearchRequest.Timings"/>
/// (stages the mode does not run stay zero); a remote engine sets what the store node measured. One instance per
/// search; not thread-safe.
/// </summary>
public sealed class SearchTimings
{
    /// <summary>Dense (vector) candidate search.</summary>
    public TimeSpan Vector { get; set; }

    /// <summary>BM25 candidate search.</summary>
    public TimeSpan FullText { get; set; }

    /// <summary>Reciprocal-rank fusion and materialising the hits.</summary>
    public TimeSpan Fusion { get; set; }
}
