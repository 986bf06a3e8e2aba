using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Cluster.Tests;

/// <summary>Where tenants go and how a move changes it, in the real catalog (SQLite and PostgreSQL).</summary>
public sealed class PlacementTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-placement-").FullName;
    private readonly List<CatalogDatabase> _open = [];
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-29T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    private Placement New(string backend)
    {
        var db = backend == "postgres" ? CatalogDatabase.Postgres(TestPostgres.NewDatabase()) : CatalogDatabase.Sqlite(Path.Combine(_root, $"{Guid.NewGuid():N}.db"));
        _open.Add(db);
        // a placement belongs to a tenant the catalog knows (foreign key since catalog schema 2)
        db.WithTenants(["first", "acme", "bravo", .. Enumerable.Range(0, 9).Select(i => $"t{i}")]);
        return new Placement(db, _time);
    }

    private static void Report(Placement p, string node, int tenants, long rows, long bytes) =>
        p.Report(node, new Uri($"http://{node}:7070"), new StoreLoad(tenants, rows, bytes, 0));

    private static TenantId T(string id) => TenantId.Parse(id);

    [Theory]
    [MemberData(nameof(Backends))]
    public void NewTenants_GoToTheLeastLoadedLiveNode_ByBytesThenRows(string backend)
    {
        var p = New(backend);
        Assert.Throws<NoStoreNodeException>(() => p.Assign(T("first"), Timeout));

        Report(p, "store-1", tenants: 4, rows: 9_000, bytes: 40_000_000);
        Report(p, "store-2", tenants: 9, rows: 1_000, bytes: 5_000_000);
        Report(p, "store-3", tenants: 2, rows: 500, bytes: 5_000_000);
        Assert.Equal("store-3", p.Assign(T("acme"), Timeout).Node); // bytes tie: fewer rows wins
        Assert.Equal("store-3", p.Assign(T("acme"), Timeout).Node); // placed once: asking again changes nothing

        _time.Advance(TimeSpan.FromSeconds(31));
        Report(p, "store-1", tenants: 4, rows: 9_000, bytes: 40_000_000); // the only node still reporting
        Assert.Equal("store-1", p.Assign(T("bravo"), Timeout).Node);
        Assert.False(p.IsLive(p.Node("store-2")!, Timeout));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ABurstOfNewTenants_Spreads_BeforeTheNodesReportAgain(string backend)
    {
        var p = New(backend);
        foreach (var node in new[] { "store-1", "store-2", "store-3" })
        {
            Report(p, node, 0, 0, 0);
        }

        var placed = Enumerable.Range(0, 9).Select(i => p.Assign(T($"t{i}"), Timeout).Node).ToList();
        Assert.All(placed.GroupBy(n => n), g => Assert.Equal(3, g.Count()));
        Assert.Equal(9, p.All().Count);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void AMove_IsOneAtATime_AndSwitchesTheOwnerOnlyWhenItIsTheMoveRecorded(string backend)
    {
        var p = New(backend);
        Report(p, "store-1", 0, 0, 0);
        var acme = T("acme");
        var start = p.Assign(acme, Timeout);
        Report(p, "store-2", 0, 0, 0);
        Report(p, "store-3", 0, 0, 0);

        Assert.True(p.BeginMove(acme, "store-1", "store-2"));
        Assert.True(p.BeginMove(acme, "store-1", "store-2")); // repeating the same move is allowed (it resumes)
        Assert.False(p.BeginMove(acme, "store-1", "store-3")); // another target while one is in progress: refused
        Assert.False(p.BeginMove(acme, "store-2", "store-3")); // not its owner
        Assert.Equal(new TenantPlacement(acme, "store-1", start.Epoch, "store-2"), p.Find(acme));

        Assert.False(p.CompleteMove(acme, "store-1", "store-3")); // not the move recorded
        Assert.True(p.CompleteMove(acme, "store-1", "store-2"));
        Assert.Equal(new TenantPlacement(acme, "store-2", start.Epoch + 1, null), p.Find(acme));
        Assert.False(p.CompleteMove(acme, "store-1", "store-2")); // done once

        // a move's lease: renewed while its gateway runs it, lapsed once it stops
        var lease = TimeSpan.FromSeconds(6);
        Assert.True(p.BeginMove(acme, "store-2", "store-3"));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(p.Renew(acme));
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(p.StaleTransitions(lease)); // renewed 5 s ago
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal([acme], p.StaleTransitions(lease).Select(m => m.Tenant)); // its gateway died, say
        p.AbortMove(acme, "store-3");
        Assert.Empty(p.StaleTransitions(lease));
        Assert.False(p.Renew(acme)); // nothing in progress to renew
        Assert.Equal(new TenantPlacement(acme, "store-2", start.Epoch + 1, null), p.Find(acme));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void AReplica_IsPromotedDroppedAndBuilt_OnlyFromThePlacementRead(string backend)
    {
        var p = New(backend);
        Report(p, "store-1", 0, 0, 0);
        Report(p, "store-2", 0, 0, 0);
        Report(p, "store-3", 0, 1, 0);
        var acme = T("acme");

        // a new tenant: owner and replica on the two least loaded nodes, in sync from the start
        var start = p.Assign(acme, Timeout, replicated: true);
        Assert.Equal(new TenantPlacement(acme, "store-1", 1, null, "store-2", ReplicaInSync: true), start);
        Assert.Equal("store-3", p.LeastLoaded(Timeout)); // a replica counts as load

        // a move to its own replica is no move; to a third node it is
        Assert.False(p.BeginMove(acme, "store-1", "store-2"));

        // promotion: only of the placement read (same owner and epoch, replica in sync); it raises the epoch
        var stale = start with { Epoch = 0 };
        Assert.False(p.Promote(stale));
        Assert.True(p.Promote(start));
        Assert.False(p.Promote(start)); // once
        var promoted = p.Find(acme)!;
        Assert.Equal(new TenantPlacement(acme, "store-2", 2, null), promoted);

        // a replica built on store-3: not in sync (nor promotable) until completed
        Assert.False(p.BeginReplica(start, "store-3")); // the placement read is not the catalog's any more
        Assert.False(p.BeginReplica(promoted, "store-2")); // never on the owner
        Assert.True(p.BeginReplica(promoted, "store-3"));
        var building = p.Find(acme)!;
        Assert.Equal(("store-3", false), (building.Replica, building.ReplicaInSync));
        Assert.False(p.Promote(building));
        Assert.False(p.BeginMove(acme, "store-2", "store-1")); // no move while a replica is being built
        Assert.True(p.CompleteReplica(acme, "store-2", "store-3"));
        Assert.False(p.CompleteReplica(acme, "store-2", "store-3"));
        var synced = p.Find(acme)!;
        Assert.Equal(new TenantPlacement(acme, "store-2", 3, null, "store-3", ReplicaInSync: true), synced);

        // dropping it: only by the placement read; raises the epoch so a replicated write of the old one is refused
        Assert.False(p.DropReplica(building));
        Assert.True(p.DropReplica(synced));
        Assert.Equal(new TenantPlacement(acme, "store-2", 4, null), p.Find(acme));

        // a build given up: forgotten, the placement as before it
        Assert.True(p.BeginReplica(p.Find(acme)!, "store-1"));
        p.AbortReplica(acme, "store-1");
        Assert.Equal(new TenantPlacement(acme, "store-2", 4, null), p.Find(acme));

        // the plan's replication: asynchronous (at most 8 writes behind), only on the placement read; the epoch raised
        var current = p.Find(acme)!;
        Assert.False(p.SetReplication(current with { Epoch = 3 }, 8));
        Assert.True(p.SetReplication(current, 8));
        Assert.Equal(new TenantPlacement(acme, "store-2", 5, null, AsyncLag: 8), p.Find(acme));
        Assert.Equal(8, p.Assign(T("bravo"), Timeout, replicated: true, asyncLag: 8).AsyncLag);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void TheCatalog_RefusesAReplicaOnItsOwner_OrAStateWithoutAReplica(string backend)
    {
        var p = New(backend);
        Report(p, "store-1", 0, 0, 0);
        _ = p.Assign(T("acme"), Timeout);
        var db = _open[^1];
        Assert.Equal(1, db.Execute("UPDATE tenant_placement SET changed_at = changed_at + 1 WHERE tenant = 'acme';"));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => db.Execute("UPDATE tenant_placement SET replica = node, replica_state = 'sync' WHERE tenant = 'acme';"));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => db.Execute("UPDATE tenant_placement SET replica_state = 'sync' WHERE tenant = 'acme';"));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => db.Execute("UPDATE tenant_placement SET replica = 'store-2', replica_state = 'maybe' WHERE tenant = 'acme';"));
        Assert.Null(p.Find(T("acme"))!.Replica);
    }

    public void Dispose()
    {
        foreach (var db in _open)
        {
            db.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }
}
