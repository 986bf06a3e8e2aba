using System.Collections.Concurrent;
using System.Globalization;
using Bruno.Core.Documents;
using Bruno.Storage.Identity;

namespace Bruno.Core.Tenants;

/// <summary>A user of a tenant, and when they first used it.</summary>
public sealed record TenantUser(string User, DateTimeOffset FirstSeen);

/// <summary>
/// The users a tenant has had (the plan's <see cref="PlanOptions.MaxUsers"/> counts them): a user is added on its first
/// admitted request and removed when erased. Machines (API keys, subjects <c>key:...</c>) are not users. Known users are
/// cached in memory, so a request of a known user costs no query. With PostgreSQL and two new users arriving at once at
/// the limit, one more than the limit can get in (the count and the insert are one statement, not serialised).
/// Throws <see cref="QuotaExceededException"/> for a new user past the limit and
/// <see cref="System.Data.Common.DbException"/> for catalog failures.
/// </summary>
public sealed class TenantUsers
{
    private readonly CatalogDatabase _db;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(TenantId, UserId), bool> _known = new();

    /// <summary>The users in <paramref name="db"/>, the table made by <see cref="CatalogSchema"/>.</summary>
    public TenantUsers(CatalogDatabase db, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        (_db, _time) = (db, time ?? TimeProvider.System);
    }

    /// <summary>Admits <paramref name="user"/> of <paramref name="tenant"/>, adding it when new and the tenant has room.</summary>
    public void Admit(TenantId tenant, UserId user, int maxUsers)
    {
        if (user.Value.StartsWith("key:", StringComparison.Ordinal) || _known.ContainsKey((tenant, user)))
        {
            return;
        }

        _db.Execute(
            "INSERT INTO tenant_users(tenant, user_id, first_seen) SELECT @t, @u, @now WHERE (SELECT COUNT(*) FROM tenant_users WHERE tenant = @t) < @max ON CONFLICT (tenant, user_id) DO NOTHING;",
            ("@t", tenant.Value), ("@u", user.Value), ("@now", _time.GetUtcNow().UtcTicks), ("@max", (long)maxUsers));
        if (_db.Query("SELECT 1 FROM tenant_users WHERE tenant = @t AND user_id = @u;", _ => 1, ("@t", tenant.Value), ("@u", user.Value)).Count == 0)
        {
            throw new QuotaExceededException("users", maxUsers, Count(tenant), string.Create(CultureInfo.InvariantCulture,
                $"The tenant has its plan's {maxUsers:N0} users; a new user can join when one is erased or the plan is raised."));
        }

        _known[(tenant, user)] = true;
    }

    /// <summary>How many users the tenant has.</summary>
    public long Count(TenantId tenant) =>
        _db.Query("SELECT COUNT(*) FROM tenant_users WHERE tenant = @t;", r => Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), ("@t", tenant.Value))[0];

    /// <summary>The tenant's users and when each was first seen, by id.</summary>
    public IReadOnlyList<TenantUser> List(TenantId tenant) => _db.Query(
        "SELECT user_id, first_seen FROM tenant_users WHERE tenant = @t ORDER BY user_id;",
        r => new TenantUser(r.GetString(0), new DateTimeOffset(Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture), TimeSpan.Zero)),
        ("@t", tenant.Value));

    /// <summary>Forgets an erased user (it no longer counts).</summary>
    public void Remove(TenantId tenant, UserId user)
    {
        _known.TryRemove((tenant, user), out _);
        _db.Execute("DELETE FROM tenant_users WHERE tenant = @t AND user_id = @u;", ("@t", tenant.Value), ("@u", user.Value));
    }
}
