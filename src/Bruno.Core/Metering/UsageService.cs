using System.Globalization;
using System.Text;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Metering;

/// <summary>A tenant's usage and cost for one month.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Month"><c>yyyy-MM</c>.</param>
/// <param name="Plan">Its plan now.</param>
/// <param name="Isolation">Its isolation level now.</param>
/// <param name="HoursInMonth">Hours of the calendar month.</param>
/// <param name="HoursActive">Hours of it the tenant existed (so far, for the current month).</param>
/// <param name="Usage">Totals.</param>
/// <param name="Cost">Dollars, by line.</param>
/// <param name="Hours">Usage per hour (hours without any left out).</param>
public sealed record UsageReport(string Tenant, string Month, string Plan, string Isolation, double HoursInMonth, double HoursActive, UsageTotals Usage, CostBreakdown Cost, IReadOnlyList<UsageHour> Hours);

/// <summary>
/// Reports usage and cost per tenant and month, and samples storage once an hour. Reads only; throws
/// <see cref="ArgumentException"/> for a malformed month and <see cref="System.Data.Common.DbException"/> for catalog failures.
/// </summary>
public sealed class UsageService(UsageMeter meter, TenantService tenants, IOptions<BrunoOptions> options, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The tenant's report for <paramref name="month"/> (<c>yyyy-MM</c>; null: the current month); null for an unknown tenant.</summary>
    public UsageReport? Report(TenantId id, string? month = null)
    {
        var record = tenants.Find(id);
        if (record is null)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        month ??= now.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var (start, end) = UsageMeter.Month(month);
        var plan = options.Value.Plans.GetValueOrDefault(record.Profile.Plan) ?? options.Value.Plans["default"];
        var until = end;
        if (now < until)
        {
            until = now;
        }

        if (record.Status == TenantStatus.Deleted && tenants.Events(id).LastOrDefault(e => e.To == "deleted") is { } gone && gone.At < until)
        {
            until = gone.At;
        }

        var from = record.CreatedAt > start ? record.CreatedAt : start;
        var hoursActive = Math.Max(0, (until - from).TotalHours);
        var usage = meter.Totals(id, start, end);
        var cost = CostModel.Price(options.Value.Cost, plan, record.Profile.Isolation, usage, hoursActive, (end - start).TotalHours);
        return new UsageReport(id.Value, month, record.Profile.Plan, record.Profile.Isolation, (end - start).TotalHours, Math.Round(hoursActive, 2), usage, cost, meter.Hours(id, start, end));
    }

    /// <summary>The month-to-date cost of every tenant that is not deleted (for the <c>tenant_cost_dollars</c> gauge).</summary>
    public IReadOnlyList<(TenantId Tenant, double Dollars)> MonthToDate() =>
        [.. tenants.List().Where(t => t.Status != TenantStatus.Deleted).Select(t => (t.Id, Report(t.Id)?.Cost.Total ?? 0))];

    /// <summary>
    /// Records every live tenant's bytes on disk for the hour of <paramref name="now"/>; the id names the tenant and the
    /// hour, so sampling twice in an hour (or from two processes) counts once. <paramref name="only"/> limits it to one
    /// tenant (a report samples its tenant's current hour first). Tenants whose store node is unavailable are skipped. Returns how many were sampled.
    /// </summary>
    public async Task<int> SampleStorageAsync(DateTimeOffset now, TenantId? only = null, CancellationToken ct = default)
    {
        var hour = UsageMeter.HourOf(now);
        var sampled = 0;
        foreach (var t in tenants.List().Where(t => t.Status is TenantStatus.Active or TenantStatus.Suspended or TenantStatus.Offloaded && (only is null || t.Id == only)))
        {
            long bytes;
            try
            {
                bytes = await tenants.BytesOnDiskAsync(t.Id, ct);
            }
            catch (Storage.StoreUnavailableException)
            {
                continue; // its store node is down: the next round samples it
            }

            meter.Record(new UsageEvent($"storage:{t.Id.Value}:{hour}", t.Id, UsageKinds.StorageByteHours, bytes, now));
            sampled++;
        }

        return sampled;
    }

    /// <summary>The report as CSV: one row per hour with usage, then a total row, then the cost lines.</summary>
    public static string Csv(UsageReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var csv = new StringBuilder("hour,").AppendJoin(',', UsageKinds.All).Append('\n');
        static string Row(UsageTotals u) => string.Join(',', new[] { u.Requests, u.LlmPromptTokens, u.LlmCompletionTokens, u.EmbeddingTokens, u.StorageByteHours, u.CpuMilliseconds }.Select(v => v.ToString(CultureInfo.InvariantCulture)));
        foreach (var h in report.Hours)
        {
            csv.Append(h.Hour.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)).Append(',').Append(Row(h.Usage)).Append('\n');
        }

        csv.Append("total,").Append(Row(report.Usage)).Append('\n');
        var c = report.Cost;
        csv.Append(CultureInfo.InvariantCulture, $"cost_usd,base={c.Base:F4},compute={c.Compute:F4},storage={c.Storage:F4},llm={c.Llm:F4},embeddings={c.Embeddings:F4},total={c.Total:F4}\n");
        return csv.ToString();
    }
}
