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
/// when a node cannot be reached.
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

        var source = storage.NodeClient(current.Node);
        var destination = storage.NodeClient(target);
        var fenced = Stopwatch.StartNew();
        long bytes;
        try
        {
            await source.FenceAsync(tenant, ct);
            await destination.EraseTenantAsync(tenant, ct); // what an earlier attempt left there: never the owner's copy
            bytes = await source.CopyTenantToAsync(tenant, destination, ct);
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
            throw new TenantMoveException($"The placement of tenant '{tenant}' changed during the move; nothing was moved.");
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
    /// Gives up the moves recorded longer ago than <paramref name="olderThan"/>: their gateway died, or they outlived any
    /// reasonable copy. Each is undone as a failed move is; a move still running then fails at its switch-over and
    /// erases its copy. Returns how many were given up.
    /// </summary>
    public async Task<int> GiveUpStaleMovesAsync(TimeSpan olderThan, CancellationToken ct = default)
    {
        var given = 0;
        foreach (var p in placement.StaleMoves(olderThan))
        {
            ct.ThrowIfCancellationRequested();
            Log.GivingUp(_logger, p.Tenant.Value, p.Node, p.MovingTo!);
            if (await UndoAsync(p.Tenant, storage.NodeClient(p.Node), storage.NodeClient(p.MovingTo!), p.MovingTo!))
            {
                given++;
            }
        }

        return given;
    }

    /// <summary>
    /// Undoes a move, each step on its own: the target's copy erased (when the target cannot be reached, the copy it may
    /// hold is erased by that node once it checks what it owns), then the owner's fence lifted, and only then the move
    /// forgotten, so a tenant is never left fenced with no move recorded. Returns whether the move is undone.
    /// </summary>
    private async Task<bool> UndoAsync(TenantId tenant, Remote.RemoteStorageEngine source, Remote.RemoteStorageEngine destination, string target)
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
            placement.AbortMove(tenant, target);
            return true;
        }
        catch (Exception e) when (e is StorageException or System.Data.Common.DbException)
        {
            // the move stays recorded and the tenant fenced: repeating the move, or giving it up, finishes it
            Log.UndoFailed(_logger, tenant.Value, e.GetType().Name);
            return false;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3810, Level = LogLevel.Information, Message = "Moved tenant {Tenant} from store node {From} to {To}: {Bytes} bytes, writes fenced for {FencedMs} ms")]
        public static partial void Moved(ILogger logger, string tenant, string from, string to, long bytes, long fencedMs);

        [LoggerMessage(EventId = 3811, Level = LogLevel.Warning, Message = "Moving tenant {Tenant} from {From} to {To} failed ({Error}); undoing it")]
        public static partial void MoveFailed(ILogger logger, string tenant, string from, string to, string error);

        [LoggerMessage(EventId = 3812, Level = LogLevel.Warning, Message = "Undoing the move of tenant {Tenant} failed ({Error}); repeat the move to finish it")]
        public static partial void UndoFailed(ILogger logger, string tenant, string error);

        [LoggerMessage(EventId = 3814, Level = LogLevel.Warning, Message = "Giving up the move of tenant {Tenant} from {From} to {To}: recorded too long ago")]
        public static partial void GivingUp(ILogger logger, string tenant, string from, string to);

        [LoggerMessage(EventId = 3813, Level = LogLevel.Warning, Message = "The old copy of tenant {Tenant} on {Node} could not be erased now ({Error}); the node erases it at its next ownership check")]
        public static partial void OldCopyKept(ILogger logger, string tenant, string node, string error);
    }
}

/// <summary>A move that cannot start or finish; the message says why and what to do.</summary>
public sealed class TenantMoveException(string message) : Exception(message);
