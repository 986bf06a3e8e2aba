using System.Collections.Concurrent;
using Bruno.Cluster.Remote;
using Bruno.Core.Cluster;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.Extensions.Logging;

namespace Bruno.Cluster;

/// <summary>
/// A gateway's storage: every call for a tenant goes to the store node that owns it, as the catalog says. What it read
/// of a placement is trusted for <see cref="ClusterOptions.PlacementCacheMilliseconds"/>; a node that answers "not
/// here" or "moving" makes it read the placement again at once, so a completed move is followed without a restart.
/// A write refused because its tenant is being moved waits for the switch-over (up to
/// <see cref="ClusterOptions.FencedWaitMilliseconds"/>) and is then sent to the new owner: the refused attempt applied
/// nothing, so it is applied once. A call in flight to an owner this gateway learns was replaced (its replica promoted
/// by any gateway, or the tenant moved) is given up and sent to the new owner: a deposed owner acknowledges nothing, and
/// one cut off by a partition would otherwise hold the call until its deadline. Any other failure is the caller's: a
/// node that cannot be reached throws <see cref="StoreUnavailableException"/> for its own tenants only.
/// </summary>
public sealed partial class RoutedStorage : IStorageEngine, IDisposable
{
    private readonly Placement _placement;
    private readonly ClusterOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly NodeClients _nodes;
    private readonly ConcurrentDictionary<TenantId, Route> _cache = new();

    /// <summary>
    /// Routes through <paramref name="placement"/> with the settings of <paramref name="options"/>, reaching the store
    /// nodes over mutual TLS with <paramref name="tls"/> when given (then a node advertising http:// is refused).
    /// </summary>
    public RoutedStorage(Placement placement, ClusterOptions options, ILogger<RoutedStorage>? logger = null, TimeProvider? time = null, ClusterTls? tls = null)
    {
        ArgumentNullException.ThrowIfNull(placement);
        ArgumentNullException.ThrowIfNull(options);
        (_placement, _options, _time) = (placement, options, time ?? TimeProvider.System);
        _nodes = new NodeClients(placement, options, tls);
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <inheritdoc/>
    public int OpenTenantCount => 0; // a gateway keeps no store open

    /// <summary>
    /// How the tenant's plan replicates: null for synchronously (the default when not set), else the writes its replica
    /// may be behind. Read when a tenant is placed; the gateways' upkeep follows plan changes (<see cref="ReplicaKeeper"/>).
    /// </summary>
    public Func<TenantId, int?>? AsyncLagOf { get; init; }

    /// <summary>
    /// The client of a store node by name; throws <see cref="StorageException"/> for a node that never reported, or one
    /// that advertises http:// while this gateway uses TLS.
    /// </summary>
    public RemoteStorageEngine NodeClient(string name) => _nodes.Get(name);

    /// <summary>Where the tenant lives: from the cache when fresh enough, else from the catalog. Null when never placed.</summary>
    public TenantPlacement? PlacementOf(TenantId tenant, bool fresh = false) => RouteOf(tenant, fresh)?.Placement;

    private Route? RouteOf(TenantId tenant, bool fresh)
    {
        if (!fresh && _cache.TryGetValue(tenant, out var c) && _time.GetElapsedTime(c.ReadAt).TotalMilliseconds < _options.PlacementCacheMilliseconds)
        {
            return c;
        }

        var p = _placement.Find(tenant);
        if (p is null)
        {
            Forget(tenant);
            return null;
        }

        return Remember(p);
    }

    /// <summary>Caches a placement read from the catalog; a new owner gives up the calls in flight to the old one.</summary>
    private Route Remember(TenantPlacement p)
    {
        while (true)
        {
            var now = _time.GetTimestamp();
            if (!_cache.TryGetValue(p.Tenant, out var old))
            {
                var added = new Route(p, now, new CancellationTokenSource());
                if (_cache.TryAdd(p.Tenant, added))
                {
                    return added;
                }

                continue;
            }

            var same = old.Placement.Node == p.Node;
            var next = same ? old with { Placement = p, ReadAt = now } : new Route(p, now, new CancellationTokenSource());
            if (_cache.TryUpdate(p.Tenant, next, old))
            {
                if (!same)
                {
                    old.Replaced.Cancel();
                }

                return next;
            }
        }
    }

    /// <summary>
    /// Takes in placements read from the catalog by someone else (the failover round reads them all): a tenant cached
    /// with another owner is followed at once, and its calls in flight to the old owner are given up and re-sent.
    /// </summary>
    public void Observe(IEnumerable<TenantPlacement> placements)
    {
        ArgumentNullException.ThrowIfNull(placements);
        foreach (var p in placements)
        {
            if (_cache.TryGetValue(p.Tenant, out var cached) && cached.Placement.Node != p.Node)
            {
                Log.Rerouted(_logger, p.Tenant.Value, cached.Placement.Node, p.Node);
                Remember(p);
            }
        }
    }

    /// <summary>Forgets the cached placement of the tenant (after this process moved it or promoted its replica): calls in flight to its owner are re-sent.</summary>
    public void Forget(TenantId tenant)
    {
        if (_cache.TryRemove(tenant, out var old))
        {
            old.Replaced.Cancel();
        }
    }

    /// <summary>Runs <paramref name="call"/> on the tenant's owner, following moves (see the type's remarks).</summary>
    internal async Task<T> RouteAsync<T>(TenantId tenant, Func<IStorageEngine, CancellationToken, Task<T>> call, bool write, CancellationToken ct)
    {
        var fenceWait = TimeSpan.FromMilliseconds(_options.FencedWaitMilliseconds);
        var started = _time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(20);
        var fresh = false;
        while (true)
        {
            var route = RouteOf(tenant, fresh) ?? throw new TenantNotFoundException(tenant.Value);
            var placement = route.Placement;
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, route.Replaced.Token);
            try
            {
                return await call(NodeClient(placement.Node), linked.Token);
            }
            catch (OperationCanceledException) when (route.Replaced.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // its owner was replaced while the call was in flight: the old one can no longer acknowledge a write
                // (the new owner refuses its replicated writes), and a write it applied alone is erased with its copy;
                // sent again to the new owner, rows by id are applied once
                fresh = true;
                continue;
            }
            catch (TenantFencedException) when (write && _time.GetElapsedTime(started) < fenceWait)
            {
                // being moved: the write was refused whole; wait for the switch-over, then ask the catalog again
                await Task.Delay(delay, _time, ct);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(250).Ticks));
            }
            catch (Exception e) when (e is TenantNotFoundException or StoreUnavailableException && !fresh)
            {
                // maybe moved since we read the placement: look again once; the same owner means the error stands. A
                // write whose connection broke may have been applied by the old owner before its fence: then the copy
                // carried it, and sending it again applies the same rows by id again, which changes nothing.
                var again = PlacementOf(tenant, fresh: true);
                if (again is null)
                {
                    throw;
                }

                if (again.Node == placement.Node)
                {
                    if (!write && e is StoreUnavailableException && again.SyncReplica is { } replica)
                    {
                        return await call(NodeClient(replica), ct); // the owner is down: its replica in sync has every acknowledged write
                    }

                    throw;
                }

                Log.Rerouted(_logger, tenant.Value, placement.Node, again.Node);
            }

            fresh = true;
        }
    }

    internal Task RouteAsync(TenantId tenant, Func<IStorageEngine, CancellationToken, Task> call, bool write, CancellationToken ct) =>
        RouteAsync(tenant, async (e, token) =>
        {
            await call(e, token);
            return true;
        }, write, ct);

    /// <summary>
    /// Places the tenant on the least loaded live node (<see cref="Placement.Assign"/>) and creates its store there.
    /// Throws <see cref="NoStoreNodeException"/> when no node is live.
    /// </summary>
    /// <remarks>
    /// With replication on and a second live node, the tenant is created there too, as its replica in sync; when that
    /// fails the replica is dropped, and the gateways' upkeep builds one later.
    /// </remarks>
    public async Task CreateTenantAsync(TenantId tenant, CancellationToken ct = default)
    {
        var placement = _placement.Assign(tenant, TimeSpan.FromSeconds(_options.NodeTimeoutSeconds), _options.Replicated, AsyncLagOf?.Invoke(tenant));
        Remember(placement);
        await NodeClient(placement.Node).CreateTenantAsync(tenant, ct);
        if (placement.Replica is { } replica)
        {
            try
            {
                await NodeClient(replica).CreateTenantAsync(tenant, ct);
            }
            catch (StorageException e)
            {
                Log.ReplicaNotCreated(_logger, tenant.Value, replica, e.GetType().Name);
                _placement.DropReplica(placement);
                Forget(tenant);
            }
        }
    }

    /// <inheritdoc/>
    public async Task<bool> TenantExistsAsync(TenantId tenant, CancellationToken ct = default) =>
        PlacementOf(tenant) is not null && await RouteAsync(tenant, (e, t) => e.TenantExistsAsync(tenant, t), write: false, ct);

    /// <inheritdoc/>
    public ITenantStore Tenant(TenantId tenant)
    {
        _ = tenant.Value;
        return new RoutedTenantStore(this, tenant);
    }

    /// <summary>
    /// Erases the tenant wherever a copy may be: a move in progress is called off first (so it cannot complete with a
    /// copy it adopted after this), its target's copy is erased, then the replica's, then the owner's; the placement is
    /// forgotten last, so a copy that could not be erased now is erased when the deletion is finished again.
    /// Reports what the owner erased. A tenant never placed has nothing to erase.
    /// </summary>
    public async Task<TenantErasure> EraseTenantAsync(TenantId tenant, CancellationToken ct = default)
    {
        var placement = PlacementOf(tenant, fresh: true);
        if (placement is null)
        {
            return new TenantErasure(false, 0, 0, null);
        }

        if (placement.MovingTo is { } target)
        {
            _placement.AbortMove(tenant, target); // the mover's switch-over now fails, and it erases what it copied
            await NodeClient(target).EraseTenantAsync(tenant, ct);
        }

        if (placement.Replica is { } replica)
        {
            await NodeClient(replica).EraseTenantAsync(tenant, ct); // first: when it fails, the deletion is finished later, reporting the owner's erasure
        }

        var erased = await NodeClient(placement.Node).EraseTenantAsync(tenant, ct);
        _placement.Forget(tenant);
        Forget(tenant);
        return erased;
    }

    /// <inheritdoc/>
    public Task CloseTenantAsync(TenantId tenant, CancellationToken ct = default) =>
        PlacementOf(tenant) is null ? Task.CompletedTask : RouteAsync(tenant, (e, t) => e.CloseTenantAsync(tenant, t), write: false, ct);

    /// <inheritdoc/>
    public async Task<long> BytesOnDiskAsync(TenantId tenant, CancellationToken ct = default) =>
        PlacementOf(tenant) is null ? 0 : await RouteAsync(tenant, (e, t) => e.BytesOnDiskAsync(tenant, t), write: false, ct);

    /// <summary>Closes the connections to the store nodes.</summary>
    public void Dispose() => _nodes.Dispose();

    /// <summary>A cached placement; <see cref="Replaced"/> is cancelled when the tenant gets another owner.</summary>
    private sealed record Route(TenantPlacement Placement, long ReadAt, CancellationTokenSource Replaced);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3800, Level = LogLevel.Information, Message = "Tenant {Tenant} moved from store node {From} to {To}; following it")]
        public static partial void Rerouted(ILogger logger, string tenant, string from, string to);

        [LoggerMessage(EventId = 3801, Level = LogLevel.Warning, Message = "Creating tenant {Tenant} on store node {Replica}, its replica, failed ({Error}); it starts with one copy")]
        public static partial void ReplicaNotCreated(ILogger logger, string tenant, string replica, string error);
    }
}

/// <summary>One tenant, wherever it lives now.</summary>
internal sealed class RoutedTenantStore(RoutedStorage routes, TenantId id) : ITenantStore
{
    public TenantId Id { get; } = id;

    private Task<T> Read<T>(Func<ITenantStore, CancellationToken, Task<T>> call, CancellationToken ct) => routes.RouteAsync(Id, (e, t) => call(e.Tenant(Id), t), write: false, ct);

    private Task<T> Write<T>(Func<ITenantStore, CancellationToken, Task<T>> call, CancellationToken ct) => routes.RouteAsync(Id, (e, t) => call(e.Tenant(Id), t), write: true, ct);

    public async Task<ITenantCollection> EnsureCollectionAsync(CollectionSpec spec, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await Write((s, t) => s.EnsureCollectionAsync(spec, t), ct);
        return Collection(spec.Name);
    }

    public ITenantCollection Collection(string name) => new RoutedTenantCollection(routes, Id, IdentifierRules.ValidateName(name, "collection name"));

    public Task<IReadOnlyList<CollectionSpec>> ListCollectionsAsync(CancellationToken ct = default) => Read((s, t) => s.ListCollectionsAsync(t), ct);

    public Task<TenantStats> GetStatsAsync(CancellationToken ct = default) => Read((s, t) => s.GetStatsAsync(t), ct);

    public Task<long> EraseUserAsync(UserId user, CancellationToken ct = default) => Write((s, t) => s.EraseUserAsync(user, t), ct);

    public Task<string> CheckIntegrityAsync(CancellationToken ct = default) => Read((s, t) => s.CheckIntegrityAsync(t), ct);
}

/// <summary>One collection of one tenant, wherever it lives now.</summary>
internal sealed class RoutedTenantCollection(RoutedStorage routes, TenantId tenant, string name) : ITenantCollection
{
    public TenantId Tenant { get; } = tenant;

    public string Name { get; } = name;

    private Task<T> Read<T>(Func<ITenantCollection, CancellationToken, Task<T>> call, CancellationToken ct) => routes.RouteAsync(Tenant, (e, t) => call(e.Tenant(Tenant).Collection(Name), t), write: false, ct);

    private Task<T> Write<T>(Func<ITenantCollection, CancellationToken, Task<T>> call, CancellationToken ct) => routes.RouteAsync(Tenant, (e, t) => call(e.Tenant(Tenant).Collection(Name), t), write: true, ct);

    public Task<long> UpsertAsync(IReadOnlyList<StoredRow> rows, CancellationToken ct = default) => Write((c, t) => c.UpsertAsync(rows, t), ct);

    public Task<long> ReplaceAsync(IReadOnlyList<StoredRow> rows, IReadOnlyList<string> deleteIds, CancellationToken ct = default) => Write((c, t) => c.ReplaceAsync(rows, deleteIds, t), ct);

    public Task<long> DeleteAsync(IReadOnlyList<string> ids, CancellationToken ct = default) => Write((c, t) => c.DeleteAsync(ids, t), ct);

    public Task<long> DeleteWhereAsync(Filter filter, CancellationToken ct = default) => Write((c, t) => c.DeleteWhereAsync(filter, t), ct);

    public Task<long> UpdateReadersAsync(Filter filter, IReadOnlyList<Principal>? readers, CancellationToken ct = default) => Write((c, t) => c.UpdateReadersAsync(filter, readers, t), ct);

    public Task<StoredRow?> GetAsync(string id, CancellationToken ct = default) => Read((c, t) => c.GetAsync(id, t), ct);

    public Task<long> CountAsync(Filter? filter = null, CancellationToken ct = default) => Read((c, t) => c.CountAsync(filter, t), ct);

    public Task<IReadOnlyList<StoredRow>> ListAsync(Filter filter, string? after, int limit, CancellationToken ct = default) => Read((c, t) => c.ListAsync(filter, after, limit, t), ct);

    public Task<IReadOnlyList<StoredRow>> LatestAsync(Filter filter, int limit, CancellationToken ct = default) => Read((c, t) => c.LatestAsync(filter, limit, t), ct);

    public Task<IReadOnlyList<UserId>> UsersAsync(CancellationToken ct = default) => Read((c, t) => c.UsersAsync(t), ct);

    public Task<IReadOnlyList<StoredRow>> ReadAllAsync(CancellationToken ct = default) => Read((c, t) => c.ReadAllAsync(t), ct);

    public Task<IReadOnlyList<SearchHit>> SearchAsync(SearchRequest request, CancellationToken ct = default) => Read((c, t) => c.SearchAsync(request, t), ct);
}
