using Bruno.Storage.Identity;
using Microsoft.Extensions.Logging;

namespace Bruno.Cluster;

/// <summary>
/// Keeps a tenant's transition (a move or a replica build) alive in the catalog while this process runs it: renewed
/// every second until disposed. A transition whose process died stops being renewed and is undone by any gateway once
/// its lease (<see cref="Core.Cluster.ClusterOptions.MoveLeaseSeconds"/>) has passed. A failed renewal (the catalog
/// unreachable for a moment) is tried again at the next second; the transition's own conditional updates decide the
/// outcome, never the renewal.
/// </summary>
internal sealed partial class TransitionLease : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewing;

    public TransitionLease(Placement placement, TenantId tenant, ILogger logger, TimeSpan? every = null)
    {
        var interval = every ?? TimeSpan.FromSeconds(1);
        _renewing = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(interval);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    try
                    {
                        placement.Renew(tenant);
                    }
                    catch (System.Data.Common.DbException e)
                    {
                        NotRenewed(logger, tenant.Value, e.GetType().Name);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // disposed
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewing;
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 3815, Level = LogLevel.Warning, Message = "Could not renew the lease of tenant {Tenant}'s transition ({Error}); trying again in a second")]
    private static partial void NotRenewed(ILogger logger, string tenant, string error);
}
