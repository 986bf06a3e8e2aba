using Bruno.Storage.CrashWorker;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>
/// kill -9 while ingesting: a child process writes deterministic batches to several tenants and prints each
/// acknowledgement; the test kills it after a random number of acknowledgements (seeded, so a failure replays), then
/// opens the store itself and checks every acknowledged row byte for byte, that no batch is half there, and that nothing
/// is duplicated. The child's HNSW threshold is low, so graph checkpoints are written between kills: after each kill the
/// stored graph must be the last committed checkpoint (or a later one) or none, never unreadable, the reopened graph
/// must catch up by inserting only the rows behind it, and graph searches must agree with exact ones.
/// BRUNO_CRASH_KILLS raises the number of kills for the longer run (docs/benchmarks.md).
/// </summary>
public sealed class CrashTests
{
    private static readonly string[] Tenants = ["crash-a", "crash-b", "crash-c", "crash-d"];

    [Fact]
    public async Task KillDuringIngest_LosesNoAcknowledgedRow_AndLeavesNoHalfBatch()
    {
        var kills = int.TryParse(Environment.GetEnvironmentVariable("BRUNO_CRASH_KILLS"), out var k) ? k : 20;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("BRUNO_CRASH_SEED"), out var s) ? s : 20261127;
        var rng = new Random(seed);
        await using var store = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = CrashData.AnnThreshold, HnswEfConstruction = CrashData.HnswEfConstruction });
        foreach (var t in Tenants)
        {
            await store.Engine.CreateTenantAsync(TenantId.Parse(t), ct: TestContext.Current.CancellationToken);
        }

        await store.CloseAsync();
        var acked = Tenants.ToDictionary(t => t, _ => -1); // highest batch known to be committed, per tenant
        var checkpoints = Tenants.ToDictionary(t => t, _ => 0); // nodes of the newest graph checkpoint known to be committed
        var key = store.Key.ToBase64();
        var totalRows = 0L;
        var iterations = 0;
        while (iterations < kills || totalRows < 10_000)
        {
            Assert.True(iterations < kills * 5, "the crash loop did not reach 10,000 rows");
            iterations++;
            var stopAfter = rng.Next(1, 80);
            using (var child = new ChildProcess(["ingest", store.Root, key, .. Tenants.Select(t => $"{t}:{acked[t] + 1}")]))
            {
                child.ExpectReady();
                for (var seen = 0; seen < stopAfter;)
                {
                    var line = child.ReadLine() ?? throw new InvalidOperationException("worker died: " + child.ReadError());
                    seen += Record(line, acked, checkpoints);
                }

                child.Kill();
                for (var line = child.ReadLine(); line is not null; line = child.ReadLine())
                {
                    Record(line, acked, checkpoints); // acknowledgements printed before the kill landed
                }
            }

            totalRows = await VerifyAsync(store, acked, checkpoints, catchUp: iterations % 5 == 1);
        }

        Assert.True(totalRows >= 10_000, $"only {totalRows} rows were acknowledged");
    }

    private static int Record(string line, Dictionary<string, int> acked, Dictionary<string, int> checkpoints)
    {
        var parts = line.Split(' ');
        if (parts is ["CKPT", var t, var nodes])
        {
            checkpoints[t] = Math.Max(checkpoints[t], int.Parse(nodes, System.Globalization.CultureInfo.InvariantCulture));
            return 0;
        }

        if (parts is not ["ACK", var tenant, var batch])
        {
            return 0;
        }

        var b = int.Parse(batch, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(acked[tenant] + 1, b); // one writer per tenant, in order
        acked[tenant] = b;
        return 1;
    }

    /// <summary>Opens the store as a fresh process would and checks it against the acknowledgements; returns rows present.</summary>
    private static async Task<long> VerifyAsync(TempStore store, Dictionary<string, int> acked, Dictionary<string, int> checkpoints, bool catchUp)
    {
        await store.ReopenAsync();
        long total = 0;
        foreach (var t in Tenants)
        {
            var tenant = store.Engine.Tenant(TenantId.Parse(t));
            Assert.Equal("ok", await tenant.CheckIntegrityAsync());
            if ((await tenant.ListCollectionsAsync()).Count == 0)
            {
                Assert.Equal(-1, acked[t]);
                continue;
            }

            var rows = (await tenant.Collection(CrashData.Collection).ReadAllAsync()).ToDictionary(r => r.Id);
            var expected = 0;
            for (var b = 0; b <= acked[t]; b++)
            {
                foreach (var want in CrashData.Batch(t, b))
                {
                    Assert.True(rows.TryGetValue(want.Id, out var got), $"acknowledged row {want.Id} is missing");
                    AssertSame(want, got);
                    expected++;
                }
            }

            // The batch in flight at the kill is all there or not at all.
            var next = CrashData.Batch(t, acked[t] + 1);
            var present = next.Count(r => rows.ContainsKey(r.Id));
            Assert.True(present == 0 || present == next.Length, $"batch {acked[t] + 1} of {t} is half written: {present}/{next.Length}");
            if (present == next.Length)
            {
                foreach (var want in next)
                {
                    AssertSame(want, rows[want.Id]);
                }

                expected += next.Length;
            }

            Assert.Equal(expected, rows.Count); // nothing else, nothing twice
            var collection = tenant.Collection(CrashData.Collection);
            Assert.Equal(expected, await collection.CountAsync(ct: TestContext.Current.CancellationToken));
            total += rows.Count;
            await VerifyGraphAsync(t, collection, rows, checkpoints, catchUp);
        }

        await store.CloseAsync();
        return total;
    }

    /// <summary>
    /// The stored graph is the newest committed checkpoint (or a later one) or none, never unreadable; graph searches
    /// (the rows behind the graph scanned exactly) agree with exact ones. With <paramref name="catchUp"/> (every fifth
    /// kill: it costs the indexing), the indexer must then insert only the rows behind the graph, and the close leaves
    /// the complete graph for the next child, recorded as the newest checkpoint.
    /// </summary>
    private static async Task VerifyGraphAsync(string t, TenantCollection collection, Dictionary<string, StoredRow> rows, Dictionary<string, int> checkpoints, bool catchUp)
    {
        var status = await collection.GraphStatusAsync(TestContext.Current.CancellationToken);
        Assert.NotEqual(Index.GraphLoad.Unusable, status.Load);
        if (checkpoints[t] > 0)
        {
            Assert.Equal(Index.GraphLoad.Loaded, status.Load);
            Assert.True(status.LoadedNodes >= checkpoints[t], $"{t}: {status}, newest committed checkpoint {checkpoints[t]}");
        }

        if (rows.Count < CrashData.AnnThreshold)
        {
            return;
        }

        if (catchUp)
        {
            await collection.WaitForIndexAsync(TestContext.Current.CancellationToken);
            status = await collection.GraphStatusAsync(TestContext.Current.CancellationToken);
            checkpoints[t] = status.Nodes; // the close writes the complete graph
        }

        // Caught up from the checkpoint, not rebuilt: the indexer inserted only the slots after the loaded graph's nodes
        // (nodes of rows replaced since, when a batch in flight at a kill was written again, are dead slots now).
        Assert.True(catchUp ? status.InsertedNodes == status.Nodes - status.LoadedNodes && status.Nodes >= rows.Count : status.InsertedNodes <= status.Nodes - status.LoadedNodes, $"{t}: {status}, {rows.Count} rows, newest checkpoint {checkpoints[t]}");
        var found = 0;
        var queries = rows.Values.OrderBy(r => r.Id, StringComparer.Ordinal).Take(10).ToList();
        foreach (var q in queries)
        {
            var ann = await collection.SearchAsync(new SearchRequest { Vector = q.Vector, K = 10, Mode = SearchMode.Vector }, TestContext.Current.CancellationToken);
            var exact = await collection.SearchAsync(new SearchRequest { Vector = q.Vector, K = 10, Mode = SearchMode.Vector, Exact = true }, TestContext.Current.CancellationToken);
            found += ann.Select(h => h.Row.Id).Intersect(exact.Select(h => h.Row.Id)).Count();
        }

        Assert.True(found >= 0.9 * 10 * queries.Count, $"graph search of {t} found {found} of {10 * queries.Count} exact neighbours");
    }

    private static void AssertSame(StoredRow want, StoredRow got)
    {
        Assert.Equal(want.Text, got.Text);
        Assert.Equal(want.UserId, got.UserId);
        Assert.Equal(want.CreatedAt, got.CreatedAt);
        Assert.True(want.Vector.Span.SequenceEqual(got.Vector.Span), $"vector of {want.Id} differs");
        Assert.Equal(want.Metadata.OrderBy(kv => kv.Key), got.Metadata.OrderBy(kv => kv.Key));
    }
}

public sealed class ProcessLockTests
{
    [Fact]
    public async Task TenantHeldByAnotherProcess_GivesALockError_AndIsFineAfterwards()
    {
        await using var store = new TempStore();
        await (await store.CollectionAsync("acme")).UpsertAsync([Rows.Row("r", "x", 1)], ct: TestContext.Current.CancellationToken);
        await store.CloseAsync();
        using (var child = new ChildProcess("hold", store.Root, store.Key.ToBase64(), "acme"))
        {
            child.ExpectReady();
            await store.ReopenAsync();
            await Assert.ThrowsAsync<TenantLockedException>(() => store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks").CountAsync(ct: TestContext.Current.CancellationToken));
            child.CloseInput();
            child.WaitForExit();
        }

        Assert.Equal(1, await store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks").CountAsync(ct: TestContext.Current.CancellationToken));
    }
}
