namespace Bruno.Core.Tenants;

/// <summary>A tenant's memory rules.</summary>
/// <param name="RetentionDays">Days a turn (and an extracted fact nobody confirmed) is kept.</param>
public sealed record MemoryPolicy(int RetentionDays)
{
    /// <summary>Longest retention a tenant can set (ten years).</summary>
    public const int MaxRetentionDays = 3_650;
}
