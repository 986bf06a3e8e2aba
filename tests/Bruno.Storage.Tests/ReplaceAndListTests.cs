using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

public sealed class ReplaceAndListTests
{
    [Fact]
    public async Task Replace_UpsertsAndDeletesInOneStep_AndSurvivesReopen()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([.. Enumerable.Range(0, 5).Select(i => Rows.Row($"doc1:{i}", $"old part {i} zebra", i))], ct: TestContext.Current.CancellationToken);

        // a shorter version of the document: two chunks replace five
        Assert.Equal(2, await c.ReplaceAsync([Rows.Row("doc1:0", "new part 0", 10), Rows.Row("doc1:1", "new part 1", 11)], ["doc1:0", "doc1:2", "doc1:3", "doc1:4"], ct: TestContext.Current.CancellationToken));
        Assert.Equal(2, await c.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Equal("new part 0", (await c.GetAsync("doc1:0", ct: TestContext.Current.CancellationToken))!.Text);
        Assert.Empty(await c.SearchAsync(new SearchRequest { Text = "zebra", Mode = SearchMode.FullText }, ct: TestContext.Current.CancellationToken));

        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(["doc1:0", "doc1:1"], (await c.ReadAllAsync(ct: TestContext.Current.CancellationToken)).Select(r => r.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Replace_WhoseCommitFails_ChangesNothing()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([.. Enumerable.Range(0, 300).Select(i => Rows.Row($"d:{i}", $"old {i}", i))], ct: TestContext.Current.CancellationToken);
        var storeFile = Path.Combine(store.Root, "tenants", "acme", "store.db");
        Format.TenantDatabase.FailCommit = path => path == storeFile;
        try
        {
            await Assert.ThrowsAnyAsync<StorageException>(() => c.ReplaceAsync(
                [.. Enumerable.Range(0, 280).Select(i => Rows.Row($"d:{i}", $"new {i}", i + 1000))],
                [.. Enumerable.Range(280, 20).Select(i => $"d:{i}")], ct: TestContext.Current.CancellationToken));
        }
        finally
        {
            Format.TenantDatabase.FailCommit = null;
        }

        Assert.Equal(300, await c.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Equal("old 0", (await c.GetAsync("d:0", ct: TestContext.Current.CancellationToken))!.Text);
        Assert.Equal("old 299", (await c.GetAsync("d:299", ct: TestContext.Current.CancellationToken))!.Text);
    }

    [Fact]
    public async Task List_PagesInIdOrder_WithTheFilterApplied()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([.. Enumerable.Range(0, 25).Select(i => Rows.Row($"r{i:D2}", "t", i, metadata: new() { ["kind"] = i % 5 == 0 ? "document" : "chunk" }))], ct: TestContext.Current.CancellationToken);
        var filter = Filter.All.Where("kind", "chunk");

        var seen = new List<string>();
        string? after = null;
        while (true)
        {
            var page = await c.ListAsync(filter, after, 7, ct: TestContext.Current.CancellationToken);
            if (page.Count == 0)
            {
                break;
            }

            Assert.True(page.Count <= 7);
            seen.AddRange(page.Select(r => r.Id));
            after = page[^1].Id;
        }

        Assert.Equal(Enumerable.Range(0, 25).Where(i => i % 5 != 0).Select(i => $"r{i:D2}"), seen);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => c.ListAsync(filter, null, 0, ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<InvalidIdentifierException>(() => c.ListAsync(filter, "../x\0", 5, ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Latest_ReturnsTheNewestOfTheFilteredOwner_NewestFirst()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        // created times out of insertion order, two users, two sessions
        int[] minutes = [5, 1, 9, 3, 7, 2, 8, 0, 6, 4];
        await c.UpsertAsync([.. minutes.Select((m, i) => Rows.Row($"t{i}", $"turn {m}", i, user: "ann", metadata: new() { ["session"] = i % 2 == 0 ? "a" : "b" }, created: t0.AddMinutes(m)))], ct: TestContext.Current.CancellationToken);
        await c.UpsertAsync([Rows.Row("bob-newest", "bob", 99, user: "bob", metadata: new() { ["session"] = "a" }, created: t0.AddMinutes(60))], ct: TestContext.Current.CancellationToken);

        var latest = await c.LatestAsync(Filter.ForUser(UserId.Parse("ann")).Where("session", "a"), 3, ct: TestContext.Current.CancellationToken);
        Assert.Equal(["turn 9", "turn 8", "turn 7"], latest.Select(r => r.Text)); // session a: minutes 5, 9, 7, 8, 6

        var all = await c.LatestAsync(Filter.ForUser(UserId.Parse("ann")), 1_000, ct: TestContext.Current.CancellationToken);
        Assert.Equal(10, all.Count);
        Assert.DoesNotContain(all, r => r.UserId == UserId.Parse("bob"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => c.LatestAsync(Filter.All, 0, ct: TestContext.Current.CancellationToken));
    }
}
