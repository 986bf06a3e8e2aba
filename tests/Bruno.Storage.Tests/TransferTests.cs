using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>
/// What moving a tenant between store nodes rests on: fencing its writes (refused whole, reads untouched, kept across a
/// restart), copying its files while it is closed, adopting them on an engine with the same master key, and the load a
/// node reports for placement.
/// </summary>
public sealed class TransferTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TenantId Acme = TenantId.Parse("acme");

    [Fact]
    public async Task FencedTenant_RefusesEveryWriteWhole_ServesReads_AndStaysFencedAfterRestart()
    {
        await using var store = new TempStore();
        var chunks = await store.CollectionAsync("acme");
        await chunks.UpsertAsync([Rows.Row("a", "alpha", 1), Rows.Row("b", "bravo", 2, user: "alice")], Ct);

        await store.Engine.FenceAsync(Acme, Ct);
        Assert.True(store.Engine.IsFenced(Acme));
        await Assert.ThrowsAsync<TenantFencedException>(() => chunks.UpsertAsync([Rows.Row("c", "charlie", 3)], Ct));
        await Assert.ThrowsAsync<TenantFencedException>(() => chunks.ReplaceAsync([Rows.Row("d", "delta", 4)], ["a"], Ct));
        await Assert.ThrowsAsync<TenantFencedException>(() => chunks.DeleteAsync(["a"], Ct));
        await Assert.ThrowsAsync<TenantFencedException>(() => chunks.DeleteWhereAsync(Filter.All, Ct));
        await Assert.ThrowsAsync<TenantFencedException>(() => store.Engine.Tenant(Acme).EraseUserAsync(UserId.Parse("alice"), Ct));
        await Assert.ThrowsAsync<TenantFencedException>(() => store.Engine.Tenant(Acme).EnsureCollectionAsync(TempStore.Spec(name: "other"), Ct));

        // nothing of the refused writes is there, and reads go on
        Assert.Equal(["a", "b"], (await chunks.ReadAllAsync(Ct)).Select(r => r.Id).Order(StringComparer.Ordinal));
        Assert.Single(await chunks.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "alpha", K = 5 }, Ct));

        await store.ReopenAsync();
        Assert.True(store.Engine.IsFenced(Acme)); // the marker is on disk: a restart during a move does not lift it
        await Assert.ThrowsAsync<TenantFencedException>(() => store.Engine.Tenant(Acme).Collection("chunks").UpsertAsync([Rows.Row("c", "charlie", 3)], Ct));

        await store.Engine.UnfenceAsync(Acme);
        Assert.Equal(1, await store.Engine.Tenant(Acme).Collection("chunks").UpsertAsync([Rows.Row("c", "charlie", 3)], Ct));
        await store.ReopenAsync();
        Assert.False(store.Engine.IsFenced(Acme));
    }

    [Fact]
    public async Task WritesInFlightWhenFenced_AreEitherAppliedBeforeTheFenceOrRefused_NeverLost()
    {
        await using var store = new TempStore();
        var chunks = await store.CollectionAsync("acme");
        var applied = new System.Collections.Concurrent.ConcurrentBag<string>();
        var refused = new System.Collections.Concurrent.ConcurrentBag<string>();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                var id = $"w{w}-{i}";
                try
                {
                    await chunks.UpsertAsync([Rows.Row(id, "text " + id, i)], Ct);
                    applied.Add(id);
                }
                catch (TenantFencedException)
                {
                    refused.Add(id);
                }
            }
        }, Ct)).ToList();

        while (applied.Count < 20)
        {
            await Task.WhenAny(Task.WhenAll(writers), Task.Delay(5, Ct));
        }

        await store.Engine.FenceAsync(Acme, Ct);
        var atFence = (await chunks.ReadAllAsync(Ct)).Select(r => r.Id).ToHashSet();
        await Task.WhenAll(writers);

        // when FenceAsync returned, every acknowledged write was in; nothing was written after it
        Assert.Equal(atFence, (await chunks.ReadAllAsync(Ct)).Select(r => r.Id).ToHashSet());
        Assert.Equal(applied.ToHashSet(), atFence);
        Assert.NotEmpty(refused);
        Assert.Empty(refused.Intersect(atFence));
    }

    [Fact]
    public async Task Snapshot_AdoptedByAnotherEngineWithTheSameMasterKey_HasEveryRowAndAnswersTheSame()
    {
        var key = MasterKey.Generate();
        await using var source = new TempStore(key: key);
        await using var target = new TempStore(key: key);
        var chunks = await source.CollectionAsync("acme");
        await chunks.UpsertAsync([.. Enumerable.Range(0, 50).Select(i => Rows.Row($"r{i}", $"row {i} about topic {i % 7}", i, user: i % 3 == 0 ? "alice" : null))], Ct);
        var query = new SearchRequest { Mode = SearchMode.Hybrid, Text = "topic 3", Vector = Rows.Vector(3), K = 5 };
        var before = await chunks.SearchAsync(query, Ct);

        await Assert.ThrowsAsync<StorageException>(() => source.Engine.SnapshotAsync(Acme, Ct)); // unfenced: a copy would miss later writes
        await source.Engine.FenceAsync(Acme, Ct);
        var folder = await source.Engine.SnapshotAsync(Acme, Ct);
        var incoming = target.Engine.NewTransferFolder();
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            File.Copy(file, Path.Combine(incoming, Path.GetFileName(file))); // what the gRPC stream carries
        }

        Directory.Delete(folder, recursive: true);
        await target.Engine.AdoptAsync(Acme, incoming, Ct);

        Assert.False(target.Engine.IsFenced(Acme)); // the new owner takes writes
        var moved = target.Engine.Tenant(Acme).Collection("chunks");
        Assert.Equal(50, await moved.CountAsync(ct: Ct));
        Assert.Equal(17, await moved.CountAsync(Filter.ForUser(UserId.Parse("alice")), Ct));
        Assert.Equal(before.Select(h => (h.Row.Id, h.Score)), (await moved.SearchAsync(query, Ct)).Select(h => (h.Row.Id, h.Score)));
        Assert.Equal("ok", await target.Engine.Tenant(Acme).CheckIntegrityAsync(Ct));
        await Assert.ThrowsAsync<TenantAlreadyExistsException>(async () =>
        {
            var again = target.Engine.NewTransferFolder();
            await File.WriteAllBytesAsync(Path.Combine(again, StorageEngine.KeyRingFileName), [1], Ct);
            await target.Engine.AdoptAsync(Acme, again, Ct);
        });

        // the source's copy is erased only while fenced: a copy taking writes is never dropped by mistake
        Assert.True(await source.Engine.EraseIfFencedAsync(Acme));
        Assert.False(source.Engine.TenantExists(Acme));
        Assert.False(await target.Engine.EraseIfFencedAsync(Acme));
        Assert.True(target.Engine.TenantExists(Acme));
    }

    [Fact]
    public async Task Adopt_WithAnotherMasterKey_IsRefused_AndKeepsNothing()
    {
        await using var source = new TempStore();
        await using var stranger = new TempStore(); // its own master key
        var chunks = await source.CollectionAsync("acme");
        await chunks.UpsertAsync([Rows.Row("a", "alpha", 1)], Ct);
        await source.Engine.FenceAsync(Acme, Ct);
        var folder = await source.Engine.SnapshotAsync(Acme, Ct);
        var incoming = stranger.Engine.NewTransferFolder();
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            File.Copy(file, Path.Combine(incoming, Path.GetFileName(file)));
        }

        await Assert.ThrowsAsync<DataUnreadableException>(() => stranger.Engine.AdoptAsync(Acme, incoming, Ct));
        Assert.False(stranger.Engine.TenantExists(Acme));
        Assert.False(Directory.Exists(Path.Combine(stranger.Root, "tenants", "acme")));
        Assert.Equal(1, await chunks.CountAsync(ct: Ct)); // the source still has it, fenced
    }

    [Fact]
    public async Task Adopt_RefusesAFolderItDidNotMake()
    {
        await using var store = new TempStore();
        var elsewhere = Directory.CreateTempSubdirectory("bruno-not-transfer-").FullName;
        try
        {
            await Assert.ThrowsAsync<ArgumentException>(() => store.Engine.AdoptAsync(Acme, elsewhere, Ct));
            await Assert.ThrowsAsync<StorageFormatException>(() => store.Engine.AdoptAsync(Acme, store.Engine.NewTransferFolder(), Ct)); // no key ring
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public async Task Load_CountsTenantsRowsAndBytes_OpenOrClosed()
    {
        await using var store = new TempStore();
        var a = await store.CollectionAsync("acme");
        await a.UpsertAsync([.. Enumerable.Range(0, 30).Select(i => Rows.Row($"r{i}", "x", i))], Ct);
        var b = await store.CollectionAsync("bravo");
        await b.UpsertAsync([.. Enumerable.Range(0, 12).Select(i => Rows.Row($"r{i}", "y", i))], Ct);
        await b.DeleteAsync(["r0", "r1"], Ct);

        var open = store.Engine.Load();
        Assert.Equal((2, 40L), (open.Tenants, open.Rows));
        Assert.True(open.Bytes > 0);

        await store.ReopenAsync(); // both closed: counted in their files, nothing opened
        var closed = store.Engine.Load();
        Assert.Equal((2, 40L, 0), (closed.Tenants, closed.Rows, closed.OpenTenants));
        Assert.Equal(0, store.Engine.OpenTenantCount);
    }
}
