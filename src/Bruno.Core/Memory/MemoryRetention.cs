using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Memory;

/// <summary>
/// A tenant's memory rules: its own retention where it set one (in the catalog), else the service's
/// (<c>Bruno:Memory:RetentionDays</c>). Throws <see cref="System.Data.Common.DbException"/> when the catalog fails.
/// </summary>
public sealed class MemoryRetention(TenantCatalog catalog, IOptions<BrunoOptions> options)
{
    /// <summary>The memory rules in force for <paramref name="id"/>: the tenant's retention, or the service's.</summary>
    public MemoryPolicy PolicyFor(TenantId id) => new(catalog.FindMemory(id).RetentionDays ?? options.Value.Memory.RetentionDays);

    /// <summary>
    /// Sets the tenant's memory retention in days (null: the service's default); throws <see cref="ArgumentException"/>
    /// outside 1-3,650. Returns the rules now in force, or null for an unknown tenant. The next consolidation applies it.
    /// </summary>
    public MemoryPolicy? Set(TenantId id, int? days)
    {
        if (days is < 1 or > MemoryPolicy.MaxRetentionDays)
        {
            throw new ArgumentException($"retention_days must be between 1 and {MemoryPolicy.MaxRetentionDays} (or null for the default).");
        }

        return catalog.SetMemoryRetention(id, days) ? PolicyFor(id) : null;
    }
}
