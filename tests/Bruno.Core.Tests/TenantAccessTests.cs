using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;

namespace Bruno.Core.Tests;

/// <summary>
/// Issue 21: roles and groups in the catalog, on SQLite and PostgreSQL — the owners' rules, the last owner kept even
/// when two owners demote each other at once from two processes, groups that stay in their tenant.
/// </summary>
public sealed class TenantAccessTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-access-").FullName;
    private readonly List<IDisposable> _open = [];

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    private static readonly TenantId Acme = TenantId.Parse("acme");
    private static readonly TenantId Other = TenantId.Parse("other");

    private static AccessActor Owner(string name) => new(name, false, TenantRole.Owner, true);

    private static AccessActor Admin(string name) => new(name, false, TenantRole.Admin, true);

    /// <summary>Two handles on one catalog, as two processes would hold (each with its own in-process lock).</summary>
    private (TenantAccess First, TenantAccess Second) Open(string backend)
    {
        var target = backend == "postgres" ? TestPostgres.NewDatabase() : Path.Combine(_root, "catalog.db");
        CatalogDatabase Connect() => backend == "postgres" ? CatalogDatabase.Postgres(target) : CatalogDatabase.Sqlite(target);
        var first = Connect().WithTenants("acme", "other");
        var second = Connect();
        var (a, b) = (new TenantAccess(first), new TenantAccess(second));
        _open.AddRange([a, b, first, second]);
        return (a, b);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task OnlyOwnersTouchTheOwnerRole_AndTheLastOwnerStays(string backend)
    {
        var (access, _) = Open(backend);
        var ct = TestContext.Current.CancellationToken;
        await access.AssignAsync(Acme, UserId.Parse("alice"), TenantRole.Owner, AccessActor.Operator("op"), ct);
        await access.AssignAsync(Acme, UserId.Parse("bob"), TenantRole.Admin, Owner("alice"), ct);
        Assert.Equal(TenantRole.Admin, access.RoleOf(Acme, UserId.Parse("bob")));
        Assert.Null(access.RoleOf(Other, UserId.Parse("bob"))); // a role is the tenant's

        await Assert.ThrowsAsync<AccessDeniedException>(() => access.AssignAsync(Acme, UserId.Parse("carol"), TenantRole.Owner, Admin("bob"), ct));
        await Assert.ThrowsAsync<AccessDeniedException>(() => access.RemoveRoleAsync(Acme, UserId.Parse("alice"), Admin("bob"), ct));
        await Assert.ThrowsAsync<AccessDeniedException>(() => access.AssignAsync(Acme, UserId.Parse("carol"), TenantRole.Member, new AccessActor("eve", false, TenantRole.Member, false), ct));
        var last = await Assert.ThrowsAsync<AccessConflictException>(() => access.RemoveRoleAsync(Acme, UserId.Parse("alice"), Owner("alice"), ct));
        Assert.Contains("last owner", last.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<AccessConflictException>(() => access.AssignAsync(Acme, UserId.Parse("alice"), TenantRole.Member, AccessActor.Operator("op"), ct));
        await Assert.ThrowsAsync<ArgumentException>(() => access.AssignAsync(Acme, UserId.Parse("key:abc"), TenantRole.Member, AccessActor.Operator("op"), ct));

        Assert.Equal((TenantRole?)null, access.Of(Other, UserId.Parse("zed")).Assigned);
        Assert.False(access.Of(Other, UserId.Parse("zed")).RolesInUse);
        Assert.True(access.Of(Acme, UserId.Parse("zed")).RolesInUse);
        Assert.Equal(TenantRole.Owner, access.Of(Acme, UserId.Parse("alice")).Assigned);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task TwoOwnersDemotingEachOtherAtOnce_FromTwoProcesses_LeaveOneOwner(string backend)
    {
        var (first, second) = Open(backend);
        var ct = TestContext.Current.CancellationToken;
        for (var round = 0; round < 5; round++)
        {
            await first.AssignAsync(Acme, UserId.Parse("alice"), TenantRole.Owner, AccessActor.Operator("op"), ct);
            await first.AssignAsync(Acme, UserId.Parse("dave"), TenantRole.Owner, AccessActor.Operator("op"), ct);
            var outcomes = await Task.WhenAll(
                Attempt(() => first.AssignAsync(Acme, UserId.Parse("dave"), TenantRole.Member, Owner("alice"), ct)),
                Attempt(() => second.AssignAsync(Acme, UserId.Parse("alice"), TenantRole.Member, Owner("dave"), ct)));
            Assert.Single(outcomes, ok => ok); // one wins, the other is told it would remove the last owner
            Assert.Single(first.Roles(Acme), r => r.Role == "owner");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Groups_StayInTheirTenant_AndGoWithTheirMemberships(string backend)
    {
        var (access, _) = Open(backend);
        var admin = Admin("ada");
        access.CreateGroup(Acme, "eng", admin);
        Assert.Throws<AccessConflictException>(() => access.CreateGroup(Acme, "eng", admin));
        Assert.Throws<ArgumentException>(() => access.CreateGroup(Acme, "../eng", admin));
        Assert.Throws<AccessDeniedException>(() => access.CreateGroup(Acme, "ops", new AccessActor("eve", false, TenantRole.Member, false)));
        access.AddMember(Acme, "eng", UserId.Parse("dave"), admin: true, admin);

        // dave administers eng: adds members, not admins; another group is not his
        access.CreateGroup(Acme, "sales", admin);
        var dave = new AccessActor("dave", false, TenantRole.Member, false);
        access.AddMember(Acme, "eng", UserId.Parse("erin"), admin: false, dave, UserId.Parse("dave"));
        Assert.Throws<AccessDeniedException>(() => access.AddMember(Acme, "eng", UserId.Parse("fay"), admin: true, dave, UserId.Parse("dave")));
        Assert.Throws<AccessDeniedException>(() => access.AddMember(Acme, "sales", UserId.Parse("fay"), admin: false, dave, UserId.Parse("dave")));
        Assert.Equal(["eng"], access.GroupsOf(Acme, UserId.Parse("erin")));
        Assert.Empty(access.GroupsOf(Other, UserId.Parse("erin")));
        Assert.Empty(access.Groups(Other));
        Assert.Null(access.Members(Other, "eng"));

        Assert.True(access.DeleteGroup(Acme, "eng", admin));
        Assert.Empty(access.GroupsOf(Acme, UserId.Parse("erin")));
        Assert.Throws<AccessConflictException>(() => access.AddMember(Acme, "eng", UserId.Parse("erin"), admin: false, admin));

        access.AddMember(Acme, "sales", UserId.Parse("gus"), admin: false, admin);
        access.Forget(Acme, UserId.Parse("gus")); // an erased user's memberships go
        Assert.Empty(access.GroupsOf(Acme, UserId.Parse("gus")));
    }

    private static async Task<bool> Attempt(Func<Task> change)
    {
        try
        {
            await change();
            return true;
        }
        catch (AccessConflictException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        foreach (var open in _open)
        {
            open.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }
}
