using Bruno.Core.Cluster;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Logging;

namespace Bruno.Cluster;

/// <summary>
/// A gateway's care of the tenants' two copies (decision 0034), run by every gateway; each step is one conditional
/// update in the catalog, so gateways acting at once cannot both win.
/// <list type="bullet">
/// <item><see cref="FailOverAsync"/>, every second: a tenant whose owner's lease lapsed (no report for
/// <see cref="ClusterOptions.NodeTimeoutSeconds"/>) and whose replica is in sync and live gets its replica promoted (the
/// new owner is told at once, so it refuses the old owner's replicated writes from then on); and moves or replica builds
/// whose lease lapsed are undone.</item>
/// <item><see cref="RepairAsync"/>, every heartbeat: a tenant whose plan changed its replication (synchronous or
/// asynchronous) gets its placement changed; a replica whose node went silent is dropped (its owner goes on alone);
/// and a tenant without a replica gets one built on the node <see cref="Placement.ReplicaTarget"/> chooses: the least
/// loaded live node in another zone than the owner's when there is one, else the least loaded other live node.</item>
/// </list>
/// Catalog and node failures end the round; the next round tries again.
/// </summary>
/// <remarks><paramref name="plannedLags"/> reads, once a round, how each tenant's plan replicates (null: synchronously).</remarks>
public sealed partial class ReplicaKeeper(Placement placement, RoutedStorage storage, TenantMover mover, ClusterOptions options, TimeProvider? time = null, ILogger<ReplicaKeeper>? logger = null, Func<IReadOnlyDictionary<TenantId, int?>>? plannedLags = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private long _watchingSince = (time ?? TimeProvider.System).GetTimestamp();

    private TimeSpan Lease => TimeSpan.FromSeconds(options.NodeTimeoutSeconds);

    /// <summary>
    /// One round of failover (see the type's remarks); returns the tenants promoted. A gateway promotes only once it has
    /// itself read the catalog for a whole lease without a failure (since it started, or since the catalog came back):
    /// a node that could not renew its lease because the catalog was away is given the time to renew it.
    /// </summary>
    public async Task<IReadOnlyList<TenantPlacement>> FailOverAsync(CancellationToken ct = default)
    {
        try
        {
            return await FailOverRoundAsync(ct);
        }
        catch (Exception e) when (Core.Tenants.CatalogDatabase.IsFailure(e))
        {
            Interlocked.Exchange(ref _watchingSince, _time.GetTimestamp());
            throw;
        }
    }

    private async Task<IReadOnlyList<TenantPlacement>> FailOverRoundAsync(CancellationToken ct)
    {
        await mover.GiveUpStaleTransitionsAsync(TimeSpan.FromSeconds(options.MoveLeaseSeconds), ct);
        var nodes = placement.Nodes();
        if (_time.GetElapsedTime(Interlocked.Read(ref _watchingSince)) < Lease)
        {
            return []; // not watched the leases for a whole one yet
        }

        var live = nodes.Where(n => placement.IsLive(n, Lease)).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        if (live.Count == nodes.Count)
        {
            return []; // every owner holds its lease: nothing to read further
        }

        var all = placement.All();
        storage.Observe(all); // promotions by other gateways: calls in flight to the old owners are re-sent now
        var promoted = new List<TenantPlacement>();
        foreach (var p in all.Where(p => !live.Contains(p.Node) && p.SyncReplica is { } r && live.Contains(r)))
        {
            ct.ThrowIfCancellationRequested();
            if (placement.Promote(p))
            {
                storage.Forget(p.Tenant);
                Log.Promoted(_logger, p.Tenant.Value, p.Node, p.SyncReplica!, p.Epoch + 1);
                promoted.Add(p);
                await TellAsync(p.SyncReplica!, p.Tenant, ct); // now rather than at its first call: the old owner's replicated writes are refused from here
            }
        }

        return promoted;
    }

    /// <summary>Tells a node that the tenant's placement changed; a node that cannot be told reads it at its next call or heartbeat.</summary>
    private async Task TellAsync(string node, TenantId tenant, CancellationToken ct)
    {
        try
        {
            await storage.NodeClient(node).RefreshAsync(tenant, ct);
        }
        catch (StorageException e)
        {
            Log.NotTold(_logger, tenant.Value, node, e.GetType().Name);
        }
    }

    /// <summary>One round of repairs (see the type's remarks); returns how many replicas were built.</summary>
    public async Task<int> RepairAsync(CancellationToken ct = default)
    {
        if (!options.Replicated)
        {
            return 0;
        }

        var live = placement.Nodes().Where(n => placement.IsLive(n, Lease)).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var lags = plannedLags?.Invoke();
        var built = 0;
        foreach (var p in placement.All())
        {
            ct.ThrowIfCancellationRequested();
            if (!live.Contains(p.Node) || p.MovingTo is not null)
            {
                continue; // failover's business, or a move's
            }

            if (lags is not null && lags.TryGetValue(p.Tenant, out var lag) && lag != p.AsyncLag)
            {
                if (placement.SetReplication(p, lag))
                {
                    Log.ReplicationChanged(_logger, p.Tenant.Value, lag is null ? "synchronous" : $"asynchronous, at most {lag} writes behind");
                    await TellAsync(p.Node, p.Tenant, ct); // the owner reads it now rather than at its next heartbeat
                }

                continue; // the rest at the next round, from the placement as it is then
            }

            if (p.SyncReplica is { } silent && !live.Contains(silent))
            {
                if (placement.DropReplica(p))
                {
                    Log.SilentReplicaDropped(_logger, p.Tenant.Value, silent);
                }

                continue; // rebuilt at the next round, from the placement as it is then
            }

            if (p.Replica is not null || placement.ReplicaTarget(p.Node, Lease) is not { } target)
            {
                continue;
            }

            try
            {
                if (await mover.BuildReplicaAsync(p, target, ct) is not null)
                {
                    built++;
                }
            }
            catch (StorageException e)
            {
                Log.RepairFailed(_logger, p.Tenant.Value, target, e.GetType().Name); // undone; tried again next round
            }
        }

        return built;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3860, Level = LogLevel.Warning, Message = "Store node {Owner}, owner of tenant {Tenant}, let its lease lapse: promoted its replica on {Replica} (epoch {Epoch})")]
        public static partial void Promoted(ILogger logger, string tenant, string owner, string replica, long epoch);

        [LoggerMessage(EventId = 3864, Level = LogLevel.Information, Message = "Tenant {Tenant}'s plan changed its replication: now {Mode}")]
        public static partial void ReplicationChanged(ILogger logger, string tenant, string mode);

        [LoggerMessage(EventId = 3863, Level = LogLevel.Warning, Message = "Could not tell store node {Owner} that tenant {Tenant}'s placement changed ({Error}); it reads it at its next call or heartbeat")]
        public static partial void NotTold(ILogger logger, string tenant, string owner, string error);

        [LoggerMessage(EventId = 3861, Level = LogLevel.Warning, Message = "Store node {Replica}, replica of tenant {Tenant}, went silent: dropped; a new replica is built")]
        public static partial void SilentReplicaDropped(ILogger logger, string tenant, string replica);

        [LoggerMessage(EventId = 3862, Level = LogLevel.Warning, Message = "Building a replica of tenant {Tenant} on {Replica} failed ({Error}); trying again at the next round")]
        public static partial void RepairFailed(ILogger logger, string tenant, string replica, string error);
    }
}
