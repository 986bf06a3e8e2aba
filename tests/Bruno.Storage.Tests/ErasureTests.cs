using System.Security.Cryptography;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

public sealed class ErasureTests
{
    private static string Canary() => "canary-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from).Where(f => Path.GetFileName(f) != "owner.lock"))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }

    [Fact]
    public async Task TenantErasure_MakesAnEarlierCopyOfItsFolderUnreadable()
    {
        await using var store = new TempStore();
        var canary = Canary();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([Rows.Row("r1", $"secret {canary}", 1), Rows.Row("r2", $"user secret {canary}", 2, "alice")], ct: TestContext.Current.CancellationToken);
        var backup = Path.Combine(store.Root, "backup-acme");
        CopyFolder(Path.Combine(store.Root, "tenants", "acme"), backup); // a backup taken while open: files as they are on disk

        Assert.True(await store.Engine.DeleteTenantAsync(TenantId.Parse("acme")));
        Assert.False(Directory.Exists(Path.Combine(store.Root, "tenants", "acme")));
        Assert.False(store.Engine.TenantExists(TenantId.Parse("acme")));
        await Assert.ThrowsAsync<TenantNotFoundException>(() => c.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Empty(store.FilesContaining(canary));

        // Restore the backup: with the key gone there is nothing that opens it.
        CopyFolder(backup, Path.Combine(store.Root, "tenants", "acme"));
        await Assert.ThrowsAsync<TenantNotFoundException>(() => store.Engine.Tenant(TenantId.Parse("acme")).ListCollectionsAsync(TestContext.Current.CancellationToken));

        // Even a new tenant of the same name (a new key) cannot read the old folder.
        await store.Engine.CreateTenantAsync(TenantId.Parse("acme"), ct: TestContext.Current.CancellationToken);
        await store.CloseAsync();
        var folder = Path.Combine(store.Root, "tenants", "acme");
        Directory.Delete(folder, recursive: true);
        CopyFolder(backup, folder);
        await using var again = new TempStore(root: store.Root, key: store.Key);
        await Assert.ThrowsAsync<DataUnreadableException>(() => again.Engine.Tenant(TenantId.Parse("acme")).ListCollectionsAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task UserErasure_RemovesTheUser_AndAnEarlierCopyNoLongerYieldsTheirRows()
    {
        await using var store = new TempStore();
        var aliceCanary = Canary();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync(
        [
            Rows.Row("shared", "tenant knowledge", 1),
            Rows.Row("a1", $"alice says {aliceCanary}", 2, "alice"),
            Rows.Row("a2", $"alice again {aliceCanary}", 3, "alice"),
            Rows.Row("b1", "bob says hi", 4, "bob"),
        ], ct: TestContext.Current.CancellationToken);
        var folder = Path.Combine(store.Root, "tenants", "acme");
        await store.CloseAsync();
        var backup = Path.Combine(store.Root, "backup-acme");
        CopyFolder(folder, backup);
        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");

        Assert.Equal(2, await store.Engine.Tenant(TenantId.Parse("acme")).EraseUserAsync(UserId.Parse("alice"), ct: TestContext.Current.CancellationToken));
        Assert.Null(await c.GetAsync("a1", ct: TestContext.Current.CancellationToken));
        Assert.Equal(0, await c.CountAsync(Filter.ForUser(UserId.Parse("alice")), ct: TestContext.Current.CancellationToken));
        Assert.Empty(await c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = aliceCanary, K = 10 }, ct: TestContext.Current.CancellationToken));
        Assert.Equal(2, await c.CountAsync(ct: TestContext.Current.CancellationToken));

        // Writing for the user again starts a new key; the old rows stay gone.
        await c.UpsertAsync([Rows.Row("a3", "alice is back", 5, "alice")], ct: TestContext.Current.CancellationToken);
        await store.CloseAsync();

        // Put the pre-erasure copy back: alice's old rows are under a destroyed key and are purged on open.
        Directory.Delete(folder, recursive: true);
        CopyFolder(backup, folder);
        await using var again = new TempStore(root: store.Root, key: store.Key);
        var restored = again.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        var ids = (await restored.ReadAllAsync(ct: TestContext.Current.CancellationToken)).Select(r => r.Id).Order().ToList();
        Assert.Equal(["b1", "shared"], ids);
        Assert.DoesNotContain(again.FilesContaining(aliceCanary), p => !p.Contains("backup", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UserErasure_IsolatesOtherTenantsUsersOfTheSameName()
    {
        await using var store = new TempStore();
        var a = await store.CollectionAsync("alpha");
        var b = await store.CollectionAsync("bravo");
        await a.UpsertAsync([Rows.Row("r", "alpha alice", 1, "alice")], ct: TestContext.Current.CancellationToken);
        await b.UpsertAsync([Rows.Row("r", "bravo alice", 1, "alice")], ct: TestContext.Current.CancellationToken);
        await store.Engine.Tenant(TenantId.Parse("alpha")).EraseUserAsync(UserId.Parse("alice"), ct: TestContext.Current.CancellationToken);
        Assert.Equal(0, await a.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Equal("bravo alice", (await b.GetAsync("r", ct: TestContext.Current.CancellationToken))!.Text);
    }
}
