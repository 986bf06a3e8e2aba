using Bruno.Core.Cluster;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Cluster.Tests;

/// <summary>
/// The gateways' failover round (<see cref="ReplicaKeeper.FailOverAsync"/>) on a PostgreSQL catalog of the test's own,
/// with a fake clock: an owner whose lease lapsed has its replica promoted, but not by a gateway that has not watched
/// the leases for a whole lease since the catalog came back (a node could not renew its lease while it was away).
/// </summary>
public sealed class FailoverTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(8);

    private static Uri Nowhere() => new($"http://127.0.0.1:{BrunoProcess.FreePort()}"); // refuses connections: the new owner is not told

    [Fact]
    public async Task AnOwnerWhoseLeaseLapsed_IsDeposed_ButNotByAGatewayJustBackFromACatalogOutage()
    {
        await using var pg = await OwnPostgres.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-07T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var db = CatalogDatabase.Postgres(pg.ConnectionString).WithTenants("acme");
        var placement = new Placement(db, time);
        var options = new ClusterOptions { Role = "gateway", Token = new string('t', 40), NodeTimeoutSeconds = (int)Lease.TotalSeconds };
        using var storage = new RoutedStorage(placement, options, time: time);
        var keeper = new ReplicaKeeper(placement, storage, new TenantMover(placement, storage, options), options, time);
        var load = new StoreLoad(0, 0, 0, 0);
        placement.Report("store-1", Nowhere(), load);
        placement.Report("store-2", Nowhere(), load);
        var acme = TenantId.Parse("acme");
        var start = placement.Assign(acme, Lease, replicated: true);
        Assert.Equal(("store-1", "store-2"), (start.Node, start.SyncReplica));

        // the catalog goes away for longer than a lease: no node can renew it, the gateway's rounds fail
        time.Advance(TimeSpan.FromSeconds(3));
        await pg.StopAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => keeper.FailOverAsync(TestContext.Current.CancellationToken));
        time.Advance(Lease + TimeSpan.FromSeconds(2));
        await Assert.ThrowsAnyAsync<Exception>(() => keeper.FailOverAsync(TestContext.Current.CancellationToken)); // its last failed round
        await pg.StartAgainAsync();

        // back: store-2 renewed its lease first, store-1 has not yet; this gateway has not watched a whole lease
        placement.Report("store-2", Nowhere(), load);
        Assert.Empty(await keeper.FailOverAsync(TestContext.Current.CancellationToken));
        Assert.Equal(start, placement.Find(acme));

        // store-1 renews in time: nothing to do, ever
        placement.Report("store-1", Nowhere(), load);
        time.Advance(Lease);
        placement.Report("store-1", Nowhere(), load);
        placement.Report("store-2", Nowhere(), load);
        Assert.Empty(await keeper.FailOverAsync(TestContext.Current.CancellationToken));

        // store-1 dies: once its lease lapsed, its replica is promoted, at a higher epoch
        time.Advance(Lease + TimeSpan.FromSeconds(1));
        placement.Report("store-2", Nowhere(), load);
        var promoted = Assert.Single(await keeper.FailOverAsync(TestContext.Current.CancellationToken));
        Assert.Equal(start, promoted);
        Assert.Equal(new TenantPlacement(acme, "store-2", start.Epoch + 1, null), placement.Find(acme));
    }
}
