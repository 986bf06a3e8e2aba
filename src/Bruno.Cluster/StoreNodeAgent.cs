using Bruno.Core.Cluster;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Logging;

namespace Bruno.Cluster;

/// <summary>
/// A store node's duties towards the catalog, run every <see cref="ClusterOptions.HeartbeatSeconds"/>: report its
/// address, load and zone (gateways place new tenants by it, and stop placing on a node that stops reporting), and check what
/// it holds against the placements: a copy of a tenant another node owns, with no move bringing it here (the old copy
/// of a tenant that moved away, or what an undone move left on a target that was down), is erased, as the move would
/// have done had this node been up. The placement is read again with the tenant held exclusively, just before the
/// erasure, so a copy a new move is bringing here is never touched. Tenants the catalog never placed are left alone. Catalog and disk failures are logged and retried at the next round.
/// </summary>
/// <remarks>A copy is this node's when the catalog names it owner, replica (in sync or being built) or a move's target.
/// Each round also tells <see cref="NodeReplication"/> which placements changed, so it reads them again.</remarks>
public sealed partial class StoreNodeAgent(Placement placement, StorageEngine engine, ClusterOptions options, ILogger<StoreNodeAgent>? logger = null, NodeReplication? replication = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>This node's name.</summary>
    public string Node => options.NodeName!;

    /// <summary>Reports this node's load and zone (<see cref="ClusterOptions.Zone"/>) now; throws <see cref="System.Data.Common.DbException"/> when the catalog fails.</summary>
    public void Report() => placement.Report(Node, new Uri(options.AdvertiseUrl!), engine.Load(), options.ZoneOrNull);

    /// <summary>One round: the report, then the ownership check. Returns the tenants whose copies were erased.</summary>
    public async Task<IReadOnlyList<TenantId>> RunOnceAsync(CancellationToken ct = default)
    {
        Report();
        var held = engine.ListTenants().ToHashSet();
        var erased = new List<TenantId>();
        var all = placement.All();
        replication?.Reconcile(all);
        foreach (var p in all.Where(p => held.Contains(p.Tenant)))
        {
            ct.ThrowIfCancellationRequested();
            if (!p.Holds(Node) && await engine.EraseIfAsync(p.Tenant, () => NotMine(p.Tenant)))
            {
                Log.ErasedMovedCopy(_logger, p.Tenant.Value, p.Node);
                erased.Add(p.Tenant);
            }
        }

        return erased;
    }

    /// <summary>Whether the catalog, read now, places the tenant on another node with no move bringing it here.</summary>
    private bool NotMine(TenantId tenant) => placement.Find(tenant) is { } now && !now.Holds(Node);

    /// <summary>Runs rounds until <paramref name="ct"/> is cancelled.</summary>
    public Task RunAsync(CancellationToken ct)
    {
        // a catalog outage (or anything else) fails one heartbeat, never the node: the next one comes at the usual time, so
        // the node is seen live again within a heartbeat of the catalog's return (decision 0033)
        var heartbeat = TimeSpan.FromSeconds(options.HeartbeatSeconds);
        return Core.BackgroundLoop.RunAsync("store-heartbeat", heartbeat, RunOnceAsync, _logger, TimeProvider.System, ct, maxBackoff: heartbeat);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3820, Level = LogLevel.Information, Message = "Erased this node's copy of tenant {Tenant}: the catalog places it elsewhere (owner {Owner})")]
        public static partial void ErasedMovedCopy(ILogger logger, string tenant, string owner);
    }
}
