namespace Bruno.Core.Tenants;

/// <summary>
/// Retention of audit entries and usage records (section <c>Bruno:Retention</c>; days, a tenant can set its own) and
/// how often the job runs. Checked by <see cref="RetentionOptionsValidator"/>.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>Longest retention a tenant may set, days (ten years).</summary>
    public const int MaxDays = 3650;

    /// <summary>Days audit entries are kept (SOC 2 evidence usually wants a year).</summary>
    public int AuditDays { get; set; } = 365;

    /// <summary>Days hourly usage records and their idempotency ids are kept.</summary>
    public int UsageDays { get; set; } = 400;

    /// <summary>How often the retention job runs; zero switches it off.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);
}
