using Bruno.Storage.Identity;
using Bruno.Storage.Index;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>The HNSW graph stored with the rows (format 3, decision 0044): loaded at open, caught up incrementally, rebuilt only when unusable.</summary>
public sealed class GraphTests
{
    private const int Dim = 32;
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    private static TempStore Store(int m = 16) => new(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 500, HnswM = m });

    private static TenantCollection Chunks(TempStore store) => store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");

    private static StoredRow Row(int i) => Rows.Row($"r{i}", $"row {i}", i, dim: Dim, user: i % 5 == 0 ? "alice" : null);

    private static async Task IngestAsync(TenantCollection c, int from, int to)
    {
        for (var start = from; start < to; start += 1000)
        {
            await c.UpsertAsync([.. Enumerable.Range(start, Math.Min(1000, to - start)).Select(Row)], ct: Ct);
        }
    }

    /// <summary>Ingests rows [0, <paramref name="rows"/>), waits for the graph, closes the tenant (its checkpoint) and reopens it.</summary>
    private static async Task<TenantCollection> IndexedAndReopenedAsync(TempStore store, int rows)
    {
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        await IngestAsync(c, 0, rows);
        await c.WaitForIndexAsync(Ct);
        await store.ReopenAsync();
        return Chunks(store);
    }

    /// <summary>Recall@10 of the default (graph) search against exact search, over queries near stored rows.</summary>
    private static async Task<double> RecallAsync(TenantCollection c, int queries, int rows)
    {
        var found = 0;
        for (var q = 0; q < queries; q++)
        {
            var vector = Rows.Vector(1_000_000 + q, Dim);
            var ann = await c.SearchAsync(new SearchRequest { Vector = vector, K = 10, Mode = SearchMode.Vector }, Ct);
            var exact = await c.SearchAsync(new SearchRequest { Vector = vector, K = 10, Mode = SearchMode.Vector, Exact = true }, Ct);
            found += ann.Select(h => h.Row.Id).Intersect(exact.Select(h => h.Row.Id)).Count();
        }

        return found / (10.0 * queries);
    }

    [Fact]
    public async Task ReopenedTenant_AnswersItsFirstQueriesFromTheStoredGraph_WithoutRebuildingIt()
    {
        await using var store = Store();
        var c = await IndexedAndReopenedAsync(store, 3000);

        var status = await c.GraphStatusAsync(Ct);
        Assert.Equal(GraphLoad.Loaded, status.Load);
        Assert.Equal(3000, status.LoadedNodes);
        Assert.Equal(3000, status.CheckpointNodes);
        Assert.True(await RecallAsync(c, 50, 3000) >= 0.98);
        Assert.Equal(0, (await c.GraphStatusAsync(Ct)).InsertedNodes); // nothing was rebuilt, before or after the queries
    }

    [Fact]
    public async Task GraphBehindTheRows_CatchesUpIncrementally_AndDeletedNodesAreDropped()
    {
        await using var store = Store();
        var c = await IndexedAndReopenedAsync(store, 3000);

        // Behind by 400 rows, 100 stored nodes deleted (the entry point among them, whichever it is, is replaced).
        await IngestAsync(c, 3000, 3400);
        var deleted = Enumerable.Range(0, 100).Select(i => $"r{i * 7}").ToList();
        Assert.Equal(100, await c.DeleteAsync(deleted, ct: Ct));
        await c.WaitForIndexAsync(Ct);
        var status = await c.GraphStatusAsync(Ct);
        Assert.Equal(3000, status.LoadedNodes);
        Assert.Equal(400, status.InsertedNodes); // only the rows behind the checkpoint
        Assert.Equal(3400, status.Nodes);

        await store.ReopenAsync();
        c = Chunks(store);
        status = await c.GraphStatusAsync(Ct);
        Assert.Equal(GraphLoad.Loaded, status.Load);
        Assert.Equal(3400, status.LoadedNodes); // the checkpoint written during the run or at close holds every node
        Assert.True(await RecallAsync(c, 50, 3300) >= 0.98);
        var hits = await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(0, Dim), K = 10, Mode = SearchMode.Vector }, Ct);
        Assert.DoesNotContain(hits, h => deleted.Contains(h.Row.Id));
        Assert.Equal(0, (await c.GraphStatusAsync(Ct)).InsertedNodes);
        Assert.Equal(3300, await c.CountAsync(ct: Ct));
    }

    [Fact]
    public async Task UnreadableGraph_OrAnotherM_IsRebuilt()
    {
        await using var store = Store();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        await IngestAsync(c, 0, 1200);
        await c.WaitForIndexAsync(Ct);
        await store.CloseAsync();
        using (var db = EncryptionTests.Sqlite(store, "acme"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "UPDATE graph SET payload = zeroblob(length(payload)) WHERE chunk = 1";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }

        await store.ReopenAsync();
        c = Chunks(store);
        Assert.Equal(GraphLoad.Unusable, (await c.GraphStatusAsync(Ct)).Load);
        await c.WaitForIndexAsync(Ct);
        Assert.Equal(1200, (await c.GraphStatusAsync(Ct)).InsertedNodes);
        Assert.True(await RecallAsync(c, 20, 1200) >= 0.95);
        await store.CloseAsync(); // writes a good checkpoint again

        await using var otherM = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 500, HnswM = 8 }, store.Root, store.Key);
        c = Chunks(otherM);
        Assert.Equal(GraphLoad.Unusable, (await c.GraphStatusAsync(Ct)).Load);
        await c.WaitForIndexAsync(Ct);
        Assert.Equal(1200, (await c.GraphStatusAsync(Ct)).InsertedNodes);
    }

    [Fact]
    public async Task AMostlyDeadStoredGraph_IsCompactedAtOpen_AndTheTextIndexCountsEachRowOnce()
    {
        await using var store = Store();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        await IngestAsync(c, 0, 1200);
        await c.WaitForIndexAsync(Ct);
        await store.ReopenAsync(); // the close stored the graph: 1,200 nodes
        c = Chunks(store);
        await c.DeleteAsync([.. Enumerable.Range(0, 700).Select(i => $"r{i}")], ct: Ct);
        var query = new SearchRequest { Text = "row 900", K = 10, Mode = SearchMode.FullText };
        var before = (await c.SearchAsync(query, Ct)).Select(h => $"{h.Row.Id}:{h.Score:F5}").ToList();
        Assert.Equal(10, before.Count);

        await store.ReopenAsync(); // 700 of the stored graph's nodes are dead: the open compacts and rebuilds
        c = Chunks(store);
        Assert.Equal(GraphLoad.Unusable, (await c.GraphStatusAsync(Ct)).Load);
        Assert.Equal(before, (await c.SearchAsync(query, Ct)).Select(h => $"{h.Row.Id}:{h.Score:F5}").ToList());
        Assert.Equal(500, await c.CountAsync(ct: Ct));
    }

    [Fact]
    public async Task OpeningATenant_IsTracedWithWhatItLoaded_AndAFailedOpenWithItsError()
    {
        await using var store = Store();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        await IngestAsync(c, 0, 800);
        await c.WaitForIndexAsync(Ct);
        await store.ReopenAsync();

        using var recorder = new SpanRecorder();
        var spans = recorder.Spans;
        using (var root = recorder.Root())
        {
            Assert.Equal(800, await Chunks(store).CountAsync(ct: Ct));
            var open = Assert.Single(spans, s => s.DisplayName == "tenant_open" && s.ParentSpanId == root.SpanId);
            Assert.Equal("acme", open.GetTagItem("tenant_id"));
            Assert.Equal(1, open.GetTagItem("bruno.open.collections"));
            Assert.Equal(800, open.GetTagItem("bruno.open.rows"));
            Assert.Equal(800, open.GetTagItem("bruno.open.graph_nodes_loaded"));
            Assert.Equal(System.Diagnostics.ActivityStatusCode.Unset, open.Status);

            // A store file gone: the open fails, and its span says so without the message (which names the tenant's folder).
            await store.CloseAsync();
            File.Delete(Path.Combine(store.Root, "tenants", "acme", "store.db"));
            await store.ReopenAsync();
            await Assert.ThrowsAsync<StorageFormatException>(() => Chunks(store).CountAsync(ct: Ct));
            var failed = Assert.Single(spans, s => s.DisplayName == "tenant_open" && s.ParentSpanId == root.SpanId && s.Status == System.Diagnostics.ActivityStatusCode.Error);
            Assert.Equal("StorageFormatException", failed.GetTagItem("error.type"));
            Assert.Null(failed.StatusDescription);
        }
    }

    [Fact]
    public async Task Ordinals_AreNewForReplacedRows_AndSurviveAReopen()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([Rows.Row("a", "first", 1), Rows.Row("b", "second", 2, "alice"), Rows.Row("c", "third", 3)], ct: Ct);
        var a = (await c.OrdinalOfAsync("a", Ct))!.Value;
        var b = (await c.OrdinalOfAsync("b", Ct))!.Value;
        Assert.Equal([1L, 2L], new[] { a, b }.Order());
        Assert.Null(await c.OrdinalOfAsync("missing", Ct));

        // A replaced row gets a new ordinal (a stored graph may still name the old one).
        await c.UpsertAsync([Rows.Row("a", "first, again", 11)], ct: Ct);
        var a2 = (await c.OrdinalOfAsync("a", Ct))!.Value;
        Assert.Equal(4, a2);

        // Ordinals survive a reopen (and a merge of small segments keeps them); new ones continue above the highest.
        for (var i = 0; i < 40; i++)
        {
            await c.UpsertAsync([Rows.Row($"s{i}", "small write", 100 + i)], ct: Ct);
        }

        await store.ReopenAsync();
        c = Chunks(store);
        Assert.Equal(a2, await c.OrdinalOfAsync("a", Ct));
        Assert.Equal(b, await c.OrdinalOfAsync("b", Ct));
        await c.UpsertAsync([Rows.Row("d", "fourth", 4)], ct: Ct);
        Assert.Equal(45, await c.OrdinalOfAsync("d", Ct));
        Assert.Equal(Rows.Vector(11), (await c.GetAsync("a", ct: Ct))!.Vector.ToArray());
        Assert.Equal(Rows.Vector(2), (await c.GetAsync("b", ct: Ct))!.Vector.ToArray());
    }
}
