using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Bruno.Core;
using Bruno.Core.Metering;
using Bruno.Core.Telemetry;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Features.Observability;

/// <summary>
/// The per-tenant gauges, read when scraped and recomputed at most once a minute (at once when a tenant was created or deleted): <c>tenant_cost_dollars</c> (the cost
/// model's month to date), <c>bruno_tenant_store_size_bytes</c> (bytes on disk) and
/// <c>bruno_tenant_quota_usage_ratio{quota}</c> (storage bytes and this month's LLM tokens against the plan), for every
/// tenant that is not deleted; and <c>bruno_tenants_open</c>, the tenant stores open in this process.
/// </summary>
internal sealed class TenantGauges : IDisposable
{
    public const string MeterName = "Bruno.Tenants";
    private static readonly TimeSpan Fresh = TimeSpan.FromMinutes(1);

    // One set of instruments per process, never disposed (a disposed instrument ends its series in every exporter that
    // shares its name): each server's gauges join it while they live.
    private static readonly ConcurrentDictionary<TenantGauges, byte> Live = new();
    private static readonly Meter Meter = new(MeterName);
    private static readonly ObservableGauge<double> Cost = Meter.CreateObservableGauge("tenant_cost_dollars", () => All(g => g.Rows().Select(r => new Measurement<double>(r.Dollars, Tag(r.Tenant)))), description: "Cost of the tenant this month so far, in US dollars, from the cost model");
    private static readonly ObservableGauge<long> Size = Meter.CreateObservableGauge("bruno.tenant.store.size", () => All(g => g.Rows().Select(r => new Measurement<long>(r.Bytes, Tag(r.Tenant)))), "By", "Bytes the tenant's store holds on disk");
    private static readonly ObservableGauge<double> Quota = Meter.CreateObservableGauge("bruno.tenant.quota.usage_ratio", () => All(g => g.Rows().SelectMany(r => new[]
    {
        new Measurement<double>(r.StorageRatio, Tag(r.Tenant), new("quota", "storage_bytes")),
        new Measurement<double>(r.TokenRatio, Tag(r.Tenant), new("quota", "llm_tokens_month")),
    })), unit: null, "Share of the plan's quota the tenant uses (1 = exhausted)");
    private static readonly ObservableGauge<int> Open = Meter.CreateObservableGauge("bruno.tenants.open", () => Live.Keys.Sum(g => g._engine.OpenTenantCount), description: "Tenant stores open in this process");

    private readonly UsageService _usage;
    private readonly TenantService _tenants;
    private readonly Storage.IStorageEngine _engine;
    private readonly IOptions<BrunoOptions> _options;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private (DateTimeOffset At, IReadOnlyList<Row> Rows)? _cached;

    public TenantGauges(UsageService usage, TenantService tenants, Storage.IStorageEngine engine, IOptions<BrunoOptions> options, TimeProvider time)
    {
        (_usage, _tenants, _engine, _options, _time) = (usage, tenants, engine, options, time);
        _ = (Cost, Size, Quota, Open); // the instruments exist once the first gauges do
        Live.TryAdd(this, 0);
    }

    private static IEnumerable<Measurement<T>> All<T>(Func<TenantGauges, IEnumerable<Measurement<T>>> of)
        where T : struct => [.. Live.Keys.SelectMany(of)];

    private static KeyValuePair<string, object?> Tag(TenantId tenant) => new(BrunoTelemetry.TenantTag, tenant.Value);

    private IReadOnlyList<Row> Rows()
    {
        if (_options.Value.Cluster.Kind == Core.Cluster.NodeRole.Store)
        {
            return []; // the gateways report every tenant's figures; a store node reports only its open stores
        }

        var now = _time.GetUtcNow();
        var live = _tenants.List().Where(t => t.Status != TenantStatus.Deleted).ToList();
        lock (_gate)
        {
            // fresh enough, and the same tenants (a tenant created or deleted since shows at the next scrape)
            if (_cached is { } c && now - c.At <= Fresh && c.Rows.Select(r => r.Tenant).SequenceEqual(live.Select(t => t.Id)))
            {
                return c.Rows;
            }
        }

        var plans = _options.Value.Plans;
        var rows = new List<Row>();
        foreach (var t in live)
        {
            var report = _usage.Report(t.Id);
            var plan = plans.GetValueOrDefault(t.Profile.Plan) ?? plans["default"];
            var bytes = t.Status == TenantStatus.Deleting ? 0 : Bytes(t.Id);
            var tokens = report is null ? 0 : report.Usage.LlmPromptTokens + report.Usage.LlmCompletionTokens;
            rows.Add(new Row(t.Id, report?.Cost.Total ?? 0, bytes, Ratio(bytes, plan.MaxStorageBytes), Ratio(tokens, plan.LlmTokensPerMonth)));
        }

        lock (_gate)
        {
            _cached = (now, rows);
        }

        return rows;
    }

    /// <summary>
    /// The tenant's bytes for a scrape. Gauges are read synchronously; the local engine answers at once, a store node
    /// within its call (once per tenant per refresh, cached in between). A node that is down reports 0 until it is back.
    /// </summary>
    private long Bytes(TenantId tenant)
    {
        try
        {
            return _tenants.BytesOnDiskAsync(tenant).GetAwaiter().GetResult();
        }
        catch (Storage.StoreUnavailableException)
        {
            return 0;
        }
    }

    private static double Ratio(long used, long limit) => limit <= 0 ? 0 : Math.Round((double)used / limit, 6);

    public void Dispose() => Live.TryRemove(this, out _);

    private sealed record Row(TenantId Tenant, double Dollars, long Bytes, double StorageRatio, double TokenRatio);
}
