using System.Data.Common;
using System.Globalization;

namespace Bruno.Core.Tenants;

/// <summary>
/// The catalog's schema, all of it, in one place: numbered migrations applied in order inside one transaction when a
/// <see cref="CatalogDatabase"/> is opened, each recorded in <c>schema_version</c>. A catalog written before versions
/// existed reads as version 0; migration 1 brings it (whatever columns it had) to the last unversioned format, so every
/// catalog, new or old, then follows the same path. Processes opening the same catalog together apply the migrations
/// once (PostgreSQL: an advisory lock; SQLite: the write lock of an immediate transaction).
/// </summary>
/// <remarks>
/// To change the schema, append a migration; never edit one that has shipped. Rows a tenant owns reference
/// <c>tenants(id)</c> and go with it (<c>ON DELETE CASCADE</c>; a tenant record is deleted only when a failed
/// provisioning is forgotten, erased tenants stay as tombstones). Ledgers (usage, audit checkpoints, erasure receipts)
/// carry no foreign key: they are history and must outlive anything they describe.
/// </remarks>
public static class CatalogSchema
{
    private static readonly Migration[] Migrations =
    [
        new(1, "the unversioned catalog: every table as the releases before schema versions made it", Unversioned),
        new(2, "foreign keys to tenants, CHECK constraints, retention of audit and usage out of tenant_memory", KeysAndChecks),
        new(3, "roles of users in a tenant, groups and their members", RolesAndGroups),
        new(4, "console sign-in links redeemed (each link is good once)", ConsoleLinks),
        new(5, "operators' console sign-ins (each operator's link is good once; the record of their sign-ins)", ConsoleOperatorSignIns),
        new(6, "each tenant's replica: the second store node holding it, being built or in sync with the owner", Replicas),
        new(7, "request-limit windows shared by gateways (tokens granted per tenant, budget and window) and the gateways that draw on them", LimitWindows),
        new(8, "the zone each store node reports with its heartbeat (null: not known)", StoreNodeZones),
    ];

    /// <summary>The version this build writes and understands.</summary>
    public static int Current => Migrations[^1].Version;

    /// <summary>
    /// Brings the catalog in <paramref name="db"/> to <see cref="Current"/>; returns the version it had (0: none, or a
    /// catalog from before versions). All migrations run in one transaction: a failure leaves the catalog as it was.
    /// Throws <see cref="CatalogUnavailableException"/> when the catalog is newer than this build, and
    /// <see cref="DbException"/> when the database fails.
    /// </summary>
    internal static int Apply(CatalogDatabase db, DbConnection connection)
    {
        using var transaction = db.SchemaTransaction(connection);
        Run(connection, db.Ddl("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at {long} NOT NULL);"));
        using var read = CatalogDatabase.Command(connection, "SELECT COALESCE(MAX(version), 0) FROM schema_version;");
        var found = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
        if (found > Current)
        {
            throw new CatalogUnavailableException($"the catalog has schema version {found}, newer than this build understands ({Current}): run the Bruno release that wrote it, or a later one");
        }

        foreach (var migration in Migrations.Where(m => m.Version > found))
        {
            migration.Up(db, connection);
            CatalogDatabase.Execute(
                connection,
                "INSERT INTO schema_version(version, description, applied_at) VALUES (@v, @d, @at);",
                ("@v", migration.Version),
                ("@d", migration.Description),
                ("@at", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }

        transaction.Commit();
        return found;
    }

    /// <summary>The version the catalog has, 0 when it has none (tests and operators' checks).</summary>
    public static int VersionOf(CatalogDatabase db)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.Query("SELECT COALESCE(MAX(version), 0) FROM schema_version;", r => Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture)).Single();
    }

    private sealed record Migration(int Version, string Description, Action<CatalogDatabase, DbConnection> Up);

    /// <summary>Migration 1: the tables as the last unversioned release made them, and the columns earlier ones lacked.</summary>
    private static void Unversioned(CatalogDatabase db, DbConnection c)
    {
        foreach (var table in new[]
        {
            "CREATE TABLE IF NOT EXISTS tenants(id TEXT PRIMARY KEY, display_name TEXT NOT NULL, status TEXT NOT NULL, created_at {long} NOT NULL);",
            "CREATE TABLE IF NOT EXISTS tenant_settings(tenant TEXT PRIMARY KEY, retrieval TEXT NOT NULL);",
            "CREATE TABLE IF NOT EXISTS tenant_memory(tenant TEXT PRIMARY KEY, retention_days INTEGER NULL, consolidated_until {long} NULL);",
            "CREATE TABLE IF NOT EXISTS tenant_events(seq {serial}, tenant TEXT NOT NULL, action TEXT NOT NULL, from_status TEXT NULL, to_status TEXT NOT NULL, actor TEXT NOT NULL, at {long} NOT NULL);",
            "CREATE TABLE IF NOT EXISTS api_keys(id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL, secret_hash {blob} NOT NULL, created_at {long} NOT NULL, revoked_at {long} NULL);",
            "CREATE TABLE IF NOT EXISTS tenant_users(tenant TEXT NOT NULL, user_id TEXT NOT NULL, first_seen {long} NOT NULL, PRIMARY KEY (tenant, user_id));",
            "CREATE TABLE IF NOT EXISTS usage_events(id TEXT PRIMARY KEY, tenant TEXT NOT NULL, kind TEXT NOT NULL, quantity {long} NOT NULL, at {long} NOT NULL);",
            "CREATE TABLE IF NOT EXISTS usage_hourly(tenant TEXT NOT NULL, hour {long} NOT NULL, kind TEXT NOT NULL, quantity {long} NOT NULL, PRIMARY KEY (tenant, hour, kind));",
            "CREATE TABLE IF NOT EXISTS audit_checkpoints(tenant TEXT NOT NULL, seq {long} NOT NULL, hash TEXT NOT NULL, at {long} NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (tenant, seq));",
            "CREATE TABLE IF NOT EXISTS erasure_receipts(id TEXT PRIMARY KEY, tenant TEXT NOT NULL, issued_at {long} NOT NULL, body TEXT NOT NULL);",
            "CREATE TABLE IF NOT EXISTS store_nodes(name TEXT PRIMARY KEY, url TEXT NOT NULL, tenants {long} NOT NULL, row_count {long} NOT NULL, bytes {long} NOT NULL, seen_at {long} NOT NULL);",
            "CREATE TABLE IF NOT EXISTS tenant_placement(tenant TEXT PRIMARY KEY, node TEXT NOT NULL, epoch {long} NOT NULL, moving_to TEXT, changed_at {long} NOT NULL);",
        })
        {
            Run(c, db.Ddl(table));
        }

        // columns the first releases' catalogs lack
        EnsureColumn(db, c, "tenants", "plan", "TEXT NOT NULL DEFAULT 'default'");
        EnsureColumn(db, c, "tenants", "isolation", "TEXT NOT NULL DEFAULT 'namespace'");
        EnsureColumn(db, c, "tenants", "compliance", "TEXT NOT NULL DEFAULT ''");
        EnsureColumn(db, c, "tenant_memory", "audit_days", "INTEGER NULL");
        EnsureColumn(db, c, "tenant_memory", "usage_days", "INTEGER NULL");
        Run(c, "CREATE INDEX IF NOT EXISTS tenant_events_tenant ON tenant_events(tenant, seq);");
        Run(c, "CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);");
        Run(c, "CREATE INDEX IF NOT EXISTS usage_events_at ON usage_events(at);");
    }

    /// <summary>
    /// Migration 2: what each row may hold and whose it is. Rows of tenants the catalog does not know (left by failed
    /// provisionings before there were keys) are dropped; retention of audit and usage moves to <c>tenant_retention</c>.
    /// </summary>
    private static void KeysAndChecks(CatalogDatabase db, DbConnection c)
    {
        foreach (var table in Tables)
        {
            if (db.Provider == CatalogProvider.Postgres)
            {
                Constrain(c, table);
            }
            else
            {
                Rebuild(db, c, table);
            }

            if (table.Name == "tenants")
            {
                Retention(db, c); // after tenants (a SQLite rebuild of a parent would cascade), before tenant_memory loses the columns
            }
        }
    }

    /// <summary>Migration 3: each user's role in a tenant, and the tenant's groups with their members (and group admins).</summary>
    private static void RolesAndGroups(CatalogDatabase db, DbConnection c)
    {
        Run(c, db.Ddl($$"""
            CREATE TABLE tenant_roles(
              tenant TEXT NOT NULL, user_id TEXT NOT NULL, role TEXT NOT NULL, assigned_at {long} NOT NULL, assigned_by TEXT NOT NULL,
              PRIMARY KEY (tenant, user_id),
              {{Owner("tenant_roles")}},
              CONSTRAINT tenant_roles_role CHECK (role IN ({{Quoted(TenantRoles.Names)}})),
              CONSTRAINT tenant_roles_user CHECK (length(user_id) > 0));
            """));
        Run(c, db.Ddl($$"""
            CREATE TABLE tenant_groups(
              tenant TEXT NOT NULL, name TEXT NOT NULL, created_at {long} NOT NULL, created_by TEXT NOT NULL,
              PRIMARY KEY (tenant, name),
              {{Owner("tenant_groups")}},
              CONSTRAINT tenant_groups_name CHECK (length(name) BETWEEN 1 AND {{GroupName.MaxLength}}));
            """));
        Run(c, db.Ddl("""
            CREATE TABLE tenant_group_members(
              tenant TEXT NOT NULL, group_name TEXT NOT NULL, user_id TEXT NOT NULL, is_admin INTEGER NOT NULL, added_at {long} NOT NULL,
              PRIMARY KEY (tenant, group_name, user_id),
              CONSTRAINT tenant_group_members_group FOREIGN KEY (tenant, group_name) REFERENCES tenant_groups(tenant, name) ON DELETE CASCADE,
              CONSTRAINT tenant_group_members_admin CHECK (is_admin IN (0, 1)));
            """));
        Run(c, "CREATE INDEX IF NOT EXISTS tenant_group_members_user ON tenant_group_members(tenant, user_id);");
    }

    /// <summary>Migration 4: the ids of the console sign-in links already used, kept until the links expire.</summary>
    private static void ConsoleLinks(CatalogDatabase db, DbConnection c)
    {
        Run(c, db.Ddl($$"""
            CREATE TABLE console_links(
              link_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, user_id TEXT NOT NULL, used_at {long} NOT NULL, expires_at {long} NOT NULL,
              {{Owner("console_links")}});
            """));
        Run(c, "CREATE INDEX IF NOT EXISTS console_links_expiry ON console_links(expires_at);");
    }

    /// <summary>
    /// Migration 5: the operators' console sign-ins, one row per operator's link redeemed. Not a tenant's: no foreign key,
    /// and kept (operators have no tenant audit log; this is the record of who signed in, and when).
    /// </summary>
    private static void ConsoleOperatorSignIns(CatalogDatabase db, DbConnection c) =>
        Run(c, db.Ddl("CREATE TABLE console_operator_signins(link_id TEXT PRIMARY KEY, operator TEXT NOT NULL, used_at {long} NOT NULL, expires_at {long} NOT NULL);"));

    /// <summary>
    /// Migration 6: a tenant's replica (decision 0034). <c>replica_state</c> is <c>building</c> while a copy is on its way
    /// (the node keeps it, nothing is promoted to it) and <c>sync</c> once the owner sends it every write; both are null
    /// together. The replica is never the owner. <c>async_lag</c>: null when writes wait for the replica, else how many
    /// writes it may be behind (the tenant's plan replicates asynchronously).
    /// </summary>
    private static void Replicas(CatalogDatabase db, DbConnection c)
    {
        Run(c, "ALTER TABLE tenant_placement ADD COLUMN replica TEXT NULL;");
        Run(c, "ALTER TABLE tenant_placement ADD COLUMN replica_state TEXT NULL;");
        Run(c, "ALTER TABLE tenant_placement ADD COLUMN async_lag INTEGER NULL CHECK (async_lag IS NULL OR async_lag > 0);");
        const string Check = "CHECK ((replica IS NULL AND replica_state IS NULL) OR (replica IS NOT NULL AND replica <> node AND length(replica) > 0 AND replica_state IN ('building', 'sync')))";
        if (db.Provider == CatalogProvider.Postgres)
        {
            Run(c, $"ALTER TABLE tenant_placement ADD CONSTRAINT tenant_placement_replica {Check};");
        }
        else
        {
            // SQLite adds no table constraint to a table: triggers refuse what the check would
            foreach (var (name, when) in new[] { ("insert", "INSERT"), ("update", "UPDATE") })
            {
                Run(c, $"CREATE TRIGGER tenant_placement_replica_{name} BEFORE {when} ON tenant_placement FOR EACH ROW WHEN NOT ((NEW.replica IS NULL AND NEW.replica_state IS NULL) OR (NEW.replica IS NOT NULL AND NEW.replica <> NEW.node AND length(NEW.replica) > 0 AND NEW.replica_state IN ('building', 'sync'))) BEGIN SELECT RAISE(ABORT, 'tenant_placement_replica'); END;");
            }
        }
    }

    /// <summary>
    /// Migration 7: the request-limit budgets gateways share (decision 0035). One row per tenant, budget (<c>minute</c>,
    /// <c>hour</c>, <c>day</c>, a client's or a tool's) and window, keyed by the window's end (Unix ms): the tokens granted
    /// to gateways so far, and the last slice granted (what the statement that granted it returns). Rows of windows that
    /// ended are deleted by the gateways' upkeep. <c>limit_gateways</c>: the gateways seen lately, for the fair share
    /// each counts alone while the catalog is away.
    /// </summary>
    private static void LimitWindows(CatalogDatabase db, DbConnection c)
    {
        Run(c, db.Ddl($$"""
            CREATE TABLE limit_windows(
              tenant TEXT NOT NULL, scope TEXT NOT NULL, window_end {long} NOT NULL, granted {long} NOT NULL, last_grant {long} NOT NULL,
              PRIMARY KEY (tenant, scope, window_end),
              {{Owner("limit_windows")}},
              CONSTRAINT limit_windows_scope CHECK (length(scope) BETWEEN 1 AND 600),
              CONSTRAINT limit_windows_end CHECK (window_end > 0),
              CONSTRAINT limit_windows_granted CHECK (granted >= 0 AND last_grant >= 0 AND last_grant <= granted));
            """));
        Run(c, "CREATE INDEX IF NOT EXISTS limit_windows_end ON limit_windows(window_end);");
        Run(c, db.Ddl("""
            CREATE TABLE limit_gateways(
              name TEXT PRIMARY KEY, seen_at {long} NOT NULL,
              CONSTRAINT limit_gateways_name CHECK (length(name) BETWEEN 1 AND 200),
              CONSTRAINT limit_gateways_seen CHECK (seen_at > 0));
            """));
    }

    /// <summary>
    /// Migration 8: the zone a store node runs in (decision 0037), as it reports it with every heartbeat; null for a node
    /// that sets none, and for every node until it reports again after the upgrade. At most 63 characters when set.
    /// </summary>
    private static void StoreNodeZones(CatalogDatabase db, DbConnection c) =>
        Run(c, "ALTER TABLE store_nodes ADD COLUMN zone TEXT NULL CHECK (zone IS NULL OR length(zone) BETWEEN 1 AND 63);");

    private static void Retention(CatalogDatabase db, DbConnection c)
    {
        Run(c, db.Ddl("""
            CREATE TABLE tenant_retention(
              tenant TEXT PRIMARY KEY, audit_days INTEGER NULL, usage_days INTEGER NULL,
              CONSTRAINT tenant_retention_tenant FOREIGN KEY (tenant) REFERENCES tenants(id) ON DELETE CASCADE,
              CONSTRAINT tenant_retention_days CHECK ((audit_days IS NULL OR audit_days > 0) AND (usage_days IS NULL OR usage_days > 0)));
            """));
        Run(c, "INSERT INTO tenant_retention(tenant, audit_days, usage_days) SELECT tenant, audit_days, usage_days FROM tenant_memory " +
            "WHERE (audit_days IS NOT NULL OR usage_days IS NOT NULL) AND tenant IN (SELECT id FROM tenants);");
    }

    /// <summary>PostgreSQL alters tables in place: drop what no tenant owns, then add each constraint (validated).</summary>
    private static void Constrain(DbConnection c, Table table)
    {
        if (table.Owned)
        {
            Run(c, $"DELETE FROM {table.Name} WHERE tenant NOT IN (SELECT id FROM tenants);");
        }

        foreach (var drop in table.Dropped)
        {
            Run(c, $"ALTER TABLE {table.Name} DROP COLUMN {drop};");
        }

        foreach (var constraint in table.Constraints)
        {
            Run(c, $"ALTER TABLE {table.Name} ADD {constraint};");
        }
    }

    /// <summary>SQLite cannot add a constraint to a table: it is rebuilt (create, copy, drop, rename) with its indexes.</summary>
    private static void Rebuild(CatalogDatabase db, DbConnection c, Table table)
    {
        var next = table.Name + "__next";
        Run(c, db.Ddl($"CREATE TABLE {next}({table.Columns}, {string.Join(", ", table.Constraints)});"));
        var columns = string.Join(", ", table.Columns.Split(',').Select(d => d.Trim()).TakeWhile(d => !d.StartsWith("PRIMARY KEY", StringComparison.Ordinal)).Select(d => d.Split(' ')[0]));
        var owned = table.Owned ? " WHERE tenant IN (SELECT id FROM tenants)" : "";
        Run(c, $"INSERT INTO {next}({columns}) SELECT {columns} FROM {table.Name}{owned};");
        Run(c, $"DROP TABLE {table.Name};");
        Run(c, $"ALTER TABLE {next} RENAME TO {table.Name};");
        foreach (var index in table.Indexes)
        {
            Run(c, index);
        }
    }

    /// <summary>
    /// The tables migration 2 constrains, parents first. <c>Columns</c> is the table's definition after the migration
    /// (a PRIMARY KEY clause last when it spans columns); <c>Dropped</c> the columns it loses.
    /// </summary>
    private static readonly Table[] Tables =
    [
        new("tenants",
            "id TEXT PRIMARY KEY, display_name TEXT NOT NULL, status TEXT NOT NULL, created_at {long} NOT NULL, plan TEXT NOT NULL DEFAULT 'default', isolation TEXT NOT NULL DEFAULT 'namespace', compliance TEXT NOT NULL DEFAULT ''",
            Owned: false,
            [
                $"CONSTRAINT tenants_id CHECK (length(id) BETWEEN 1 AND {Storage.Identity.TenantId.MaxLength})",
                $"CONSTRAINT tenants_display_name CHECK (length(display_name) BETWEEN 1 AND {TenantCatalog.MaxDisplayNameLength})",
                $"CONSTRAINT tenants_status CHECK (status IN ({Quoted(Enum.GetNames<TenantStatus>())}))",
                $"CONSTRAINT tenants_isolation CHECK (isolation IN ({Quoted(TenantProfile.IsolationLevels)}))",
                "CONSTRAINT tenants_plan CHECK (length(plan) > 0)",
            ]),
        new("tenant_settings", "tenant TEXT PRIMARY KEY, retrieval TEXT NOT NULL", Owned: true, [Owner("tenant_settings")]),
        new("tenant_memory", "tenant TEXT PRIMARY KEY, retention_days INTEGER NULL, consolidated_until {long} NULL", Owned: true,
            [Owner("tenant_memory"), "CONSTRAINT tenant_memory_days CHECK (retention_days IS NULL OR retention_days > 0)"],
            Dropped: ["audit_days", "usage_days"]),
        new("tenant_events", "seq {serial}, tenant TEXT NOT NULL, action TEXT NOT NULL, from_status TEXT NULL, to_status TEXT NOT NULL, actor TEXT NOT NULL, at {long} NOT NULL", Owned: true,
            [Owner("tenant_events"), "CONSTRAINT tenant_events_action CHECK (length(action) > 0)"],
            Indexes: ["CREATE INDEX IF NOT EXISTS tenant_events_tenant ON tenant_events(tenant, seq);"]),
        new("api_keys", "id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL, secret_hash {blob} NOT NULL, created_at {long} NOT NULL, revoked_at {long} NULL", Owned: true,
            [Owner("api_keys"), "CONSTRAINT api_keys_name CHECK (length(name) > 0)", "CONSTRAINT api_keys_scopes CHECK (length(scopes) > 0)"],
            Indexes: ["CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);"]),
        new("tenant_users", "tenant TEXT NOT NULL, user_id TEXT NOT NULL, first_seen {long} NOT NULL, PRIMARY KEY (tenant, user_id)", Owned: true,
            [Owner("tenant_users"), "CONSTRAINT tenant_users_user CHECK (length(user_id) > 0)"]),
        new("tenant_placement", "tenant TEXT PRIMARY KEY, node TEXT NOT NULL, epoch {long} NOT NULL, moving_to TEXT, changed_at {long} NOT NULL", Owned: true,
            [Owner("tenant_placement"), "CONSTRAINT tenant_placement_epoch CHECK (epoch > 0)", "CONSTRAINT tenant_placement_node CHECK (length(node) > 0)"]),
        new("usage_events", "id TEXT PRIMARY KEY, tenant TEXT NOT NULL, kind TEXT NOT NULL, quantity {long} NOT NULL, at {long} NOT NULL", Owned: false,
            ["CONSTRAINT usage_events_quantity CHECK (quantity >= 0)", "CONSTRAINT usage_events_kind CHECK (length(kind) > 0)"],
            Indexes: ["CREATE INDEX IF NOT EXISTS usage_events_at ON usage_events(at);"]),
        new("usage_hourly", "tenant TEXT NOT NULL, hour {long} NOT NULL, kind TEXT NOT NULL, quantity {long} NOT NULL, PRIMARY KEY (tenant, hour, kind)", Owned: false,
            ["CONSTRAINT usage_hourly_quantity CHECK (quantity >= 0)"]),
        new("audit_checkpoints", "tenant TEXT NOT NULL, seq {long} NOT NULL, hash TEXT NOT NULL, at {long} NOT NULL, key_id TEXT NOT NULL, signature TEXT NOT NULL, PRIMARY KEY (tenant, seq)", Owned: false,
            ["CONSTRAINT audit_checkpoints_seq CHECK (seq >= 0)"]),
        new("store_nodes", "name TEXT PRIMARY KEY, url TEXT NOT NULL, tenants {long} NOT NULL, row_count {long} NOT NULL, bytes {long} NOT NULL, seen_at {long} NOT NULL", Owned: false,
            ["CONSTRAINT store_nodes_load CHECK (tenants >= 0 AND row_count >= 0 AND bytes >= 0)"]),
    ];

    private sealed record Table(string Name, string Columns, bool Owned, string[] Constraints, string[]? Dropped = null, string[]? Indexes = null)
    {
        public string[] Dropped { get; } = Dropped ?? [];

        public string[] Indexes { get; } = Indexes ?? [];
    }

    private static string Owner(string table) => $"CONSTRAINT {table}_tenant FOREIGN KEY (tenant) REFERENCES tenants(id) ON DELETE CASCADE";

    private static string Quoted(IEnumerable<string> values) => string.Join(", ", values.Select(v => $"'{v}'"));

    private static void Run(DbConnection c, string sql)
    {
        using var cmd = CatalogDatabase.Command(c, sql);
        cmd.CommandTimeout = 0; // a schema change on a large catalog may take longer than a statement is allowed
        cmd.ExecuteNonQuery();
    }

    /// <summary>Adds a column to a table of an old catalog unless it is there (names are constants of this class).</summary>
    private static void EnsureColumn(CatalogDatabase db, DbConnection c, string table, string column, string definition)
    {
        if (db.Provider == CatalogProvider.Postgres)
        {
            Run(c, $"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition};");
            return;
        }

        using var cmd = CatalogDatabase.Command(c, $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = @column;", ("@column", column));
        if (Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
        {
            Run(c, $"ALTER TABLE {table} ADD COLUMN {column} {definition};");
        }
    }
}
