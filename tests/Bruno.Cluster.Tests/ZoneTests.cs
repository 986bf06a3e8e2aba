using Bruno.Core.Cluster;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Cluster.Tests;

/// <summary>
/// Zones (decision 0037), in the real catalog (SQLite and PostgreSQL): a store node's reported zone is kept with its
/// heartbeat, and a tenant's replica goes to the least loaded live node in another zone than its owner's, whether the
/// tenant is new or its replica is rebuilt after a failover; with no such node, to the least loaded other node. A move
/// into the replica's zone is made as asked, with a warning.
/// </summary>
public sealed class ZoneTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(8);
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-zones-").FullName;
    private readonly List<CatalogDatabase> _open = [];
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-14T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    private Placement New(string backend)
    {
        var db = backend == "postgres" ? CatalogDatabase.Postgres(TestPostgres.NewDatabase()) : CatalogDatabase.Sqlite(Path.Combine(_root, $"{Guid.NewGuid():N}.db"));
        _open.Add(db);
        db.WithTenants("acme", "bravo", "carol");
        return new Placement(db, _time);
    }

    private static Uri Nowhere() => new($"http://127.0.0.1:{BrunoProcess.FreePort()}"); // refuses connections

    private static void Report(Placement p, string node, string? zone, long bytes) => p.Report(node, Nowhere(), new StoreLoad(0, 0, bytes, 0), zone);

    private static TenantId T(string id) => TenantId.Parse(id);

    [Theory]
    [MemberData(nameof(Backends))]
    public void ANewTenantsReplica_GoesToAnotherZone_EvenWhenANodeOfTheOwnersZoneIsLessLoaded(string backend)
    {
        var p = New(backend);
        Report(p, "a-1", "zone-a", bytes: 0);
        Report(p, "a-2", "zone-a", bytes: 1_000_000); // the second least loaded: the replica's node without zones
        Report(p, "b-1", "zone-b", bytes: 9_000_000);
        Report(p, "c-1", "zone-c", bytes: 5_000_000);
        Assert.Equal(["zone-a", "zone-a", "zone-b", "zone-c"], p.Nodes().Select(n => n.Zone));

        var acme = p.Assign(T("acme"), Timeout, replicated: true);
        Assert.Equal(("a-1", "c-1", true), (acme.Node, acme.Replica, acme.ReplicaInSync)); // the least loaded of the other zones
        Assert.Equal("a-2", p.LeastLoaded(Timeout, except: "a-1")); // what it would have been

        // within the other zones, the usual order: b-1 now reports what c-1 does, but c-1 holds acme's replica since
        Report(p, "b-1", "zone-b", bytes: 5_000_000);
        var bravo = p.Assign(T("bravo"), Timeout, replicated: true);
        Assert.Equal("a-2", bravo.Node); // a-1 and c-1 now hold acme
        Assert.Equal("b-1", bravo.Replica);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void WithNoLiveNodeKnownToBeInAnotherZone_TheReplicaGoesToTheLeastLoadedOtherNode(string backend)
    {
        var p = New(backend);
        Report(p, "a-1", "zone-a", bytes: 0);
        Report(p, "a-2", "zone-a", bytes: 2_000_000);
        Report(p, "x-1", zone: null, bytes: 1_000_000); // no zone: not known to be apart from anyone
        Report(p, "b-1", "zone-b", bytes: 0);
        _time.Advance(Timeout + TimeSpan.FromSeconds(1)); // b-1 falls silent
        Report(p, "a-1", "zone-a", bytes: 0);
        Report(p, "a-2", "zone-a", bytes: 2_000_000);
        Report(p, "x-1", zone: null, bytes: 1_000_000);

        Assert.Equal("x-1", p.ReplicaTarget("a-1", Timeout)); // the least loaded other node, zone or none
        var acme = p.Assign(T("acme"), Timeout, replicated: true);
        Assert.Equal(("a-1", "x-1"), (acme.Node, acme.Replica));

        // an owner of no known zone: no node is known to be apart from it, so the least loaded other node
        Assert.Equal("a-2", p.ReplicaTarget("x-1", Timeout)); // a-1 holds acme since its report
        Report(p, "b-1", "zone-b", bytes: 3_000_000); // back, in a zone of its own but more loaded
        Assert.Equal("a-2", p.ReplicaTarget("x-1", Timeout));
        Assert.Equal("b-1", p.ReplicaTarget("a-1", Timeout)); // for an owner in zone-a, it is preferred now

        // the zone is as the last report says: a node that stops setting one is unknown again
        Report(p, "b-1", zone: null, bytes: 3_000_000);
        Assert.Null(p.Node("b-1")!.Zone);
        Assert.Equal("a-2", p.ReplicaTarget("a-1", Timeout));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task AfterAFailover_TheNewReplicaIsBuiltInAnotherZoneThanTheNewOwner(string backend)
    {
        var p = New(backend);
        var options = new ClusterOptions { Role = "gateway", Token = new string('t', 40), NodeTimeoutSeconds = (int)Timeout.TotalSeconds };
        using var storage = new RoutedStorage(p, options, time: _time);
        var log = new Captured<ReplicaKeeper>();
        var keeper = new ReplicaKeeper(p, storage, new TenantMover(p, storage, options), options, _time, log);
        Report(p, "a-1", "zone-a", bytes: 0);
        Report(p, "b-1", "zone-b", bytes: 0);
        var start = p.Assign(T("acme"), Timeout, replicated: true);
        Assert.Equal(("a-1", "b-1"), (start.Node, start.SyncReplica));

        // a-1 dies; b-1 lives on, and two more nodes report: one of b-1's zone, lightly loaded, one of zone a, heavily
        _time.Advance(Timeout + TimeSpan.FromSeconds(1));
        Report(p, "b-1", "zone-b", bytes: 0);
        Report(p, "b-2", "zone-b", bytes: 1_000);
        Report(p, "a-3", "zone-a", bytes: 50_000_000);
        var promoted = Assert.Single(await keeper.FailOverAsync(TestContext.Current.CancellationToken));
        Assert.Equal(start, promoted);
        Assert.Equal(new TenantPlacement(T("acme"), "b-1", start.Epoch + 1, null), p.Find(T("acme")));

        // the repair builds the replica on a-3, not on b-2 (here it fails at once: the nodes are nowhere, and it is
        // undone or left to its lease; what counts is where it was built)
        Assert.Equal(0, await keeper.RepairAsync(TestContext.Current.CancellationToken));
        var failed = Assert.Single(log.Entries, e => e.EventId == 3862);
        Assert.Equal(("acme", "a-3"), (failed.Values["Tenant"], failed.Values["Replica"]));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task AMoveIntoTheReplicasZone_IsMadeAsAsked_WithAWarning(string backend)
    {
        var p = New(backend);
        var options = new ClusterOptions { Role = "gateway", Token = new string('t', 40), NodeTimeoutSeconds = (int)Timeout.TotalSeconds };
        using var storage = new RoutedStorage(p, options, time: _time);
        var log = new Captured<TenantMover>();
        var mover = new TenantMover(p, storage, options, log);
        Report(p, "a-1", "zone-a", bytes: 0);
        Report(p, "b-1", "zone-b", bytes: 0);
        var acme = p.Assign(T("acme"), Timeout, replicated: true);
        Assert.Equal(("a-1", "b-1"), (acme.Node, acme.Replica));
        Report(p, "a-2", "zone-a", bytes: 0);
        Report(p, "b-2", "zone-b", bytes: 0);

        // the moves start (and fail at once here: the nodes are nowhere); only the one into the replica's zone warns
        await Assert.ThrowsAnyAsync<StorageException>(() => mover.MoveAsync(T("acme"), "a-2", TestContext.Current.CancellationToken));
        Assert.DoesNotContain(log.Entries, e => e.EventId == 3870);
        p.AbortMove(T("acme"), "a-2"); // what the gateways do once its lease lapses (the undo could not reach the nodes)
        await Assert.ThrowsAnyAsync<StorageException>(() => mover.MoveAsync(T("acme"), "b-2", TestContext.Current.CancellationToken));
        var warned = Assert.Single(log.Entries, e => e.EventId == 3870);
        Assert.Equal(("acme", "b-2", "b-1", "zone-b"), (warned.Values["Tenant"], warned.Values["To"], warned.Values["Replica"], warned.Values["Zone"]));
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

    /// <summary>A logger that keeps each entry's event id and named values.</summary>
    private sealed class Captured<T> : ILogger<T>
    {
        public List<(int EventId, Dictionary<string, object?> Values)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? pairs.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) : [];
            lock (Entries)
            {
                Entries.Add((eventId.Id, values));
            }
        }
    }
}
