using Bruno.Core.Memory;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Retention;

/// <summary>
/// How long a tenant's data is kept: its own days where it set them (in the catalog), else the service's
/// (<c>Bruno:Retention</c>, <c>Bruno:Memory:RetentionDays</c>). Throws <see cref="System.Data.Common.DbException"/> when
/// the catalog fails.
/// </summary>
public sealed class TenantRetention(TenantCatalog catalog, MemoryRetention memory, IOptions<BrunoOptions> options)
{
    /// <summary>The retention in force for <paramref name="id"/>: the tenant's days where it set them, else the service's.</summary>
    public RetentionPolicy For(TenantId id)
    {
        var (audit, usage) = catalog.FindRetention(id);
        var defaults = options.Value.Retention;
        return new RetentionPolicy(memory.PolicyFor(id).RetentionDays, audit ?? defaults.AuditDays, usage ?? defaults.UsageDays);
    }

    /// <summary>
    /// Sets the tenant's retention (null fields: the service's default). Throws <see cref="ArgumentException"/> for days
    /// outside 1-3,650 (nothing is stored then). Returns the policy now in force, or null for an unknown tenant. The
    /// retention job applies it at its next run (memory: the consolidation job).
    /// </summary>
    public RetentionPolicy? Set(TenantId id, int? memoryDays, int? auditDays, int? usageDays)
    {
        foreach (var (name, days) in new[] { ("memory_days", memoryDays), ("audit_days", auditDays), ("usage_days", usageDays) })
        {
            if (days is < 1 or > RetentionOptions.MaxDays)
            {
                throw new ArgumentException($"{name} must be between 1 and {RetentionOptions.MaxDays} (or null for the default).");
            }
        }

        return catalog.SetMemoryRetention(id, memoryDays) && catalog.SetRetention(id, auditDays, usageDays) ? For(id) : null;
    }
}
