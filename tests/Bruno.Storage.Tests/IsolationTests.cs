using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

public sealed class IsolationTests
{
    [Fact]
    public async Task TenantsWithTheSameIds_NeverSeeEachOther()
    {
        await using var store = new TempStore();
        var a = await store.CollectionAsync("alpha");
        var b = await store.CollectionAsync("bravo");
        await a.UpsertAsync([.. Enumerable.Range(0, 20).Select(i => Rows.Row($"r{i}", $"alpha secret {i}", i, "u1"))], ct: TestContext.Current.CancellationToken);
        await b.UpsertAsync([Rows.Row("r0", "bravo own row", 0, "u1")], ct: TestContext.Current.CancellationToken);

        var searches = new[]
        {
            new SearchRequest { Vector = Rows.Vector(3), K = 100 },
            new SearchRequest { Mode = SearchMode.FullText, Text = "alpha secret", K = 100 },
            new SearchRequest { Mode = SearchMode.Hybrid, Vector = Rows.Vector(3), Text = "alpha secret", K = 100, Filter = Filter.ForUser(UserId.Parse("u1")) },
        };
        foreach (var s in searches)
        {
            Assert.All(await b.SearchAsync(s, ct: TestContext.Current.CancellationToken), h => Assert.DoesNotContain("alpha", h.Row.Text, StringComparison.Ordinal));
        }

        Assert.Equal("bravo own row", (await b.GetAsync("r0", ct: TestContext.Current.CancellationToken))!.Text);
        Assert.Null(await b.GetAsync("r5", ct: TestContext.Current.CancellationToken));
        Assert.Equal(1, await b.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Equal(0, await b.DeleteAsync(["r5", "r6"], ct: TestContext.Current.CancellationToken));
        Assert.Equal(20, await a.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(store.Root, "tenants"))); // nothing of a tenant outside its folder
    }

    [Fact]
    public async Task SecondEngine_OnTheSameRoot_GetsAClearLockError()
    {
        await using var first = new TempStore();
        await (await first.CollectionAsync("acme")).UpsertAsync([Rows.Row("r", "x", 1)], ct: TestContext.Current.CancellationToken);
        await using var second = new TempStore(root: first.Root, key: first.Key);
        var e = await Assert.ThrowsAsync<TenantLockedException>(() => second.Engine.Tenant(TenantId.Parse("acme")).ListCollectionsAsync(TestContext.Current.CancellationToken));
        Assert.Contains("another process", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, await first.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks").CountAsync(ct: TestContext.Current.CancellationToken));
    }
}
