using System.Buffers;
using Bruno.Storage.Format;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>
/// Per-row access lists (issue 21, decision 0028): rows readable by groups and users, enforced inside the engine as a
/// pre-filter on every search, count, list and delete, kept across writes, reopening and compaction.
/// </summary>
public sealed class AccessListTests
{
    private const int Dim = 16;
    private static readonly Principal A = Principal.Group("group-a");
    private static readonly Principal B = Principal.Group("group-b");
    private static readonly Principal Carol = Principal.User(UserId.Parse("carol"));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Graph built from 500 rows; FilteredExactRows 0 sends every access-filtered vector search through HNSW.</summary>
    private static TempStore GraphStore() =>
        new(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 500, FilteredExactRows = 0 });

    private static StoredRow Row(string id, string text, int seed, Principal[]? readers = null) =>
        Rows.Row(id, text, seed, dim: Dim) with { Readers = readers };

    /// <summary>
    /// 1,200 rows: "a-" readable by group A only (each with the canary word of A), "b-" by B only, "ab-" by both, "t-"
    /// by the whole tenant, and "c-" by the user carol only.
    /// </summary>
    private static async Task<TenantCollection> SeedAsync(TempStore store)
    {
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        var rows = new List<StoredRow>();
        for (var i = 0; i < 300; i++)
        {
            rows.Add(Row($"a-{i}", $"canaryalpha report {i} about the river", i, [A]));
            rows.Add(Row($"b-{i}", $"canarybravo report {i} about the river", 10_000 + i, [B]));
            rows.Add(Row($"ab-{i}", $"shared report {i} about the river", 20_000 + i, [B, A])); // unsorted on purpose
            rows.Add(Row($"t-{i}", $"tenant report {i} about the river", 30_000 + i, null));
        }

        rows.AddRange(Enumerable.Range(0, 20).Select(i => Row($"c-{i}", $"private note {i} about the river", 40_000 + i, [Carol])));
        await c.UpsertAsync(rows, Ct);
        await c.WaitForIndexAsync(Ct);
        return c;
    }

    private static bool VisibleTo(string id, params string[] prefixes) => prefixes.Any(p => id.StartsWith(p, StringComparison.Ordinal));

    [Fact]
    public async Task Canary_GroupBCaller_NeverGetsGroupARows_FromAnySearchCountOrList()
    {
        await using var store = GraphStore();
        var c = await SeedAsync(store);
        var asB = Filter.ReadableBy([B, Principal.User(UserId.Parse("bob"))]);
        string[] visible = ["b-", "ab-", "t-"];

        for (var q = 0; q < 20; q++)
        {
            // queries next to group A's rows: an unfiltered search would return them first
            var near = Rows.Vector(q * 7, Dim);
            foreach (var exact in new[] { true, false })
            {
                var hits = await c.SearchAsync(new SearchRequest { Vector = near, K = 10, Filter = asB, Exact = exact }, Ct);
                Assert.Equal(10, hits.Count);
                Assert.All(hits, h => Assert.True(VisibleTo(h.Row.Id, visible), $"{h.Row.Id} leaked (exact: {exact})"));
            }

            var hybrid = await c.SearchAsync(new SearchRequest { Mode = SearchMode.Hybrid, Vector = near, Text = "canaryalpha river", K = 10, Filter = asB }, Ct);
            Assert.Equal(10, hybrid.Count);
            Assert.All(hybrid, h => Assert.True(VisibleTo(h.Row.Id, visible), $"{h.Row.Id} leaked (hybrid)"));
        }

        Assert.Empty(await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "canaryalpha", K = 50, Filter = asB }, Ct));
        Assert.Equal(50, (await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "canarybravo", K = 50, Filter = asB }, Ct)).Count);

        Assert.Equal(900, await c.CountAsync(asB, Ct));
        var listed = new List<StoredRow>();
        string? after = null;
        while (await c.ListAsync(asB, after, 1000, Ct) is { Count: > 0 } page)
        {
            listed.AddRange(page);
            after = page[^1].Id;
        }

        Assert.Equal(900, listed.Count);
        Assert.Equal(900, listed.Select(r => r.Id).Distinct().Count()); // a row readable by A and B is listed once
        Assert.All(listed, r => Assert.True(VisibleTo(r.Id, visible), $"{r.Id} leaked (list)"));
        var latest = await c.LatestAsync(asB, 1000, Ct);
        Assert.Equal(900, latest.Count);
        Assert.All(latest, r => Assert.True(VisibleTo(r.Id, visible), $"{r.Id} leaked (latest)"));

        // the same conditions compose: owner, metadata and time hold together with access
        Assert.Equal(900, await c.CountAsync(Filter.TenantWide().AndReadableBy([B]), Ct));
        Assert.Equal(0, await c.CountAsync(Filter.ForUser(UserId.Parse("bob")).AndReadableBy([B]), Ct));
        Assert.Equal(0, await c.CountAsync(Filter.ReadableBy([B]).CreatedBetween(DateTimeOffset.UtcNow.AddDays(1), null), Ct));

        // the unrestricted filter (operators, exports) still sees everything
        Assert.Equal(1220, await c.CountAsync(Filter.All, Ct));
    }

    [Fact]
    public async Task CallerInBothGroups_SeesBoth_TenantRowsAreVisibleToAll_AndUserReadersWork()
    {
        await using var store = GraphStore();
        var c = await SeedAsync(store);

        Assert.Equal(1200, await c.CountAsync(Filter.ReadableBy([A, B]), Ct));
        Assert.Equal(300, await c.CountAsync(Filter.ReadableBy([]), Ct)); // no principal: the tenant-wide rows only
        Assert.Equal(320, await c.CountAsync(Filter.ReadableBy([Carol]), Ct));
        Assert.Equal(300, await c.CountAsync(Filter.ReadableBy([Principal.User(UserId.Parse("dave"))]), Ct));

        var both = await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "canaryalpha canarybravo", K = 1000, Filter = Filter.ReadableBy([A, B]) }, Ct);
        Assert.Equal(600, both.Count);
        Assert.Contains(both, h => h.Row.Id.StartsWith("a-", StringComparison.Ordinal));
        Assert.Contains(both, h => h.Row.Id.StartsWith("b-", StringComparison.Ordinal));

        var carol = await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "private note", K = 100, Filter = Filter.ReadableBy([Carol]) }, Ct);
        Assert.Equal(20, carol.Count);
        Assert.Empty(await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "private note", K = 100, Filter = Filter.ReadableBy([A, B]) }, Ct));

        // a hit carries its readers, sorted and without the engine's array behind them
        var ab = await c.GetAsync("ab-1", Ct);
        Assert.Equal(new[] { A, B }, ab!.Readers!);
        Assert.False(ab.Readers is Principal[]);
        Assert.Null((await c.GetAsync("t-1", Ct))!.Readers);
    }

    [Fact]
    public async Task FilteredHnsw_RecallAgainstExactOverVisibleRows_IsAtLeast098_AndTopKIsFull()
    {
        await using var store = GraphStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(32, metric: VectorMetric.Dot));
        var groups = Enumerable.Range(0, 20).Select(i => Principal.Group($"g{i}")).ToArray();
        var rng = new Random(7);
        var rows = new List<StoredRow>();
        for (var i = 0; i < 6000; i++)
        {
            // each row readable by one or two groups, one in twenty by the whole tenant
            var pick = rng.Next(20);
            Principal[]? readers = rng.Next(20) == 0 ? null : rng.Next(2) == 0 ? [groups[pick]] : [groups[pick], groups[(pick + 1 + rng.Next(19)) % 20]];
            rows.Add(Rows.Row($"r{i}", $"row {i}", i, dim: 32) with { Readers = readers });
        }

        for (var i = 0; i < rows.Count; i += 1000)
        {
            await c.UpsertAsync(rows.GetRange(i, 1000), Ct);
        }

        await c.WaitForIndexAsync(Ct);
        var caller = Filter.ReadableBy([groups[3], groups[11]]);
        var visible = await c.CountAsync(caller, Ct);
        Assert.InRange(visible, 600, 1500); // about a sixth of the rows

        double found = 0, total = 0;
        for (var q = 0; q < 50; q++)
        {
            var query = Rows.Vector(500_000 + q, 32);
            var graph = await c.SearchAsync(new SearchRequest { Vector = query, K = 10, Filter = caller }, Ct);
            var exact = await c.SearchAsync(new SearchRequest { Vector = query, K = 10, Filter = caller, Exact = true }, Ct);
            Assert.Equal(10, graph.Count);
            Assert.Equal(10, exact.Count);
            var got = graph.Select(h => h.Row.Id).ToHashSet();
            found += exact.Count(h => got.Contains(h.Row.Id));
            total += 10;
        }

        Assert.True(found / total >= 0.98, $"recall {found / total}");
    }

    [Fact]
    public async Task Planner_FewCandidates_SearchesExactlyOverThem()
    {
        // default FilteredExactRows: a caller reading 300 of 3,000 rows gets the exact answer, not the graph's
        await using var store = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 500 });
        var c = await store.CollectionAsync("acme", TempStore.Spec(32, metric: VectorMetric.Dot));
        var rows = Enumerable.Range(0, 3000).Select(i => Rows.Row($"r{i}", $"row {i}", i, dim: 32) with { Readers = i % 10 == 0 ? [A] : [B] }).ToList();
        await c.UpsertAsync(rows, Ct);
        await c.WaitForIndexAsync(Ct);
        for (var q = 0; q < 20; q++)
        {
            var query = Rows.Vector(900_000 + q, 32);
            var planned = await c.SearchAsync(new SearchRequest { Vector = query, K = 10, Filter = Filter.ReadableBy([A]) }, Ct);
            var truth = rows.Where(r => r.Readers![0] == A)
                .OrderByDescending(r => System.Numerics.Tensors.TensorPrimitives.Dot(query, r.Vector.Span)).ThenBy(r => r.Id, StringComparer.Ordinal)
                .Take(10).Select(r => r.Id);
            Assert.Equal(truth, planned.Select(h => h.Row.Id));
        }
    }

    [Fact]
    public async Task Planner_AnAccessFilterThatNarrowsNothing_KeepsTheUnfilteredBar()
    {
        // every row open to the tenant: the caller's access filter narrows nothing, so the rows up to AnnThreshold are
        // searched exactly, as without a filter (FilteredExactRows 0 would otherwise send them through a graph searched
        // with a small ef, which misses some of the true nearest)
        await using var store = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 1000, FilteredExactRows = 0 });
        var c = await store.CollectionAsync("acme", TempStore.Spec(32, metric: VectorMetric.Dot));
        var rows = Enumerable.Range(0, 1000).Select(i => Rows.Row($"r{i}", $"row {i}", i, dim: 32)).ToList();
        await c.UpsertAsync(rows, Ct);
        await c.WaitForIndexAsync(Ct);
        for (var q = 0; q < 20; q++)
        {
            var query = Rows.Vector(800_000 + q, 32);
            var planned = await c.SearchAsync(new SearchRequest { Vector = query, K = 10, Ef = 10, Filter = Filter.ReadableBy([A]) }, Ct);
            var truth = rows.OrderByDescending(r => System.Numerics.Tensors.TensorPrimitives.Dot(query, r.Vector.Span)).ThenBy(r => r.Id, StringComparer.Ordinal)
                .Take(10).Select(r => r.Id);
            Assert.Equal(truth, planned.Select(h => h.Row.Id));
        }
    }

    [Fact]
    public async Task ExactSearch_OverManyCandidates_SplitAcrossCores_EqualsBruteForce()
    {
        // more candidates than ParallelExactRows, on overlapping lists (rows readable by A and B, by A, by B, by all):
        // the scan is split into parts whose tops are merged, and must give exactly what one brute-force scan gives
        await using var store = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 100_000 });
        var c = await store.CollectionAsync("acme", TempStore.Spec(32, metric: VectorMetric.Dot));
        Principal[][] lists = [[A, B], [A], [B], null!];
        var rows = Enumerable.Range(0, 12_000).Select(i => Rows.Row($"r{i}", $"row {i}", i, dim: 32) with { Readers = lists[i % 4] }).ToList();
        foreach (var batch in rows.Chunk(6_000))
        {
            await c.UpsertAsync(batch, Ct);
        }

        Assert.True(rows.Count(r => r.Readers is null || r.Readers.Contains(A)) >= Index.CollectionState.ParallelExactRows);
        for (var q = 0; q < 10; q++)
        {
            var query = Rows.Vector(700_000 + q, 32);
            var found = await c.SearchAsync(new SearchRequest { Vector = query, K = 25, Filter = Filter.ReadableBy([A]) }, Ct);
            var truth = rows.Where(r => r.Readers is null || r.Readers.Contains(A))
                .OrderByDescending(r => System.Numerics.Tensors.TensorPrimitives.Dot(query, r.Vector.Span)).ThenBy(r => r.Id, StringComparer.Ordinal)
                .Take(25).Select(r => r.Id);
            Assert.Equal(truth, found.Select(h => h.Row.Id));
        }
    }

    [Fact]
    public async Task Readers_SurviveReopen_AndCompaction()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        var rows = Enumerable.Range(0, 1500).Select(i => Row($"r{i:D4}", $"row {i}", i, i < 300 ? [A] : null)).ToList();
        await c.UpsertAsync(rows, Ct);
        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(new[] { A }, (await c.GetAsync("r0001", Ct))!.Readers!);
        Assert.Equal(1200, await c.CountAsync(Filter.ReadableBy([B]), Ct));

        // 1,200 deletions leave more dead slots than live ones: the collection compacts and rebuilds its lists
        await c.DeleteAsync([.. rows.Skip(300).Select(r => r.Id)], Ct);
        Assert.Equal(0, await c.CountAsync(Filter.ReadableBy([B]), Ct));
        Assert.Equal(300, await c.CountAsync(Filter.ReadableBy([A]), Ct));
        var hits = await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(5, Dim), K = 10, Filter = Filter.ReadableBy([A]) }, Ct);
        Assert.Equal(10, hits.Count);
        Assert.Empty(await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(5, Dim), K = 10, Filter = Filter.ReadableBy([B]) }, Ct));

        // replacing a row replaces its readers
        await c.UpsertAsync([Row("r0001", "row 1", 1, [B])], Ct);
        Assert.Equal(299, await c.CountAsync(Filter.ReadableBy([A]), Ct));
        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(1, await c.CountAsync(Filter.ReadableBy([B]), Ct));
        Assert.Equal(299, await c.CountAsync(Filter.ReadableBy([A]), Ct));
    }

    [Fact]
    public async Task UpdateReaders_ChangesAccess_KeepsVectorsAndText_AndPersists()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        var created = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        await c.UpsertAsync(
        [
            .. Enumerable.Range(0, 40).Select(i => Rows.Row($"d1-{i}", $"doc one part {i}", i, metadata: new() { ["doc"] = "d1" }, dim: Dim, created: created)),
            .. Enumerable.Range(0, 10).Select(i => Rows.Row($"d2-{i}", $"doc two part {i}", 100 + i, metadata: new() { ["doc"] = "d2" }, dim: Dim)),
        ], Ct);
        var before = await c.GetAsync("d1-3", Ct);

        Assert.Equal(40, await c.UpdateReadersAsync(Filter.All.Where("doc", "d1"), [B, A, A], Ct));
        Assert.Equal(0, await c.UpdateReadersAsync(Filter.All.Where("doc", "d1"), [A, B], Ct)); // already so
        Assert.Equal(10, await c.CountAsync(Filter.ReadableBy([Carol]), Ct));
        Assert.Equal(50, await c.CountAsync(Filter.ReadableBy([A]), Ct));
        var after = await c.GetAsync("d1-3", Ct);
        Assert.Equal(new[] { A, B }, after!.Readers!);
        Assert.Equal(before!.Vector.ToArray(), after.Vector.ToArray());
        Assert.Equal((before.Text, before.CreatedAt, before.Metadata["doc"]), (after.Text, after.CreatedAt, after.Metadata["doc"]));
        Assert.Equal(created, after.CreatedAt);
        Assert.Empty(await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "one", K = 50, Filter = Filter.ReadableBy([Carol]) }, Ct));

        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(10, await c.CountAsync(Filter.ReadableBy([Carol]), Ct));
        Assert.Equal(40, await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "one", K = 50, Filter = Filter.ReadableBy([B]) }, Ct) is { } h ? h.Count : 0);

        Assert.Equal(40, await c.UpdateReadersAsync(Filter.ReadableBy([A]).Where("doc", "d1"), null, Ct)); // back to the whole tenant
        Assert.Equal(50, await c.CountAsync(Filter.ReadableBy([Carol]), Ct));
    }

    [Fact]
    public async Task DeleteWhere_WithAccess_DeletesOnlyReadableRows()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        await c.UpsertAsync([Row("a", "x", 1, [A]), Row("b", "x", 2, [B]), Row("ab", "x", 3, [A, B]), Row("t", "x", 4)], Ct);
        Assert.Equal(3, await c.DeleteWhereAsync(Filter.ReadableBy([B]), Ct));
        Assert.Equal(["a"], (await c.ReadAllAsync(Ct)).Select(r => r.Id));
    }

    [Fact]
    public void BadPrincipals_AreRefused_BeforeAnythingIsWritten()
    {
        foreach (var bad in new[] { "", "a b", "../x", ".hidden", "-x", "a|b", "a,b", "é", new string('g', 65), "x\0" })
        {
            Assert.Throws<InvalidIdentifierException>(() => Principal.Group(bad));
        }

        Assert.Throws<InvalidIdentifierException>(() => Principal.Group(null));
        Assert.Equal("Team_1.eu-west", Principal.Group("Team_1.eu-west").Name);
        Assert.Equal(new string('g', 64), Principal.Group(new string('g', 64)).Name);
        Assert.Throws<InvalidOperationException>(() => default(Principal).Name);
        Assert.Throws<InvalidOperationException>(() => Principal.User(default));
        Assert.Throws<ArgumentException>(() => Filter.ReadableBy([A, default]));
        Assert.Throws<ArgumentException>(() => Filter.ReadableBy([.. Enumerable.Range(0, 1025).Select(i => Principal.Group($"g{i}"))]));
        Assert.Throws<ArgumentException>(() => Principal.Of((PrincipalKind)9, "x"));
        Assert.NotEqual(Principal.Group("alice"), Principal.User(UserId.Parse("alice"))); // kinds never mix
    }

    [Fact]
    public async Task RowsWithTooManyOrDefaultReaders_AreRefused_AndNothingIsWritten()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        var many = Enumerable.Range(0, 65).Select(i => Principal.Group($"g{i}")).ToArray();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => c.UpsertAsync([Row("ok", "x", 1), Row("bad", "x", 2, many)], Ct));
        Assert.Contains("at most 64 readers", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => c.UpsertAsync([Row("bad", "x", 2, [A, default])], Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => c.UpdateReadersAsync(Filter.All, many, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => c.UpdateReadersAsync(Filter.All, [default], Ct));
        Assert.Equal(0, await c.CountAsync(ct: Ct));
        Assert.Equal(1, await c.UpsertAsync([Row("ok", "x", 1, [.. many.Take(64)])], Ct));
    }

    [Fact]
    public void RowCodec_Version2_IsByteExact_AndVersion1RowsReadAsTenantWide()
    {
        // the bytes of RowCodec_Version1_IsByteExact (FormatTests): a row written before access lists existed
        var v1 = Convert.FromHexString("01" + "03642331" + "0368C3A9" + "0807060504030201" + "0175" + "02" + "0161" + "01" + "0178" + "0162" + "04" + "01" + "02" + "0000803F" + "000000C0");
        var old = RowCodec.Read(v1);
        Assert.Null(old.Readers);
        Assert.Equal("d#1", old.Id);

        var row = new StoredRow { Id = "r", Text = "t", Vector = new float[] { 1f }, Readers = [Principal.User(UserId.Parse("u")), Principal.Group("g")] };
        var w = new ArrayBufferWriter<byte>();
        RowCodec.Write(w, row, 0);
        Assert.Equal(
            "02" + "0172" + "0174" + "0000000000000000" + "00" + "00" + "02" + "01" + "0175" + "02" + "0167" + "01" + "0000803F",
            Convert.ToHexString(w.WrittenSpan));
        Assert.Equal(row.Readers, RowCodec.Read(w.WrittenSpan).Readers!);

        // a row without readers is still written as version 1, and an empty list is not "no list"
        w.ResetWrittenCount();
        RowCodec.Write(w, row with { Readers = null }, 0);
        Assert.Equal(1, w.WrittenSpan[0]);
        w.ResetWrittenCount();
        RowCodec.Write(w, row with { Readers = [] }, 0);
        Assert.Equal(2, w.WrittenSpan[0]);
        Assert.Empty(RowCodec.Read(w.WrittenSpan).Readers!);

        // a principal that is not valid in the stored bytes is a format error, never a wildcard
        var bad = Convert.FromHexString("02" + "0172" + "0174" + "0000000000000000" + "00" + "00" + "01" + "02" + "03612062" + "01" + "0000803F");
        Assert.Throws<StorageFormatException>(() => RowCodec.Read(bad));
    }
}
