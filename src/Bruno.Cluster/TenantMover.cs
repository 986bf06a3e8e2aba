using System.Diagnostics;
using Bruno.Core.Cluster;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Logging;

namespace Bruno.Cluster;

/// <summary>What a move did.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="From">Its owner before.</param>
/// <param name="To">Its owner now.</param>
/// <param name="Bytes">Bytes copied (0 when it was already there).</param>
/// <param name="FencedFor">How long its writes were held back.</param>
public sealed record MoveResult(string Tenant, string From, string To, long Bytes, TimeSpan FencedFor);

/// <summary>
/// Moves a tenant between store nodes while it is in use:
/// <list type="number">
/// <item>the move is recorded in the catalog (a second move of the same tenant is refused meanwhile);</item>
/// <item>the owner fences the tenant's writes and waits for those in flight (reads go on);</item>
/// <item>the tenant's files stream from the owner to the target, which adopts them whole or not at all;</item>
/// <item>the catalog names the target as owner (one conditional update: the switch-over);</item>
/// <item>the old owner erases its copy.</item>
/// </list>
/// A write that meets the fence was not applied; the gateway that sent it waits and sends it to the new owner, so
/// nothing acknowledged is lost and nothing is applied twice. When a step before the switch-over fails, the move is
/// undone (the target's partial copy erased, the fence lifted) and the tenant stays where it was. When the old owner
/// cannot erase its copy, the copy stays fenced and that node erases it when it next checks what it owns. When the undo
/// itself fails, the move stays recorded and the tenant fenced: repeating the move finishes it, and moving the tenant
/// to the node it is on gives the move up.
/// Throws <see cref="TenantMoveException"/> for a move that cannot start, and <see cref="StoreUnavailableException"/>
/// when a node cannot be reached. A move to a node in the same zone as the tenant's replica is made as asked, with a
/// warning in the log (decision 0037): the operator may have reasons, but one zone then holds both copies.
/// </summary>
public sealed partial class TenantMover(Placement placement, RoutedStorage storage, ClusterOptions options, ILogger<TenantMover>? logger = null)
{
    private readonly ILogger _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>Moves <paramref name="tenant"/> to the store node <paramref name="target"/> (see the type's remarks).</summary>
    public async Task<MoveResult> MoveAsync(TenantId tenant, string target, CancellationToken ct = default)
    {
        var current = placement.Find(tenant) ?? throw new TenantMoveException($"Tenant '{tenant}' is not placed on any store node.");
        var node = placement.Node(target) ?? throw new TenantMoveException($"Store node '{target}' is not known; `bruno node list` shows the nodes.");
        if (current.Node == target)
        {
            if (current.MovingTo is { } unfinished)
            {
                // moving it to where it is: give up the unfinished move (its partial copy erased, writes resumed)
                await UndoAsync(tenant, storage.NodeClient(current.Node), storage.NodeClient(unfinished), unfinished);
            }
            else
            {
                await storage.NodeClient(current.Node).UnfenceAsync(tenant, ct); // a fence a failed undo left: lifted
            }

            return new MoveResult(tenant.Value, current.Node, target, 0, TimeSpan.Zero);
        }

        if (!placement.IsLive(node, TimeSpan.FromSeconds(options.NodeTimeoutSeconds)))
        {
            throw new TenantMoveException($"Store node '{target}' has not reported for {options.NodeTimeoutSeconds} s; it cannot take tenants now.");
        }

        if (!placement.BeginMove(tenant, current.Node, target))
        {
            throw new TenantMoveException($"Tenant '{tenant}' is being moved to another node already; wait for that move or repeat it.");
        }

        if (node.Zone is { } zone && current.Replica is { } replica && placement.Node(replica)?.Zone == zone)
        {
            Log.MovedIntoReplicasZone(_logger, tenant.Value, target, replica, zone); // the operator's choice: allowed, but one zone's loss now takes both copies
        }

        var source = storage.NodeClient(current.Node);
        var destination = storage.NodeClient(target);
        var fenced = Stopwatch.StartNew();
        long bytes;
        await using (new TransitionLease(placement, tenant, _logger))
        {
            try
            {
                bytes = await FenceAndCopyAsync(tenant, source, destination, ct);
            }
            catch (Exception e)
            {
                Log.MoveFailed(_logger, tenant.Value, current.Node, target, e.GetType().Name);
                await UndoAsync(tenant, source, destination, target);
                throw;
            }

            if (!placement.CompleteMove(tenant, current.Node, target))
            {
                await UndoAsync(tenant, source, destination, target);
                throw new TenantMoveException($"The placement of tenant '{tenant}' changed during the move (given up after its lease lapsed, or its owner failed over); nothing was moved.");
            }
        }

        var fencedFor = fenced.Elapsed;
        storage.Forget(tenant);
        try
        {
            await source.EraseTenantAsync(tenant, CancellationToken.None);
        }
        catch (StorageException e)
        {
            Log.OldCopyKept(_logger, tenant.Value, current.Node, e.GetType().Name); // fenced; the node erases it when it checks ownership
        }

        Log.Moved(_logger, tenant.Value, current.Node, target, bytes, (long)fencedFor.TotalMilliseconds);
        return new MoveResult(tenant.Value, current.Node, target, bytes, fencedFor);
    }

    /// <summary>
    /// Gives up the moves and replica builds whose lease was not renewed for <paramref name="lease"/>: the gateway
    /// running them died. Each is undone as a failed one is; one still running then fails at its switch-over and erases
    /// its copy. Returns how many were given up.
    /// </summary>
    public async Task<int> GiveUpStaleTransitionsAsync(TimeSpan lease, CancellationToken ct = default)
    {
        var given = 0;
        foreach (var p in placement.StaleTransitions(lease))
        {
            ct.ThrowIfCancellationRequested();
            var target = p.MovingTo ?? p.Replica!;
            Log.GivingUp(_logger, p.Tenant.Value, p.Node, target);
            if (await UndoAsync(p.Tenant, storage.NodeClient(p.Node), storage.NodeClient(target), target, replica: p.MovingTo is null))
            {
                given++;
            }
        }

        return given;
    }

    /// <summary>
    /// Builds a replica of the tenant on <paramref name="target"/> as a move copies a tenant: recorded in the catalog
    /// (only when the placement is still <paramref name="seen"/> and has no replica), the owner fenced, its files copied,
    /// the replica recorded in sync (raising the epoch), the fence lifted; the owner reads the placement again before its
    /// next write, so every write from then on reaches the replica. A failure before the replica is in sync undoes the
    /// build. Returns the bytes copied, or null when the placement changed first.
    /// Throws <see cref="StoreUnavailableException"/> when a node cannot be reached (the build undone).
    /// </summary>
    public async Task<long?> BuildReplicaAsync(TenantPlacement seen, string target, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(seen);
        if (!placement.BeginReplica(seen, target))
        {
            return null;
        }

        var tenant = seen.Tenant;
        var source = storage.NodeClient(seen.Node);
        var destination = storage.NodeClient(target);
        var fenced = Stopwatch.StartNew();
        long bytes;
        await using (new TransitionLease(placement, tenant, _logger))
        {
            try
            {
                bytes = await FenceAndCopyAsync(tenant, source, destination, ct);
                if (!placement.CompleteReplica(tenant, seen.Node, target))
                {
                    await UndoAsync(tenant, source, destination, target, replica: true);
                    return null;
                }
            }
            catch (Exception e) when (e is StorageException or System.Data.Common.DbException or OperationCanceledException)
            {
                Log.ReplicaBuildFailed(_logger, tenant.Value, target, e.GetType().Name);
                await UndoAsync(tenant, source, destination, target, replica: true);
                throw;
            }
        }

        storage.Forget(tenant);
        await source.UnfenceAsync(tenant, CancellationToken.None); // the owner forgets what it knew of the placement here
        Log.ReplicaBuilt(_logger, tenant.Value, seen.Node, target, bytes, (long)fenced.Elapsed.TotalMilliseconds);
        return bytes;
    }

    /// <summary>
    /// Fences the tenant on <paramref name="source"/>, erases what <paramref name="destination"/> holds of it (what an
    /// earlier attempt left, or the old copy of a node back from the dead: never caught up, always copied again), and
    /// copies the source's files there. Returns the bytes copied.
    /// </summary>
    private static async Task<long> FenceAndCopyAsync(TenantId tenant, Remote.RemoteStorageEngine source, Remote.RemoteStorageEngine destination, CancellationToken ct)
    {
        await source.FenceAsync(tenant, ct);
        await destination.EraseTenantAsync(tenant, ct);
        return await source.CopyTenantToAsync(tenant, destination, ct);
    }

    /// <summary>
    /// Undoes a move or a replica build, each step on its own: the target's copy erased (when the target cannot be
    /// reached, the copy it may hold is erased by that node once it checks what it owns), then the owner's fence lifted,
    /// and only then the transition forgotten (the move's target, or the replica being built), so a tenant is never left
    /// fenced with no transition recorded. Returns whether it is undone.
    /// </summary>
    private async Task<bool> UndoAsync(TenantId tenant, Remote.RemoteStorageEngine source, Remote.RemoteStorageEngine destination, string target, bool replica = false)
    {
        try
        {
            await destination.EraseTenantAsync(tenant, CancellationToken.None);
        }
        catch (StorageException e)
        {
            Log.UndoFailed(_logger, tenant.Value, e.GetType().Name);
        }

        try
        {
            await source.UnfenceAsync(tenant, CancellationToken.None);
            if (replica)
            {
                placement.AbortReplica(tenant, target);
            }
            else
            {
                placement.AbortMove(tenant, target);
            }

            return true;
        }
        catch (Exception e) when (e is StorageException or System.Data.Common.DbException)
        {
            // the transition stays recorded and the tenant fenced: its lease lapses and a gateway gives it up again
            Log.UndoFailed(_logger, tenant.Value, e.GetType().Name);
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3870, Level = LogLevel.Warning, Message = "Moving tenant {Tenant} to store node {To}, in zone {Zone} like its replica on {Replica}: the loss of that zone takes both copies")]
        public static partial void MovedIntoReplicasZone(ILogger logger, string tenant, string to, string replica, string zone);

        [LoggerMessage(EventId = 3816, Level = LogLevel.Information, Message = "Built a replica of tenant {Tenant} (owner {Owner}) on store node {Replica}: {Bytes} bytes, writes fenced for {FencedMs} ms")]
        public static partial void ReplicaBuilt(ILogger logger, string tenant, string owner, string replica, long bytes, long fencedMs);

        [LoggerMessage(EventId = 3817, Level = LogLevel.Warning, Message = "Building a replica of tenant {Tenant} on store node {Replica} failed ({Error}); undoing it")]
        public static partial void ReplicaBuildFailed(ILogger logger, string tenant, string replica, string error);

        [LoggerMessage(EventId = 3810, Level = LogLevel.Information, Message = "Moved tenant {Tenant} from store node {From} to {To}: {Bytes} bytes, writes fenced for {FencedMs} ms")]
        public static partial void Moved(ILogger logger, string tenant, string from, string to, long bytes, long fencedMs);

        [LoggerMessage(EventId = 3811, Level = LogLevel.Warning, Message = "Moving tenant {Tenant} from {From} to {To} failed ({Error}); undoing it")]
        public static partial void MoveFailed(ILogger logger, string tenant, string from, string to, string error);

        [LoggerMessage(EventId = 3812, Level = LogLevel.Warning, Message = "Undoing the move or replica build of tenant {Tenant} failed ({Error}); the gateways try again while it stays recorded")]
        public static partial void UndoFailed(ILogger logger, string tenant, string error);

        [LoggerMessage(EventId = 3814, Level = LogLevel.Warning, Message = "Giving up the transition of tenant {Tenant} from {From} to {To}: its lease lapsed (the gateway running it stopped)")]
        public static partial void GivingUp(ILogger logger, string tenant, string from, string to);

        [LoggerMessage(EventId = 3813, Level = LogLevel.Warning, Message = "The old copy of tenant {Tenant} on {Node} could not be erased now ({Error}); the node erases it at its next ownership check")]
        public static partial void OldCopyKept(ILogger logger, string tenant, string node, string error);
    }
}

/// <summary>A move that cannot start or finish; the message says why and what to do.</summary>
public sealed class TenantMoveException(string message) : Exception(message);
