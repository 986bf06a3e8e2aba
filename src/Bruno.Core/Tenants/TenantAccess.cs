using System.Globalization;
using Bruno.Core.Identity;
using Bruno.Storage.Identity;

namespace Bruno.Core.Tenants;

/// <summary>A user's role in a tenant, who gave it and when.</summary>
public sealed record RoleAssignment(string User, string Role, DateTimeOffset AssignedAt, string AssignedBy);

/// <summary>What the catalog says of a user in a tenant: the role assigned (if any), whether the tenant uses roles, the user's groups.</summary>
public sealed record UserAccess(TenantRole? Assigned, bool RolesInUse, IReadOnlyList<string> Groups)
{
    /// <summary>The groups among <see cref="Groups"/> that the user administers.</summary>
    public IReadOnlyList<string> Administers { get; init; } = [];
}

/// <summary>A group of a tenant and how many members it has.</summary>
public sealed record GroupInfo(string Name, int Members, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>A member of a group; a group admin manages the group's members.</summary>
public sealed record GroupMember(string User, bool Admin, DateTimeOffset AddedAt);

/// <summary>Who asks for a change of roles or groups: an operator of the platform, or a user of the tenant with a role.</summary>
/// <param name="Name">The actor as the audit log names it.</param>
/// <param name="Platform">True for the platform's operators, who may do anything.</param>
/// <param name="Role">The user's role in the tenant (null: none assigned).</param>
/// <param name="TenantAdmin">True when the user's credential carries the tenant's admin scope.</param>
public sealed record AccessActor(string Name, bool Platform, TenantRole? Role, bool TenantAdmin)
{
    /// <summary>An operator of the platform.</summary>
    public static AccessActor Operator(string name) => new(name, true, null, true);
}

/// <summary>A change that would leave the tenant without an owner, or names a group that is not there, with a message safe to show.</summary>
public sealed class AccessConflictException(string message) : Exception(message);

/// <summary>Group names: 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit (as in an OIDC groups claim).</summary>
public static class GroupName
{
    /// <summary>The longest group name.</summary>
    public const int MaxLength = 64;

    /// <summary>Whether <paramref name="name"/> is a valid group name.</summary>
    public static bool IsValid(string? name) =>
        name is { Length: > 0 and <= MaxLength } && char.IsAsciiLetterOrDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary><paramref name="name"/> when valid; else <see cref="ArgumentException"/> saying what a name may hold.</summary>
    public static string Validate(string? name) => IsValid(name) ? name! :
        throw new ArgumentException($"A group name has 1-{MaxLength} letters, digits, '-', '_' or '.', and starts with a letter or digit.");
}

/// <summary>
/// Roles of users and groups of a tenant, in the catalog. Every read is from the catalog, so a change takes effect on
/// the next request. Rules: only owners (and operators) give or take the owner role or change an owner's role; a
/// tenant admin manages the other roles and every group; a group admin manages that group's members and nothing else;
/// the last owner of a tenant cannot be removed or demoted. Throws <see cref="ArgumentException"/> for a malformed
/// name or role, <see cref="AccessDeniedException"/> for a change the actor may not make,
/// <see cref="AccessConflictException"/> for one that cannot be made, and <see cref="System.Data.Common.DbException"/>
/// when the catalog fails (nothing is then changed).
/// </summary>
public sealed class TenantAccess : IDisposable
{
    private readonly CatalogDatabase _db;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _owners = new(1, 1);
    private readonly LastRead<(TenantId, UserId), UserAccess> _lastRead;

    /// <summary>Roles and groups in the catalog database <paramref name="db"/> (tables made by <see cref="CatalogSchema"/>).</summary>
    public TenantAccess(CatalogDatabase db, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        (_db, _time) = (db, time ?? TimeProvider.System);
        _lastRead = new(_time);
    }

    /// <summary>Releases the lock that serializes owners' changes in this process.</summary>
    public void Dispose() => _owners.Dispose();

    /// <summary>The role assigned to <paramref name="user"/> in <paramref name="tenant"/>, or null when none is.</summary>
    public TenantRole? RoleOf(TenantId tenant, UserId user) =>
        _db.Query("SELECT role FROM tenant_roles WHERE tenant = @t AND user_id = @u;", r => r.GetString(0), ("@t", tenant.Value), ("@u", user.Value))
            is [var name] && TenantRoles.TryParse(name, out var role) ? role : null;

    /// <summary>
    /// What the catalog says of <paramref name="user"/> in <paramref name="tenant"/>, in one query (what <c>AccessClaims</c>
    /// reads on every request): the role assigned, whether the tenant uses roles at all (anyone has one), the user's
    /// groups and which of them they administer. While the catalog is away, what was read at most
    /// <see cref="CatalogDatabase.OutageGrace"/> ago stands in (decision 0033); otherwise the outage is thrown.
    /// </summary>
    public UserAccess Of(TenantId tenant, UserId user) => _lastRead.Get((tenant, user), () => Read(tenant, user));

    private UserAccess Read(TenantId tenant, UserId user)
    {
        var rows = _db.Query(
            "SELECT (SELECT role FROM tenant_roles WHERE tenant = @t AND user_id = @u), " +
            "CASE WHEN EXISTS (SELECT 1 FROM tenant_roles WHERE tenant = @t) THEN 1 ELSE 0 END, m.group_name, m.is_admin " +
            "FROM (SELECT 1 AS one) x LEFT JOIN tenant_group_members m ON m.tenant = @t AND m.user_id = @u ORDER BY m.group_name;",
            r => (Role: r.IsDBNull(0) ? null : r.GetString(0), InUse: Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture) == 1, Group: r.IsDBNull(2) ? null : r.GetString(2),
                Admin: !r.IsDBNull(3) && Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture) == 1),
            ("@t", tenant.Value), ("@u", user.Value));
        TenantRole? assigned = TenantRoles.TryParse(rows[0].Role, out var role) ? role : null;
        return new UserAccess(assigned, rows[0].InUse, [.. rows.Select(r => r.Group).OfType<string>()])
        {
            Administers = [.. rows.Where(r => r.Admin).Select(r => r.Group).OfType<string>()],
        };
    }

    /// <summary>The tenant's role assignments, by user.</summary>
    public IReadOnlyList<RoleAssignment> Roles(TenantId tenant) => _db.Query(
        "SELECT user_id, role, assigned_at, assigned_by FROM tenant_roles WHERE tenant = @t ORDER BY user_id;",
        r => new RoleAssignment(r.GetString(0), r.GetString(1), At(r.GetValue(2)), r.GetString(3)),
        ("@t", tenant.Value));

    /// <summary>Gives <paramref name="user"/> <paramref name="role"/> (replacing any other), as <paramref name="actor"/> may.</summary>
    public async Task<RoleAssignment> AssignAsync(TenantId tenant, UserId user, TenantRole role, AccessActor actor, CancellationToken ct = default)
    {
        _lastRead.Clear(); // what stands in for the catalog during an outage never outlives a change made here
        ArgumentNullException.ThrowIfNull(actor);
        if (user.Value.StartsWith("key:", StringComparison.Ordinal))
        {
            throw new ArgumentException("An API key has scopes, not a role.");
        }

        await using var held = await HoldOwnersAsync(tenant, ct);
        var current = RoleOf(tenant, user);
        MayChange(actor, current, role);
        var now = Now();
        if (current == TenantRole.Owner && role != TenantRole.Owner)
        {
            // the check and the change in one statement (atomic on SQLite; PostgreSQL is serialized by the held lock)
            if (_db.Execute(
                $"UPDATE tenant_roles SET role = @r, assigned_at = @at, assigned_by = @by WHERE tenant = @t AND user_id = @u AND {AnotherOwner};",
                ("@t", tenant.Value), ("@u", user.Value), ("@r", TenantRoles.Name(role)), ("@at", now.ToUnixTimeMilliseconds()), ("@by", actor.Name)) == 0)
            {
                throw LastOwner();
            }

            return new RoleAssignment(user.Value, TenantRoles.Name(role), now, actor.Name);
        }

        _db.Execute(
            "INSERT INTO tenant_roles(tenant, user_id, role, assigned_at, assigned_by) VALUES (@t, @u, @r, @at, @by) " +
            "ON CONFLICT (tenant, user_id) DO UPDATE SET role = excluded.role, assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by;",
            ("@t", tenant.Value), ("@u", user.Value), ("@r", TenantRoles.Name(role)), ("@at", now.ToUnixTimeMilliseconds()), ("@by", actor.Name));
        return new RoleAssignment(user.Value, TenantRoles.Name(role), now, actor.Name);
    }

    /// <summary>Takes <paramref name="user"/>'s role away (they keep only what their credential's scopes allow); false when they had none.</summary>
    public async Task<bool> RemoveRoleAsync(TenantId tenant, UserId user, AccessActor actor, CancellationToken ct = default)
    {
        _lastRead.Clear(); // what stands in for the catalog during an outage never outlives a change made here
        ArgumentNullException.ThrowIfNull(actor);
        await using var held = await HoldOwnersAsync(tenant, ct);
        if (RoleOf(tenant, user) is not { } current)
        {
            return false;
        }

        MayChange(actor, current, null);
        var condition = current == TenantRole.Owner ? $" AND {AnotherOwner}" : string.Empty;
        return _db.Execute($"DELETE FROM tenant_roles WHERE tenant = @t AND user_id = @u{condition};", ("@t", tenant.Value), ("@u", user.Value)) > 0
            || (current == TenantRole.Owner ? throw LastOwner() : false);
    }

    /// <summary>The groups <paramref name="user"/> belongs to in <paramref name="tenant"/> (as managed in Bruno).</summary>
    public IReadOnlyList<string> GroupsOf(TenantId tenant, UserId user) => Of(tenant, user).Groups;

    /// <summary>The tenant's groups.</summary>
    public IReadOnlyList<GroupInfo> Groups(TenantId tenant) => _db.Query(
        "SELECT g.name, (SELECT COUNT(*) FROM tenant_group_members m WHERE m.tenant = g.tenant AND m.group_name = g.name), g.created_at, g.created_by " +
        "FROM tenant_groups g WHERE g.tenant = @t ORDER BY g.name;",
        r => new GroupInfo(r.GetString(0), Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture), At(r.GetValue(2)), r.GetString(3)),
        ("@t", tenant.Value));

    /// <summary>Creates group <paramref name="name"/>; a tenant admin's (or an operator's) to make.</summary>
    public GroupInfo CreateGroup(TenantId tenant, string name, AccessActor actor)
    {
        _lastRead.Clear(); // what stands in for the catalog during an outage never outlives a change made here
        ArgumentNullException.ThrowIfNull(actor);
        GroupName.Validate(name);
        RequireAdmin(actor, "create a group");
        var now = Now();
        if (_db.Execute(
            "INSERT INTO tenant_groups(tenant, name, created_at, created_by) VALUES (@t, @n, @at, @by) ON CONFLICT (tenant, name) DO NOTHING;",
            ("@t", tenant.Value), ("@n", name), ("@at", now.ToUnixTimeMilliseconds()), ("@by", actor.Name)) == 0)
        {
            throw new AccessConflictException($"The group '{name}' already exists.");
        }

        return new GroupInfo(name, 0, now, actor.Name);
    }

    /// <summary>Deletes group <paramref name="name"/> and its memberships; false when there is no such group.</summary>
    public bool DeleteGroup(TenantId tenant, string name, AccessActor actor)
    {
        _lastRead.Clear(); // what stands in for the catalog during an outage never outlives a change made here
        ArgumentNullException.ThrowIfNull(actor);
        GroupName.Validate(name);
        RequireAdmin(actor, "delete a group");
        _db.Execute("DELETE FROM tenant_group_members WHERE tenant = @t AND group_name = @n;", ("@t", tenant.Value), ("@n", name));
        return _db.Execute("DELETE FROM tenant_groups WHERE tenant = @t AND name = @n;", ("@t", tenant.Value), ("@n", name)) > 0;
    }

    /// <summary>The members of group <paramref name="name"/>; null when there is no such group.</summary>
    public IReadOnlyList<GroupMember>? Members(TenantId tenant, string name)
    {
        GroupName.Validate(name);
        return Exists(tenant, name) ? _db.Query(
            "SELECT user_id, is_admin, added_at FROM tenant_group_members WHERE tenant = @t AND group_name = @n ORDER BY user_id;",
            r => new GroupMember(r.GetString(0), Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture) == 1, At(r.GetValue(2))),
            ("@t", tenant.Value), ("@n", name)) : null;
    }

    /// <summary>Whether <paramref name="user"/> administers group <paramref name="name"/>.</summary>
    public bool IsGroupAdmin(TenantId tenant, string name, UserId user) => _db.Query(
        "SELECT 1 FROM tenant_group_members WHERE tenant = @t AND group_name = @n AND user_id = @u AND is_admin = 1;",
        _ => 1, ("@t", tenant.Value), ("@n", name), ("@u", user.Value)).Count > 0;

    /// <summary>
    /// Adds <paramref name="user"/> to group <paramref name="name"/> (or changes whether they administer it). A tenant
    /// admin may do both; a group admin may add members but not make admins.
    /// </summary>
    public GroupMember AddMember(TenantId tenant, string name, UserId user, bool admin, AccessActor actor, UserId? actorUser = null)
    {
        _lastRead.Clear(); // what stands in for the catalog during an outage never outlives a change made here
        ArgumentNullException.ThrowIfNull(actor);
        GroupName.Validate(name);
        if (user.Value.StartsWith("key:", StringComparison.Ordinal))
        {
            throw new ArgumentException("An API key cannot be a member of a group.");
        }

        MayManage(tenant, name, actor, actorUser, admin ? "make a group admin" : null);
        var now = Now();
        _db.Execute(
            "INSERT INTO tenant_group_members(tenant, group_name, user_id, is_admin, added_at) VALUES (@t, @n, @u, @a, @at) " +
            "ON CONFLICT (tenant, group_name, user_id) DO UPDATE SET is_admin = excluded.is_admin;",
            ("@t", tenant.Value), ("@n", name), ("@u", user.Value), ("@a", admin ? 1L : 0L), ("@at", now.ToUnixTimeMilliseconds()));
        return new GroupMember(user.Value, admin, now);
    }

    /// <summary>Removes <paramref name="user"/> from group <paramref name="name"/>; false when they were not a member.</summary>
    public bool RemoveMember(TenantId tenant, string name, UserId user, AccessActor actor, UserId? actorUser = null)
    {
        _lastRead.Clear(); // what stands in for the catalog during an outage never outlives a change made here
        ArgumentNullException.ThrowIfNull(actor);
        GroupName.Validate(name);
        MayManage(tenant, name, actor, actorUser, IsGroupAdmin(tenant, name, user) ? "remove a group admin" : null);
        return _db.Execute("DELETE FROM tenant_group_members WHERE tenant = @t AND group_name = @n AND user_id = @u;",
            ("@t", tenant.Value), ("@n", name), ("@u", user.Value)) > 0;
    }

    /// <summary>Forgets an erased user: their role and memberships go (even a last owner's: erasure comes first).</summary>
    public void Forget(TenantId tenant, UserId user)
    {
        _lastRead.Clear(); // what stands in for the catalog during an outage never outlives a change made here
        _db.Execute("DELETE FROM tenant_group_members WHERE tenant = @t AND user_id = @u;", ("@t", tenant.Value), ("@u", user.Value));
        _db.Execute("DELETE FROM tenant_roles WHERE tenant = @t AND user_id = @u;", ("@t", tenant.Value), ("@u", user.Value));
    }

    private bool Exists(TenantId tenant, string name) =>
        _db.Query("SELECT 1 FROM tenant_groups WHERE tenant = @t AND name = @n;", _ => 1, ("@t", tenant.Value), ("@n", name)).Count > 0;

    private void MayManage(TenantId tenant, string name, AccessActor actor, UserId? actorUser, string? adminOnly)
    {
        if (!Exists(tenant, name))
        {
            throw new AccessConflictException($"There is no group '{name}'.");
        }

        if (actor.Platform || actor.TenantAdmin)
        {
            return;
        }

        if (actorUser is not { } who || !IsGroupAdmin(tenant, name, who))
        {
            throw new AccessDeniedException($"Managing the members of '{name}' needs the tenant's admin scope or to be an admin of the group.");
        }

        if (adminOnly is not null)
        {
            throw new AccessDeniedException($"Only a tenant admin may {adminOnly}.");
        }
    }

    private static void RequireAdmin(AccessActor actor, string what)
    {
        if (!actor.Platform && !actor.TenantAdmin)
        {
            throw new AccessDeniedException($"Only a tenant admin may {what}.");
        }
    }

    /// <summary>Owners' changes are the owners' (and operators'); a tenant admin manages every other role.</summary>
    private static void MayChange(AccessActor actor, TenantRole? current, TenantRole? next)
    {
        if (actor.Platform || actor.Role == TenantRole.Owner)
        {
            return;
        }

        if (!actor.TenantAdmin)
        {
            throw new AccessDeniedException("Only a tenant admin may change roles.");
        }

        if (current == TenantRole.Owner || next == TenantRole.Owner)
        {
            throw new AccessDeniedException("Only an owner may give, change or take the owner role.");
        }
    }

    /// <summary>The SQL condition that the tenant (<c>@t</c>) keeps an owner besides the row changed.</summary>
    private const string AnotherOwner = "(SELECT COUNT(*) FROM tenant_roles o WHERE o.tenant = @t AND o.role = 'owner') > 1";

    private static AccessConflictException LastOwner() => new("This is the tenant's last owner: make another user owner first.");

    /// <summary>Serializes changes of a tenant's owners: in this process, and across processes sharing the catalog.</summary>
    private async Task<IAsyncDisposable> HoldOwnersAsync(TenantId tenant, CancellationToken ct)
    {
        await _owners.WaitAsync(ct);
        try
        {
            return new Held(_owners, await _db.LockAsync("owners/" + tenant.Value, ct));
        }
        catch
        {
            _owners.Release();
            throw;
        }
    }

    private DateTimeOffset Now() => DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());

    private static DateTimeOffset At(object value) => DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(value, CultureInfo.InvariantCulture));

    private sealed class Held(SemaphoreSlim process, IAsyncDisposable catalog) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await catalog.DisposeAsync();
            }
            finally
            {
                process.Release();
            }
        }
    }
}
