using Bruno.Core.Audit;
using Bruno.Core.Metering;
using Bruno.Core.Tenants;
using Bruno.Storage;

namespace Bruno.Core.Retention;

/// <summary>What one retention run removed.</summary>
/// <param name="Tenants">Tenants visited.</param>
/// <param name="AuditEntries">Audit entries removed.</param>
/// <param name="UsageRows">Usage rows (ids and hourly totals) removed.</param>
public sealed record RetentionRun(int Tenants, long AuditEntries, long UsageRows);

/// <summary>
/// Applies each tenant's retention to its audit log (<see cref="AuditLog.PruneAsync"/>: what remains still verifies)
/// and its usage records (<see cref="UsageMeter.Prune"/>); memory retention is the consolidation job's. Active and
/// suspended tenants are visited; offloaded ones are left cold until they are active again. A tenant that fails (its
/// store locked elsewhere, say) is skipped and visited again next run; the run goes on with the others.
/// </summary>
public sealed class RetentionService(TenantService tenants, TenantRetention retention, AuditLog audit, UsageMeter meter, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>One run over every tenant, at the clock's current time.</summary>
    public async Task<RetentionRun> RunOnceAsync(CancellationToken ct = default)
    {
        var now = _time.GetUtcNow();
        int visited = 0;
        long entries = 0, rows = 0;
        foreach (var t in tenants.List().Where(t => t.Status is TenantStatus.Active or TenantStatus.Suspended))
        {
            ct.ThrowIfCancellationRequested();
            var policy = retention.For(t.Id);
            try
            {
                entries += await audit.PruneAsync(t.Id, now.AddDays(-policy.AuditDays));
            }
            catch (StorageException)
            {
                continue; // erased or locked meanwhile: next run
            }

            rows += meter.Prune(t.Id, now.AddDays(-policy.UsageDays));
            visited++;
        }

        return new RetentionRun(visited, entries, rows);
    }
}
