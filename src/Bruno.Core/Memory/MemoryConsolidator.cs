using Bruno.Core.Tenants;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bruno.Core.Memory;

/// <summary>
/// The consolidation job's work: every tenant that is active or suspended (retention still applies to a suspended
/// tenant's data), one tenant at a time, so that at most one tenant's memory is loaded. Each tenant resumes from where
/// its last consolidation ended (recorded in the catalog), so a missed day is caught up and no turn is read twice.
/// A tenant that fails is logged and retried next time; the others go on. Never throws except for cancellation.
/// </summary>
public sealed partial class MemoryConsolidator(TenantCatalog catalog, TenantService tenants, MemoryService memory, MemoryRetention retention, ILogger<MemoryConsolidator>? logger = null, TimeProvider? time = null)
{
    // Turns written in the last moments before a run may still be committing: they wait for the next run.
    private static readonly TimeSpan Settle = TimeSpan.FromMinutes(1);

    private readonly ILogger _logger = logger ?? NullLogger<MemoryConsolidator>.Instance;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Raised after each <see cref="RunOnceAsync"/> with its report (for monitoring and tests).</summary>
    public event Action<ConsolidationReport>? Completed;

    /// <summary>Consolidates every tenant once; returns the sum of what was done.</summary>
    public async Task<ConsolidationReport> RunOnceAsync(CancellationToken ct = default)
    {
        var total = ConsolidationReport.Empty;
        foreach (var tenant in tenants.List().Where(t => t.Status is TenantStatus.Active or TenantStatus.Suspended or TenantStatus.Offloaded))
        {
            ct.ThrowIfCancellationRequested();
            var report = await RunTenantAsync(tenant.Id, ct);
            if (report is not null)
            {
                total = total.Add(report);
            }
        }

        Completed?.Invoke(total);
        return total;
    }

    /// <summary>Consolidates one tenant; null when it failed (logged).</summary>
    public async Task<ConsolidationReport?> RunTenantAsync(Storage.Identity.TenantId tenant, CancellationToken ct = default)
    {
        try
        {
            // gateways each run this job: one consolidates a tenant while the others wait, then find it done
            await using var held = await catalog.LockAsync("consolidate:" + tenant.Value, ct);
            var until = _time.GetUtcNow() - Settle;
            var since = catalog.FindMemory(tenant).ConsolidatedUntil ?? DateTimeOffset.MinValue;
            var report = await memory.ConsolidateAsync(tenants.Store(tenant), retention.PolicyFor(tenant), since, until, ct);
            catalog.SetConsolidatedUntil(tenant, until);
            Log.Consolidated(_logger, tenant.Value, report.Users, report.FactsExtracted, report.FactsMerged, report.PreferencesDropped, report.TurnsExpired);
            return report;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.Failed(_logger, tenant.Value, e);
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Memory of tenant {Tenant} consolidated: {Users} users, {Facts} facts extracted, {Merged} merged, {Dropped} preferences dropped, {Expired} turns past retention deleted")]
        public static partial void Consolidated(ILogger logger, string tenant, int users, int facts, int merged, int dropped, long expired);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "Consolidating the memory of tenant {Tenant} failed; it is retried at the next run")]
        public static partial void Failed(ILogger logger, string tenant, Exception exception);
    }
}
