using Bruno.Core.Cluster;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Bruno.Testing;

namespace Bruno.Cluster.Tests;

/// <summary>
/// Two store nodes (in process, on real Kestrel and HTTP/2) over a PostgreSQL catalog, reached through a gateway's
/// storage: what a write of a replicated tenant asks of its replica, and how concurrent writes end on both copies.
/// </summary>
public sealed class ReplicatedWriteTests
{
    private const string Token = "replicated-write-token-0123456789abcdef";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TenantId Acme = TenantId.Parse("acme");

    /// <summary>Two store nodes, a gateway's storage over them, and the tenant acme placed on both.</summary>
    private sealed class TwoNodes : IAsyncDisposable
    {
        private readonly CatalogDatabase _db;

        private TwoNodes(CatalogDatabase db, Dictionary<string, (RunningServer Server, Uri Address)> nodes)
        {
            _db = db;
            Nodes = nodes;
            Placement = new Placement(db);
            Routed = new RoutedStorage(Placement, new ClusterOptions { Role = "gateway", Token = Token });
        }

        public Dictionary<string, (RunningServer Server, Uri Address)> Nodes { get; }

        public Placement Placement { get; }

        public RoutedStorage Routed { get; }

        public static async Task<TwoNodes> StartAsync()
        {
            var catalog = TestPostgres.NewDatabase();
            var nodes = new Dictionary<string, (RunningServer, Uri)>();
            foreach (var name in new[] { "store-1", "store-2" })
            {
                var (server, port) = await RunningServer.StartOnFreePortAsync(port => new Dictionary<string, string?>
                {
                    ["Bruno:Cluster:Role"] = "store",
                    ["Bruno:Cluster:NodeName"] = name,
                    ["Bruno:Cluster:AdvertiseUrl"] = $"http://127.0.0.1:{port}",
                    ["Bruno:Cluster:StorePort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["Bruno:Cluster:StoreBind"] = "127.0.0.1",
                    ["Bruno:Cluster:Token"] = Token,
                    ["Bruno:Catalog:Provider"] = "postgres",
                    ["Bruno:Catalog:ConnectionString"] = catalog,
                });
                nodes[name] = (server, new Uri($"http://127.0.0.1:{port}"));
            }

            var db = CatalogDatabase.Postgres(catalog);
            var cluster = new TwoNodes(db, nodes);
            new TenantCatalog(db).Create(Acme, "Acme");
            await cluster.Routed.CreateTenantAsync(Acme, Ct);
            return cluster;
        }

        /// <summary>Stops a node for good.</summary>
        public async Task StopAsync(string node)
        {
            await Nodes[node].Server.DisposeAsync();
            Nodes.Remove(node);
        }

        public async ValueTask DisposeAsync()
        {
            Routed.Dispose();
            foreach (var (server, _) in Nodes.Values)
            {
                await server.DisposeAsync();
            }

            _db.Dispose();
        }
    }

    [Fact]
    public async Task EnsuringACollectionThatExists_AsksNothingOfTheReplica_WhileARealWriteDropsAReplicaThatIsGone()
    {
        await using var cluster = await TwoNodes.StartAsync();
        var placed = cluster.Placement.Find(Acme)!;
        Assert.NotNull(placed.SyncReplica);
        var spec = new CollectionSpec("notes", 4, "test-model");
        var notes = await cluster.Routed.Tenant(Acme).EnsureCollectionAsync(spec, Ct);
        await notes.UpsertAsync([new StoredRow { Id = "a", Text = "first", Vector = new float[] { 1, 0, 0, 0 } }], Ct);

        // the replica's node goes away for good
        await cluster.StopAsync(placed.SyncReplica);

        // the collection exists on the owner as asked: nothing to replicate, so the replica is neither asked nor dropped
        await cluster.Routed.Tenant(Acme).EnsureCollectionAsync(spec, Ct);
        Assert.Equal(placed, cluster.Placement.Find(Acme));

        // asked with another dimension: refused as before, and still nothing changed
        await Assert.ThrowsAsync<CollectionMismatchException>(() => cluster.Routed.Tenant(Acme).EnsureCollectionAsync(spec with { Dimension = 8 }, Ct));
        Assert.Equal(placed, cluster.Placement.Find(Acme));

        // a real write needs the replica: it cannot be reached, so it is dropped before the owner acknowledges alone
        await notes.UpsertAsync([new StoredRow { Id = "b", Text = "second", Vector = new float[] { 0, 1, 0, 0 } }], Ct);
        var after = cluster.Placement.Find(Acme)!;
        Assert.Equal((placed.Node, (string?)null), (after.Node, after.SyncReplica));
        Assert.True(after.Epoch > placed.Epoch);
        Assert.Equal(2, await notes.CountAsync(Filter.All, Ct));
    }

    [Fact]
    public async Task ConcurrentWritesOfTheSameRows_EndAlikeOnBothCopies_AndThoseOfOtherRowsAllArrive()
    {
        await using var cluster = await TwoNodes.StartAsync();
        var placed = cluster.Placement.Find(Acme)!;
        var notes = await cluster.Routed.Tenant(Acme).EnsureCollectionAsync(new CollectionSpec("notes", 4, "test-model"), Ct);

        // 8 rows written 12 times each, all at once, each write also carrying a row of its own; and deletes among them
        var writes = Enumerable.Range(0, 96).Select(i => i % 16 == 15
            ? notes.DeleteAsync([$"shared-{i % 8}"], Ct)
            : notes.UpsertAsync(
            [
                new StoredRow { Id = $"shared-{i % 8}", Text = $"version {i}", Vector = new float[] { 1, i, 0, 0 } },
                new StoredRow { Id = $"own-{i}", Text = $"own {i}", Vector = new float[] { 0, 1, i, 0 } },
            ], Ct));
        await Task.WhenAll(writes);
        Assert.Equal(placed, cluster.Placement.Find(Acme)); // no copy answered differently: the replica was never dropped

        async Task<List<string>> Copy(string node)
        {
            using var engine = new Remote.RemoteStorageEngine(node, cluster.Nodes[node].Address, Token);
            var c = engine.Tenant(Acme).Collection("notes");
            var rows = new List<string>();
            foreach (var id in Enumerable.Range(0, 8).Select(i => $"shared-{i}").Concat(Enumerable.Range(0, 96).Select(i => $"own-{i}")))
            {
                rows.Add($"{id}={(await c.GetAsync(id, Ct))?.Text ?? "(none)"}");
            }

            return rows;
        }

        var owner = await Copy(placed.Node);
        Assert.Equal(owner, await Copy(placed.SyncReplica!));
        Assert.Equal(90, owner.Count(r => r.StartsWith("own-", StringComparison.Ordinal) && !r.EndsWith("(none)", StringComparison.Ordinal)));
    }
}
