namespace Bruno.Core.Memory;

/// <summary>One memory as exported or recalled.</summary>
public sealed record MemoryItem(string Id, string Kind, string Text, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, string> Details);

/// <summary>Everything the service holds about one user.</summary>
public sealed record MemoryExport(string User, IReadOnlyList<MemoryItem> Turns, IReadOnlyList<MemoryItem> Facts, IReadOnlyList<MemoryItem> Preferences);

/// <summary>Proof of an erasure: the user's key was destroyed, then the rows it sealed were deleted.</summary>
public sealed record ErasureReceipt(string User, long RowsDeleted, DateTimeOffset ErasedAt, string Method);

/// <summary>A preference in force: its kind, value and strength now (after decay).</summary>
public sealed record Preference(string Id, string Kind, string Value, double Strength);

/// <summary>What one consolidation of one tenant did.</summary>
public sealed record ConsolidationReport(
    int Users,
    int TurnsRead,
    int FactsExtracted,
    int FactsMerged,
    int PreferencesDecayed,
    int PreferencesDropped,
    long TurnsExpired,
    int FactsExpired)
{
    /// <summary>No work.</summary>
    public static ConsolidationReport Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>The sum of two reports.</summary>
    public ConsolidationReport Add(ConsolidationReport o) => new(
        Users + o.Users, TurnsRead + o.TurnsRead, FactsExtracted + o.FactsExtracted, FactsMerged + o.FactsMerged,
        PreferencesDecayed + o.PreferencesDecayed, PreferencesDropped + o.PreferencesDropped, TurnsExpired + o.TurnsExpired, FactsExpired + o.FactsExpired);
}

/// <summary>The numbers of procedural memory (the original design's).</summary>
public static class PreferenceRules
{
    /// <summary>Strength of a newly stated preference.</summary>
    public const double Initial = 0.5;

    /// <summary>Factor applied when a preference is stated again or an answer that used it is rated up (capped at 1).</summary>
    public const double Reinforce = 1.1;

    /// <summary>Factor applied per day.</summary>
    public const double DailyDecay = 0.95;

    /// <summary>Below this strength a preference is dropped.</summary>
    public const double Floor = 0.1;

    /// <summary>Most preferences kept per kind (the strongest).</summary>
    public const int MaxPerKind = 10;

    /// <summary>The strength at <paramref name="now"/> of a preference that had <paramref name="strength"/> at <paramref name="at"/>.</summary>
    public static double Decayed(double strength, DateTimeOffset at, DateTimeOffset now) =>
        now <= at ? strength : strength * Math.Pow(DailyDecay, (now - at).TotalDays);
}

/// <summary>The rules of semantic memory (the original design's).</summary>
public static class FactRules
{
    /// <summary>Facts this similar (cosine) with the same subject and predicate are one fact.</summary>
    public const double DuplicateSimilarity = 0.9;

    /// <summary>Factor applied to a fact's confidence when it is stated again (capped at 1); it is then verified.</summary>
    public const double Support = 1.2;
}
