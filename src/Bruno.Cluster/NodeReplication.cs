using System.Collections.Concurrent;
using Bruno.Cluster.Remote;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Logging;
using P = Bruno.Cluster.Remote.Protocol;

namespace Bruno.Cluster;

/// <summary>
/// A store node's part in keeping each tenant on two nodes (decision 0034). For a tenant it owns with a replica in sync,
/// every write is applied here and on the replica, and acknowledged only when both applied it alike. Writes of a tenant
/// that touch different rows run at once; one that may touch a row of an earlier write still in progress waits for it,
/// on both copies (<see cref="WriteOrder"/>, decision 0039), so both apply conflicting writes in the same order. When
/// the replica fails or answers differently, the replica is dropped in the catalog (one conditional update on the
/// placement read, raising its epoch) before the write is acknowledged by this node alone; when that update
/// fails (the placement changed: this node was deposed, or the catalog cannot be reached) the write is not
/// acknowledged. A replica applies a replicated write only while the catalog names the sender as owner and itself as
/// replica at the write's epoch, so a deposed owner cannot have anything acknowledged once the replica knows of its
/// promotion. What it knows of placements is read from the catalog when first needed, again whenever a call disagrees
/// with it, and dropped when the tenant is fenced, adopted, created or erased here.
/// </summary>
public sealed partial class NodeReplication(StorageEngine engine, Placement placement, string node, Func<string, RemoteStorageEngine> peer, ILogger<NodeReplication>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private readonly ConcurrentDictionary<TenantId, TenantPlacement?> _known = new(); // null: never placed
    private readonly ConcurrentDictionary<TenantId, WriteOrder> _orders = new();
    private readonly ConcurrentDictionary<TenantId, Backlog> _backlogs = new();

    /// <summary>The writes of an asynchronously replicated tenant on their way to its replica, in order.</summary>
    private sealed class Backlog
    {
        public readonly Lock Gate = new();
        public Task Tail = Task.CompletedTask;
        public int Pending;
        public long FailedEpoch = -1;
    }

    private WriteOrder Order(TenantId tenant) => _orders.GetOrAdd(tenant, _ => new WriteOrder());

    /// <summary>Waits until every write on its way to the tenant's replica has been sent (or given up).</summary>
    private Task DrainedAsync(TenantId tenant) => _backlogs.TryGetValue(tenant, out var b) ? b.Tail : Task.CompletedTask;

    /// <summary>How long an owner waits for its replica to apply a write before dropping it: 10 s.</summary>
    public static readonly TimeSpan ReplicaTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The tenant's placement as this node knows it; read from the catalog when <paramref name="fresh"/> or unknown. Throws what <see cref="Placement.Find"/> throws when the catalog fails.</summary>
    private TenantPlacement? Known(TenantId tenant, bool fresh)
    {
        if (!fresh && _known.TryGetValue(tenant, out var p))
        {
            return p;
        }

        var read = placement.Find(tenant);
        _known[tenant] = read;
        return read;
    }

    /// <summary>Forgets what this node knew of the tenant's placement: the next call reads it again.</summary>
    public void Forget(TenantId tenant) => _known.TryRemove(tenant, out _);

    /// <summary>
    /// Reads the tenant's placement again now (a gateway promoted this node): from here on, writes replicated by a
    /// deposed owner are refused. Throws what <see cref="Placement.Find"/> throws when the catalog fails.
    /// </summary>
    public void Refresh(TenantId tenant) => Known(tenant, fresh: true);

    /// <summary>Forgets every placement whose epoch differs from the catalog's (the agent's check, every heartbeat).</summary>
    public void Reconcile(IReadOnlyList<TenantPlacement> all)
    {
        ArgumentNullException.ThrowIfNull(all);
        var now = all.ToDictionary(p => p.Tenant);
        foreach (var (tenant, p) in _known)
        {
            if (now.GetValueOrDefault(tenant) != p)
            {
                _known.TryRemove(tenant, out _);
            }
        }
    }

    /// <summary>
    /// Throws <see cref="TenantNotFoundException"/> unless this node owns the tenant or holds its replica in sync (a
    /// gateway reads from the replica when the owner cannot be reached). A tenant the catalog never placed is served as
    /// the engine has it (a node used on its own).
    /// </summary>
    public void CheckRead(TenantId tenant)
    {
        if (!Serves(Known(tenant, fresh: false)) && !Serves(Known(tenant, fresh: true)))
        {
            throw new TenantNotFoundException(tenant.Value);
        }
    }

    private bool Serves(TenantPlacement? p) => p is null || p.Node == node || p.SyncReplica == node; // null: never placed, served as it is

    /// <summary>Runs <paramref name="action"/> with the tenant's writes held (a fence waits for the writes in progress).</summary>
    public async Task<T> ExclusiveAsync<T>(TenantId tenant, Func<Task<T>> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        using var admitted = await Order(tenant).EnterAsync(WriteKeys.Tenant);
        try
        {
            await DrainedAsync(tenant); // a fenced tenant's replica has every write its owner applied
            return await action();
        }
        finally
        {
            Forget(tenant);
        }
    }

    /// <summary>
    /// A gateway's write: applied here with <paramref name="local"/>, and on the replica in sync with
    /// <paramref name="write"/> (see the type's remarks). Throws <see cref="TenantNotFoundException"/> when this node does
    /// not own the tenant, <see cref="TenantFencedException"/> when it is fenced, the engine's exception when the write
    /// failed here, and <see cref="StoreUnavailableException"/> when the replica failed and could not be dropped.
    /// </summary>
    public async Task<long> WriteAsync(TenantId tenant, P.ReplicatedWrite write, Func<Task<long>> local)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(local);
        using var admitted = await Order(tenant).EnterAsync(WriteKeys.Of(write)); // held until both copies applied it
        try
        {
            if (!_known.TryGetValue(tenant, out var p) || (p is not null && p.Node != node))
            {
                p = Known(tenant, fresh: true);
            }

            if (p is null)
            {
                return await local(); // never placed (a node used on its own): served as the engine has it
            }

            if (p.Node != node)
            {
                throw new TenantNotFoundException(tenant.Value); // not the owner (any more): the gateway reads the placement again
            }

            if (engine.IsFenced(tenant))
            {
                throw new TenantFencedException(tenant.Value);
            }

            if (p.SyncReplica is not { } replica)
            {
                return await local(); // no replica in sync: this copy alone (a replica being built gets the copy under a fence)
            }

            write.Tenant = tenant.Value;
            write.Epoch = p.Epoch;
            write.Owner = node;
            if (p.AsyncLag is { } lag)
            {
                return await WriteBehindAsync(tenant, p, replica, lag, write, local);
            }

            await DrainedAsync(tenant); // asynchronous until a moment ago: what is on its way goes first
            var there = Outcome(ReplicateAsync(replica, tenant, write));
            var here = await Outcome(local());
            var theirs = await there;
            if (here.Error is null && theirs.Error is TenantNotFoundException && Renewed(tenant, p, replica) is { } renewed)
            {
                write.Epoch = renewed.Epoch; // the replica knew a newer epoch of the same placement (a plan changed it): again, at that one
                theirs = await Outcome(ReplicateAsync(replica, tenant, write));
            }

            if (here.Error is null && theirs.Error is null && here.Value == theirs.Value)
            {
                return here.Value;
            }

            if (here.Error is not null && theirs.Error is not null && SameFailure(here.Error, theirs.Error))
            {
                throw here.Error; // refused alike on both (an invalid row, say): nothing diverged
            }

            // the replica failed, or the copies answered differently: it cannot be trusted with this tenant any more
            Log.ReplicaFailed(_logger, tenant.Value, replica, theirs.Error?.GetType().Name ?? "a different result");
            var now = Known(tenant, fresh: true);
            if (now?.Node != node)
            {
                throw new TenantNotFoundException(tenant.Value); // deposed meanwhile: nothing acknowledged here
            }

            if (!Drop(tenant, replica))
            {
                Forget(tenant);
                throw new StoreUnavailableException(tenant.Value, node); // deposed meanwhile: not acknowledged
            }

            Forget(tenant);
            return here.Error is null ? here.Value : throw here.Error;
        }
        catch (Exception e) when (Core.Tenants.CatalogDatabase.IsFailure(e))
        {
            Forget(tenant);
            throw new StoreUnavailableException(tenant.Value, node, e); // no catalog to say who owns it: not acknowledged
        }
    }

    /// <summary>
    /// Asynchronous replication: the write is applied here and acknowledged, and sent to the replica after the writes
    /// before it; when <paramref name="lag"/> writes are already on their way, it first waits for them. When sending one
    /// fails, the replica is dropped (as a synchronous write would drop it) and the rest of that epoch's writes are not
    /// sent: the replica is rebuilt.
    /// </summary>
    private async Task<long> WriteBehindAsync(TenantId tenant, TenantPlacement p, string replica, int lag, P.ReplicatedWrite write, Func<Task<long>> local)
    {
        var value = await local();
        var backlog = _backlogs.GetOrAdd(tenant, _ => new Backlog());
        while (true)
        {
            Task tail;
            lock (backlog.Gate)
            {
                if (backlog.Pending < lag)
                {
                    // queued before this write is done, so a later write it conflicts with is queued after it
                    backlog.Pending++;
                    backlog.Tail = SendBehindAsync(backlog.Tail, backlog, tenant, p, replica, write, value);
                    return value;
                }

                tail = backlog.Tail;
            }

            await tail; // the replica is as far behind as the plan allows: wait for it
        }
    }

    private async Task SendBehindAsync(Task before, Backlog backlog, TenantId tenant, TenantPlacement seen, string replica, P.ReplicatedWrite write, long expected)
    {
        await before.ConfigureAwait(ConfigureAwaitOptions.ForceYielding); // never faults; yields, so nothing runs under the backlog's lock
        try
        {
            if (Interlocked.Read(ref backlog.FailedEpoch) == seen.Epoch)
            {
                return; // an earlier write of this epoch did not reach the replica: it is dropped and rebuilt
            }

            long theirs;
            try
            {
                theirs = await ReplicateAsync(replica, tenant, write);
            }
            catch (TenantNotFoundException) when (Renewed(tenant, seen, replica) is { } renewed)
            {
                write.Epoch = renewed.Epoch; // as for a synchronous write: the same placement at a newer epoch
                theirs = await ReplicateAsync(replica, tenant, write);
            }

            if (theirs == expected)
            {
                return;
            }

            Log.ReplicaFailed(_logger, tenant.Value, replica, "a different result");
        }
        catch (Exception e)
        {
            Log.ReplicaFailed(_logger, tenant.Value, replica, e.GetType().Name);
        }
        finally
        {
            lock (backlog.Gate)
            {
                backlog.Pending--;
            }
        }

        Interlocked.Exchange(ref backlog.FailedEpoch, seen.Epoch);
        try
        {
            Drop(tenant, replica);
        }
        catch (Exception e) when (Core.Tenants.CatalogDatabase.IsFailure(e))
        {
            Log.ReplicaFailed(_logger, tenant.Value, replica, e.GetType().Name); // the upkeep drops or rebuilds it later
        }

        Forget(tenant);
    }

    /// <summary>
    /// The tenant's placement read again, when it still names this node owner and <paramref name="replica"/> as its
    /// replica in sync at another epoch than <paramref name="seen"/>'s (someone changed it without telling this node);
    /// else null. Never throws: a catalog that fails gives null, and the caller drops the replica as it would have.
    /// </summary>
    private TenantPlacement? Renewed(TenantId tenant, TenantPlacement seen, string replica)
    {
        try
        {
            var now = Known(tenant, fresh: true);
            return now?.Node == node && now.SyncReplica == replica && now.Epoch != seen.Epoch ? now : null;
        }
        catch (Exception e) when (Core.Tenants.CatalogDatabase.IsFailure(e))
        {
            return null;
        }
    }

    /// <summary>
    /// Drops <paramref name="replica"/> as the tenant's replica in the catalog, whatever else changed in its placement
    /// meanwhile, as long as this node owns it; true when it is not the replica any more (dropped now or before), false
    /// when this node is not the owner. Throws what <see cref="Placement.Find"/> throws when the catalog fails.
    /// </summary>
    private bool Drop(TenantId tenant, string replica)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var now = placement.Find(tenant);
            if (now?.Node != node)
            {
                return false;
            }

            if (now.Replica != replica)
            {
                return true;
            }

            if (placement.DropReplica(now))
            {
                Log.ReplicaDropped(_logger, tenant.Value, replica);
                return true;
            }
        }

        return false;
    }

    private async Task<long> ReplicateAsync(string replica, TenantId tenant, P.ReplicatedWrite write)
    {
        var client = peer(replica);
        return (await client.Call(tenant, o => client.Client.ReplicateAsync(write, o), CancellationToken.None)).Value;
    }

    /// <summary>
    /// A write the tenant's owner replicated here: applied with <paramref name="local"/> only while the catalog names
    /// the sender as owner and this node as the replica in sync at the write's epoch; otherwise
    /// <see cref="TenantNotFoundException"/> and nothing applied.
    /// </summary>
    public async Task<long> ApplyAsync(P.ReplicatedWrite write, Func<Task<long>> local)
    {
        ArgumentNullException.ThrowIfNull(write);
        ArgumentNullException.ThrowIfNull(local);
        var tenant = TenantId.Parse(write.Tenant);
        // an owner sends conflicting writes one after the other; admitting them here too orders them against a new owner's
        using var admitted = await Order(tenant).EnterAsync(WriteKeys.Of(write));
        var p = Known(tenant, fresh: false);
        if (p is null || p.Epoch < write.Epoch || !Accepts(p, write))
        {
            p = Known(tenant, fresh: p is null || p.Epoch <= write.Epoch);
        }

        if (p is null || !Accepts(p, write))
        {
            throw new TenantNotFoundException(tenant.Value);
        }

        return await local();
    }

    private bool Accepts(TenantPlacement p, P.ReplicatedWrite write) => p.Epoch == write.Epoch && p.Node == write.Owner && p.SyncReplica == node;

    private static async Task<(long Value, Exception? Error)> Outcome(Task<long> task)
    {
        try
        {
            return (await task, null);
        }
        catch (Exception e)
        {
            return (0, e);
        }
    }

    private static bool SameFailure(Exception a, Exception b) =>
        a.GetType() == b.GetType() && a is ArgumentException or CollectionNotFoundException or CollectionMismatchException or InvalidIdentifierException;

    private static partial class Log
    {
        [LoggerMessage(EventId = 3853, Level = LogLevel.Warning, Message = "Replicating a write of tenant {Tenant} to store node {Replica} failed ({Error})")]
        public static partial void ReplicaFailed(ILogger logger, string tenant, string replica, string error);

        [LoggerMessage(EventId = 3854, Level = LogLevel.Warning, Message = "Dropped store node {Replica} as replica of tenant {Tenant}: this node acknowledges its writes alone until a new replica is built")]
        public static partial void ReplicaDropped(ILogger logger, string tenant, string replica);
    }
}
