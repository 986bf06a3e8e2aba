using System.Diagnostics;
using System.Diagnostics.Metrics;
using Bruno.Storage.Identity;

namespace Bruno.Core.Telemetry;

/// <summary>
/// Bruno's own traces and metrics: the activity source and meter named <see cref="Name"/>. Spans of a question:
/// <c>rag_query</c> with children <c>embed_query</c>, <c>vector_search</c>, <c>keyword_search</c>, <c>fusion</c> (the
/// last three from <see cref="Storage.Telemetry.SearchTelemetry"/>) and <c>generate</c>; every span carries
/// <c>tenant_id</c>. Labels are bounded by construction: tenant id, stage, model, token type, operation, memory type,
/// level and quota name, never a user id, document id, address or path. Recording never throws; nothing is kept unless a
/// listener (OpenTelemetry) subscribes.
/// </summary>
public static class BrunoTelemetry
{
    /// <summary>The activity source's and meter's name, for <c>AddSource</c> and <c>AddMeter</c>.</summary>
    public const string Name = "Bruno";

    /// <summary>The label every tenant-scoped span and measurement carries.</summary>
    public const string TenantTag = "tenant_id";

    /// <summary>Stage names of a question, as spans and as the <c>stage</c> label of <c>bruno_rag_stage_duration_seconds</c>.</summary>
    public static class Stages
    {
        /// <summary>Embedding the question.</summary>
        public const string Embed = "embed";

        /// <summary>Dense candidate search.</summary>
        public const string VectorSearch = "vector_search";

        /// <summary>BM25 candidate search.</summary>
        public const string KeywordSearch = "keyword_search";

        /// <summary>Reciprocal-rank fusion.</summary>
        public const string Fusion = "fusion";

        /// <summary>Re-ranking the candidates and applying the relevance bar.</summary>
        public const string Rerank = "rerank";

        /// <summary>Writing the answer (by the model, or extractively).</summary>
        public const string Generate = "generate";
    }

    internal static readonly ActivitySource Source = new(Name);

    private static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> StageDuration = Meter.CreateHistogram(
        "bruno.rag.stage.duration", "s", "Time spent in each stage of answering a question",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30] });

    private static readonly Histogram<int> ChunksRetrieved = Meter.CreateHistogram(
        "bruno.rag.chunks.retrieved", unit: null, "Passages a question was answered from",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [0, 1, 2, 3, 4, 5, 8, 10, 20] });

    private static readonly Histogram<double> ChunkScore = Meter.CreateHistogram(
        "bruno.rag.chunk.score", unit: null, "Fused (reciprocal-rank) score of each passage an answer used",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.05, 0.1] });

    private static readonly Counter<long> LlmTokens = Meter.CreateCounter<long>("bruno.llm.tokens", unit: null, "Language-model tokens, by token_type (prompt or completion)");

    private static readonly Histogram<double> FirstToken = Meter.CreateHistogram(
        "bruno.llm.time_to_first_token", "s", "Time from sending the prompt to the model's first token",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30] });

    private static readonly Counter<long> MemoryOperations = Meter.CreateCounter<long>("bruno.memory.operations", unit: null, "Operations on users' memory, by operation and memory_type");

    private static readonly Counter<long> RateLimitRefusals = Meter.CreateCounter<long>("bruno.rate_limit.refusals", unit: null, "Requests refused by a rate limit, by level");

    private static readonly Counter<long> QuotaRefusals = Meter.CreateCounter<long>("bruno.quota.refusals", unit: null, "Writes refused by a quota, by quota");

    /// <summary>Starts a span named <paramref name="name"/> for <paramref name="tenant"/> (null when nobody listens).</summary>
    public static Activity? Start(string name, TenantId tenant, ActivityKind kind = ActivityKind.Internal)
    {
        var span = Source.StartActivity(name, kind);
        span?.SetTag(TenantTag, tenant.Value);
        return span;
    }

    /// <summary>Records how long a stage of a question took.</summary>
    public static void Stage(TenantId tenant, string stage, TimeSpan elapsed) =>
        StageDuration.Record(elapsed.TotalSeconds, new(TenantTag, tenant.Value), new("stage", stage));

    /// <summary>Records the passages a question used and their scores.</summary>
    public static void Retrieved(TenantId tenant, IReadOnlyList<double> scores)
    {
        var t = new KeyValuePair<string, object?>(TenantTag, tenant.Value);
        ChunksRetrieved.Record(scores.Count, t);
        foreach (var s in scores)
        {
            ChunkScore.Record(s, t);
        }
    }

    /// <summary>Counts the tokens of one model call.</summary>
    public static void Tokens(TenantId tenant, string model, long prompt, long completion)
    {
        var (t, m) = (new KeyValuePair<string, object?>(TenantTag, tenant.Value), new KeyValuePair<string, object?>("model", model));
        if (prompt > 0)
        {
            LlmTokens.Add(prompt, t, m, new("token_type", "prompt"));
        }

        if (completion > 0)
        {
            LlmTokens.Add(completion, t, m, new("token_type", "completion"));
        }
    }

    /// <summary>Records the time to the model's first token.</summary>
    public static void FirstTokenAfter(TenantId tenant, string model, TimeSpan elapsed) =>
        FirstToken.Record(elapsed.TotalSeconds, new(TenantTag, tenant.Value), new("model", model));

    /// <summary>Counts one memory operation (<paramref name="memoryType"/>: episodic, semantic, procedural or all).</summary>
    public static void Memory(TenantId tenant, string operation, string memoryType) =>
        MemoryOperations.Add(1, new(TenantTag, tenant.Value), new("operation", operation), new("memory_type", memoryType));

    /// <summary>Counts a request refused by the rate limit at <paramref name="level"/>.</summary>
    public static void RateLimited(TenantId tenant, string level) =>
        RateLimitRefusals.Add(1, new(TenantTag, tenant.Value), new("level", level));

    /// <summary>Counts a write refused by <paramref name="quota"/>.</summary>
    public static void QuotaRefused(TenantId tenant, string quota) =>
        QuotaRefusals.Add(1, new(TenantTag, tenant.Value), new("quota", quota));
}
