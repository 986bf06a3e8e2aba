namespace Bruno.Core.Memory;

/// <summary>
/// Users' memory (section <c>Bruno:Memory</c>; the original design's numbers by default). Checked by
/// <see cref="MemoryOptionsValidator"/>.
/// </summary>
public sealed class MemoryOptions
{
    /// <summary>Days a turn is kept (and an unconfirmed extracted fact); a tenant can set its own.</summary>
    public int RetentionDays { get; set; } = 90;

    /// <summary>How often the consolidation job runs; zero switches it off.</summary>
    public TimeSpan ConsolidationInterval { get; set; } = TimeSpan.FromDays(1);
}
