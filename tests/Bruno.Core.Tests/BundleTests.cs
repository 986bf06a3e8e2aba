using System.Runtime.InteropServices;
using Bruno.Core.Portability;
using Bruno.Core.Retrieval;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Bruno.Testing;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>
/// Tenant bundles on the real store and catalog, between two installations (own folders, own master keys): any
/// collection travels exactly, whatever its name; an import that fails halfway, or is cut by a crash, leaves nothing.
/// </summary>
public sealed class BundleTests : IAsyncDisposable
{
    private const string Passphrase = "a passphrase for tests";
    private static readonly TenantId Acme = TenantId.Parse("acme");
    private static readonly float[] Ones = [1f, 1f, 1f];
    private static readonly float[] Ones8 = [1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f];
    private readonly List<Installation> _installations = [];

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    [Fact]
    public async Task EveryCollectionTravelsExactly_WhateverItsName()
    {
        var source = Start();
        await source.Tenants.CreateAsync(Acme, "Acme", new TenantProfile("premium", "dedicated-cluster", ["hipaa"]));
        var store = source.Tenants.Store(Acme);
        var audit = await store.EnsureCollectionAsync(new CollectionSpec("audit", 3, "no-model", VectorMetric.Dot), ct: TestContext.Current.CancellationToken);
        await audit.UpsertAsync(
        [
            new StoredRow
            {
                Id = "event:1 ✓",
                Text = "logged in — 日本語, emoji 🚀",
                Vector = new[] { -0f, float.Epsilon, float.MaxValue },
                UserId = UserId.Parse("alice@example.com"),
                Readers = [Principal.Group("Auditors.eu"), Principal.User(UserId.Parse("alice@example.com"))],
                CreatedAt = new DateTimeOffset(2024, 2, 29, 23, 59, 59, TimeSpan.FromHours(-5)).AddTicks(1234567),
                Metadata = new Dictionary<string, MetadataValue>
                {
                    ["zero"] = -0.0,
                    ["tiny"] = double.Epsilon,
                    ["at"] = new DateTimeOffset(1999, 12, 31, 0, 0, 0, TimeSpan.Zero).AddTicks(1),
                    ["ok"] = true,
                    ["no"] = false,
                    ["label"] = "päivä",
                },
            },
            new StoredRow { Id = "event:2", Text = string.Empty, Vector = Ones },
        ], ct: TestContext.Current.CancellationToken);
        await store.EnsureCollectionAsync(new CollectionSpec("empty_one", 4, "m"), ct: TestContext.Current.CancellationToken);
        var notes = await store.EnsureCollectionAsync(new CollectionSpec("notes", 8, "m"), ct: TestContext.Current.CancellationToken);
        var random = new Random(7);
        for (var batch = 0; batch < 3; batch++)
        {
            await notes.UpsertAsync([.. Enumerable.Range(batch * 900, 900).Select(i => new StoredRow
            {
                Id = $"n{i:D5}",
                Text = $"note number {i}",
                Vector = Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(),
                UserId = i % 3 == 0 ? null : UserId.Parse($"user{i % 3}"),
                Readers = (i % 5) switch { 1 => [Principal.Group($"team-{i % 4}")], 2 => [], _ => null }, // [] : no principal reads it
                Metadata = new Dictionary<string, MetadataValue> { ["i"] = i },
            })], ct: TestContext.Current.CancellationToken);
        }

        source.Catalog.SetRetrieval(Acme, new RetrievalOverrides(FinalCount: 2));
        source.Catalog.SetMemoryRetention(Acme, 7);
        var bundle = new MemoryStream();
        using (var export = source.Bundles.BeginExport(Acme, Passphrase)!)
        {
            var summary = await export.WriteToAsync(bundle, TestContext.Current.CancellationToken);
            Assert.Equal((3, 2702L, bundle.Length), (summary.Collections, summary.Rows, summary.Bytes));
        }

        var target = Start();
        bundle.Position = 0;
        var imported = await target.Bundles.ImportAsync(bundle, Passphrase, null, "test", TestContext.Current.CancellationToken);
        Assert.Equal((TenantStatus.Active, "premium", "dedicated-cluster"), (imported.Status, imported.Profile.Plan, imported.Profile.Isolation));
        Assert.Equal(["hipaa"], imported.Profile.Flags);
        Assert.Equal(2, target.Catalog.FindRetrieval(Acme)!.FinalCount);
        Assert.Equal(7, target.Catalog.FindMemory(Acme).RetentionDays);

        var specs = await store.ListCollectionsAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal(specs, await target.Tenants.Store(Acme).ListCollectionsAsync(ct: TestContext.Current.CancellationToken));
        foreach (var spec in specs)
        {
            var expected = (await store.Collection(spec.Name).ReadAllAsync(ct: TestContext.Current.CancellationToken)).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
            var actual = (await target.Tenants.Store(Acme).Collection(spec.Name).ReadAllAsync(ct: TestContext.Current.CancellationToken)).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
            Assert.Equal(expected.Select(Exact), actual.Select(Exact));
        }

        // and what the store does with them: a search ranks the same rows with the same scores
        var query = new SearchRequest { Mode = SearchMode.Hybrid, Vector = new float[] { 0.1f, -0.2f, 0.3f, 0, 0.5f, -0.1f, 0.2f, 0 }, Text = "note number 12", K = 10 };
        var before = await notes.SearchAsync(query, ct: TestContext.Current.CancellationToken);
        var after = await target.Tenants.Store(Acme).Collection("notes").SearchAsync(query, ct: TestContext.Current.CancellationToken);
        Assert.Equal(before.Select(h => (h.Row.Id, h.Score)), after.Select(h => (h.Row.Id, h.Score)));
        var asTeam = query with { Filter = Filter.ReadableBy([Principal.Group("team-1")]) };
        var teamBefore = await notes.SearchAsync(asTeam, ct: TestContext.Current.CancellationToken);
        Assert.Equal(teamBefore.Select(h => h.Row.Id), (await target.Tenants.Store(Acme).Collection("notes").SearchAsync(asTeam, ct: TestContext.Current.CancellationToken)).Select(h => h.Row.Id));
        Assert.All(teamBefore, h => Assert.True(h.Row.Readers is null || h.Row.Readers.Contains(Principal.Group("team-1"))));
        Assert.Equal(1620L + 135, await target.Tenants.Store(Acme).Collection("notes").CountAsync(Filter.ReadableBy([Principal.Group("team-1")]), TestContext.Current.CancellationToken));

        // the inventories agree, and change with one row
        var ct = TestContext.Current.CancellationToken;
        var inventory = await source.Bundles.InventoryAsync(Acme, ct);
        Assert.Equal(inventory!.Collections, (await target.Bundles.InventoryAsync(Acme, ct))!.Collections);
        Assert.Equal([("audit", 2L), ("empty_one", 0L), ("notes", 2700L)], inventory.Collections.Select(c => (c.Name, c.Rows)));
        await notes.UpsertAsync([new StoredRow { Id = "n00001", Text = "changed", Vector = Ones8 }], ct: TestContext.Current.CancellationToken);
        Assert.NotEqual(inventory.Collections[2].Digest, (await source.Bundles.InventoryAsync(Acme, ct))!.Collections[2].Digest);
        var audited = (await source.Bundles.InventoryAsync(Acme, ct))!.Collections[0].Digest;
        Assert.Equal(1, await audit.UpdateReadersAsync(Filter.All.WhereIn("ok", true), [Principal.Group("Auditors.eu")], ct)); // access alone changes the digest
        Assert.NotEqual(audited, (await source.Bundles.InventoryAsync(Acme, ct))!.Collections[0].Digest);
        Assert.Null(await source.Bundles.InventoryAsync(TenantId.Parse("nobody"), ct));

        // imported at another level (a move), or refused whole for a level that does not exist
        var elsewhere = Start();
        bundle.Position = 0;
        Assert.Equal("namespace", (await elsewhere.Bundles.ImportAsync(bundle, Passphrase, null, "test", "namespace", ct)).Profile.Isolation);
        bundle.Position = 0;
        await Assert.ThrowsAsync<ArgumentException>(() => elsewhere.Bundles.ImportAsync(bundle, Passphrase, TenantId.Parse("other"), "test", "cloud", ct));
        Assert.Null(elsewhere.Catalog.Find(TenantId.Parse("other")));
    }

    [Fact]
    public async Task AFailureHalfwayThroughWriting_RemovesTheStoreAndTheRecord()
    {
        var source = Start();
        await source.Tenants.CreateAsync(Acme, "Acme");
        var notes = await source.Tenants.Store(Acme).EnsureCollectionAsync(new CollectionSpec("notes", 16, "m"), ct: TestContext.Current.CancellationToken);
        await notes.UpsertAsync([.. Enumerable.Range(0, 3_000).Select(i => new StoredRow { Id = $"n{i:D5}", Text = $"note {i}", Vector = Enumerable.Repeat(i + 1f, 16).ToArray() })], ct: TestContext.Current.CancellationToken);
        var bytes = new MemoryStream();
        using (var export = source.Bundles.BeginExport(Acme, Passphrase)!)
        {
            await export.WriteToAsync(bytes, TestContext.Current.CancellationToken);
        }

        // the disk fails in the second pass, after the store was created and the first batches written
        var target = Start();
        var ct = TestContext.Current.CancellationToken;
        long rowsWhenItFailed = -1;
        var failing = new FailsOnSecondPass(bytes.ToArray(), () => rowsWhenItFailed = target.Engine.Tenant(Acme).Collection("notes").CountAsync().GetAwaiter().GetResult());
        await Assert.ThrowsAsync<IOException>(() => target.Bundles.ImportAsync(failing, Passphrase, null, "test", ct));
        Assert.InRange(rowsWhenItFailed, 1, 2_999); // it failed with the store created and partly written
        Assert.Null(target.Catalog.Find(Acme));
        Assert.Empty(target.Catalog.Events(Acme));
        Assert.False(target.Engine.TenantExists(Acme));

        // nothing was left to get in the way
        var again = await target.Bundles.ImportAsync(new MemoryStream(bytes.ToArray()), Passphrase, null, "test", ct);
        Assert.Equal(TenantStatus.Active, again.Status);
        Assert.Equal(3_000, await target.Tenants.Store(Acme).Collection("notes").CountAsync(ct: TestContext.Current.CancellationToken));

        // a wrong passphrase and a bad target settle nothing either
        await Assert.ThrowsAsync<BundleException>(() => target.Bundles.ImportAsync(new MemoryStream(bytes.ToArray()), "not the passphrase", TenantId.Parse("other"), "test", ct));
        Assert.Null(target.Catalog.Find(TenantId.Parse("other")));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task AnImportCutByACrash_IsUndoneAtTheNextStart(string backend)
    {
        var database = backend == "postgres" ? TestPostgres.NewDatabase() : null;
        var first = Start(database);
        var half = TenantId.Parse("half-imported");
        first.Catalog.Create(half, "Half imported", status: TenantStatus.Provisioning, action: TenantCatalog.ImportAction);
        await first.Engine.CreateTenantAsync(half, ct: TestContext.Current.CancellationToken);
        var c = await first.Engine.Tenant(half).EnsureCollectionAsync(new CollectionSpec("notes", 2, "m"), ct: TestContext.Current.CancellationToken);
        await c.UpsertAsync([new StoredRow { Id = "r", Text = "half", Vector = Ones.AsMemory(0, 2) }], ct: TestContext.Current.CancellationToken);
        first.Catalog.Create(TenantId.Parse("half-created"), "Half created", status: TenantStatus.Provisioning);

        // the next start: the import is undone (a created tenant is finished, as before)
        await first.Engine.DisposeAsync();
        var restarted = Start(database, first.Root, first.Key);
        Assert.Equal(2, await restarted.Tenants.RecoverAsync());
        Assert.Null(restarted.Catalog.Find(half));
        Assert.Empty(restarted.Catalog.Events(half));
        Assert.False(restarted.Engine.TenantExists(half));
        Assert.Equal(TenantStatus.Active, restarted.Catalog.Find(TenantId.Parse("half-created"))!.Status);
        Assert.Equal(TenantStatus.Active, (await restarted.Tenants.CreateAsync(half, "The id is free")).Status);
    }

    /// <summary>A row as comparable values: vector and metadata numbers by their bits, times by their ticks.</summary>
    private static string Exact(StoredRow r) =>
        string.Join(
            "|",
            r.Id,
            r.Text,
            r.UserId?.Value ?? "-",
            r.CreatedAt.UtcTicks,
            r.CreatedAt.Offset,
            Convert.ToHexString(MemoryMarshal.AsBytes(r.Vector.Span)),
            r.Readers is null ? "tenant" : "[" + string.Join(",", r.Readers) + "]",
            string.Join(",", r.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}:{m.Value.Kind}:" + m.Value.Kind switch
            {
                MetadataKind.Number => BitConverter.DoubleToInt64Bits(m.Value.AsNumber).ToString(System.Globalization.CultureInfo.InvariantCulture),
                MetadataKind.Time => m.Value.AsTime.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture),
                _ => m.Value.ToString(),
            })));

    private Installation Start(string? database = null, string? root = null, MasterKey? key = null)
    {
        var i = new Installation(database, root, key);
        _installations.Add(i);
        return i;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var i in _installations)
        {
            await i.DisposeAsync();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        foreach (var root in _installations.Select(i => i.Root).Distinct())
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>One installation: its folder, master key, store, catalog (SQLite, or a PostgreSQL database) and services.</summary>
    private sealed class Installation : IAsyncDisposable
    {
        private readonly CatalogDatabase _db;
        private readonly bool _ownsKey;

        public Installation(string? database, string? root, MasterKey? key)
        {
            Root = root ?? Directory.CreateTempSubdirectory("bruno-bundle-").FullName;
            (Key, _ownsKey) = key is null ? (MasterKey.Generate(), true) : (key, false);
            _db = database is null ? CatalogDatabase.Sqlite(Path.Combine(Root, "catalog.db")) : CatalogDatabase.Postgres(database);
            Engine = new StorageEngine(new StorageEngineOptions { DataRoot = Path.Combine(Root, "store"), MasterKey = Key });
            Catalog = new TenantCatalog(_db);
            var options = Options.Create(new BrunoOptions { Bundles = { ChunkBytes = 4_096 } });
            Tenants = new TenantService(Catalog, Engine, options);
            Bundles = new TenantBundles(Catalog, Tenants, Engine, options);
        }

        public string Root { get; }

        public MasterKey Key { get; }

        public StorageEngine Engine { get; }

        public TenantCatalog Catalog { get; }

        public TenantService Tenants { get; }

        public TenantBundles Bundles { get; }

        public async ValueTask DisposeAsync()
        {
            await Engine.DisposeAsync();
            _db.Dispose();
            if (_ownsKey)
            {
                Key.Dispose();
            }
        }
    }

    /// <summary>A bundle on a disk that fails halfway through the second read (the import's writing pass).</summary>
    private sealed class FailsOnSecondPass(byte[] bytes, Action failing) : MemoryStream(bytes, writable: false)
    {
        private int _rewinds;

        public override long Position
        {
            get => base.Position;
            set
            {
                _rewinds++;
                base.Position = value;
            }
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_rewinds > 0 && base.Position > Length / 2)
            {
                failing();
                throw new IOException("The disk went away.");
            }

            return base.ReadAsync(buffer, cancellationToken);
        }
    }
}
