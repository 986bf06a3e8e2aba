using System.Data.Common;
using System.Globalization;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Cluster;

/// <summary>A store node as the catalog knows it: where it is, what it held at its last report, and when that was.</summary>
/// <param name="Name">The node's name.</param>
/// <param name="Url">Where gateways reach its gRPC API.</param>
/// <param name="Tenants">Tenants it holds.</param>
/// <param name="Rows">Their live rows.</param>
/// <param name="Bytes">Bytes their files take.</param>
/// <param name="SeenAt">Its last report.</param>
/// <param name="Zone">The zone it reported (<see cref="Core.Cluster.ClusterOptions.Zone"/>), or null when it set none.</param>
public sealed record StoreNodeRecord(string Name, Uri Url, int Tenants, long Rows, long Bytes, DateTimeOffset SeenAt, string? Zone = null)
{
    /// <summary>
    /// Whether the two nodes are known to be in different zones: both reported a zone, and not the same one. A node
    /// without a zone is apart from none (not even from another without a zone): nothing is known of where it runs.
    /// </summary>
    public bool InAnotherZoneThan(StoreNodeRecord other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Zone is not null && other.Zone is not null && !string.Equals(Zone, other.Zone, StringComparison.Ordinal);
    }
}

/// <summary>Which node owns a tenant; <paramref name="MovingTo"/> names the target of a move in progress.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Node">The node that owns it (its primary): every write for the tenant goes there.</param>
/// <param name="Epoch">Raised by every change of who holds the tenant: a completed move, a promotion, a replica added or dropped.</param>
/// <param name="MovingTo">The node a move is copying it to, or null.</param>
/// <param name="Replica">The second node holding it, or null.</param>
/// <param name="ReplicaInSync">Whether the owner sends the replica every write (false while its copy is being built).</param>
/// <param name="AsyncLag">Null when a write is acknowledged only once the replica has it too (synchronous); else how many writes the replica may be behind.</param>
public sealed record TenantPlacement(TenantId Tenant, string Node, long Epoch, string? MovingTo, string? Replica = null, bool ReplicaInSync = false, int? AsyncLag = null)
{
    /// <summary>The replica, when it has every acknowledged write (it may serve reads and be promoted).</summary>
    public string? SyncReplica => ReplicaInSync ? Replica : null;

    /// <summary>Whether <paramref name="node"/> holds a copy the catalog accounts for: owner, replica, or a move's target.</summary>
    public bool Holds(string node) => node == Node || node == Replica || node == MovingTo;
}

/// <summary>
/// The placement of tenants on store nodes, in the shared catalog: the nodes' reports (<c>store_nodes</c>) and each
/// tenant's owner (<c>tenant_placement</c>). Every change is one conditional statement, so two gateways racing to place
/// or move the same tenant cannot both win. Throws <see cref="DbException"/> when the catalog fails.
/// </summary>
public sealed class Placement
{
    private readonly CatalogDatabase _db;
    private readonly TimeProvider _time;

    /// <summary>The placement tables in <paramref name="db"/> (made by <see cref="CatalogSchema"/>).</summary>
    public Placement(CatalogDatabase db, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        (_db, _time) = (db, time ?? TimeProvider.System);
    }

    /// <summary>
    /// Records a store node's report (its address, load and zone) as of now. The zone is replaced by every report: a
    /// node that stops setting one is unknown again. Throws <see cref="DbException"/> when the catalog fails or the
    /// zone is longer than 63 characters.
    /// </summary>
    public void Report(string node, Uri url, Storage.StoreLoad load, string? zone = null)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(load);
        _db.Execute(
            "INSERT INTO store_nodes(name, url, tenants, row_count, bytes, seen_at, zone) VALUES (@n, @u, @t, @r, @b, @s, @z) " +
            "ON CONFLICT (name) DO UPDATE SET url = excluded.url, tenants = excluded.tenants, row_count = excluded.row_count, bytes = excluded.bytes, seen_at = excluded.seen_at, zone = excluded.zone;",
            ("@n", node), ("@u", url.ToString()), ("@t", (long)load.Tenants), ("@r", load.Rows), ("@b", load.Bytes), ("@s", _time.GetUtcNow().UtcTicks),
            ("@z", string.IsNullOrEmpty(zone) ? DBNull.Value : zone));
    }

    /// <summary>Every store node that ever reported, by name.</summary>
    public IReadOnlyList<StoreNodeRecord> Nodes() =>
        _db.Query("SELECT name, url, tenants, row_count, bytes, seen_at, zone FROM store_nodes ORDER BY name;", r => new StoreNodeRecord(
            r.GetString(0), new Uri(r.GetString(1)), (int)Long(r, 2), Long(r, 3), Long(r, 4), new DateTimeOffset(Long(r, 5), TimeSpan.Zero), r.IsDBNull(6) ? null : r.GetString(6)));

    /// <summary>The node, or null when it never reported.</summary>
    public StoreNodeRecord? Node(string name) => Nodes().FirstOrDefault(n => n.Name == name);

    /// <summary>Whether the node reported within <paramref name="timeout"/>.</summary>
    public bool IsLive(StoreNodeRecord node, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(node);
        return _time.GetUtcNow() - node.SeenAt <= timeout;
    }

    private const string Columns = "tenant, node, epoch, moving_to, replica, replica_state, async_lag";

    private static TenantPlacement Read(DbDataReader r) => new(
        TenantId.Parse(r.GetString(0)), r.GetString(1), Long(r, 2), r.IsDBNull(3) ? null : r.GetString(3),
        r.IsDBNull(4) ? null : r.GetString(4), !r.IsDBNull(5) && r.GetString(5) == "sync", r.IsDBNull(6) ? null : (int)Long(r, 6));

    /// <summary>Where the tenant lives, or null when it was never placed.</summary>
    public TenantPlacement? Find(TenantId tenant) =>
        _db.Query($"SELECT {Columns} FROM tenant_placement WHERE tenant = @t;", Read, ("@t", tenant.Value)).FirstOrDefault();

    /// <summary>Every placement (for operators and a node's check of what it still owns).</summary>
    public IReadOnlyList<TenantPlacement> All() =>
        _db.Query($"SELECT {Columns} FROM tenant_placement ORDER BY tenant;", Read);

    /// <summary>
    /// Places a new tenant on the least loaded live node and returns its placement; a tenant placed already keeps its
    /// node. Load is the node's last report of bytes, then rows, plus, for tenants placed on it since that report, the
    /// average tenant's bytes and rows (at least 64 KiB, an empty store's size), so that a burst of new tenants spreads
    /// instead of piling onto the node that looked emptiest. Throws <see cref="NoStoreNodeException"/> when no node is live.
    /// </summary>
    /// <remarks>
    /// With <paramref name="replicated"/> and a second live node, the tenant gets a replica there, in sync from the
    /// start (both copies are created empty before anything is written): the least loaded node and the node
    /// <see cref="ReplicaTarget"/> chooses for it (the least loaded in another zone, when one is live) hold it, and of
    /// the two the one owning fewer tenants owns it. Throws <see cref="NoStoreNodeException"/> when
    /// no node is live.
    /// </remarks>
    public TenantPlacement Assign(TenantId tenant, TimeSpan nodeTimeout, bool replicated = false, int? asyncLag = null)
    {
        if (Find(tenant) is { } existing)
        {
            return existing;
        }

        var node = LeastLoaded(nodeTimeout) ?? throw new NoStoreNodeException();
        var replica = replicated ? ReplicaTarget(node, nodeTimeout) : null;
        if (replica is not null && Owned(replica) < Owned(node))
        {
            (node, replica) = (replica, node); // both hold a copy; the owner, who serves reads and writes, is the one owning fewer
        }

        _db.Execute(
            "INSERT INTO tenant_placement(tenant, node, epoch, moving_to, changed_at, replica, replica_state, async_lag) VALUES (@t, @n, 1, NULL, @now, @r, @rs, @lag) ON CONFLICT (tenant) DO NOTHING;",
            ("@t", tenant.Value), ("@n", node), ("@now", _time.GetUtcNow().UtcTicks), ("@r", (object?)replica ?? DBNull.Value), ("@rs", replica is null ? DBNull.Value : "sync"),
            ("@lag", asyncLag is { } lag ? lag : DBNull.Value));
        return Find(tenant)!;
    }

    /// <summary>
    /// The live node a new tenant would go to (see <see cref="Assign"/>; a new replica: <see cref="ReplicaTarget"/>), or
    /// null when none is live; <paramref name="except"/> is never chosen. A replica counts as load like an owned tenant.
    /// Zones play no part here. Throws <see cref="DbException"/> when the catalog fails.
    /// </summary>
    public string? LeastLoaded(TimeSpan nodeTimeout, string? except = null) => Ranked(Nodes(), nodeTimeout, except).FirstOrDefault()?.Name;

    /// <summary>
    /// The live node a new replica of a tenant owned by <paramref name="owner"/> goes to, or null when no other node is
    /// live: the least loaded (as <see cref="LeastLoaded"/> ranks them) of the nodes in another zone than the owner's
    /// (<see cref="StoreNodeRecord.InAnotherZoneThan"/>), and when none of those is live, the least loaded other node.
    /// Without zones this is <see cref="LeastLoaded"/> except the owner. Throws <see cref="DbException"/> when the
    /// catalog fails.
    /// </summary>
    public string? ReplicaTarget(string owner, TimeSpan nodeTimeout)
    {
        var nodes = Nodes();
        var ranked = Ranked(nodes, nodeTimeout, except: owner);
        var ownerNode = nodes.FirstOrDefault(n => n.Name == owner);
        return (ownerNode is null ? null : ranked.FirstOrDefault(n => n.InAnotherZoneThan(ownerNode)))?.Name ?? ranked.FirstOrDefault()?.Name;
    }

    /// <summary>The live nodes of <paramref name="nodes"/> but <paramref name="except"/>, least loaded first (see <see cref="Assign"/>).</summary>
    private List<StoreNodeRecord> Ranked(IReadOnlyList<StoreNodeRecord> nodes, TimeSpan nodeTimeout, string? except)
    {
        var placed = _db.Query(
            "SELECT node, COUNT(*) FROM (SELECT node FROM tenant_placement UNION ALL SELECT replica FROM tenant_placement WHERE replica IS NOT NULL) AS held GROUP BY node;",
            r => (r.GetString(0), Long(r, 1)))
            .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);
        var live = nodes.Where(n => IsLive(n, nodeTimeout) && n.Name != except).ToList();
        var tenants = Math.Max(1, live.Sum(n => (long)n.Tenants));
        var tenantBytes = Math.Max(64 * 1024, live.Sum(n => n.Bytes) / tenants);
        var tenantRows = live.Sum(n => n.Rows) / tenants;
        return live
            .Select(n => (n.Name, Pending: Math.Max(0, placed.GetValueOrDefault(n.Name) - n.Tenants), Node: n))
            .OrderBy(n => n.Node.Bytes + (n.Pending * tenantBytes))
            .ThenBy(n => n.Node.Rows + (n.Pending * tenantRows))
            .ThenBy(n => placed.GetValueOrDefault(n.Name))
            .ThenBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => n.Node)
            .ToList();
    }

    private long Owned(string node) => _db.Query("SELECT COUNT(*) FROM tenant_placement WHERE node = @n;", r => Long(r, 0), ("@n", node)).Single();

    /// <summary>
    /// Records that <paramref name="tenant"/> is being copied from <paramref name="from"/> to <paramref name="to"/>; false
    /// when it is not on <paramref name="from"/> any more or another move (to another node) is in progress.
    /// </summary>
    /// <remarks>Refused too while a replica is being built, and to the tenant's own replica (that is a promotion, not a move).</remarks>
    public bool BeginMove(TenantId tenant, string from, string to) => _db.Execute(
        "UPDATE tenant_placement SET moving_to = @to, changed_at = @now WHERE tenant = @t AND node = @from AND (moving_to IS NULL OR moving_to = @to) " +
        "AND (replica IS NULL OR (replica <> @to AND replica_state = 'sync'));",
        ("@t", tenant.Value), ("@from", from), ("@to", to), ("@now", _time.GetUtcNow().UtcTicks)) == 1;

    /// <summary>
    /// Renews the lease of the tenant's transition in progress (a move or a replica being built): its process is alive.
    /// A transition not renewed for the lease is given up by any gateway (<see cref="StaleTransitions"/>). False when
    /// no transition of the tenant is recorded any more.
    /// </summary>
    public bool Renew(TenantId tenant) => _db.Execute(
        "UPDATE tenant_placement SET changed_at = @now WHERE tenant = @t AND (moving_to IS NOT NULL OR replica_state = 'building');",
        ("@t", tenant.Value), ("@now", _time.GetUtcNow().UtcTicks)) == 1;

    /// <summary>
    /// Promotes the tenant's replica to owner, when the placement is still the one read (<paramref name="seen"/>: same
    /// owner, same epoch, its replica in sync). The epoch is raised, so the old owner can no longer have a write
    /// replicated; a move from the old owner is called off. False when anything changed.
    /// </summary>
    public bool Promote(TenantPlacement seen)
    {
        ArgumentNullException.ThrowIfNull(seen);
        return seen.SyncReplica is { } replica && _db.Execute(
            "UPDATE tenant_placement SET node = replica, replica = NULL, replica_state = NULL, moving_to = NULL, epoch = epoch + 1, changed_at = @now " +
            "WHERE tenant = @t AND node = @node AND epoch = @epoch AND replica = @r AND replica_state = 'sync';",
            ("@t", seen.Tenant.Value), ("@node", seen.Node), ("@epoch", seen.Epoch), ("@r", replica), ("@now", _time.GetUtcNow().UtcTicks)) == 1;
    }

    /// <summary>
    /// Drops the tenant's replica (it missed a write, or its copy was given up), when the placement is still the one
    /// read: same owner, replica and epoch. Raises the epoch. False when anything changed, and then the caller must not
    /// acknowledge a write on the strength of this.
    /// </summary>
    public bool DropReplica(TenantPlacement seen)
    {
        ArgumentNullException.ThrowIfNull(seen);
        return seen.Replica is { } replica && _db.Execute(
            "UPDATE tenant_placement SET replica = NULL, replica_state = NULL, epoch = epoch + 1, changed_at = @now WHERE tenant = @t AND node = @node AND epoch = @epoch AND replica = @r;",
            ("@t", seen.Tenant.Value), ("@node", seen.Node), ("@epoch", seen.Epoch), ("@r", replica), ("@now", _time.GetUtcNow().UtcTicks)) == 1;
    }

    /// <summary>
    /// Records that a replica of the tenant is being built on <paramref name="to"/>, when the placement is still the one
    /// read, it has no replica and no move is in progress. False otherwise.
    /// </summary>
    public bool BeginReplica(TenantPlacement seen, string to)
    {
        ArgumentNullException.ThrowIfNull(seen);
        return seen.Replica is null && seen.MovingTo is null && to != seen.Node && _db.Execute(
            "UPDATE tenant_placement SET replica = @to, replica_state = 'building', changed_at = @now WHERE tenant = @t AND node = @node AND epoch = @epoch AND replica IS NULL AND moving_to IS NULL;",
            ("@t", seen.Tenant.Value), ("@node", seen.Node), ("@epoch", seen.Epoch), ("@to", to), ("@now", _time.GetUtcNow().UtcTicks)) == 1;
    }

    /// <summary>
    /// Changes how the tenant's writes reach its replica (null: synchronously; else asynchronously, at most that many
    /// writes behind), when the placement is still the one read; raises the epoch, so the owner reads it again. False
    /// when the placement changed.
    /// </summary>
    public bool SetReplication(TenantPlacement seen, int? asyncLag)
    {
        ArgumentNullException.ThrowIfNull(seen);
        return _db.Execute(
            "UPDATE tenant_placement SET async_lag = @lag, epoch = epoch + 1 WHERE tenant = @t AND node = @node AND epoch = @epoch;",
            ("@t", seen.Tenant.Value), ("@node", seen.Node), ("@epoch", seen.Epoch), ("@lag", asyncLag is { } lag ? lag : DBNull.Value)) == 1;
    }

    /// <summary>The replica being built on <paramref name="to"/> has the owner's copy: it is in sync from now (epoch raised). False when that build is not the one recorded.</summary>
    public bool CompleteReplica(TenantId tenant, string owner, string to) => _db.Execute(
        "UPDATE tenant_placement SET replica_state = 'sync', epoch = epoch + 1, changed_at = @now WHERE tenant = @t AND node = @node AND replica = @to AND replica_state = 'building';",
        ("@t", tenant.Value), ("@node", owner), ("@to", to), ("@now", _time.GetUtcNow().UtcTicks)) == 1;

    /// <summary>Forgets a replica build that did not finish.</summary>
    public void AbortReplica(TenantId tenant, string to) => _db.Execute(
        "UPDATE tenant_placement SET replica = NULL, replica_state = NULL, changed_at = @now WHERE tenant = @t AND replica = @to AND replica_state = 'building';",
        ("@t", tenant.Value), ("@to", to), ("@now", _time.GetUtcNow().UtcTicks));

    /// <summary>Switches the owner to the move's target and raises the epoch; false when that move is not the one recorded.</summary>
    public bool CompleteMove(TenantId tenant, string from, string to) => _db.Execute(
        "UPDATE tenant_placement SET node = @to, moving_to = NULL, epoch = epoch + 1, changed_at = @now WHERE tenant = @t AND node = @from AND moving_to = @to;",
        ("@t", tenant.Value), ("@from", from), ("@to", to), ("@now", _time.GetUtcNow().UtcTicks)) == 1;

    /// <summary>The transitions (moves, replica builds) whose lease was not renewed for <paramref name="lease"/>.</summary>
    public IReadOnlyList<TenantPlacement> StaleTransitions(TimeSpan lease) =>
        _db.Query($"SELECT {Columns} FROM tenant_placement WHERE (moving_to IS NOT NULL OR replica_state = 'building') AND changed_at < @before ORDER BY tenant;",
            Read, ("@before", (_time.GetUtcNow() - lease).UtcTicks));

    /// <summary>Forgets the tenant's placement (it was erased everywhere).</summary>
    public void Forget(TenantId tenant) => _db.Execute("DELETE FROM tenant_placement WHERE tenant = @t;", ("@t", tenant.Value));

    /// <summary>Forgets a move that did not finish (the tenant stays where it was).</summary>
    public void AbortMove(TenantId tenant, string to) => _db.Execute(
        "UPDATE tenant_placement SET moving_to = NULL, changed_at = @now WHERE tenant = @t AND moving_to = @to;",
        ("@t", tenant.Value), ("@to", to), ("@now", _time.GetUtcNow().UtcTicks));

    private static long Long(DbDataReader r, int i) => Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);
}

/// <summary>No store node has reported recently: a new tenant has nowhere to go.</summary>
public sealed class NoStoreNodeException()
    : Storage.StorageException("No store node is available to hold a new tenant; start one or check that the store nodes reach the catalog.");
