using System.Collections.Concurrent;
using System.Diagnostics;
using Bruno.Core.Metering;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Metering;

/// <summary>
/// Meters every request: a <see cref="UsageScope"/> is open while it runs (the model wrappers count tokens into it).
/// When the request is admitted for a tenant (<see cref="Admission"/> attaches the scope to the tenant), its wall time
/// goes to <see cref="CpuShares"/>.
/// </summary>
internal sealed class MeteringMiddleware(RequestDelegate next, CpuShares cpu)
{
    public async Task InvokeAsync(HttpContext http)
    {
        using var scope = UsageScope.Begin();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            if (Admission.Of(http) is { } admitted)
            {
                cpu.Add(admitted.Caller.Tenant, Stopwatch.GetElapsedTime(started));
            }
        }
    }
}

/// <summary>
/// Shares the process's CPU time among tenants: requests add their wall time per tenant, and each
/// <see cref="Apportion"/> splits the CPU the process used since the last one in proportion (background work included,
/// so the shares add up to what the machine spent). Events carry this process's id and a sequence number: idempotent.
/// </summary>
internal sealed class CpuShares(UsageMeter meter, TimeProvider time)
{
    private readonly string _process = Guid.NewGuid().ToString("N")[..12];
    private readonly object _gate = new();
    private ConcurrentDictionary<TenantId, long> _wall = new();
    private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private long _seq;

    public void Add(TenantId tenant, TimeSpan wall) => _wall.AddOrUpdate(tenant, wall.Ticks, (_, t) => t + wall.Ticks);

    /// <summary>Records the CPU milliseconds of each tenant since the last call; returns how many were used in all.</summary>
    public long Apportion()
    {
        lock (_gate)
        {
            var wall = Interlocked.Exchange(ref _wall, new ConcurrentDictionary<TenantId, long>());
            var now = Process.GetCurrentProcess().TotalProcessorTime;
            var used = (long)(now - _lastCpu).TotalMilliseconds;
            _lastCpu = now;
            var total = wall.Values.Sum();
            if (total == 0 || used <= 0)
            {
                return 0;
            }

            var seq = ++_seq;
            foreach (var (tenant, ticks) in wall)
            {
                meter.Record(new UsageEvent($"cpu:{_process}:{seq}:{tenant.Value}", tenant, UsageKinds.CpuMilliseconds, used * ticks / total, time.GetUtcNow()));
            }

            return used;
        }
    }
}

/// <summary>
/// Writes metered usage every few seconds (and at shutdown), shares out CPU time, and samples each tenant's storage once
/// an hour. A failed write stays queued for the next round.
/// </summary>
internal sealed class MeteringJob(UsageMeter meter, UsageService usage, CpuShares cpu, TimeProvider time, ILogger<MeteringJob> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private long _sampledHour = -1;

    /// <summary>One round: CPU shares, the storage sample when a new hour began, and the write.</summary>
    public async Task RunOnceAsync(CancellationToken ct)
    {
        cpu.Apportion();
        var now = time.GetUtcNow();
        if (UsageMeter.HourOf(now) != _sampledHour)
        {
            await usage.SampleStorageAsync(now, ct: ct);
            _sampledHour = UsageMeter.HourOf(now);
        }

        await meter.FlushAsync(ct);
    }

    // a failed write stays queued: the next round (after a backoff while the catalog is away) writes it
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Core.BackgroundLoop.RunAsync("metering", Interval, RunOnceAsync, logger, time, stoppingToken, firstDelay: TimeSpan.Zero);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        cpu.Apportion();
        await meter.FlushAsync(CancellationToken.None); // what was metered before shutdown is kept
    }
}
