using System.Buffers;
using Bruno.Storage.Format;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>Rows live in sealed segments (one owner, one collection each): what that must not change, and what it must do.</summary>
public sealed class SegmentTests
{
    private static readonly string[] Words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];

    private static StoredRow Doc(int i, string? user) =>
        Rows.Row($"d{i}", $"{Words[i % 10]} {Words[(i * 3) % 10]} {Words[(i * 7) % 10]} note {i}", 1000 + i, user);

    private static async Task<List<string>> Ranked(TenantCollection c, SearchMode mode, string text, int seed, Filter? filter = null)
    {
        var hits = await c.SearchAsync(new SearchRequest { Vector = Rows.Vector(seed), Text = text, K = 10, Mode = mode, Filter = filter ?? Filter.All });
        return [.. hits.Select(h => $"{h.Row.Id}:{h.Score:F5}")];
    }

    private static async Task<List<string>> AllSearches(TenantCollection c)
    {
        var results = new List<string>();
        foreach (var mode in new[] { SearchMode.Vector, SearchMode.FullText, SearchMode.Hybrid })
        {
            for (var q = 0; q < 5; q++)
            {
                results.AddRange(await Ranked(c, mode, $"{Words[q]} {Words[q + 3]}", q));
                results.AddRange(await Ranked(c, mode, Words[q], q, Filter.ForUser(UserId.Parse("alice"))));
            }
        }

        return results;
    }

    private static long Segments(TempStore store, string tenant)
    {
        using var db = EncryptionTests.Sqlite(store, tenant);
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM segments";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public async Task Searches_GiveTheSameAnswers_AfterReopen()
    {
        // The BM25 postings are rebuilt at open from the terms stored in each segment, not by tokenising again: every
        // ranking and score must come back identical, after replacements and deletes too.
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([.. Enumerable.Range(0, 120).Select(i => Doc(i, (i % 3) switch { 0 => null, 1 => "alice", _ => "bob" }))], ct: TestContext.Current.CancellationToken);
        await c.UpsertAsync([Rows.Row("d5", "replaced text about hotel hotel", 5, "alice"), Rows.Row("d6", "juliet alone", 6)], ct: TestContext.Current.CancellationToken);
        await c.DeleteAsync(["d7", "d8", "d30"], ct: TestContext.Current.CancellationToken);
        var before = await AllSearches(c);
        Assert.Contains(before, h => h.StartsWith("d5:", StringComparison.Ordinal));

        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(117, await c.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Equal(before, await AllSearches(c));
        Assert.Null(await c.GetAsync("d7", ct: TestContext.Current.CancellationToken));
        Assert.Equal("replaced text about hotel hotel", (await c.GetAsync("d5", ct: TestContext.Current.CancellationToken))!.Text);
    }

    [Fact]
    public async Task WritesAndSearches_RightAfterAnOpen_SeeTheTextIndexBuiltAfterIt()
    {
        // Above 512 rows the BM25 index is built on another thread after the open returns (vector searches do not wait
        // for it; text searches and writes do). The same writes made right after a reopen must leave every ranking and
        // score as they are on a store that never closed.
        var ct = TestContext.Current.CancellationToken;
        async Task<TenantCollection> Ingest(TempStore store)
        {
            var c = await store.CollectionAsync("acme");
            await c.UpsertAsync([.. Enumerable.Range(0, 1500).Select(i => Doc(i, (i % 3) switch { 0 => null, 1 => "alice", _ => "bob" }))], ct: ct);
            await c.DeleteAsync(["d7", "d300"], ct: ct);
            return c;
        }

        async Task Change(TenantCollection c)
        {
            var vector = c.SearchAsync(new SearchRequest { Vector = Rows.Vector(3), K = 5, Mode = SearchMode.Vector }, ct);
            var writes = Task.WhenAll(
                c.UpsertAsync([Rows.Row("d5", "replaced text about hotel hotel", 5, "alice"), Rows.Row("new1", "juliet alone india", 6)], ct: ct),
                c.DeleteAsync(["d8", "d9", "d1200"], ct: ct));
            var text = c.SearchAsync(new SearchRequest { Text = "hotel india", K = 10, Mode = SearchMode.FullText }, ct);
            Assert.Equal(5, (await vector).Count);
            Assert.Equal(10, (await text).Count);
            await writes;
        }

        await using var reference = new TempStore();
        var r = await Ingest(reference);
        await Change(r);
        var expected = await AllSearches(r);

        await using var store = new TempStore();
        await Ingest(store);
        await store.ReopenAsync();
        var c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        await Change(c);
        Assert.Equal(expected, await AllSearches(c));
        Assert.Equal(1496, await c.CountAsync(ct: ct)); // 1,500 - 2 deleted + 1 new - 3 deleted
    }

    [Fact]
    public async Task TextSearches_BeforeTheIndexIsBuilt_ReadTheSegments_AndScoreAsTheIndexDoes_ToTheBit()
    {
        // Above 512 rows a reopened tenant builds its BM25 index after the open, and a text search meanwhile reads the
        // load's term blocks for its own terms. With the build held, every text and hybrid search must give the hits,
        // order, scores (to the bit) and term statistics of a store that never closed, and say where it read them.
        var ct = TestContext.Current.CancellationToken;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var store = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, TextBuildGate = gate.Task });
        try
        {
            await HeldAndAfter(store, gate, ct);
        }
        finally
        {
            gate.TrySetResult(); // a failed assertion must not leave the builder waiting while the store closes
        }
    }

    private static async Task HeldAndAfter(TempStore store, TaskCompletionSource gate, CancellationToken ct)
    {
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([.. Enumerable.Range(0, 1500).Select(i => Doc(i, (i % 3) switch { 0 => null, 1 => "alice", _ => "bob" }))], ct: ct);
        await c.UpsertAsync([Rows.Row("d5", "replaced text about hotel hotel hotel", 5, "alice")], ct: ct);
        await c.DeleteAsync(["d7", "d300", "d1001"], ct: ct);

        async Task<List<string>> Exactly(TenantCollection collection)
        {
            var results = new List<string>();
            string[] queries = ["hotel india", "hotel hotel india", "alpha", "note 5", "zulu", "juliet bravo golf delta", "the"];
            foreach (var mode in new[] { SearchMode.FullText, SearchMode.Hybrid })
            {
                for (var q = 0; q < queries.Length; q++)
                {
                    foreach (var filter in new[] { Filter.All, Filter.ForUser(UserId.Parse("alice")), Filter.TenantWide() })
                    {
                        var statistics = new TermStatistics();
                        var hits = await collection.SearchAsync(new SearchRequest { Vector = Rows.Vector(q), Text = queries[q], K = 10, Mode = mode, Filter = filter, Statistics = statistics }, ct);
                        results.Add($"{mode} '{queries[q]}': " + string.Join(' ', hits.Select(h => $"{h.Row.Id}:{BitConverter.SingleToInt32Bits(h.Score)}:{h.VectorRank}:{h.TextRank}"))
                            + $" | {statistics.Rows} {statistics.AverageLength:R} " + string.Join(',', statistics.DocumentFrequency.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
                    }
                }
            }

            return results;
        }

        var expected = await Exactly(c);
        Assert.Contains(expected, r => r.Contains("d5:", StringComparison.Ordinal));
        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");

        using var recorder = new SpanRecorder();
        var spans = recorder.Spans;
        List<string> held;
        using (var root = recorder.Root())
        {
            held = await Exactly(c);
            var keyword = spans.Where(s => s.DisplayName == "keyword_search" && s.TraceId == root.TraceId).ToList();
            Assert.NotEmpty(keyword);
            Assert.All(keyword, s => Assert.Equal(true, s.GetTagItem("bruno.search.from_segments")));
        }

        Assert.Equal(expected, held);
        gate.SetResult();
        await c.UpsertAsync([Rows.Row("w1", "hotel india juliet", 9)], ct: ct); // writes wait for the index, then go on
        await c.DeleteAsync(["w1"], ct: ct);
        Assert.Equal(expected, await Exactly(c)); // from the index now
    }

    [Fact]
    public async Task DeletingARow_LeavesNoCopyOfItsOldSegmentInTheStore()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([.. Enumerable.Range(0, 5).Select(i => Doc(i, "alice"))], ct: TestContext.Current.CancellationToken);
        await store.CloseAsync();
        byte[] sealedBefore;
        using (var db = EncryptionTests.Sqlite(store, "acme"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT payload FROM segments";
            sealedBefore = (byte[])cmd.ExecuteScalar()!;
        }

        await using var again = new TempStore(root: store.Root, key: store.Key);
        c = again.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(1, await c.DeleteAsync(["d2"], ct: TestContext.Current.CancellationToken));

        // The segment was sealed again without the row, under a new nonce: no 32-byte window of the old blob is left
        // in any file of the tenant, while it is open and after it closed (secure_delete zeroes the freed pages; a
        // commit that removes rows copies the write-ahead log into the file and empties it, decision 0040).
        var probes = Enumerable.Range(0, 8).Select(k => sealedBefore.AsSpan(13 + (k * (sealedBefore.Length - 64) / 8), 32).ToArray()).ToList();
        foreach (var phase in new[] { "open", "closed" })
        {
            foreach (var (path, bytes) in again.RawFiles())
            {
                Assert.All(probes, p => Assert.True(bytes.AsSpan().IndexOf(p) < 0, $"{phase}: {path} still holds bytes of the deleted row's old segment"));
            }

            await again.CloseAsync();
        }

        await using var third = new TempStore(root: store.Root, key: store.Key);
        c = third.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(["d0", "d1", "d3", "d4"], (await c.ReadAllAsync(ct: TestContext.Current.CancellationToken)).Select(r => r.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task RowByRowWrites_AreMergedIntoFewSegments_WithoutChangingAnything()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        for (var i = 0; i < 100; i++)
        {
            await c.UpsertAsync([Doc(i, "alice")], ct: TestContext.Current.CancellationToken);
        }

        await c.UpsertAsync([Doc(100, "bob")], ct: TestContext.Current.CancellationToken);
        await c.DeleteAsync(["d3"], ct: TestContext.Current.CancellationToken);
        var before = await AllSearches(c);
        await store.CloseAsync();
        // An owner's small segments are merged once it has 16 of them: never more than that, plus the merged ones.
        var segments = Segments(store, "acme");
        Assert.True(segments <= 20, $"{segments} segments for 101 rows written one by one");

        await using var again = new TempStore(root: store.Root, key: store.Key);
        c = again.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(100, await c.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Equal(before, await AllSearches(c));
        Assert.Equal(99, await c.CountAsync(Filter.ForUser(UserId.Parse("alice")), ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ABatchOverTheLimit_IsRefused_AndNothingIsWritten()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var rows = Enumerable.Range(0, TenantCollection.MaxBatchRows + 1).Select(i => Rows.Row($"r{i}", "x", i)).ToList();
        var e = await Assert.ThrowsAsync<ArgumentException>(() => c.UpsertAsync(rows, ct: TestContext.Current.CancellationToken));
        Assert.Contains("at most", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, await c.CountAsync(ct: TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(2)] // committed, then applied to memory
    [InlineData(300)] // applied to memory while the commit runs, taken back when it fails
    public async Task FailedCommit_LeavesNothingVisible_AndTheTenantKeepsWorking(int size)
    {
        // Nothing of a write whose commit fails is ever seen, whether memory was changed after the commit or while it
        // ran, and the next writes work.
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var existing = Math.Max(30, size);
        await c.UpsertAsync([.. Enumerable.Range(0, existing).Select(i => Doc(i, i % 2 == 0 ? "alice" : null))], ct: TestContext.Current.CancellationToken);
        var before = await AllSearches(c);
        List<StoredRow> Changes() =>
            [.. Enumerable.Range(0, size).Select(i => i % 2 == 0
                ? Rows.Row($"d{i}", $"changed {Words[i % 10]} alpha", 8 + i, "alice")
                : Rows.Row($"new{i}", "alpha bravo charlie", 7 + i, i % 4 == 1 ? "alice" : null))];
        var storeFile = Path.Combine(store.Root, "tenants", "acme", "store.db");
        var failing = true;
        Format.TenantDatabase.FailCommit = path => failing && path == storeFile;
        try
        {
            await Assert.ThrowsAnyAsync<StorageException>(() => c.UpsertAsync(Changes(), ct: TestContext.Current.CancellationToken));
            await Assert.ThrowsAnyAsync<StorageException>(() => c.DeleteAsync([.. Enumerable.Range(0, size).Select(i => $"d{i}")], ct: TestContext.Current.CancellationToken));
            Assert.Equal(existing, await c.CountAsync(ct: TestContext.Current.CancellationToken));
            Assert.Null(await c.GetAsync("new1", ct: TestContext.Current.CancellationToken));
            Assert.DoesNotContain("changed", (await c.GetAsync("d0", ct: TestContext.Current.CancellationToken))!.Text, StringComparison.Ordinal);
            Assert.Equal(before, await AllSearches(c));
        }
        finally
        {
            failing = false;
            Format.TenantDatabase.FailCommit = null;
        }

        Assert.Equal(size, await c.UpsertAsync(Changes(), ct: TestContext.Current.CancellationToken));
        Assert.Equal(1, await c.DeleteAsync(["d1"], ct: TestContext.Current.CancellationToken));
        var hits = await c.SearchAsync(new SearchRequest { Text = "changed", K = 10, Mode = SearchMode.FullText }, ct: TestContext.Current.CancellationToken);
        Assert.Equal(Math.Min(10, (size + 1) / 2), hits.Count);
        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(existing + (size / 2) - 1, await c.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.StartsWith("changed", (await c.GetAsync("d0", ct: TestContext.Current.CancellationToken))!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void SegmentReader_RefusesMalformedBytes()
    {
        var writer = new SegmentWriter();
        writer.Start();
        writer.Add(Rows.Row("a", "hello world", 1), 1, Rows.Vector(1), 0, [("hello", 1), ("world", 1)], 2);
        var good = writer.Finish().ToArray();
        var reader = new SegmentReader(good);
        Assert.True(reader.NextRow(out var row));
        Assert.Equal("a", RowCodec.ReadId(row));

        byte[][] bad =
        [
            good[..4],                                   // truncated header
            [.. good[..^1]],                             // truncated term block
            [.. good, 0],                                // trailing byte
            [3, .. good[1..]],                           // unknown version
            [.. good[..5], 0, 0, 0, 0, 0, 0, 0, 0, .. good[13..]], // ordinal 0
        ];
        foreach (var bytes in bad)
        {
            Assert.Throws<StorageFormatException>(() => ReadAll(bytes));
        }

        var bigCount = good.ToArray();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bigCount.AsSpan(1), 1000);
        Assert.Throws<StorageFormatException>(() => ReadAll(bigCount));
    }

    private static void ReadAll(byte[] bytes)
    {
        var reader = new SegmentReader(bytes);
        var rows = 0;
        while (reader.NextRow(out _))
        {
            rows++;
        }

        while (reader.NextTerm(out _))
        {
        }

        for (var r = 0; r < rows; r++)
        {
            reader.NextNumber();
            var n = reader.NextNumber();
            for (var j = 0; j < 2 * n; j++)
            {
                reader.NextNumber();
            }
        }

        reader.End();
    }
}
