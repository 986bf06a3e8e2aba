using Bruno.Core.Identity;
using Bruno.Core.Retrieval;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;

namespace Bruno.Core.Tests;

/// <summary>The catalog's behaviour, the same on SQLite and on a real PostgreSQL server.</summary>
public sealed class CatalogBackendTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-catalog-").FullName;
    private readonly List<CatalogDatabase> _open = [];

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    private CatalogDatabase Database(string backend)
    {
        var db = backend == "postgres" ? CatalogDatabase.Postgres(TestPostgres.NewDatabase()) : CatalogDatabase.Sqlite(Path.Combine(_root, $"{Guid.NewGuid():N}.db"));
        _open.Add(db);
        return db;
    }

    [Fact]
    public void APostgresCatalogThatCannotBeReached_IsNamedInOneLine_WithHostPortDatabaseAndCause()
    {
        // issue 19: this was "error: unexpected failure: NpgsqlException"
        var port = BrunoProcess.FreePort(); // nothing listens there
        // the schema is brought up to date when the catalog is opened, so opening is what fails
        var e = Assert.Throws<CatalogUnavailableException>(() => CatalogDatabase.Postgres($"Host=127.0.0.1;Port={port};Database=bruno_catalog;Username=bruno;Password=s3cret-pw;Timeout=5"));
        Assert.StartsWith($"cannot reach the PostgreSQL catalog at 127.0.0.1:{port}, database bruno_catalog: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("refused", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("s3cret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);

        // a server that answers but refuses the login: its own reason
        var real = new Npgsql.NpgsqlConnectionStringBuilder(TestPostgres.NewDatabase()) { Password = "wrong-password", Username = "nobody_here" };
        e = Assert.Throws<CatalogUnavailableException>(() => CatalogDatabase.Postgres(real.ConnectionString));
        Assert.StartsWith($"cannot reach the PostgreSQL catalog at {real.Host}:{real.Port}, database {real.Database}: ", e.Message, StringComparison.Ordinal);
        Assert.Contains("nobody_here", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void APostgresCatalogSession_TimesOutQuickly_AndHasItsPeerProbed_UnlessTheConnectionStringSaysOtherwise()
    {
        // issue 23: behind a partition a request waited Npgsql's 30 s for a statement, and a gateway cut off while it
        // held a tenant's audit lock held every other gateway's writes of the tenant for the system's two hours
        var db = Database("postgres");
        string Show(string setting) => db.Query($"SHOW {setting};", r => r.GetString(0)).Single();
        Assert.Equal("4", Show("tcp_keepalives_idle"));
        Assert.Equal("2", Show("tcp_keepalives_interval"));
        Assert.Equal("3", Show("tcp_keepalives_count"));
        Assert.Equal("10000", Show("tcp_user_timeout"));
        var defaults = new Npgsql.NpgsqlConnectionStringBuilder(CatalogDatabase.WithDefaults("Host=db;Database=bruno"));
        Assert.Equal((CatalogDatabase.ConnectSeconds, CatalogDatabase.StatementSeconds), (defaults.Timeout, defaults.CommandTimeout));

        // what the operator wrote stands
        var own = new Npgsql.NpgsqlConnectionStringBuilder(CatalogDatabase.WithDefaults("Host=db;Database=bruno;Timeout=20;Command Timeout=60;Options=-c search_path=bruno"));
        Assert.Equal((20, 60, "-c search_path=bruno"), (own.Timeout, own.CommandTimeout, own.Options));
        Assert.True(string.IsNullOrEmpty(new Npgsql.NpgsqlConnectionStringBuilder(CatalogDatabase.WithDefaults("Host=db;Options=")).Options)); // none, for a pooler that refuses them
    }

    [Fact]
    public void TheSqliteCatalog_AndItsJournals_AreReadableByTheOwnerOnly_WhoeverMadeTheFolder()
    {
        // issue 19: with a folder the operator made (umask 022), catalog.db and its -wal/-shm were 0644
        var folder = Path.Combine(_root, "operator-made");
        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var fresh = Path.Combine(folder, "catalog.db");
        var older = Path.Combine(folder, "older.db");
        File.WriteAllBytes(older, []);
        File.SetUnixFileMode(older, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        foreach (var path in new[] { fresh, older })
        {
            var db = CatalogDatabase.Sqlite(path);
            _open.Add(db);
            new TenantCatalog(db).Create(TenantId.Parse("acme"), "Acme"); // writes through the WAL
            Assert.True(File.Exists(path + "-wal") && File.Exists(path + "-shm"));
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Tenants_AreCreatedOnce_ListedByIdAndKeepTheirSettings(string backend)
    {
        var db = Database(backend);
        var catalog = new TenantCatalog(db);
        var acme = TenantId.Parse("acme");
        Assert.Equal(TenantStatus.Active, catalog.Create(acme, "  Acme Corp ").Status);
        catalog.Create(TenantId.Parse("beta"), "Beta");
        Assert.Throws<TenantExistsException>(() => catalog.Create(acme, "Again"));
        Assert.Throws<ArgumentException>(() => catalog.Create(TenantId.Parse("gamma"), "bad\nname"));
        Assert.Equal(["acme", "beta"], catalog.List().Select(t => t.Id.Value));
        Assert.Equal(("default", "namespace"), (catalog.Find(acme)!.Profile.Plan, catalog.Find(acme)!.Profile.Isolation));
        Assert.Equal("Acme Corp", catalog.Find(acme)!.DisplayName);
        Assert.Null(catalog.Find(TenantId.Parse("gamma")));

        Assert.Equal(TenantStatus.Suspended, catalog.Transition(acme, [TenantStatus.Active], TenantStatus.Suspended, "op")!.Status);
        Assert.Null(catalog.Transition(acme, [TenantStatus.Active], TenantStatus.Suspended, "op")); // no longer active: compare-and-set fails
        Assert.Null(catalog.Transition(TenantId.Parse("nobody"), [TenantStatus.Active], TenantStatus.Suspended, "op"));
        Assert.Equal("premium", catalog.SetPlan(acme, "premium", "op")!.Profile.Plan);
        var gamma = catalog.Create(TenantId.Parse("gamma"), "Gamma", new TenantProfile("default", "kamaji", ["hipaa", "gdpr", "gdpr"]), TenantStatus.Provisioning, "op");
        Assert.Equal(["gdpr", "hipaa"], gamma.Profile.Flags);
        Assert.Equal(["create", "suspend", "plan premium"], catalog.Events(acme).Select(e => e.Action));
        Assert.Equal(("active", "suspended", "op"), (catalog.Events(acme)[1].From, catalog.Events(acme)[1].To, catalog.Events(acme)[1].Actor));
        Assert.True(catalog.SetRetrieval(acme, new RetrievalOverrides(FinalCount: 3)));
        Assert.False(catalog.SetRetrieval(TenantId.Parse("nobody"), new RetrievalOverrides()));
        Assert.True(catalog.SetMemoryRetention(acme, 30));
        Assert.True(catalog.SetConsolidatedUntil(acme, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123)));
        Assert.True(catalog.SetMemoryRetention(acme, null)); // back to the default, the mark kept
        Assert.False(catalog.SetMemoryRetention(TenantId.Parse("nobody"), 5));

        // a second catalog over the same database (another process) sees all of it
        var again = new TenantCatalog(db);
        Assert.Equal(TenantStatus.Suspended, again.Find(acme)!.Status);
        Assert.Equal(("kamaji", TenantStatus.Provisioning), (again.Find(TenantId.Parse("gamma"))!.Profile.Isolation, again.Find(TenantId.Parse("gamma"))!.Status));
        Assert.Equal(["gamma"], again.InStatus(TenantStatus.Provisioning).Select(t => t.Id.Value));
        Assert.Equal(3, again.FindRetrieval(acme)!.FinalCount);
        Assert.Equal((null, DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123)), again.FindMemory(acme));
        Assert.Equal((null, null), again.FindMemory(TenantId.Parse("beta")));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void AdmissionReads_SeeOwnChangesAtOnce_AndAnotherProcessesWithinTheirShortLife(string backend)
    {
        var db = Database(backend);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var serving = new TenantCatalog(db, time);
        var other = new TenantCatalog(db, time); // another process over the same database
        var acme = TenantId.Parse("acme");
        Assert.Null(serving.FindRecent(acme));
        serving.Create(acme, "Acme");
        Assert.Equal(TenantStatus.Active, serving.FindRecent(acme)!.Status); // its own change: seen at once

        other.Transition(acme, [TenantStatus.Active], TenantStatus.Suspended, "op");
        Assert.Equal(TenantStatus.Active, serving.FindRecent(acme)!.Status); // kept for a moment
        Assert.Equal(TenantStatus.Suspended, serving.Find(acme)!.Status); // the plain read is never kept
        time.Advance(TenantCatalog.RecentFor);
        Assert.Equal(TenantStatus.Suspended, serving.FindRecent(acme)!.Status);

        serving.Transition(acme, [TenantStatus.Suspended], TenantStatus.Active, "op");
        Assert.Equal(TenantStatus.Active, serving.FindRecent(acme)!.Status);
        serving.SetPlan(acme, "premium", "op");
        Assert.Equal("premium", serving.FindRecent(acme)!.Profile.Plan);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ApiKeys_VerifyOnlyTheirSecret_AndStopAtRevocation(string backend)
    {
        var keys = new ApiKeys(Database(backend).WithTenants("acme", "beta")); // keys belong to known tenants (catalog schema 2)
        var acme = TenantId.Parse("acme");
        var issued = keys.Create(acme, "ci bot", [Scopes.Query, Scopes.Ingest]);
        var other = keys.Create(TenantId.Parse("beta"), "beta bot", [Scopes.Query]);

        Assert.Equal(issued.Info.Id, keys.Verify(issued.Key)!.Id);
        Assert.Equal([Scopes.Query, Scopes.Ingest], keys.Verify(issued.Key)!.Scopes);
        Assert.Null(keys.Verify(issued.Key[..^1] + (issued.Key[^1] == 'a' ? 'b' : 'a')));
        Assert.Null(keys.Verify("brk_' OR 1=1 --_x"));
        Assert.Equal([issued.Info.Id], keys.List(acme).Select(k => k.Id));

        Assert.False(keys.Revoke(acme, other.Info.Id)); // another tenant's key
        Assert.True(keys.Revoke(acme, issued.Info.Id));
        Assert.Null(keys.Verify(issued.Key));
        Assert.NotNull(keys.List(acme).Single().RevokedAt);
        Assert.NotNull(keys.Verify(other.Key));
    }

    public void Dispose()
    {
        foreach (var db in _open)
        {
            db.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }
}
