using System.Data.Common;
using Bruno.Core.Retrieval;
using Bruno.Storage.Identity;

namespace Bruno.Core.Tenants;

/// <summary>A tenant's state in the catalog: provisioning → active ⇄ suspended → deleting → deleted, plus offloaded.</summary>
public enum TenantStatus
{
    /// <summary>Serving requests.</summary>
    Active,

    /// <summary>Refusing every request (403).</summary>
    Suspended,

    /// <summary>Being created (its store may not exist yet); resumed at the next start after a crash.</summary>
    Provisioning,

    /// <summary>Its store closed and its files kept cold; the next request (or the operator) reactivates it.</summary>
    Offloaded,

    /// <summary>Being erased; finished at the next start after a crash.</summary>
    Deleting,

    /// <summary>Erased: keys destroyed, files removed; the record stays as a tombstone.</summary>
    Deleted,
}

/// <summary>What a tenant pays for: its plan, isolation level and compliance flags.</summary>
public sealed record TenantProfile(string Plan = "default", string Isolation = "namespace", IReadOnlyList<string>? Compliance = null)
{
    /// <summary>Isolation levels (docs: Kubernetes rendering).</summary>
    public static readonly IReadOnlyList<string> IsolationLevels = ["namespace", "kamaji", "dedicated-cluster"];

    /// <summary>Compliance flags a tenant may carry.</summary>
    public static readonly IReadOnlyList<string> ComplianceFlags = ["gdpr", "soc2", "hipaa"];

    /// <summary>The flags, each once, in a fixed order.</summary>
    public IReadOnlyList<string> Flags => [.. ComplianceFlags.Where(f => Compliance?.Contains(f, StringComparer.Ordinal) == true)];

    /// <summary>Throws <see cref="ArgumentException"/> naming what is wrong (the plan is checked against the configured plans).</summary>
    public TenantProfile Validated(IEnumerable<string> plans)
    {
        if (!plans.Contains(Plan, StringComparer.Ordinal))
        {
            throw new ArgumentException($"plan must be one of: {string.Join(", ", plans)}.");
        }

        if (!IsolationLevels.Contains(Isolation, StringComparer.Ordinal))
        {
            throw new ArgumentException($"isolation must be one of: {string.Join(", ", IsolationLevels)}.");
        }

        if (Compliance?.FirstOrDefault(f => !ComplianceFlags.Contains(f, StringComparer.Ordinal)) is { } bad)
        {
            throw new ArgumentException($"compliance flags are some of: {string.Join(", ", ComplianceFlags)} (not '{bad}').");
        }

        return this;
    }
}

/// <summary>One tenant as the catalog records it.</summary>
public sealed record TenantRecord(TenantId Id, string DisplayName, TenantStatus Status, DateTimeOffset CreatedAt)
{
    /// <summary>Plan, isolation level and compliance flags.</summary>
    public TenantProfile Profile { get; init; } = new();
}

/// <summary>One recorded change of a tenant: a transition of its state, or of its plan.</summary>
public sealed record TenantEvent(long Seq, string Action, string? From, string To, string Actor, DateTimeOffset At);

/// <summary>Thrown when creating a tenant whose id is taken.</summary>
public sealed class TenantExistsException(string tenant) : Exception($"Tenant '{tenant}' already exists.");

/// <summary>Thrown when a tenant's state does not allow an operation (HTTP 409); the message names both.</summary>
public sealed class TenantStateException(string message) : Exception(message);

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

    /// <summary>The action of the first event of a tenant created by importing a bundle (instead of <c>create</c>).</summary>
    public const string ImportAction = "import";

    private const string Columns = "id, display_name, status, created_at, plan, isolation, compliance";

    /// <summary>How old a record <see cref="FindRecent"/> may answer with (a change made by another process is seen within it).</summary>
    public static readonly TimeSpan RecentFor = TimeSpan.FromMilliseconds(250);

    private const int MaxRecent = 10_000;

    private readonly CatalogDatabase _db;
    private readonly TimeProvider _time;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TenantId, Recent> _recent = new();
    private readonly LastRead<TenantId, RetrievalOverrides?> _retrieval;
    private long _version; // bumped after every committed change of a tenant record through this object

    /// <summary>The catalog in <paramref name="db"/>, its tables made by <see cref="CatalogSchema"/>.</summary>
    public TenantCatalog(CatalogDatabase db, TimeProvider? time = null)
    {
        _db = db;
        _time = time ?? TimeProvider.System;
        _retrieval = new(_time);
    }

    /// <summary>
    /// A lock every process sharing this catalog honours, held until disposed (see <see cref="CatalogDatabase.LockAsync"/>):
    /// background jobs that several gateways run take it per tenant, so one tenant's job runs in one process at a time.
    /// </summary>
    public Task<IAsyncDisposable> LockAsync(string name, CancellationToken ct = default) => _db.LockAsync(name, ct);

    /// <summary>A SQLite catalog in the file at <paramref name="path"/> (tests and tools).</summary>
    public TenantCatalog(string path, TimeProvider? time = null)
        : this(CatalogDatabase.Sqlite(path), time)
    {
    }

    /// <summary>
    /// Records a new tenant in <paramref name="status"/> (active unless a provisioning is to follow), with the event
    /// <paramref name="action"/> (<c>create</c>, or <see cref="ImportAction"/>).
    /// </summary>
    public TenantRecord Create(TenantId id, string displayName, TenantProfile? profile = null, TenantStatus status = TenantStatus.Active, string actor = "system", string action = "create")
    {
        ArgumentNullException.ThrowIfNull(displayName);
        displayName = displayName.Trim();
        if (displayName.Length is 0 or > MaxDisplayNameLength || displayName.Any(char.IsControl))
        {
            throw new ArgumentException($"A display name has 1-{MaxDisplayNameLength} characters and no control characters.", nameof(displayName));
        }

        profile ??= new TenantProfile();
        var now = Now();
        var record = new TenantRecord(id, displayName, status, now) { Profile = profile with { Compliance = profile.Flags } };
        using var c = _db.Open();
        using var tx = c.BeginTransaction();
        var inserted = CatalogDatabase.Execute(
            c,
            "INSERT INTO tenants(id, display_name, status, created_at, plan, isolation, compliance) VALUES(@id, @name, @status, @created, @plan, @isolation, @compliance) ON CONFLICT(id) DO NOTHING;",
            ("@id", id.Value),
            ("@name", displayName),
            ("@status", status.ToString()),
            ("@created", now.ToUnixTimeMilliseconds()),
            ("@plan", profile.Plan),
            ("@isolation", profile.Isolation),
            ("@compliance", string.Join(' ', profile.Flags)));
        if (inserted != 1)
        {
            throw new TenantExistsException(id.Value);
        }

        Record(c, id, action, null, status, actor, now);
        tx.Commit();
        Changed();
        return record;
    }

    /// <summary>
    /// Removes every trace of a tenant that is still <c>provisioning</c> (an import that failed or was interrupted): its
    /// record and every row it owns, in one transaction, so that its id is free again. False (and nothing changed) when
    /// the tenant is unknown or in another state.
    /// </summary>
    public bool Forget(TenantId id)
    {
        // the rows the tenant owns (events, settings, keys, users, placement) go with it: ON DELETE CASCADE
        var removed = _db.Execute("DELETE FROM tenants WHERE id = @id AND status = @status;", ("@id", id.Value), ("@status", TenantStatus.Provisioning.ToString()));
        Changed();
        return removed == 1;
    }

    /// <summary>
    /// Moves the tenant from one of <paramref name="from"/> to <paramref name="to"/> and records the event, in one
    /// transaction (compare-and-set: a concurrent transition makes this one fail). Returns the tenant as it now is,
    /// or null when it is unknown or in none of the states <paramref name="from"/>.
    /// </summary>
    public TenantRecord? Transition(TenantId id, IReadOnlyCollection<TenantStatus> from, TenantStatus to, string actor)
    {
        using var c = _db.Open();
        using var tx = c.BeginTransaction();
        var current = Query(c, $"SELECT {Columns} FROM tenants WHERE id = @id;", ("@id", id.Value)).SingleOrDefault();
        if (current is null || !from.Contains(current.Status))
        {
            return null;
        }

        var changed = CatalogDatabase.Execute(c, "UPDATE tenants SET status = @to WHERE id = @id AND status = @from;", ("@id", id.Value), ("@to", to.ToString()), ("@from", current.Status.ToString()));
        if (changed != 1)
        {
            return null;
        }

        Record(c, id, Verb(current.Status, to), current.Status, to, actor, Now());
        tx.Commit();
        Changed();
        return current with { Status = to };
    }

    /// <summary>Sets the tenant's plan and records it; null when the tenant is unknown or deleted.</summary>
    public TenantRecord? SetPlan(TenantId id, string plan, string actor)
    {
        using var c = _db.Open();
        using var tx = c.BeginTransaction();
        var current = Query(c, $"SELECT {Columns} FROM tenants WHERE id = @id;", ("@id", id.Value)).SingleOrDefault();
        if (current is null || current.Status is TenantStatus.Deleting or TenantStatus.Deleted)
        {
            return null;
        }

        CatalogDatabase.Execute(c, "UPDATE tenants SET plan = @plan WHERE id = @id;", ("@id", id.Value), ("@plan", plan));
        Record(c, id, "plan " + plan, current.Status, current.Status, actor, Now());
        tx.Commit();
        Changed();
        return current with { Profile = current.Profile with { Plan = plan } };
    }

    /// <summary>The tenant's recorded events, oldest first.</summary>
    public IReadOnlyList<TenantEvent> Events(TenantId id) =>
        _db.Query(
            "SELECT seq, action, from_status, to_status, actor, at FROM tenant_events WHERE tenant = @id ORDER BY seq;",
            r => new TenantEvent(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2).ToLowerInvariant(), r.GetString(3).ToLowerInvariant(), r.GetString(4), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5))),
            ("@id", id.Value));

    /// <summary>The tenants in one of <paramref name="statuses"/> (start-up recovery).</summary>
    public IReadOnlyList<TenantRecord> InStatus(params TenantStatus[] statuses) =>
        [.. List().Where(t => statuses.Contains(t.Status))];

    /// <summary>The tenant, or null when the catalog does not know it.</summary>
    public TenantRecord? Find(TenantId id) =>
        _db.Query($"SELECT {Columns} FROM tenants WHERE id = @id;", Read, ("@id", id.Value)).SingleOrDefault();

    /// <summary>
    /// The tenant as this catalog object read it at most <see cref="RecentFor"/> ago, else read now: the per-request
    /// admission check, which would otherwise query the database on every request (and on every refused one). A change
    /// made through this object is seen at once (every committed change invalidates what was kept); one made by another
    /// process sharing the database within <see cref="RecentFor"/>. While the catalog is away, an active tenant read at most
    /// <see cref="CatalogDatabase.OutageGrace"/> ago is answered as it was (decision 0033); otherwise throws as <see cref="Find"/> does.
    /// </summary>
    public TenantRecord? FindRecent(TenantId id)
    {
        var (version, now) = (Volatile.Read(ref _version), _time.GetTimestamp());
        if (_recent.TryGetValue(id, out var kept) && kept.Version == version && _time.GetElapsedTime(kept.ReadAt, now) < RecentFor)
        {
            return kept.Record;
        }

        TenantRecord? record;
        try
        {
            record = Find(id); // a change committed while this runs bumps the version: what is kept here is not used
        }
        catch (Exception e) when (CatalogDatabase.IsOutage(e) && kept is { Record.Status: TenantStatus.Active } && kept.Version == version
            && _time.GetElapsedTime(kept.ReadAt, now) <= CatalogDatabase.OutageGrace)
        {
            return kept.Record; // the catalog is away: an active tenant read moments ago is served as it was (decision 0033)
        }

        if (_recent.Count >= MaxRecent)
        {
            _recent.Clear();
        }

        _recent[id] = new Recent(record, version, now);
        return record;
    }

    /// <summary>Every tenant, by id.</summary>
    public IReadOnlyList<TenantRecord> List() => _db.Query($"SELECT {Columns} FROM tenants ORDER BY id;", Read);

    /// <summary>The tenant's retrieval overrides, or null when it has none (during an outage, as read at most <see cref="CatalogDatabase.OutageGrace"/> ago).</summary>
    public RetrievalOverrides? FindRetrieval(TenantId id) => _retrieval.Get(id, () =>
        _db.Query("SELECT retrieval FROM tenant_settings WHERE tenant = @id;", r => r.GetString(0), ("@id", id.Value)).SingleOrDefault() is { } json
            ? System.Text.Json.JsonSerializer.Deserialize<RetrievalOverrides>(json)
            : null);

    /// <summary>Replaces the tenant's retrieval overrides; false when the tenant does not exist.</summary>
    public bool SetRetrieval(TenantId id, RetrievalOverrides overrides)
    {
        _retrieval.Clear();
        return _db.Execute(
            """
            INSERT INTO tenant_settings(tenant, retrieval) SELECT id, CAST(@json AS TEXT) FROM tenants WHERE id = @id
            ON CONFLICT(tenant) DO UPDATE SET retrieval = excluded.retrieval;
            """,
            ("@id", id.Value),
            ("@json", System.Text.Json.JsonSerializer.Serialize(overrides))) == 1;
    }

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

    /// <summary>The tenant's own audit and usage retention in days (null: the service's default).</summary>
    public (int? AuditDays, int? UsageDays) FindRetention(TenantId id) =>
        _db.Query(
            "SELECT audit_days, usage_days FROM tenant_retention WHERE tenant = @id;",
            r => (r.IsDBNull(0) ? (int?)null : Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture), r.IsDBNull(1) ? (int?)null : Convert.ToInt32(r.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)),
            ("@id", id.Value)).SingleOrDefault();

    /// <summary>Sets the tenant's audit and usage retention (null: the default); false when the tenant does not exist.</summary>
    public bool SetRetention(TenantId id, int? auditDays, int? usageDays) =>
        _db.Execute(
            """
            INSERT INTO tenant_retention(tenant, audit_days, usage_days) SELECT id, CAST(@audit AS INTEGER), CAST(@usage AS INTEGER) FROM tenants WHERE id = @id
            ON CONFLICT(tenant) DO UPDATE SET audit_days = excluded.audit_days, usage_days = excluded.usage_days;
            """,
            ("@id", id.Value),
            ("@audit", auditDays),
            ("@usage", usageDays)) == 1;

    /// <summary>Records that the tenant's turns up to <paramref name="until"/> were consolidated; false when the tenant does not exist.</summary>
    public bool SetConsolidatedUntil(TenantId id, DateTimeOffset until) =>
        _db.Execute(
            """
            INSERT INTO tenant_memory(tenant, consolidated_until) SELECT id, CAST(@value AS BIGINT) FROM tenants WHERE id = @id
            ON CONFLICT(tenant) DO UPDATE SET consolidated_until = excluded.consolidated_until;
            """,
            ("@id", id.Value),
            ("@value", until.ToUnixTimeMilliseconds())) == 1;

    private void Changed() => Interlocked.Increment(ref _version);

    private sealed record Recent(TenantRecord? Record, long Version, long ReadAt);

    private static TenantRecord Read(DbDataReader r) =>
        new(TenantId.Parse(r.GetString(0)), r.GetString(1), Enum.Parse<TenantStatus>(r.GetString(2)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)))
        {
            Profile = new TenantProfile(r.GetString(4), r.GetString(5), r.GetString(6).Split(' ', StringSplitOptions.RemoveEmptyEntries)),
        };

    private static List<TenantRecord> Query(DbConnection c, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = CatalogDatabase.Command(c, sql, parameters);
        using var r = cmd.ExecuteReader();
        var rows = new List<TenantRecord>();
        while (r.Read())
        {
            rows.Add(Read(r));
        }

        return rows;
    }

    private static void Record(DbConnection c, TenantId id, string action, TenantStatus? from, TenantStatus to, string actor, DateTimeOffset at) =>
        CatalogDatabase.Execute(
            c,
            "INSERT INTO tenant_events(tenant, action, from_status, to_status, actor, at) VALUES(@id, @action, @from, @to, @actor, @at);",
            ("@id", id.Value),
            ("@action", action),
            ("@from", from?.ToString()),
            ("@to", to.ToString()),
            ("@actor", actor),
            ("@at", at.ToUnixTimeMilliseconds()));

    private static string Verb(TenantStatus from, TenantStatus to) => (from, to) switch
    {
        (TenantStatus.Provisioning, TenantStatus.Active) => "provisioned",
        (TenantStatus.Suspended, TenantStatus.Active) => "resume",
        (TenantStatus.Offloaded, TenantStatus.Active) => "reactivate",
        (_, TenantStatus.Suspended) => "suspend",
        (_, TenantStatus.Offloaded) => "offload",
        (_, TenantStatus.Deleting) => "delete",
        (_, TenantStatus.Deleted) => "deleted",
        _ => to.ToString().ToLowerInvariant(),
    };

    private DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());
}
