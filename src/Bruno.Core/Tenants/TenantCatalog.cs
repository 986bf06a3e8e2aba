using Bruno.Storage.Identity;
using Microsoft.Data.Sqlite;

namespace Bruno.Core.Tenants;

/// <summary>A tenant's state in the catalog.</summary>
public enum TenantStatus
{
    /// <summary>Serving requests.</summary>
    Active,

    /// <summary>Refusing every request (403).</summary>
    Suspended,
}

/// <summary>One tenant as the catalog records it.</summary>
public sealed record TenantRecord(TenantId Id, string DisplayName, TenantStatus Status, DateTimeOffset CreatedAt);

/// <summary>Thrown when creating a tenant whose id is taken.</summary>
public sealed class TenantExistsException(string tenant) : Exception($"Tenant '{tenant}' already exists.");

/// <summary>
/// The catalog of tenants, on SQLite (one file, WAL, parameterised statements only). Thread-safe: each call opens a
/// pooled connection. Throws <see cref="SqliteException"/> for I/O failures, <see cref="TenantExistsException"/> on a
/// duplicate id and <see cref="ArgumentException"/> for an invalid display name; nothing is written when it throws.
/// </summary>
public sealed class TenantCatalog
{
    /// <summary>Longest display name.</summary>
    public const int MaxDisplayNameLength = 200;

    private readonly string _connectionString;
    private readonly TimeProvider _time;

    /// <summary>Opens (creating when missing) the catalog at <paramref name="path"/>.</summary>
    public TenantCatalog(string path, TimeProvider? time = null)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true }.ToString();
        _time = time ?? TimeProvider.System;
        using var c = Open();
        Exec(c, "PRAGMA journal_mode=WAL;");
        Exec(c, """
            CREATE TABLE IF NOT EXISTS tenants(
              id TEXT PRIMARY KEY,
              display_name TEXT NOT NULL,
              status TEXT NOT NULL,
              created_at INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS tenant_settings(
              tenant TEXT PRIMARY KEY,
              retrieval TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tenant_memory(
              tenant TEXT PRIMARY KEY,
              retention_days INTEGER NULL,
              consolidated_until INTEGER NULL);
            """);
    }

    /// <summary>Records a new active tenant.</summary>
    public TenantRecord Create(TenantId id, string displayName)
    {
        ArgumentNullException.ThrowIfNull(displayName);
        displayName = displayName.Trim();
        if (displayName.Length is 0 or > MaxDisplayNameLength || displayName.Any(char.IsControl))
        {
            throw new ArgumentException($"A display name has 1-{MaxDisplayNameLength} characters and no control characters.", nameof(displayName));
        }

        var record = new TenantRecord(id, displayName, TenantStatus.Active, DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds()));
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO tenants(id, display_name, status, created_at) VALUES($id, $name, $status, $created) ON CONFLICT(id) DO NOTHING;";
        cmd.Parameters.AddWithValue("$id", id.Value);
        cmd.Parameters.AddWithValue("$name", displayName);
        cmd.Parameters.AddWithValue("$status", record.Status.ToString());
        cmd.Parameters.AddWithValue("$created", record.CreatedAt.ToUnixTimeMilliseconds());
        return cmd.ExecuteNonQuery() == 1 ? record : throw new TenantExistsException(id.Value);
    }

    /// <summary>The tenant, or null when the catalog does not know it.</summary>
    public TenantRecord? Find(TenantId id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, display_name, status, created_at FROM tenants WHERE id = $id;";
        cmd.Parameters.AddWithValue("$id", id.Value);
        using var r = cmd.ExecuteReader();
        return r.Read() ? Read(r) : null;
    }

    /// <summary>Every tenant, by id.</summary>
    public IReadOnlyList<TenantRecord> List()
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, display_name, status, created_at FROM tenants ORDER BY id;";
        using var r = cmd.ExecuteReader();
        var list = new List<TenantRecord>();
        while (r.Read())
        {
            list.Add(Read(r));
        }

        return list;
    }

    /// <summary>Sets a tenant's status; returns false when the tenant does not exist.</summary>
    public bool SetStatus(TenantId id, TenantStatus status)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE tenants SET status = $status WHERE id = $id;";
        cmd.Parameters.AddWithValue("$id", id.Value);
        cmd.Parameters.AddWithValue("$status", status.ToString());
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>The tenant's retrieval overrides, or null when it has none.</summary>
    public RetrievalOverrides? FindRetrieval(TenantId id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT retrieval FROM tenant_settings WHERE tenant = $id;";
        cmd.Parameters.AddWithValue("$id", id.Value);
        return cmd.ExecuteScalar() is string json ? System.Text.Json.JsonSerializer.Deserialize<RetrievalOverrides>(json) : null;
    }

    /// <summary>Replaces the tenant's retrieval overrides; false when the tenant does not exist.</summary>
    public bool SetRetrieval(TenantId id, RetrievalOverrides overrides)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO tenant_settings(tenant, retrieval) SELECT id, $json FROM tenants WHERE id = $id
            ON CONFLICT(tenant) DO UPDATE SET retrieval = excluded.retrieval;
            """;
        cmd.Parameters.AddWithValue("$id", id.Value);
        cmd.Parameters.AddWithValue("$json", System.Text.Json.JsonSerializer.Serialize(overrides));
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>The tenant's own memory retention in days (null: the service's default) and how far its memory was consolidated.</summary>
    public (int? RetentionDays, DateTimeOffset? ConsolidatedUntil) FindMemory(TenantId id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT retention_days, consolidated_until FROM tenant_memory WHERE tenant = $id;";
        cmd.Parameters.AddWithValue("$id", id.Value);
        using var r = cmd.ExecuteReader();
        return r.Read()
            ? (r.IsDBNull(0) ? null : r.GetInt32(0), r.IsDBNull(1) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1)))
            : (null, null);
    }

    /// <summary>Sets the tenant's memory retention (null: back to the default); false when the tenant does not exist.</summary>
    public bool SetMemoryRetention(TenantId id, int? days) => UpsertMemory(id, "retention_days", days);

    /// <summary>Records that the tenant's turns up to <paramref name="until"/> were consolidated; false when the tenant does not exist.</summary>
    public bool SetConsolidatedUntil(TenantId id, DateTimeOffset until) => UpsertMemory(id, "consolidated_until", until.ToUnixTimeMilliseconds());

    private bool UpsertMemory(TenantId id, string column, long? value)
    {
        // column is one of two constants above, never input
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            INSERT INTO tenant_memory(tenant, {column}) SELECT id, $value FROM tenants WHERE id = $id
            ON CONFLICT(tenant) DO UPDATE SET {column} = excluded.{column};
            """;
        cmd.Parameters.AddWithValue("$id", id.Value);
        cmd.Parameters.AddWithValue("$value", value is { } v ? v : DBNull.Value);
        return cmd.ExecuteNonQuery() == 1;
    }

    private static TenantRecord Read(SqliteDataReader r) =>
        new(TenantId.Parse(r.GetString(0)), r.GetString(1), Enum.Parse<TenantStatus>(r.GetString(2)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)));

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
