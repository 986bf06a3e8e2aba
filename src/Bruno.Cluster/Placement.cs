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
public sealed record StoreNodeRecord(string Name, Uri Url, int Tenants, long Rows, long Bytes, DateTimeOffset SeenAt);

/// <summary>Which node owns a tenant; <paramref name="MovingTo"/> names the target of a move in progress.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Node">The node that owns it: every call for the tenant goes there.</param>
/// <param name="Epoch">Raised by every completed move.</param>
/// <param name="MovingTo">The node a move is copying it to, or null.</param>
public sealed record TenantPlacement(TenantId Tenant, string Node, long Epoch, string? MovingTo);

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

    /// <summary>Records a store node's report (its address and load) as of now.</summary>
    public void Report(string node, Uri url, Storage.StoreLoad load)
    {
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(load);
        _db.Execute(
            "INSERT INTO store_nodes(name, url, tenants, row_count, bytes, seen_at) VALUES (@n, @u, @t, @r, @b, @s) " +
            "ON CONFLICT (name) DO UPDATE SET url = excluded.url, tenants = excluded.tenants, row_count = excluded.row_count, bytes = excluded.bytes, seen_at = excluded.seen_at;",
            ("@n", node), ("@u", url.ToString()), ("@t", (long)load.Tenants), ("@r", load.Rows), ("@b", load.Bytes), ("@s", _time.GetUtcNow().UtcTicks));
    }

    /// <summary>Every store node that ever reported, by name.</summary>
    public IReadOnlyList<StoreNodeRecord> Nodes() =>
        _db.Query("SELECT name, url, tenants, row_count, bytes, seen_at FROM store_nodes ORDER BY name;", r => new StoreNodeRecord(
            r.GetString(0), new Uri(r.GetString(1)), (int)Long(r, 2), Long(r, 3), Long(r, 4), new DateTimeOffset(Long(r, 5), TimeSpan.Zero)));

    /// <summary>The node, or null when it never reported.</summary>
    public StoreNodeRecord? Node(string name) => Nodes().FirstOrDefault(n => n.Name == name);

    /// <summary>Whether the node reported within <paramref name="timeout"/>.</summary>
    public bool IsLive(StoreNodeRecord node, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(node);
        return _time.GetUtcNow() - node.SeenAt <= timeout;
    }

    /// <summary>Where the tenant lives, or null when it was never placed.</summary>
    public TenantPlacement? Find(TenantId tenant) =>
        _db.Query("SELECT node, epoch, moving_to FROM tenant_placement WHERE tenant = @t;", r => new TenantPlacement(
            tenant, r.GetString(0), Long(r, 1), r.IsDBNull(2) ? null : r.GetString(2)), ("@t", tenant.Value)).FirstOrDefault();

    /// <summary>Every placement (for operators and a node's check of what it still owns).</summary>
    public IReadOnlyList<TenantPlacement> All() =>
        _db.Query("SELECT tenant, node, epoch, moving_to FROM tenant_placement ORDER BY tenant;", r => new TenantPlacement(
            TenantId.Parse(r.GetString(0)), r.GetString(1), Long(r, 2), r.IsDBNull(3) ? null : r.GetString(3)));

    /// <summary>
    /// Places a new tenant on the least loaded live node and returns its placement; a tenant placed already keeps its
    /// node. Load is the node's last report of bytes, then rows, plus, for tenants placed on it since that report, the
    /// average tenant's bytes and rows (at least 64 KiB, an empty store's size), so that a burst of new tenants spreads
    /// instead of piling onto the node that looked emptiest. Throws <see cref="NoStoreNodeException"/> when no node is live.
    /// </summary>
    public TenantPlacement Assign(TenantId tenant, TimeSpan nodeTimeout)
    {
        if (Find(tenant) is { } existing)
        {
            return existing;
        }

        var node = LeastLoaded(nodeTimeout) ?? throw new NoStoreNodeException();
        _db.Execute(
            "INSERT INTO tenant_placement(tenant, node, epoch, moving_to, changed_at) VALUES (@t, @n, 1, NULL, @now) ON CONFLICT (tenant) DO NOTHING;",
            ("@t", tenant.Value), ("@n", node), ("@now", _time.GetUtcNow().UtcTicks));
        return Find(tenant)!;
    }

    /// <summary>The live node a new tenant would go to (see <see cref="Assign"/>), or null when none is live.</summary>
    public string? LeastLoaded(TimeSpan nodeTimeout)
    {
        var placed = _db.Query("SELECT node, COUNT(*) FROM tenant_placement GROUP BY node;", r => (r.GetString(0), Long(r, 1)))
            .ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);
        var live = Nodes().Where(n => IsLive(n, nodeTimeout)).ToList();
        var tenants = Math.Max(1, live.Sum(n => (long)n.Tenants));
        var tenantBytes = Math.Max(64 * 1024, live.Sum(n => n.Bytes) / tenants);
        var tenantRows = live.Sum(n => n.Rows) / tenants;
        return live
            .Select(n => (n.Name, Pending: Math.Max(0, placed.GetValueOrDefault(n.Name) - n.Tenants), Node: n))
            .OrderBy(n => n.Node.Bytes + (n.Pending * tenantBytes))
            .ThenBy(n => n.Node.Rows + (n.Pending * tenantRows))
            .ThenBy(n => placed.GetValueOrDefault(n.Name))
            .ThenBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => n.Name)
            .FirstOrDefault();
    }

    /// <summary>
    /// Records that <paramref name="tenant"/> is being copied from <paramref name="from"/> to <paramref name="to"/>; false
    /// when it is not on <paramref name="from"/> any more or another move (to another node) is in progress.
    /// </summary>
    public bool BeginMove(TenantId tenant, string from, string to) => _db.Execute(
        "UPDATE tenant_placement SET moving_to = @to, changed_at = @now WHERE tenant = @t AND node = @from AND (moving_to IS NULL OR moving_to = @to);",
        ("@t", tenant.Value), ("@from", from), ("@to", to), ("@now", _time.GetUtcNow().UtcTicks)) == 1;

    /// <summary>Switches the owner to the move's target and raises the epoch; false when that move is not the one recorded.</summary>
    public bool CompleteMove(TenantId tenant, string from, string to) => _db.Execute(
        "UPDATE tenant_placement SET node = @to, moving_to = NULL, epoch = epoch + 1, changed_at = @now WHERE tenant = @t AND node = @from AND moving_to = @to;",
        ("@t", tenant.Value), ("@from", from), ("@to", to), ("@now", _time.GetUtcNow().UtcTicks)) == 1;

    /// <summary>The moves recorded longer ago than <paramref name="olderThan"/> and not finished.</summary>
    public IReadOnlyList<TenantPlacement> StaleMoves(TimeSpan olderThan) =>
        _db.Query("SELECT tenant, node, epoch, moving_to FROM tenant_placement WHERE moving_to IS NOT NULL AND changed_at < @before ORDER BY tenant;", r => new TenantPlacement(
            TenantId.Parse(r.GetString(0)), r.GetString(1), Long(r, 2), r.GetString(3)), ("@before", (_time.GetUtcNow() - olderThan).UtcTicks));

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
