using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Bruno.Testing;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>Tenant states on the real store, on both catalog backends: transitions, offload, deletion, and crash recovery.</summary>
public sealed class TenantLifecycleTests : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-lifecycle-").FullName;
    private readonly MasterKey _key = MasterKey.Generate();
    private readonly List<IAsyncDisposable> _engines = [];
    private readonly List<CatalogDatabase> _databases = [];

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    private (TenantService Tenants, StorageEngine Engine, TenantCatalog Catalog) Start(string backend, string? database = null)
    {
        var db = backend == "postgres" ? CatalogDatabase.Postgres(database ?? throw new ArgumentNullException(nameof(database))) : CatalogDatabase.Sqlite(Path.Combine(_root, "catalog.db"));
        _databases.Add(db);
        var engine = new StorageEngine(new StorageEngineOptions { DataRoot = Path.Combine(_root, "store"), MasterKey = _key });
        _engines.Add(engine);
        var catalog = new TenantCatalog(db);
        return (new TenantService(catalog, engine, Options.Create(new BrunoOptions())), engine, catalog);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Transitions_FollowTheStateMachine_AndDeletionErasesTheStore(string backend)
    {
        var (tenants, engine, _) = Start(backend, backend == "postgres" ? TestPostgres.NewDatabase() : null);
        var acme = TenantId.Parse("acme");
        var created = await tenants.CreateAsync(acme, "Acme", new TenantProfile("premium", "kamaji", ["soc2"]), "op");
        Assert.Equal((TenantStatus.Active, "premium", "kamaji"), (created.Status, created.Profile.Plan, created.Profile.Isolation));
        Assert.Throws<ArgumentException>(() => tenants.SetPlan(acme, "platinum", "op"));
        await Assert.ThrowsAsync<ArgumentException>(() => tenants.CreateAsync(TenantId.Parse("bad"), "Bad", new TenantProfile(Isolation: "vm")));
        Assert.Null(tenants.Find(TenantId.Parse("bad"))); // nothing half-written

        var c = await tenants.Store(acme).EnsureCollectionAsync(new CollectionSpec("notes", 2, "m", VectorMetric.Cosine), ct: TestContext.Current.CancellationToken);
        await c.UpsertAsync([new StoredRow { Id = "r1", Text = "LIFECYCLECANARY", Vector = new float[] { 1, 0 } }], ct: TestContext.Current.CancellationToken);

        Assert.Null(tenants.Resume(acme, "op")); // active: nothing to resume
        Assert.Equal(TenantStatus.Suspended, tenants.Suspend(acme, "op")!.Status);
        Assert.Equal("The tenant of this credential is suspended.", tenants.Refusal(acme)?.Detail);
        Assert.Equal(RefusalKind.TenantSuspended, tenants.Refusal(acme)?.Kind);
        Assert.Equal(TenantStatus.Active, tenants.Resume(acme, "op")!.Status);

        // offloaded: the store is closed, its files stay; the next request reactivates it
        Assert.Equal(TenantStatus.Offloaded, (await tenants.OffloadAsync(acme, "op"))!.Status);
        Assert.Equal(0, engine.OpenTenantCount);
        Assert.Null(tenants.Refusal(acme));
        Assert.Equal(TenantStatus.Active, tenants.Find(acme)!.Status);
        Assert.Equal("LIFECYCLECANARY", (await tenants.Store(acme).Collection("notes").GetAsync("r1", ct: TestContext.Current.CancellationToken))!.Text);

        Assert.True(Directory.Exists(Path.Combine(_root, "store", "tenants", "acme")));
        Assert.Equal(TenantStatus.Deleted, (await tenants.DeleteAsync(acme, "op"))!.Status);
        Assert.False(engine.TenantExists(acme));
        Assert.Equal("The tenant of this credential does not exist.", tenants.Refusal(acme)?.Detail);
        Assert.Equal(RefusalKind.TenantUnknown, tenants.Refusal(acme)?.Kind);
        Assert.Null(await tenants.DeleteAsync(acme, "op"));
        await Assert.ThrowsAsync<TenantExistsException>(() => tenants.CreateAsync(acme, "Again")); // the tombstone keeps the id
        Assert.Equal(
            ["create", "provisioned", "suspend", "resume", "offload", "reactivate", "delete", "deleted"],
            tenants.Events(acme).Select(e => e.Action));
        Assert.False(Directory.Exists(Path.Combine(_root, "store", "tenants", "acme"))); // the files went with the keys
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ACrashMidTransition_IsFinishedAtTheNextStart(string backend)
    {
        var database = backend == "postgres" ? TestPostgres.NewDatabase() : null;
        var (tenants, engine, catalog) = Start(backend, database);
        var born = TenantId.Parse("half-born");
        var dying = TenantId.Parse("half-dead");

        // a crash after the provisioning record, before the store
        catalog.Create(born, "Half born", status: TenantStatus.Provisioning);
        // a crash after "deleting" was recorded, before the files went
        await tenants.CreateAsync(dying, "Half dead");
        Assert.NotNull(catalog.Transition(dying, [TenantStatus.Active], TenantStatus.Deleting, "op"));
        Assert.True(engine.TenantExists(dying));
        Assert.Equal("The tenant of this credential is still being created.", tenants.Refusal(born)?.Detail);
        Assert.Equal("The tenant of this credential is being deleted.", tenants.Refusal(dying)?.Detail);
        Assert.Equal((RefusalKind.TenantUnavailable, RefusalKind.TenantUnavailable), (tenants.Refusal(born)?.Kind, tenants.Refusal(dying)?.Kind));

        // the next start
        await engine.DisposeAsync();
        _engines.Remove(engine);
        var (restarted, engine2, _) = Start(backend, database);
        Assert.Equal(2, await restarted.RecoverAsync());
        Assert.Equal(TenantStatus.Active, restarted.Find(born)!.Status);
        Assert.True(engine2.TenantExists(born));
        Assert.Equal(TenantStatus.Deleted, restarted.Find(dying)!.Status);
        Assert.False(engine2.TenantExists(dying));
        Assert.Equal(0, await restarted.RecoverAsync());
    }

    [Fact]
    public async Task RecoveryBesideOtherProcesses_LeavesFreshTransitionsAlone()
    {
        var (tenants, engine, catalog) = Start("sqlite");
        var busy = TenantId.Parse("being-created");
        catalog.Create(busy, "Being created by another gateway", status: TenantStatus.Provisioning);

        // a gateway starting now must not finish what another one is doing right now
        Assert.Equal(0, await tenants.RecoverAsync(settledFor: TimeSpan.FromMinutes(15)));
        Assert.Equal(TenantStatus.Provisioning, tenants.Find(busy)!.Status);
        Assert.False(engine.TenantExists(busy));

        // once it has settled, the next start finishes it
        var failures = new List<TenantId>();
        Assert.Equal(1, await tenants.RecoverAsync(failed: (t, _) => failures.Add(t)));
        Assert.Equal(TenantStatus.Active, tenants.Find(busy)!.Status);
        Assert.True(engine.TenantExists(busy));
        Assert.Empty(failures);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var e in _engines)
        {
            await e.DisposeAsync();
        }

        foreach (var db in _databases)
        {
            db.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _key.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
