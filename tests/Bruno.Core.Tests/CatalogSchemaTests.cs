using System.Data.Common;
using Bruno.Core.Metering;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Bruno.Core.Tests;

/// <summary>
/// The catalog's numbered migrations (issue 19): a catalog written by the releases before schema versions is upgraded in
/// place with its rows, the constraints hold afterwards, a newer catalog is refused, and opening is idempotent.
/// </summary>
public sealed class CatalogSchemaTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-schema-").FullName;
    private readonly List<CatalogDatabase> _open = [];

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    /// <summary>
    /// The tables and rows as the last release without schema versions wrote them: retention of audit and usage in
    /// <c>tenant_memory</c>, no keys, no checks; and rows no tenant owns, which such catalogs can hold.
    /// </summary>
    private const string PreviousFormat = """
        CREATE TABLE tenants(id TEXT PRIMARY KEY, display_name TEXT NOT NULL, status TEXT NOT NULL, created_at {long} NOT NULL, plan TEXT NOT NULL DEFAULT 'default', isolation TEXT NOT NULL DEFAULT 'namespace', compliance TEXT NOT NULL DEFAULT '');
        CREATE TABLE tenant_settings(tenant TEXT PRIMARY KEY, retrieval TEXT NOT NULL);
        CREATE TABLE tenant_memory(tenant TEXT PRIMARY KEY, retention_days INTEGER NULL, consolidated_until {long} NULL, audit_days INTEGER NULL, usage_days INTEGER NULL);
        CREATE TABLE tenant_events(seq {serial}, tenant TEXT NOT NULL, action TEXT NOT NULL, from_status TEXT NULL, to_status TEXT NOT NULL, actor TEXT NOT NULL, at {long} NOT NULL);
        CREATE INDEX tenant_events_tenant ON tenant_events(tenant, seq);
        CREATE TABLE api_keys(id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL, secret_hash {blob} NOT NULL, created_at {long} NOT NULL, revoked_at {long} NULL);
        CREATE INDEX api_keys_tenant ON api_keys(tenant);
        CREATE TABLE tenant_users(tenant TEXT NOT NULL, user_id TEXT NOT NULL, first_seen {long} NOT NULL, PRIMARY KEY (tenant, user_id));
        CREATE TABLE usage_events(id TEXT PRIMARY KEY, tenant TEXT NOT NULL, kind TEXT NOT NULL, quantity {long} NOT NULL, at {long} NOT NULL);
        CREATE TABLE usage_hourly(tenant TEXT NOT NULL, hour {long} NOT NULL, kind TEXT NOT NULL, quantity {long} NOT NULL, PRIMARY KEY (tenant, hour, kind));
        CREATE INDEX usage_events_at ON usage_events(at);
        CREATE TABLE audit_checkpoints(tenant TEXT NOT NULL, seq {long} NOT NULL, hash TEXT NOT NULL, at {long} NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (tenant, seq));
        CREATE TABLE erasure_receipts(id TEXT PRIMARY KEY, tenant TEXT NOT NULL, issued_at {long} NOT NULL, body TEXT NOT NULL);
        CREATE TABLE store_nodes(name TEXT PRIMARY KEY, url TEXT NOT NULL, tenants {long} NOT NULL, row_count {long} NOT NULL, bytes {long} NOT NULL, seen_at {long} NOT NULL);
        CREATE TABLE tenant_placement(tenant TEXT PRIMARY KEY, node TEXT NOT NULL, epoch {long} NOT NULL, moving_to TEXT, changed_at {long} NOT NULL);
        INSERT INTO tenants VALUES ('acme', 'Acme Corp', 'Active', 1764000000000, 'premium', 'kamaji', 'gdpr');
        INSERT INTO tenants VALUES ('gone', 'Gone Ltd', 'Deleted', 1764000000000, 'default', 'namespace', '');
        INSERT INTO tenant_events(tenant, action, from_status, to_status, actor, at) VALUES ('acme', 'create', NULL, 'Active', 'op', 1764000000000);
        INSERT INTO tenant_events(tenant, action, from_status, to_status, actor, at) VALUES ('acme', 'plan premium', 'Active', 'Active', 'op', 1764000001000);
        INSERT INTO tenant_settings VALUES ('acme', '{"FinalCount":7}');
        INSERT INTO tenant_memory VALUES ('acme', 30, 1764000002000, 400, 90);
        INSERT INTO api_keys VALUES ('k1', 'acme', 'ci bot', 'query', {hash}, 1764000000000, NULL);
        INSERT INTO api_keys VALUES ('k0', 'ghost', 'left over', 'query', {hash}, 1764000000000, NULL);
        INSERT INTO tenant_users VALUES ('acme', 'ann', 1764000000000);
        INSERT INTO tenant_users VALUES ('ghost', 'bob', 1764000000000);
        INSERT INTO usage_events VALUES ('r1:req', 'acme', 'requests', 1, 638990000000000000);
        INSERT INTO usage_hourly VALUES ('acme', 638989992000000000, 'requests', 5);
        INSERT INTO erasure_receipts VALUES ('rcpt-1', 'gone', 1764000003000, '{}');
        INSERT INTO tenant_placement VALUES ('acme', 'store-1', 3, NULL, 638990000000000000);
        """;

    /// <summary>The oldest tables: before plans, isolation levels, compliance flags and audit or usage retention.</summary>
    private const string FirstFormat = """
        CREATE TABLE tenants(id TEXT PRIMARY KEY, display_name TEXT NOT NULL, status TEXT NOT NULL, created_at {long} NOT NULL);
        CREATE TABLE tenant_memory(tenant TEXT PRIMARY KEY, retention_days INTEGER NULL, consolidated_until {long} NULL);
        INSERT INTO tenants VALUES ('acme', 'Acme Corp', 'Suspended', 1764000000000);
        INSERT INTO tenant_memory VALUES ('acme', 14, NULL);
        """;

    [Theory]
    [MemberData(nameof(Backends))]
    public void ACatalogOfThePreviousFormat_IsUpgradedInPlace_KeepingEveryRowATenantOwns(string backend)
    {
        var db = Open(backend, PreviousFormat);
        Assert.Equal(0, db.SchemaVersionFound);
        Assert.Equal(CatalogSchema.Current, CatalogSchema.VersionOf(db));

        var acme = TenantId.Parse("acme");
        var catalog = new TenantCatalog(db);
        var record = catalog.Find(acme)!;
        Assert.Equal(("Acme Corp", TenantStatus.Active, "premium", "kamaji"), (record.DisplayName, record.Status, record.Profile.Plan, record.Profile.Isolation));
        Assert.Equal(["gdpr"], record.Profile.Flags);
        Assert.Equal(TenantStatus.Deleted, catalog.Find(TenantId.Parse("gone"))!.Status);
        Assert.Equal(["create", "plan premium"], catalog.Events(acme).Select(e => e.Action));
        Assert.Equal(7, catalog.FindRetrieval(acme)!.FinalCount);
        Assert.Equal((30, DateTimeOffset.FromUnixTimeMilliseconds(1764000002000)), catalog.FindMemory(acme));
        Assert.Equal((400, 90), catalog.FindRetention(acme)); // moved out of tenant_memory
        Assert.Equal(["k1"], new ApiKeys(db).List(acme).Select(k => k.Id));
        Assert.Equal(1, new TenantUsers(db).Count(acme));
        using (var meter = new UsageMeter(db))
        {
            Assert.Equal(5, meter.Hours(acme, DateTimeOffset.MinValue.AddYears(1), DateTimeOffset.MaxValue.AddYears(-1)).Sum(h => h.Usage.Requests));
        }

        Assert.Equal(3L, Scalar(db, "SELECT epoch FROM tenant_placement WHERE tenant = 'acme';"));
        Assert.Equal(1L, Scalar(db, "SELECT COUNT(*) FROM erasure_receipts WHERE tenant = 'gone';")); // a ledger outlives its tenant

        // rows of a tenant the catalog never knew are gone; the columns that moved are gone from tenant_memory
        Assert.Equal(0L, Scalar(db, "SELECT COUNT(*) FROM api_keys WHERE tenant = 'ghost';"));
        Assert.Equal(0L, Scalar(db, "SELECT COUNT(*) FROM tenant_users WHERE tenant = 'ghost';"));
        Assert.ThrowsAny<DbException>(() => Scalar(db, "SELECT COUNT(audit_days) FROM tenant_memory;"));

        // events keep counting from where they were
        catalog.Transition(acme, [TenantStatus.Active], TenantStatus.Suspended, "op");
        var seqs = catalog.Events(acme).Select(e => e.Seq).ToList();
        Assert.Equal(3, seqs.Count);
        Assert.True(seqs[2] > seqs[1]);
    }

    /// <summary>The store nodes' table as catalog schema 7 (and every version before 8) has it.</summary>
    private const string StoreNodesAtVersion7 = """
        DROP TABLE store_nodes;
        CREATE TABLE store_nodes(name TEXT PRIMARY KEY, url TEXT NOT NULL, tenants {long} NOT NULL, row_count {long} NOT NULL, bytes {long} NOT NULL, seen_at {long} NOT NULL,
          CONSTRAINT store_nodes_load CHECK (tenants >= 0 AND row_count >= 0 AND bytes >= 0));
        DELETE FROM schema_version WHERE version > 7;
        INSERT INTO store_nodes VALUES ('store-1', 'http://store-1:7070', 3, 120, 4096, 638990000000000000);
        """;

    [Theory]
    [MemberData(nameof(Backends))]
    public void Migration8_GivesACatalogAtVersion7_TheStoreNodesZone_KeepingItsNodes(string backend)
    {
        // a catalog at version 7: made by this build, then its store_nodes table put back as version 7 made it
        var target = Target(backend);
        Track(Connect(backend, target));
        RunScript(backend, target, StoreNodesAtVersion7);

        var db = Track(Connect(backend, target));
        Assert.Equal(7, db.SchemaVersionFound);
        Assert.Equal(CatalogSchema.Current, CatalogSchema.VersionOf(db));
        Assert.Equal([("store-1", 4096L, (string?)null)], db.Query("SELECT name, bytes, zone FROM store_nodes;", r => (r.GetString(0), Convert.ToInt64(r.GetValue(1), System.Globalization.CultureInfo.InvariantCulture), r.IsDBNull(2) ? null : r.GetString(2))));
        db.Execute("UPDATE store_nodes SET zone = 'eu-west-1a' WHERE name = 'store-1';");
        Assert.Equal("eu-west-1a", db.Query("SELECT zone FROM store_nodes;", r => r.GetString(0)).Single());
        Assert.ThrowsAny<DbException>(() => db.Execute("UPDATE store_nodes SET zone = @z;", ("@z", new string('z', 64))));
        Assert.ThrowsAny<DbException>(() => db.Execute("UPDATE store_nodes SET zone = '';"));
        Assert.Equal(1L, Scalar(db, "SELECT COUNT(*) FROM schema_version WHERE version = 8;")); // applied once
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ACatalogOfTheFirstFormat_GainsTheLaterColumnsWithTheirDefaults(string backend)
    {
        var db = Open(backend, FirstFormat);
        var record = new TenantCatalog(db).Find(TenantId.Parse("acme"))!;
        Assert.Equal((TenantStatus.Suspended, "default", "namespace"), (record.Status, record.Profile.Plan, record.Profile.Isolation));
        Assert.Equal(14, new TenantCatalog(db).FindMemory(TenantId.Parse("acme")).RetentionDays);
        Assert.Equal(CatalogSchema.Current, CatalogSchema.VersionOf(db));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void TheConstraints_RefuseRowsNoTenantOwns_AndValuesOutOfRange(string backend)
    {
        var db = Open(backend, sql: null);
        Assert.Equal(0, db.SchemaVersionFound);
        var catalog = new TenantCatalog(db);
        catalog.Create(TenantId.Parse("acme"), "Acme");

        Assert.ThrowsAny<DbException>(() => db.Execute("INSERT INTO api_keys(id, tenant, name, scopes, secret_hash, created_at) VALUES ('k', 'nobody', 'n', 'query', @h, 1);", ("@h", new byte[32])));
        Assert.ThrowsAny<DbException>(() => db.Execute("INSERT INTO tenant_users(tenant, user_id, first_seen) VALUES ('nobody', 'ann', 1);"));
        Assert.ThrowsAny<DbException>(() => db.Execute("UPDATE tenants SET status = 'Paused' WHERE id = 'acme';"));
        Assert.ThrowsAny<DbException>(() => db.Execute("UPDATE tenants SET isolation = 'shared' WHERE id = 'acme';"));
        Assert.ThrowsAny<DbException>(() => db.Execute("INSERT INTO tenants(id, display_name, status, created_at) VALUES ('', 'x', 'Active', 1);"));
        Assert.ThrowsAny<DbException>(() => catalog.SetRetention(TenantId.Parse("acme"), 0, null));
        Assert.ThrowsAny<DbException>(() => db.Execute("INSERT INTO usage_hourly(tenant, hour, kind, quantity) VALUES ('acme', 0, 'requests', -1);"));
        Assert.Equal(TenantStatus.Active, catalog.Find(TenantId.Parse("acme"))!.Status); // nothing half-written

        // forgetting a tenant whose provisioning failed takes every row it owns with it
        var failed = TenantId.Parse("half");
        catalog.Create(failed, "Half", status: TenantStatus.Provisioning);
        new ApiKeys(db).Create(failed, "bot", [Identity.Scopes.Query]);
        new TenantUsers(db).Admit(failed, UserId.Parse("ann"), 10);
        catalog.SetRetention(failed, 30, 30);
        Assert.True(catalog.Forget(failed));
        Assert.Equal(0L, Scalar(db, "SELECT (SELECT COUNT(*) FROM api_keys WHERE tenant = 'half') + (SELECT COUNT(*) FROM tenant_users WHERE tenant = 'half') + (SELECT COUNT(*) FROM tenant_retention WHERE tenant = 'half') + (SELECT COUNT(*) FROM tenant_events WHERE tenant = 'half');"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void OpeningAgain_AppliesNothing_AndProcessesOpeningTogetherApplyOnce(string backend)
    {
        var target = Target(backend);
        var opened = Enumerable.Range(0, 4).AsParallel().Select(_ => Track(Connect(backend, target))).ToList();
        Assert.Single(opened, d => d.SchemaVersionFound == 0);
        Assert.All(opened, d => Assert.Contains(d.SchemaVersionFound, new[] { 0, CatalogSchema.Current }));
        var again = Track(Connect(backend, target));
        Assert.Equal(CatalogSchema.Current, again.SchemaVersionFound);
        Assert.Equal((long)CatalogSchema.Current, Scalar(again, "SELECT COUNT(*) FROM schema_version;"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ACatalogNewerThanThisBuild_IsRefused_InOneLine(string backend)
    {
        var target = Target(backend);
        Track(Connect(backend, target)).Execute("INSERT INTO schema_version(version, description, applied_at) VALUES (99, 'from the future', 0);");
        var e = Assert.Throws<CatalogUnavailableException>(() => Connect(backend, target));
        Assert.Equal($"the catalog has schema version 99, newer than this build understands ({CatalogSchema.Current}): run the Bruno release that wrote it, or a later one", e.Message);
    }

    public void Dispose()
    {
        foreach (var db in _open)
        {
            db.Dispose();
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>A catalog location for <paramref name="backend"/>: a file path, or a fresh PostgreSQL database.</summary>
    private string Target(string backend) =>
        backend == "postgres" ? TestPostgres.NewDatabase() : Path.Combine(_root, $"{Guid.NewGuid():N}.db");

    private static CatalogDatabase Connect(string backend, string target) =>
        backend == "postgres" ? CatalogDatabase.Postgres(target) : CatalogDatabase.Sqlite(target);

    private CatalogDatabase Track(CatalogDatabase db)
    {
        lock (_open)
        {
            _open.Add(db);
        }

        return db;
    }

    /// <summary>Writes <paramref name="sql"/> with plain connections (no Bruno code), then opens the catalog with Bruno.</summary>
    private CatalogDatabase Open(string backend, string? sql)
    {
        var target = Target(backend);
        if (sql is not null)
        {
            RunScript(backend, target, sql);
        }

        return Track(Connect(backend, target));
    }

    /// <summary>Runs <paramref name="sql"/> on the catalog at <paramref name="target"/> with a plain connection (no Bruno code).</summary>
    private static void RunScript(string backend, string target, string sql)
    {
        var postgres = backend == "postgres";
        using DbConnection c = postgres ? new NpgsqlConnection(target) : new SqliteConnection($"Data Source={target}");
        c.Open();
        var script = sql
            .Replace("{long}", postgres ? "BIGINT" : "INTEGER", StringComparison.Ordinal)
            .Replace("{blob}", postgres ? "BYTEA" : "BLOB", StringComparison.Ordinal)
            .Replace("{serial}", postgres ? "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY" : "INTEGER PRIMARY KEY AUTOINCREMENT", StringComparison.Ordinal)
            .Replace("{hash}", postgres ? "'\\x00ff'::bytea" : "X'00FF'", StringComparison.Ordinal);
        using var cmd = c.CreateCommand();
        cmd.CommandText = script;
        cmd.ExecuteNonQuery();
    }

    private static long Scalar(CatalogDatabase db, string sql) =>
        db.Query(sql, r => Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)).Single();
}
