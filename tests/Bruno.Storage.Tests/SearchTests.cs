using System.Numerics.Tensors;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

public sealed class SearchTests
{
    [Theory]
    [InlineData(VectorMetric.Cosine)]
    [InlineData(VectorMetric.Dot)]
    public async Task ExactSearch_MatchesBruteForce(VectorMetric metric)
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(16, metric: metric));
        var rows = Enumerable.Range(0, 300).Select(i => Rows.Row($"r{i}", $"row {i}", i, dim: 16)).ToList();
        await c.UpsertAsync(rows, ct: TestContext.Current.CancellationToken);
        var query = Rows.Vector(12345, 16);

        var hits = await c.SearchAsync(new SearchRequest { Vector = query, K = 10 }, ct: TestContext.Current.CancellationToken);

        var expected = rows
            .Select(r => (r.Id, Score: metric == VectorMetric.Dot ? TensorPrimitives.Dot(query, r.Vector.Span) : TensorPrimitives.CosineSimilarity(query, r.Vector.Span)))
            .OrderByDescending(x => x.Score).Take(10).ToList();
        Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Row.Id));
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(expected[i].Score, hits[i].Score, 4);
            Assert.Equal(i + 1, hits[i].VectorRank);
        }
    }

    [Fact]
    public async Task TermStatistics_AreTheCollectionsCountsForTheQuerysTerms_AndFollowDeletes()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync(
        [
            Rows.Row("a", "The control plane runs here.", 1),
            Rows.Row("b", "A control loop.", 2),
            Rows.Row("c", "Nothing else.", 3),
        ], ct: TestContext.Current.CancellationToken);

        var statistics = new TermStatistics();
        await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "Control PLANE of the zebra", K = 3, Statistics = statistics }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(3, statistics.Rows);
        Assert.Equal(new Dictionary<string, int> { ["control"] = 2, ["plane"] = 1, ["zebra"] = 0 }, statistics.DocumentFrequency); // stop words are no terms
        Assert.Equal(10.0 / 3, statistics.AverageLength, 6); // 5 + 3 + 2 words
        Assert.True(statistics.Idf("zebra") > statistics.Idf("plane") && statistics.Idf("plane") > statistics.Idf("control"));

        await c.DeleteAsync(["a"], ct: TestContext.Current.CancellationToken);
        statistics = new TermStatistics();
        await c.SearchAsync(new SearchRequest { Mode = SearchMode.Hybrid, Text = "control plane", Vector = new float[] { 1, 0, 0, 0, 0, 0, 0, 0 }, K = 3, Statistics = statistics }, ct: TestContext.Current.CancellationToken);
        Assert.Equal((2, 1, 0), (statistics.Rows, statistics.DocumentFrequency["control"], statistics.DocumentFrequency["plane"]));
    }

    [Fact]
    public async Task FullText_RanksByBm25_AndForgetsDeletedRowsAtOnce()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync(
        [
            Rows.Row("a", "The vector store keeps tenants apart.", 1),
            Rows.Row("b", "Kamaji gives every tenant a control plane; control plane per tenant.", 2),
            Rows.Row("c", "Nothing relevant here at all.", 3),
            Rows.Row("d", "A zebra crossing.", 4),
        ], ct: TestContext.Current.CancellationToken);

        var hits = await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "control plane", K = 10 }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(["b"], hits.Select(h => h.Row.Id));
        Assert.Equal(1, hits[0].TextRank);

        Assert.Single(await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "ZEBRA!", K = 10 }, ct: TestContext.Current.CancellationToken));
        await c.DeleteAsync(["d"], ct: TestContext.Current.CancellationToken);
        Assert.Empty(await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "zebra", K = 10 }, ct: TestContext.Current.CancellationToken));
        await c.UpsertAsync([Rows.Row("b", "replaced text without the words", 2)], ct: TestContext.Current.CancellationToken);
        Assert.Empty(await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "kamaji", K = 10 }, ct: TestContext.Current.CancellationToken));
        await store.ReopenAsync();
        var again = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Empty(await again.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "zebra kamaji", K = 10 }, ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task DeleteWhere_RemovesFromVectorAndTextIndexes()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([.. Enumerable.Range(0, 40).Select(i => Rows.Row($"r{i}", $"common word {i}", i, metadata: new() { ["doc"] = $"d{i % 4}" }))], ct: TestContext.Current.CancellationToken);
        Assert.Equal(10, await c.DeleteWhereAsync(Filter.All.Where("doc", "d1"), ct: TestContext.Current.CancellationToken));
        var vector = await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(1), K = 40 }, ct: TestContext.Current.CancellationToken);
        var text = await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "common", K = 40 }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(30, vector.Count);
        Assert.Equal(30, text.Count);
        Assert.DoesNotContain(vector.Concat(text), h => h.Row.Metadata["doc"].AsString == "d1");
    }

    [Fact]
    public async Task Hybrid_FusesBothListsByReciprocalRank()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var rows = Enumerable.Range(0, 30).Select(i => Rows.Row($"r{i}", i % 3 == 0 ? $"alpha beta {i}" : $"gamma {i}", i)).ToList();
        await c.UpsertAsync(rows, ct: TestContext.Current.CancellationToken);
        var q = Rows.Vector(7);
        var request = new SearchRequest { Mode = SearchMode.Hybrid, Vector = q, Text = "alpha", K = 5, CandidatesPerList = 10, RrfK = 60 };

        var hits = await c.SearchAsync(request, ct: TestContext.Current.CancellationToken);

        var dense = await c.SearchAsync(request with { Mode = SearchMode.Vector, K = 10 }, ct: TestContext.Current.CancellationToken);
        var sparse = await c.SearchAsync(request with { Mode = SearchMode.FullText, K = 10 }, ct: TestContext.Current.CancellationToken);
        var expected = dense.Select((h, i) => (h.Row.Id, S: 1.0 / (61 + i)))
            .Concat(sparse.Select((h, i) => (h.Row.Id, S: 1.0 / (61 + i))))
            .GroupBy(x => x.Id).Select(g => (Id: g.Key, S: g.Sum(x => x.S)))
            .OrderByDescending(x => x.S).ThenBy(x => int.Parse(x.Id[1..], System.Globalization.CultureInfo.InvariantCulture)).Take(5).ToList();
        Assert.Equal(expected.Select(e => e.Id), hits.Select(h => h.Row.Id));
        Assert.Equal((float)expected[0].S, hits[0].Score, 5);
    }

    [Fact]
    public async Task Filters_AreTypedAndExact()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await c.UpsertAsync([.. Enumerable.Range(0, 100).Select(i => Rows.Row(
            $"r{i}", $"row {i}", i, i % 10 == 3 ? "u3" : i % 10 == 4 ? "u4" : null,
            new() { ["lang"] = i % 2 == 0 ? "en" : "de", ["year"] = 2000 + i, ["public"] = i % 5 == 0, ["n"] = $"{i}" },
            created: t0.AddDays(i)))], ct: TestContext.Current.CancellationToken);

        async Task<HashSet<string>> Ids(Filter f) =>
            [.. (await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(1), K = 1000, Filter = f })).Select(h => h.Row.Id)];
        HashSet<string> Expect(Func<int, bool> p) => [.. Enumerable.Range(0, 100).Where(p).Select(i => $"r{i}")];

        Assert.Equal(Expect(i => i % 10 == 3), await Ids(Filter.ForUser(UserId.Parse("u3"))));
        Assert.Equal(Expect(i => i % 10 is not (3 or 4)), await Ids(Filter.TenantWide()));
        Assert.Equal(Expect(i => i % 10 is not 4), await Ids(new Filter { Owner = OwnerFilter.UserAndTenantWide(UserId.Parse("u3")) }));
        Assert.Equal(Expect(i => i % 2 == 0), await Ids(Filter.All.Where("lang", "en")));
        Assert.Equal(Expect(i => i is >= 10 and < 20), await Ids(Filter.All.WhereBetween("year", 2010, 2020, maxInclusive: false)));
        Assert.Equal(Expect(i => i is 1 or 7 or 99), await Ids(Filter.All.WhereIn("n", "1", "7", "99", "1000")));
        Assert.Equal(Expect(i => i % 5 == 0 && i % 2 == 0), await Ids(Filter.All.Where("public", true).Where("lang", "en")));
        Assert.Equal(Expect(i => i is >= 5 and < 8), await Ids(Filter.All.CreatedBetween(t0.AddDays(5), t0.AddDays(8))));
        Assert.Empty(await Ids(Filter.All.Where("year", "2010"))); // a string never equals a number
        Assert.Empty(await Ids(Filter.All.Where("missing", "x")));
        Assert.Equal(10, await c.CountAsync(Filter.ForUser(UserId.Parse("u4")), ct: TestContext.Current.CancellationToken));

        var text = await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "row", K = 1000, Filter = Filter.ForUser(UserId.Parse("u3")) }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(Expect(i => i % 10 == 3), [.. text.Select(h => h.Row.Id)]);
    }

    [Fact]
    public async Task InjectionShapedValues_AreOnlyValues()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([Rows.Row("a", "alpha", 1, "u1", new() { ["author"] = "alice" }), Rows.Row("b", "beta", 2, "u2", new() { ["author"] = "bob" })], ct: TestContext.Current.CancellationToken);
        string[] payloads = ["' OR '1'='1", "x' OR tenant_id != '", "\") or true or (\"", "%", "_", "\\", "''", "alice' --", "\u2019 OR 1=1", "\uFF07 OR 1=1", new string('x', 4096)];
        foreach (var p in payloads)
        {
            Assert.Empty(await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(1), K = 10, Filter = Filter.All.Where("author", p) }, ct: TestContext.Current.CancellationToken));
            Assert.Empty(await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(1), K = 10, Filter = Filter.All.WhereIn("author", p, "%") }, ct: TestContext.Current.CancellationToken));
            Assert.Equal(0, await c.DeleteWhereAsync(Filter.All.Where("author", p), ct: TestContext.Current.CancellationToken));
            Assert.Null(await c.GetAsync(p.Length <= 256 ? p : p[..256], ct: TestContext.Current.CancellationToken));
            var text = await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = p, K = 10 }, ct: TestContext.Current.CancellationToken);
            Assert.DoesNotContain(text, h => h.Row.Id == "b" && !p.Contains("beta", StringComparison.Ordinal));
        }

        Assert.Equal(2, await c.CountAsync(ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task BadRequests_AreRejectedClearly()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await Assert.ThrowsAsync<CollectionMismatchException>(() => c.SearchAsync(new SearchRequest { Vector = new float[3] }, ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => c.SearchAsync(new SearchRequest { Vector = Rows.Vector(1), K = 0 }, ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => c.SearchAsync(new SearchRequest { Vector = Rows.Vector(1), K = 5000 }, ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentException>(() => c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText }, ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentException>(() => c.SearchAsync(new SearchRequest { Vector = new float[] { float.NaN, 0, 0, 0, 0, 0, 0, 0 } }, ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ApproximateSearch_AboveThreshold_HasHighRecall_AndSeesNewRows()
    {
        await using var store = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 500 });
        var c = await store.CollectionAsync("acme", TempStore.Spec(32, metric: VectorMetric.Dot));
        var rows = Enumerable.Range(0, 3000).Select(i => Rows.Row($"r{i}", $"row {i}", i, i % 10 == 3 ? "u3" : null, dim: 32)).ToList();
        for (var i = 0; i < rows.Count; i += 500)
        {
            await c.UpsertAsync(rows.GetRange(i, 500), ct: TestContext.Current.CancellationToken);
        }

        await c.WaitForIndexAsync(TestContext.Current.CancellationToken);
        double found = 0, total = 0;
        for (var q = 0; q < 50; q++)
        {
            var query = Rows.Vector(100_000 + q, 32);
            var approx = (await c.SearchAsync(new SearchRequest { Vector = query, K = 10 }, ct: TestContext.Current.CancellationToken)).Select(h => h.Row.Id).ToHashSet();
            var exact = (await c.SearchAsync(new SearchRequest { Vector = query, K = 10, Exact = true }, ct: TestContext.Current.CancellationToken)).Select(h => h.Row.Id);
            found += exact.Count(approx.Contains);
            total += 10;
        }

        Assert.True(found / total >= 0.95, $"recall {found / total}");

        // A row written after the graph was built is found at once (the unindexed tail is scanned exactly).
        var fresh = Rows.Row("fresh", "fresh", 1, dim: 32) with { Vector = Rows.Vector(424242, 32) };
        await c.UpsertAsync([fresh], ct: TestContext.Current.CancellationToken);
        var hit = await c.SearchAsync(new SearchRequest { Vector = fresh.Vector, K = 1 }, ct: TestContext.Current.CancellationToken);
        Assert.Equal("fresh", hit[0].Row.Id);

        // Filtered approximate search returns only matching rows.
        var filtered = await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(5, 32), K = 10, Filter = Filter.ForUser(UserId.Parse("u3")) }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(10, filtered.Count);
        Assert.All(filtered, h => Assert.Equal("u3", h.Row.UserId?.Value));
    }

    [Theory]
    [InlineData(VectorQuantization.None)]
    [InlineData(VectorQuantization.Int8)]
    public async Task AHitsVector_IsASnapshot_ThroughGrowthReplacementAndCompaction(VectorQuantization quantization)
    {
        // Hits and rows share the engine's vectors instead of copying them (a read-only view): what a caller holds must stay
        // the vector it was given while the collection grows, the row is replaced and the collection is compacted.
        var ct = TestContext.Current.CancellationToken;
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(8) with { Quantization = quantization });
        await c.UpsertAsync([Rows.Row("keep", "x", 7)], ct);
        var hit = (await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(7), K = 1 }, ct: ct))[0];
        var row = (await c.GetAsync("keep", ct))!;

        var others = Enumerable.Range(0, 1_100).Select(i => Rows.Row($"r{i}", "y", 1_000 + i)).ToList();
        await c.UpsertAsync(others, ct); // the first block of vectors grows by copying several times
        await c.UpsertAsync([Rows.Row("keep", "x", 8)], ct); // replaced: a new slot, the old one dead
        await c.DeleteAsync([.. others.Select(r => r.Id)], ct); // more dead slots than live ones: compacted

        Assert.Equal(Rows.Vector(7), hit.Row.Vector.ToArray());
        Assert.Equal(Rows.Vector(7), row.Vector.ToArray());
        var now = await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(8), K = 1 }, ct: ct);
        Assert.Equal("keep", now[0].Row.Id);
        Assert.Equal(Rows.Vector(8), now[0].Row.Vector.ToArray());
        Assert.Equal(1, await c.CountAsync(Filter.All, ct));
    }
}
