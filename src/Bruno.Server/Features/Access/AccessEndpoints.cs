using System.ComponentModel.DataAnnotations;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Access;

/// <summary>Body of a role change.</summary>
public sealed record RoleRequest([property: Required] string? Role);

/// <summary>Body of a group's creation.</summary>
public sealed record GroupRequest([property: Required] string? Name);

/// <summary>Body of a membership: whether the member administers the group (default false).</summary>
public sealed record MemberRequest(bool? Admin);

/// <summary>
/// Who the caller is in the tenant: the user, the role, the groups, and the scopes in force (after the role's cap);
/// the groups they administer, and what they may do with documents (<c>read</c>, <c>edit</c> those they read, <c>manage</c> all).
/// </summary>
public sealed record WhoAmI(string Tenant, string User, string? Role, IReadOnlyList<string> Groups, IReadOnlyList<string> Scopes)
{
    /// <summary>The groups the caller administers.</summary>
    public IReadOnlyList<string> Administers { get; init; } = [];

    /// <summary>What the caller may do with documents: <c>read</c>, <c>edit</c> or <c>manage</c>.</summary>
    public string Documents { get; init; } = "read";
}

/// <summary>The tenant's role assignments.</summary>
public sealed record RoleList(IReadOnlyList<RoleAssignment> Items);

/// <summary>The tenant's groups.</summary>
public sealed record GroupList(IReadOnlyList<GroupInfo> Items);

/// <summary>A group's members.</summary>
public sealed record MemberList(string Group, IReadOnlyList<GroupMember> Items);

/// <summary>
/// Roles and groups inside a tenant: the caller's own view (<c>/api/v1/me</c>), the tenant's admins' management of roles
/// and groups, group admins' management of their group's members, and the operator's management of roles (to name a
/// tenant's first owner). The rules are <see cref="TenantAccess"/>'s.
/// </summary>
internal static class AccessEndpoints
{
    public static void MapAccessEndpoints(this ApiGroups api)
    {
        api.Tenant.MapGet("/me", (Caller caller) => TypedResults.Ok(new WhoAmI(
            caller.Tenant.Value, caller.User.Value, caller.Role is { } r ? TenantRoles.Name(r) : null, caller.Groups, [.. caller.Scopes.Order(StringComparer.Ordinal)])
        {
            Administers = caller.Administers,
            Documents = caller.Viewer.Rights.ToString().ToLowerInvariant(),
        }));

        var users = api.Tenant.MapGroup("/users").RequireAuthorization(Policies.Admin);
        users.MapGet("/", (Caller caller, TenantAccess access) => TypedResults.Ok(new RoleList(access.Roles(caller.Tenant))));
        users.MapPut("/{user}/role", async (string user, RoleRequest body, Caller caller, TenantAccess access, CancellationToken ct) =>
            TypedResults.Ok(await access.AssignAsync(caller.Tenant, UserId.Parse(user), TenantRoles.Parse(body.Role), Actor(caller), ct))).Audited("role.assign");
        users.MapDelete("/{user}/role", async (string user, Caller caller, TenantAccess access, CancellationToken ct) =>
            await access.RemoveRoleAsync(caller.Tenant, UserId.Parse(user), Actor(caller), ct) ? (IResult)TypedResults.NoContent() : NoRole())
            .Produces(StatusCodes.Status204NoContent).Audited("role.remove");

        var groups = api.Tenant.MapGroup("/groups");
        groups.MapGet("/", (Caller caller, TenantAccess access) => TypedResults.Ok(new GroupList(access.Groups(caller.Tenant)))).RequireAuthorization(Policies.Admin);
        groups.MapPost("/", (GroupRequest body, Caller caller, TenantAccess access) =>
            TypedResults.Created($"/api/v1/groups/{body.Name}", access.CreateGroup(caller.Tenant, body.Name ?? string.Empty, Actor(caller))))
            .RequireAuthorization(Policies.Admin).Audited("group.create");
        groups.MapDelete("/{group}", (string group, Caller caller, TenantAccess access) =>
            access.DeleteGroup(caller.Tenant, group, Actor(caller)) ? (IResult)TypedResults.NoContent() : NoGroup())
            .Produces(StatusCodes.Status204NoContent).RequireAuthorization(Policies.Admin).Audited("group.delete");

        // a group's members: the tenant's admins, and the group's own admins (who need no admin scope)
        groups.MapGet("/{group}/members", (string group, Caller caller, TenantAccess access) =>
            access.Members(caller.Tenant, group) is not { } members ? NoGroup()
            : !caller.Scopes.Contains(Scopes.Admin) && !access.IsGroupAdmin(caller.Tenant, group, caller.User)
                ? (IResult)TypedResults.Problem(statusCode: 403, title: "Forbidden", detail: $"Reading the members of '{group}' needs the tenant's admin scope or to be an admin of the group.")
                : TypedResults.Ok(new MemberList(group, members)))
            .Produces<MemberList>();
        groups.MapPut("/{group}/members/{user}", (string group, string user, MemberRequest? body, Caller caller, TenantAccess access) =>
            TypedResults.Ok(access.AddMember(caller.Tenant, group, UserId.Parse(user), body?.Admin ?? false, Actor(caller), caller.User))).Audited("group.member.add");
        groups.MapDelete("/{group}/members/{user}", (string group, string user, Caller caller, TenantAccess access) =>
            access.RemoveMember(caller.Tenant, group, UserId.Parse(user), Actor(caller), caller.User) ? (IResult)TypedResults.NoContent() : NotMember())
            .Produces(StatusCodes.Status204NoContent).Audited("group.member.remove");

        // the operator: any tenant's roles (a new tenant's first owner is named here)
        var platform = api.Platform.MapGroup("/tenants/{tenant}");
        platform.MapGet("/roles", (string tenant, TenantService tenants, TenantAccess access) =>
            TenantRoutes.Known(tenant, tenants, id => TypedResults.Ok(new RoleList(access.Roles(id))))).Produces<RoleList>();
        platform.MapPut("/users/{user}/role", async (string tenant, string user, RoleRequest body, TenantService tenants, TenantAccess access, HttpContext http, CancellationToken ct) =>
            TenantRoutes.Live(tenant, tenants) is { } id
                ? TypedResults.Ok(await access.AssignAsync(id, UserId.Parse(user), TenantRoles.Parse(body.Role), AccessActor.Operator(AuditTrail.ActorOf(http)), ct))
                : (IResult)TenantRoutes.NotFound()).Produces<RoleAssignment>().Audited("role.assign");
        platform.MapDelete("/users/{user}/role", async (string tenant, string user, TenantService tenants, TenantAccess access, HttpContext http, CancellationToken ct) =>
            TenantRoutes.Live(tenant, tenants) is not { } id ? TenantRoutes.NotFound()
            : await access.RemoveRoleAsync(id, UserId.Parse(user), AccessActor.Operator(AuditTrail.ActorOf(http)), ct) ? (IResult)TypedResults.NoContent() : NoRole())
            .Produces(StatusCodes.Status204NoContent).Audited("role.remove");
    }

    /// <summary>The caller as the access rules see it (the console's users page acts as the same actor).</summary>
    internal static AccessActor Actor(Caller caller) => new(caller.User.Value, false, caller.Role, caller.Scopes.Contains(Scopes.Admin));

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NoRole() => TypedResults.Problem(statusCode: 404, title: "Not found", detail: "That user has no role assigned.");

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NoGroup() => TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such group.");

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotMember() => TypedResults.Problem(statusCode: 404, title: "Not found", detail: "That user is not a member of the group.");
}
