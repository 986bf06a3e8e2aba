using Bruno.Core.Audit;
using Bruno.Core.Metering;
using Bruno.Core.Retention;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Core.Tests;

/// <summary>Per-tenant retention of audit entries and usage records, applied by the job on a fake clock, on both catalogs.</summary>
public sealed class RetentionTests : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-retention-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly List<IDisposable> _disposables = [];
    private StorageEngine? _engine;

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task TheJobKeepsEachTenantsDaysOfAuditAndUsage(string backend)
    {
        var db = backend == "postgres" ? CatalogDatabase.Postgres(TestPostgres.NewDatabase()) : CatalogDatabase.Sqlite(Path.Combine(_root, "catalog.db"));
        _disposables.Add(db);
        _engine = new StorageEngine(new StorageEngineOptions { DataRoot = Path.Combine(_root, "store"), MasterKey = MasterKey.Generate(), TimeProvider = _time });
        var catalog = new TenantCatalog(db, _time);
        var tenants = new TenantService(catalog, _engine, Options.Create(new BrunoOptions()));
        var settings = new TenantRetention(catalog, new Memory.MemoryRetention(catalog, Options.Create(new BrunoOptions())), Options.Create(new BrunoOptions()));
        var signer = PlatformSigner.ForDataDirectory(new DataDirectory(Path.Combine(_root, "data")));
        _disposables.Add(signer);
        var audit = new AuditLog(tenants, db, signer, _time);
        var meter = new UsageMeter(db, _time);
        _disposables.Add(meter);
        var retention = new RetentionService(tenants, settings, audit, meter, _time);

        var (acme, other) = (TenantId.Parse("acme"), TenantId.Parse("other"));
        await tenants.CreateAsync(acme, "Acme");
        await tenants.CreateAsync(other, "Other");
        Assert.Equal(new RetentionPolicy(90, 365, 400), settings.For(other)); // the service's defaults
        Assert.Throws<ArgumentException>(() => settings.Set(acme, null, 0, null));
        Assert.Equal(new RetentionPolicy(90, 30, 60), settings.Set(acme, null, 30, 60));
        Assert.Null(settings.Set(TenantId.Parse("nobody"), null, 30, 60));

        // one audit entry and one usage event a day for 100 days, for both tenants
        for (var day = 0; day < 100; day++)
        {
            foreach (var t in new[] { acme, other })
            {
                await audit.AppendAsync(t, new AuditEvent("ops", "tenant.plan", $"day {day}"));
                meter.Record(new UsageEvent($"{t.Value}-{day}", t, UsageKinds.Requests, 1, _time.GetUtcNow()));
            }

            _time.Advance(TimeSpan.FromDays(1));
        }

        await meter.FlushAsync(TestContext.Current.CancellationToken);
        var run = await retention.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, run.Tenants);
        Assert.Equal(70, run.AuditEntries); // acme keeps its last 30 days
        var kept = await audit.ReadAllAsync(acme);
        Assert.Equal(Enumerable.Range(71, 30).Select(i => (long)i), kept.Select(e => e.Seq));
        var key = TrustedKey.FromPem(signer.PublicKeyPem);
        Assert.Empty(AuditVerifier.Verify("acme", kept, audit.Checkpoints(acme), [key])); // what remains still verifies
        Assert.Equal(100, (await audit.ReadAllAsync(other)).Count);
        Assert.Equal(60, meter.Totals(acme, DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Requests);
        Assert.Equal(100, meter.Totals(other, DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Requests);

        // a second run a day later removes one more day of each
        _time.Advance(TimeSpan.FromDays(1));
        run = await retention.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, run.AuditEntries);
        Assert.Equal(59, meter.Totals(acme, DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Requests);

        // an offloaded tenant is left cold
        await tenants.OffloadAsync(acme, "ops");
        _time.Advance(TimeSpan.FromDays(10));
        Assert.Equal(1, (await retention.RunOnceAsync(TestContext.Current.CancellationToken)).Tenants);
        Assert.Equal(1, _engine.OpenTenantCount); // only other's store was opened, not acme's
    }

    public async ValueTask DisposeAsync()
    {
        if (_engine is not null)
        {
            await _engine.DisposeAsync();
        }

        foreach (var d in _disposables)
        {
            d.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }
}
