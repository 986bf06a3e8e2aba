using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

public sealed class StoreTests
{
    [Fact]
    public async Task Upsert_ThenGet_ReturnsTheSameRow()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var created = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
        var row = Rows.Row("doc-1#0", "Bruno keeps every tenant apart.", 1, "alice", new() { ["lang"] = "en", ["year"] = 2026, ["at"] = created, ["ok"] = true }, created: created);
        Assert.Equal(1, await c.UpsertAsync([row], ct: TestContext.Current.CancellationToken));

        var got = await c.GetAsync("doc-1#0", ct: TestContext.Current.CancellationToken);
        Assert.NotNull(got);
        Assert.Equal(row.Text, got.Text);
        Assert.Equal(row.Vector.ToArray(), got.Vector.ToArray());
        Assert.Equal(UserId.Parse("alice"), got.UserId);
        Assert.Equal(created, got.CreatedAt);
        Assert.Equal("en", got.Metadata["lang"].AsString);
        Assert.Equal(2026, got.Metadata["year"].AsNumber);
        Assert.Equal(created, got.Metadata["at"].AsTime);
        Assert.True(got.Metadata["ok"].AsBool);
        Assert.Null(await c.GetAsync("missing", ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Writes_SurviveReopen()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([.. Enumerable.Range(0, 50).Select(i => Rows.Row($"r{i}", $"row number {i}", i, i % 2 == 0 ? "u1" : null))], ct: TestContext.Current.CancellationToken);
        await c.DeleteAsync(["r0", "r1"], ct: TestContext.Current.CancellationToken);
        await c.UpsertAsync([Rows.Row("r2", "replaced", 999)], ct: TestContext.Current.CancellationToken);

        await store.ReopenAsync();
        var again = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(48, await again.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Null(await again.GetAsync("r0", ct: TestContext.Current.CancellationToken));
        Assert.Equal("replaced", (await again.GetAsync("r2", ct: TestContext.Current.CancellationToken))!.Text);
        Assert.Null((await again.GetAsync("r2", ct: TestContext.Current.CancellationToken))!.UserId);
        Assert.Equal(Rows.Vector(999), (await again.GetAsync("r2", ct: TestContext.Current.CancellationToken))!.Vector.ToArray());
        Assert.Equal("ok", await store.Engine.Tenant(TenantId.Parse("acme")).CheckIntegrityAsync(ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task CreatedAt_DefaultsToTheClock()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var before = DateTimeOffset.UtcNow;
        await c.UpsertAsync([Rows.Row("r", "text", 1)], ct: TestContext.Current.CancellationToken);
        var got = await c.GetAsync("r", ct: TestContext.Current.CancellationToken);
        Assert.InRange(got!.CreatedAt, before, DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task BadBatch_IsRejectedWhole_AndNothingIsWritten()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await Assert.ThrowsAsync<ArgumentException>(() => c.UpsertAsync([Rows.Row("a", "x", 1), Rows.Row("a", "y", 2)], ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<CollectionMismatchException>(() => c.UpsertAsync([Rows.Row("b", "x", 1), Rows.Row("c", "y", 2, dim: 9)], ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentException>(() => c.UpsertAsync([Rows.Row("d", "x", 1) with { Vector = new float[] { float.NaN, 0, 0, 0, 0, 0, 0, 0 } }], ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<InvalidIdentifierException>(() => c.UpsertAsync([Rows.Row("e", "x", 1, metadata: new() { ["Bad Key"] = 1 })], ct: TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<InvalidIdentifierException>(() => c.UpsertAsync([Rows.Row("f\0", "x", 1)], ct: TestContext.Current.CancellationToken));
        Assert.Equal(0, await c.CountAsync(ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Collection_RecordsDimensionAndModel_AndRefusesAnother()
    {
        await using var store = new TempStore();
        await store.CollectionAsync("acme", new CollectionSpec("chunks", 8, "minilm"));
        var tenant = store.Engine.Tenant(TenantId.Parse("acme"));
        await tenant.EnsureCollectionAsync(new CollectionSpec("chunks", 8, "minilm"), ct: TestContext.Current.CancellationToken);
        var e = await Assert.ThrowsAsync<CollectionMismatchException>(() => tenant.EnsureCollectionAsync(new CollectionSpec("chunks", 768, "nomic-embed-text"), ct: TestContext.Current.CancellationToken));
        Assert.Contains("minilm", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<CollectionNotFoundException>(() => tenant.Collection("nope").CountAsync(ct: TestContext.Current.CancellationToken));
        await store.ReopenAsync();
        var specs = await store.Engine.Tenant(TenantId.Parse("acme")).ListCollectionsAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal([new CollectionSpec("chunks", 8, "minilm")], specs);
    }

    [Fact]
    public async Task UnknownTenant_IsNotFound_AndCreateTwiceFails()
    {
        await using var store = new TempStore();
        await Assert.ThrowsAsync<TenantNotFoundException>(() => store.Engine.Tenant(TenantId.Parse("ghost")).ListCollectionsAsync(TestContext.Current.CancellationToken));
        Assert.False(Directory.Exists(Path.Combine(store.Root, "tenants", "ghost")));
        await store.Engine.CreateTenantAsync(TenantId.Parse("acme"), ct: TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<TenantAlreadyExistsException>(() => store.Engine.CreateTenantAsync(TenantId.Parse("acme"), ct: TestContext.Current.CancellationToken));
        Assert.Equal([TenantId.Parse("acme")], store.Engine.ListTenants());
    }

    [Fact]
    public async Task Layout_TenantFolderIsOwnerOnly_AndHoldsTheStore()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([Rows.Row("r", "text", 1)], ct: TestContext.Current.CancellationToken);
        var folder = Path.Combine(store.Root, "tenants", "acme");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        Assert.True(File.Exists(Path.Combine(folder, "store.db")));
        foreach (var file in Directory.EnumerateFiles(store.Root, "*", SearchOption.AllDirectories))
        {
            Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(file) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
        }

        var stats = await store.Engine.Tenant(TenantId.Parse("acme")).GetStatsAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal(1, stats.Rows);
        Assert.True(stats.BytesOnDisk > 0);

        // Commits go to the write-ahead log (decision 0040), whose index stays in memory (exclusive locking: no -shm
        // file); closing copies the log into the store and removes it.
        Assert.True(File.Exists(Path.Combine(folder, "store.db-wal")));
        Assert.False(File.Exists(Path.Combine(folder, "store.db-shm")));
        await store.ReopenAsync();
        Assert.False(File.Exists(Path.Combine(folder, "store.db-wal")));
        Assert.Equal(1, (await store.Engine.Tenant(TenantId.Parse("acme")).GetStatsAsync(ct: TestContext.Current.CancellationToken)).Rows);
    }

    [Fact]
    public async Task ALargeBatch_CommitsThroughTheRollbackJournal_AndSmallWritesThroughTheLog()
    {
        // Decision 0040: a batch of 256 rows or more is written once (rollback journal), a small write appends to the log.
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var folder = Path.Combine(store.Root, "tenants", "acme");
        var wal = Path.Combine(folder, "store.db-wal");
        await c.UpsertAsync([Rows.Row("first", "a small write", 1)], ct: TestContext.Current.CancellationToken);
        Assert.True(File.Exists(wal));

        await c.UpsertAsync([.. Enumerable.Range(0, 300).Select(i => Rows.Row($"bulk-{i}", $"bulk row {i}", i))], ct: TestContext.Current.CancellationToken);
        Assert.False(File.Exists(wal)); // the log was copied into the file and removed before the large batch
        Assert.True(File.Exists(Path.Combine(folder, "store.db-journal"))); // TRUNCATE: the journal stays, empty
        Assert.Equal(0, new FileInfo(Path.Combine(folder, "store.db-journal")).Length);

        await c.DeleteAsync(["bulk-7"], ct: TestContext.Current.CancellationToken);
        await c.UpsertAsync([Rows.Row("last", "another small write", 2)], ct: TestContext.Current.CancellationToken);
        Assert.True(File.Exists(wal));

        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(301, await c.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.NotNull(await c.GetAsync("last", ct: TestContext.Current.CancellationToken));
        Assert.Null(await c.GetAsync("bulk-7", ct: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SymlinkedTenantFolder_IsRefused()
    {
        await using var store = new TempStore();
        await store.CollectionAsync("victim");
        await store.CollectionAsync("attacker");
        await store.CloseAsync();
        var attacker = Path.Combine(store.Root, "tenants", "attacker");
        Directory.Delete(attacker, recursive: true);
        Directory.CreateSymbolicLink(attacker, Path.Combine(store.Root, "tenants", "victim"));
        await using var again = new TempStore(root: store.Root, key: store.Key);
        await Assert.ThrowsAsync<StorageException>(() => again.Engine.Tenant(TenantId.Parse("attacker")).ListCollectionsAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ManyTenants_OnlyTheMostRecentStayOpen()
    {
        await using var store = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, MaxOpenTenants = 2 });
        for (var i = 0; i < 6; i++)
        {
            var c = await store.CollectionAsync($"t{i}");
            await c.UpsertAsync([Rows.Row("r", $"row of t{i}", i)], ct: TestContext.Current.CancellationToken);
            Assert.InRange(store.Engine.OpenTenantCount, 1, 2);
        }

        for (var i = 0; i < 6; i++)
        {
            var got = await store.Engine.Tenant(TenantId.Parse($"t{i}")).Collection("chunks").GetAsync("r", ct: TestContext.Current.CancellationToken);
            Assert.Equal($"row of t{i}", got!.Text);
            Assert.InRange(store.Engine.OpenTenantCount, 1, 2);
        }
    }

    [Fact]
    public async Task ConcurrentWritersAndReaders_OnOneTenant_LoseNothing()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var writers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await c.UpsertAsync([Rows.Row($"w{w}-{i}", $"writer {w} row {i}", (w * 1000) + i, $"u{w % 4}")]);
            }
        }));
        var deleters = Enumerable.Range(0, 4).Select(d => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await c.UpsertAsync([Rows.Row($"tmp{d}-{i}", "temporary", i)]);
                Assert.Equal(1, await c.DeleteAsync([$"tmp{d}-{i}"]));
            }
        }));
        var readers = Enumerable.Range(0, 4).Select(r => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                var hits = await c.SearchAsync(new SearchRequest { Mode = SearchMode.Hybrid, Vector = Rows.Vector(i), Text = "writer row", K = 5 });
                Assert.All(hits, h => Assert.Equal(h.Row.Id.StartsWith("tmp", StringComparison.Ordinal), h.Row.Text == "temporary"));
            }
        }));
        await Task.WhenAll([.. writers, .. deleters, .. readers]);
        Assert.Equal(800, await c.CountAsync(ct: TestContext.Current.CancellationToken));
        await store.ReopenAsync();
        Assert.Equal(800, await store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks").CountAsync(ct: TestContext.Current.CancellationToken));
    }
}
