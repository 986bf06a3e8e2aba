using System.Collections.Concurrent;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Observability;

/// <summary>One request as its tenant's admin sees it: no raw path, no query string, no body.</summary>
public sealed record InsightEntry(DateTimeOffset Time, string Method, string Route, int Status, double LatencyMs, string? TraceId, string? User, string? Refusal)
{
    /// <summary>The gateway that served it (<c>Bruno:Cluster:NodeName</c>, or host and process id); null in one process.</summary>
    public string? Gateway { get; init; }
}

/// <summary>Requests and errors of one route in a summary.</summary>
public sealed record RouteSummary(string Route, int Requests, int Errors, int ClientErrors, double P50Ms, double P95Ms);

/// <summary>What a tenant's admin reads at <c>/api/v1/insights</c>: the summary of the requests kept, then the latest ones.</summary>
public sealed record InsightsReport(string Tenant, DateTimeOffset? From, DateTimeOffset? To, int Requests, int Errors, int ClientErrors, int Refused, double ErrorRatio, double P50Ms, double P95Ms, IReadOnlyDictionary<string, int> ByStatus, IReadOnlyList<RouteSummary> Routes, IReadOnlyList<InsightEntry> Entries)
{
    /// <summary>The gateway whose requests these are; null in one process, which sees all of them.</summary>
    public string? Gateway { get; init; }

    /// <summary>
    /// True on a gateway: the report holds only the requests this gateway served, and the tenant's others went through
    /// other gateways (decision 0035). False in one process.
    /// </summary>
    public bool Partial { get; init; }
}

/// <summary>
/// The last <see cref="Capacity"/> requests of each tenant, in memory, for <c>/api/v1/insights</c> (docs/observability.md):
/// what this process served, lost on restart, per replica when there are several. On a gateway each entry and the report
/// name the gateway, and the report says it is <see cref="InsightsReport.Partial"/> (decision 0035): a tenant's admin
/// sees one gateway's share, labelled as such. A tenant being deleted loses its
/// entries at once in this process and within <see cref="Sweep"/>'s period in others; a user's erasure removes theirs.
/// </summary>
internal sealed class InsightsLog(TenantService tenants, ILogger<InsightsLog> logger, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options) : BackgroundService
{
    public const int Capacity = 1_000;
    private static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<TenantId, Ring> _rings = new();
    private readonly string? _gateway = options.Value.Cluster.Kind == Core.Cluster.NodeRole.Gateway ? options.Value.Cluster.InstanceName : null;

    public void Add(TenantId tenant, InsightEntry entry) => _rings.GetOrAdd(tenant, static _ => new Ring()).Add(_gateway is null ? entry : entry with { Gateway = _gateway });

    /// <summary>Drops everything kept of <paramref name="tenant"/>.</summary>
    public void Forget(TenantId tenant) => _rings.TryRemove(tenant, out _);

    /// <summary>Drops every entry of <paramref name="user"/> of <paramref name="tenant"/>.</summary>
    public void Forget(TenantId tenant, UserId user)
    {
        if (_rings.TryGetValue(tenant, out var ring))
        {
            ring.RemoveWhere(e => e.User == user.Value);
        }
    }

    /// <summary>The tenant's summary and its latest <paramref name="limit"/> entries (newest first), optionally errors only.</summary>
    public InsightsReport Report(TenantId tenant, int limit, bool errorsOnly)
    {
        var all = _rings.TryGetValue(tenant, out var ring) ? ring.Snapshot() : [];
        static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
        var latencies = all.Select(e => e.LatencyMs).Order().ToList();
        var errors = all.Count(e => e.Status >= 500);
        var routes = all.GroupBy(e => e.Route, StringComparer.Ordinal).Select(g =>
        {
            var l = g.Select(e => e.LatencyMs).Order().ToList();
            return new RouteSummary(g.Key, g.Count(), g.Count(e => e.Status >= 500), g.Count(e => e.Status is >= 400 and < 500), Percentile(l, 0.5), Percentile(l, 0.95));
        }).OrderByDescending(r => r.Requests).ThenBy(r => r.Route, StringComparer.Ordinal).ToList();
        var byStatus = all.GroupBy(e => e.Status).OrderBy(g => g.Key).ToDictionary(g => g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), g => g.Count(), StringComparer.Ordinal);
        var entries = all.AsEnumerable().Reverse().Where(e => !errorsOnly || e.Status >= 400).Take(limit).ToList();
        return new InsightsReport(
            tenant.Value, all.Count == 0 ? null : all[0].Time, all.Count == 0 ? null : all[^1].Time, all.Count, errors,
            all.Count(e => e.Status is >= 400 and < 500), all.Count(e => e.Status == 429), all.Count == 0 ? 0 : Math.Round((double)errors / all.Count, 4),
            Percentile(latencies, 0.5), Percentile(latencies, 0.95), byStatus, routes, entries)
        {
            Gateway = _gateway,
            Partial = _gateway is not null,
        };
    }

    /// <summary>Drops the entries of tenants that are gone or going (deleted in another process sharing the catalog).</summary>
    public void Sweep()
    {
        foreach (var tenant in _rings.Keys)
        {
            if (tenants.Find(tenant)?.Status is null or TenantStatus.Deleting or TenantStatus.Deleted)
            {
                Forget(tenant);
            }
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Core.BackgroundLoop.RunAsync("insights-sweep", SweepEvery, _ =>
        {
            Sweep();
            return Task.CompletedTask;
        }, logger, TimeProvider.System, stoppingToken);

    /// <summary>A fixed-size ring, oldest overwritten first.</summary>
    private sealed class Ring
    {
        private readonly InsightEntry?[] _items = new InsightEntry?[Capacity];
        private readonly Lock _gate = new();
        private int _next;
        private int _count;

        public void Add(InsightEntry e)
        {
            lock (_gate)
            {
                _items[_next] = e;
                _next = (_next + 1) % Capacity;
                _count = Math.Min(_count + 1, Capacity);
            }
        }

        /// <summary>Oldest first.</summary>
        public List<InsightEntry> Snapshot()
        {
            lock (_gate)
            {
                var list = new List<InsightEntry>(_count);
                for (var i = 0; i < _count; i++)
                {
                    list.Add(_items[(_next - _count + i + Capacity) % Capacity]!);
                }

                return list;
            }
        }

        public void RemoveWhere(Func<InsightEntry, bool> predicate)
        {
            lock (_gate)
            {
                var kept = Snapshot().Where(e => !predicate(e)).ToList();
                Array.Clear(_items);
                for (var i = 0; i < kept.Count; i++)
                {
                    _items[i] = kept[i];
                }

                (_count, _next) = (kept.Count, kept.Count % Capacity);
            }
        }
    }
}
