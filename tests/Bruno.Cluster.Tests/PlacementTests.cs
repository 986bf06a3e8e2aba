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

        Assert.True(p.BeginMove(acme, "store-2", "store-3"));
        Assert.Empty(p.StaleMoves(TimeSpan.FromMinutes(30)));
        _time.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal([acme], p.StaleMoves(TimeSpan.FromMinutes(30)).Select(m => m.Tenant)); // its gateway died, say
        p.AbortMove(acme, "store-3");
        Assert.Empty(p.StaleMoves(TimeSpan.FromMinutes(30)));
        Assert.Equal(new TenantPlacement(acme, "store-2", start.Epoch + 1, null), p.Find(acme));
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
