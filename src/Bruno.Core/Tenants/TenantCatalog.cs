using System.Data.Common;
using Bruno.Storage.Identity;

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
/// The catalog of tenants, on SQLite or PostgreSQL (<see cref="CatalogDatabase"/>; parameterised statements only).
/// Thread-safe: each call opens a pooled connection. Throws <see cref="DbException"/> for database failures,
/// <see cref="TenantExistsException"/> on a duplicate id and <see cref="ArgumentException"/> for an invalid display name;
/// nothing is written when it throws.
/// </summary>
public sealed class TenantCatalog
{
    /// <summary>Longest display name.</summary>
    public const int MaxDisplayNameLength = 200;

    private const string Columns = "id, display_name, status, created_at";

    private readonly CatalogDatabase _db;
    private readonly TimeProvider _time;

    /// <summary>The catalog in <paramref name="db"/>, its tables created when missing.</summary>
    public TenantCatalog(CatalogDatabase db, TimeProvider? time = null)
    {
        _db = db;
        _time = time ?? TimeProvider.System;
        using var c = db.Open();
        foreach (var table in new[]
        {
            "CREATE TABLE IF NOT EXISTS tenants(id TEXT PRIMARY KEY, display_name TEXT NOT NULL, status TEXT NOT NULL, created_at {long} NOT NULL);",
            "CREATE TABLE IF NOT EXISTS tenant_settings(tenant TEXT PRIMARY KEY, retrieval TEXT NOT NULL);",
            "CREATE TABLE IF NOT EXISTS tenant_memory(tenant TEXT PRIMARY KEY, retention_days INTEGER NULL, consolidated_until {long} NULL);",
        })
        {
            CatalogDatabase.Execute(c, db.Ddl(table));
        }
    }

    /// <summary>A SQLite catalog in the file at <paramref name="path"/> (tests and tools).</summary>
    public TenantCatalog(string path, TimeProvider? time = null)
        : this(CatalogDatabase.Sqlite(path), time)
    {
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
        var inserted = _db.Execute(
            "INSERT INTO tenants(id, display_name, status, created_at) VALUES(@id, @name, @status, @created) ON CONFLICT(id) DO NOTHING;",
            ("@id", id.Value),
            ("@name", displayName),
            ("@status", record.Status.ToString()),
            ("@created", record.CreatedAt.ToUnixTimeMilliseconds()));
        return inserted == 1 ? record : throw new TenantExistsException(id.Value);
    }

    /// <summary>The tenant, or null when the catalog does not know it.</summary>
    public TenantRecord? Find(TenantId id) =>
        _db.Query($"SELECT {Columns} FROM tenants WHERE id = @id;", Read, ("@id", id.Value)).SingleOrDefault();

    /// <summary>Every tenant, by id.</summary>
    public IReadOnlyList<TenantRecord> List() => _db.Query($"SELECT {Columns} FROM tenants ORDER BY id;", Read);

    /// <summary>Sets a tenant's status; returns false when the tenant does not exist.</summary>
    public bool SetStatus(TenantId id, TenantStatus status) =>
        _db.Execute("UPDATE tenants SET status = @status WHERE id = @id;", ("@id", id.Value), ("@status", status.ToString())) == 1;

    /// <summary>The tenant's retrieval overrides, or null when it has none.</summary>
    public RetrievalOverrides? FindRetrieval(TenantId id) =>
        _db.Query("SELECT retrieval FROM tenant_settings WHERE tenant = @id;", r => r.GetString(0), ("@id", id.Value)).SingleOrDefault() is { } json
            ? System.Text.Json.JsonSerializer.Deserialize<RetrievalOverrides>(json)
            : null;

    /// <summary>Replaces the tenant's retrieval overrides; false when the tenant does not exist.</summary>
    public bool SetRetrieval(TenantId id, RetrievalOverrides overrides) =>
        _db.Execute(
            """
            INSERT INTO tenant_settings(tenant, retrieval) SELECT id, CAST(@json AS TEXT) FROM tenants WHERE id = @id
            ON CONFLICT(tenant) DO UPDATE SET retrieval = excluded.retrieval;
            """,
            ("@id", id.Value),
            ("@json", System.Text.Json.JsonSerializer.Serialize(overrides))) == 1;

    /// <summary>The tenant's own memory retention in days (null: the service's default) and how far its memory was consolidated.</summary>
    public (int? RetentionDays, DateTimeOffset? ConsolidatedUntil) FindMemory(TenantId id) =>
        _db.Query(
            "SELECT retention_days, consolidated_until FROM tenant_memory WHERE tenant = @id;",
            r => (r.IsDBNull(0) ? (int?)null : Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), r.IsDBNull(1) ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))),
            ("@id", id.Value)).SingleOrDefault();

    /// <summary>Sets the tenant's memory retention (null: back to the default); false when the tenant does not exist.</summary>
    public bool SetMemoryRetention(TenantId id, int? days) =>
        _db.Execute(
            """
            INSERT INTO tenant_memory(tenant, retention_days) SELECT id, CAST(@value AS INTEGER) FROM tenants WHERE id = @id
            ON CONFLICT(tenant) DO UPDATE SET retention_days = excluded.retention_days;
            """,
            ("@id", id.Value),
            ("@value", days)) == 1;

    /// <summary>Records that the tenant's turns up to <paramref name="until"/> were consolidated; false when the tenant does not exist.</summary>
    public bool SetConsolidatedUntil(TenantId id, DateTimeOffset until) =>
        _db.Execute(
            """
            INSERT INTO tenant_memory(tenant, consolidated_until) SELECT id, CAST(@value AS BIGINT) FROM tenants WHERE id = @id
            ON CONFLICT(tenant) DO UPDATE SET consolidated_until = excluded.consolidated_until;
            """,
            ("@id", id.Value),
            ("@value", until.ToUnixTimeMilliseconds())) == 1;

    private static TenantRecord Read(DbDataReader r) =>
        new(TenantId.Parse(r.GetString(0)), r.GetString(1), Enum.Parse<TenantStatus>(r.GetString(2)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)));
}
