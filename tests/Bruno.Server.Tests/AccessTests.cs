using System.Net;
using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 21, roles and groups: a role caps what a user's credential may do at every door, on the next request after a
/// change; owners' rules (only owners touch the owner role; the last owner stays); auditors read and nothing else; group
/// admins manage their group's members and nothing else; every change is in the audit log.
/// </summary>
public sealed class AccessTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static readonly string[] All = [Scopes.Query, Scopes.Ingest, Scopes.Memory, Scopes.Admin, Scopes.Audit];

    private HttpClient As(string tenant, string user) => Server.Client(Server.UserToken(tenant, user, All));

    private static async Task<HttpStatusCode> SetRoleAsync(HttpClient client, string path, string role)
    {
        using var response = await client.PutAsync(path, RunningServer.Json(new { role }), Http.Ct);
        return response.StatusCode;
    }

    private static async Task<JsonElement> MeAsync(HttpClient client) => await Http.JsonAsync(await client.GetAsync("/api/v1/me", Http.Ct));

    [Fact]
    public async Task ARole_CapsTheCredentialsScopes_AtEveryDoor_FromTheNextRequest()
    {
        var tenant = ServerFixture.NewTenant("roles");
        await Server.CreateTenantsAsync(tenant);
        using var op = Server.Client(Server.PlatformToken());
        using var alice = As(tenant, "alice");
        var doc = RunningServer.Json(new { id = "note", content = "# Note\nThe boiler is serviced every March." });
        (await alice.PostAsync("/api/v1/documents", doc, Http.Ct)).EnsureSuccessStatusCode(); // no role yet: the credential's scopes

        Assert.Equal(HttpStatusCode.OK, await SetRoleAsync(op, $"/admin/v1/tenants/{tenant}/users/alice/role", "member"));
        var me = await MeAsync(alice);
        Assert.Equal("member", me.GetProperty("role").GetString());
        Assert.Equal(["memory", "query"], me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        await Http.AssertProblemAsync(await alice.PostAsync("/api/v1/documents", doc, Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await alice.GetAsync("/api/v1/audit", Http.Ct), HttpStatusCode.Forbidden);
        (await alice.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When is the boiler serviced?" }), Http.Ct)).EnsureSuccessStatusCode();

        // the MCP door sees the same cap: a member's token lists no tool its role does not allow
        await using (var mcp = await Server.McpAsync(Server.UserToken(tenant, "alice", All), Http.Ct))
        {
            var tools = (await mcp.ListToolsAsync(cancellationToken: Http.Ct)).Select(t => t.Name).ToList();
            Assert.Contains("search_knowledge", tools);
        }

        // an auditor: the audit log, usage and insights; not a question
        Assert.Equal(HttpStatusCode.OK, await SetRoleAsync(op, $"/admin/v1/tenants/{tenant}/users/alice/role", "auditor"));
        (await alice.GetAsync("/api/v1/audit", Http.Ct)).EnsureSuccessStatusCode();
        (await alice.GetAsync("/api/v1/usage", Http.Ct)).EnsureSuccessStatusCode();
        (await alice.GetAsync("/api/v1/insights", Http.Ct)).EnsureSuccessStatusCode();
        await Http.AssertProblemAsync(await alice.PostAsync("/api/v1/query", RunningServer.Json(new { query = "boiler" }), Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await alice.GetAsync("/api/v1/users", Http.Ct), HttpStatusCode.Forbidden);
        await using (var mcp = await Server.McpAsync(Server.UserToken(tenant, "alice", All), Http.Ct))
        {
            Assert.Empty(await mcp.ListToolsAsync(cancellationToken: Http.Ct)); // no query or memory scope: nothing to call
        }

        // in a tenant that uses roles, a user whose role is taken (or who never had one) is a member: a wide credential
        // does not come back into force
        Assert.Equal(HttpStatusCode.OK, await SetRoleAsync(op, $"/admin/v1/tenants/{tenant}/users/bob/role", "editor"));
        Assert.Equal(HttpStatusCode.NoContent, (await op.DeleteAsync($"/admin/v1/tenants/{tenant}/users/alice/role", Http.Ct)).StatusCode);
        Assert.Equal("member", (await MeAsync(alice)).GetProperty("role").GetString());
        await Http.AssertProblemAsync(await alice.PostAsync("/api/v1/documents", doc, Http.Ct), HttpStatusCode.Forbidden);
        using (var carol = As(tenant, "carol"))
        {
            Assert.Equal("member", (await MeAsync(carol)).GetProperty("role").GetString());
        }

        // a tenant that gives no role at all keeps the credentials' scopes, as before roles existed
        Assert.Equal(HttpStatusCode.NoContent, (await op.DeleteAsync($"/admin/v1/tenants/{tenant}/users/bob/role", Http.Ct)).StatusCode);
        (await alice.PostAsync("/api/v1/documents", doc, Http.Ct)).EnsureSuccessStatusCode();
        Assert.Equal(JsonValueKind.Null, (await MeAsync(alice)).GetProperty("role").ValueKind);

        // a role never widens a credential: an owner holding a query-only token can only query
        Assert.Equal(HttpStatusCode.OK, await SetRoleAsync(op, $"/admin/v1/tenants/{tenant}/users/alice/role", "owner"));
        using var narrow = Server.Client(Server.UserToken(tenant, "alice", Scopes.Query));
        await Http.AssertProblemAsync(await narrow.PostAsync("/api/v1/documents", doc, Http.Ct), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task OnlyOwnersTouchTheOwnerRole_AndTheLastOwnerStays()
    {
        var tenant = ServerFixture.NewTenant("owners");
        await Server.CreateTenantsAsync(tenant);
        using var op = Server.Client(Server.PlatformToken());
        using var alice = As(tenant, "alice");
        using var bob = As(tenant, "bob");
        Assert.Equal(HttpStatusCode.OK, await SetRoleAsync(op, $"/admin/v1/tenants/{tenant}/users/alice/role", "owner"));
        Assert.Equal(HttpStatusCode.OK, await SetRoleAsync(alice, "/api/v1/users/bob/role", "admin"));

        // an admin manages other roles, never the owner role
        Assert.Equal(HttpStatusCode.OK, await SetRoleAsync(bob, "/api/v1/users/carol/role", "editor"));
        Assert.Equal(HttpStatusCode.Forbidden, await SetRoleAsync(bob, "/api/v1/users/carol/role", "owner"));
        Assert.Equal(HttpStatusCode.Forbidden, await SetRoleAsync(bob, "/api/v1/users/alice/role", "member"));
        await Http.AssertProblemAsync(await bob.DeleteAsync("/api/v1/users/alice/role", Http.Ct), HttpStatusCode.Forbidden);

        // the last owner cannot step down or be removed, by themselves or by the operator
        var last = await Http.AssertProblemAsync(await alice.PutAsync("/api/v1/users/alice/role", RunningServer.Json(new { role = "admin" }), Http.Ct), HttpStatusCode.Conflict);
        Assert.Contains("last owner", last.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Http.AssertProblemAsync(await op.DeleteAsync($"/admin/v1/tenants/{tenant}/users/alice/role", Http.Ct), HttpStatusCode.Conflict);

        // with a second owner, the first may go
        Assert.Equal(HttpStatusCode.OK, await SetRoleAsync(alice, "/api/v1/users/bob/role", "owner"));
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync("/api/v1/users/alice/role", Http.Ct)).StatusCode);
        var roles = await Http.JsonAsync(await bob.GetAsync("/api/v1/users", Http.Ct));
        Assert.Equal(["bob:owner", "carol:editor"], roles.GetProperty("items").EnumerateArray().Select(r => $"{r.GetProperty("user").GetString()}:{r.GetProperty("role").GetString()}"));

        // bad input is a clear 400; an API key cannot hold a role
        await Http.AssertProblemAsync(await bob.PutAsync("/api/v1/users/dave/role", RunningServer.Json(new { role = "superuser" }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await bob.PutAsync("/api/v1/users/key:abc/role", RunningServer.Json(new { role = "member" }), Http.Ct), HttpStatusCode.BadRequest);

        // every change and the denials are in the tenant's audit log
        var audit = await Http.JsonAsync(await bob.GetAsync("/api/v1/audit?action=role.assign", Http.Ct));
        var results = audit.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("result").GetString()).ToList();
        Assert.Contains("success", results);
        Assert.Contains("denied", results);
    }

    [Fact]
    public async Task GroupAdmins_ManageTheirGroupsMembers_AndNothingElse()
    {
        var tenant = ServerFixture.NewTenant("groups");
        await Server.CreateTenantsAsync(tenant);
        using var admin = As(tenant, "ada");
        (await admin.PostAsync("/api/v1/groups", RunningServer.Json(new { name = "eng" }), Http.Ct)).EnsureSuccessStatusCode();
        (await admin.PostAsync("/api/v1/groups", RunningServer.Json(new { name = "sales" }), Http.Ct)).EnsureSuccessStatusCode();
        await Http.AssertProblemAsync(await admin.PostAsync("/api/v1/groups", RunningServer.Json(new { name = "eng" }), Http.Ct), HttpStatusCode.Conflict);
        await Http.AssertProblemAsync(await admin.PostAsync("/api/v1/groups", RunningServer.Json(new { name = "../x" }), Http.Ct), HttpStatusCode.BadRequest);
        (await admin.PutAsync("/api/v1/groups/eng/members/dave", RunningServer.Json(new { admin = true }), Http.Ct)).EnsureSuccessStatusCode();

        // dave administers eng with a query-only credential: members yes, admins no, other groups no, roles no
        using var dave = Server.Client(Server.UserToken(tenant, "dave", Scopes.Query));
        (await dave.PutAsync("/api/v1/groups/eng/members/erin", RunningServer.Json(new { }), Http.Ct)).EnsureSuccessStatusCode();
        await Http.AssertProblemAsync(await dave.PutAsync("/api/v1/groups/eng/members/frank", RunningServer.Json(new { admin = true }), Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await dave.PutAsync("/api/v1/groups/sales/members/erin", RunningServer.Json(new { }), Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await dave.GetAsync("/api/v1/groups", Http.Ct), HttpStatusCode.Forbidden);
        var members = await Http.JsonAsync(await dave.GetAsync("/api/v1/groups/eng/members", Http.Ct));
        Assert.Equal(["dave", "erin"], members.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("user").GetString()));

        // erin is not an admin of eng: she reads her groups in /me, not the members
        using var erin = Server.Client(Server.UserToken(tenant, "erin", Scopes.Query));
        Assert.Equal(["eng"], (await MeAsync(erin)).GetProperty("groups").EnumerateArray().Select(g => g.GetString()));
        await Http.AssertProblemAsync(await erin.GetAsync("/api/v1/groups/eng/members", Http.Ct), HttpStatusCode.Forbidden);

        // a membership ends on the next request; a deleted group takes its memberships with it
        Assert.Equal(HttpStatusCode.NoContent, (await dave.DeleteAsync("/api/v1/groups/eng/members/erin", Http.Ct)).StatusCode);
        Assert.Empty((await MeAsync(erin)).GetProperty("groups").EnumerateArray());
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync("/api/v1/groups/eng", Http.Ct)).StatusCode);
        Assert.Empty((await MeAsync(dave)).GetProperty("groups").EnumerateArray());
        await Http.AssertProblemAsync(await admin.GetAsync("/api/v1/groups/eng/members", Http.Ct), HttpStatusCode.NotFound);

        // another tenant's admin sees none of it
        var other = ServerFixture.NewTenant("groups-other");
        await Server.CreateTenantsAsync(other);
        using var stranger = As(other, "ada");
        Assert.Empty((await Http.JsonAsync(await stranger.GetAsync("/api/v1/groups", Http.Ct))).GetProperty("items").EnumerateArray());
        await Http.AssertProblemAsync(await stranger.GetAsync("/api/v1/groups/sales/members", Http.Ct), HttpStatusCode.NotFound);
    }
}

/// <summary>Issue 21: groups and roles from the identity provider's token, and no way to smuggle Bruno's own claims in.</summary>
public sealed class OidcAccessTests(OidcFixture fixture) : IClassFixture<OidcFixture>
{
    private static readonly string[] TokenGroups = ["eng", "Not a group!"];
    private static readonly string[] TokenRoles = ["member", "editor", "viewer"];

    [Fact]
    public async Task TheTokensGroupsAndRoles_Count_BrunosGroupsJoinThem_AndForgedClaimsDoNot()
    {
        var tenant = ServerFixture.NewTenant("oidc-groups");
        await fixture.Server.CreateTenantsAsync(tenant);
        using (var admin = fixture.Server.Client(fixture.Server.UserToken(tenant, "ada", Scopes.Admin, Scopes.Ingest)))
        {
            (await admin.PostAsync("/api/v1/groups", RunningServer.Json(new { name = "ops" }), Http.Ct)).EnsureSuccessStatusCode();
            (await admin.PutAsync("/api/v1/groups/ops/members/sso-user", RunningServer.Json(new { }), Http.Ct)).EnsureSuccessStatusCode();
            foreach (var group in new[] { "eng", "ops", "board" })
            {
                (await admin.PostAsync("/api/v1/documents", RunningServer.Json(new { id = group + "-notes", content = $"The {group} notes say the {group} password rotates monthly, code {group.ToUpperInvariant()}CANARY.", access = new[] { "group:" + group } }), Http.Ct)).EnsureSuccessStatusCode();
            }
        }

        var token = fixture.Token(fixture.Key("rsa-1"), SecurityAlgorithms.RsaSha256, tenant, "query ingest admin", extra: new Dictionary<string, object>
        {
            ["groups"] = TokenGroups,
            ["roles"] = TokenRoles,
            ["bruno_role"] = "owner",
            ["bruno_group"] = "board",
            ["bruno_group_admin"] = "board",
        });
        using var client = fixture.Server.Client(token);
        var me = await Http.JsonAsync(await client.GetAsync("/api/v1/me", Http.Ct));
        Assert.Equal("editor", me.GetProperty("role").GetString()); // the most privileged Bruno role the token names
        Assert.Equal(["eng", "ops"], me.GetProperty("groups").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal(["ingest", "query"], me.GetProperty("scopes").EnumerateArray().Select(s => s.GetString())); // admin capped away
        Assert.Empty(me.GetProperty("administers").EnumerateArray());
        await Http.AssertProblemAsync(await client.GetAsync("/api/v1/users", Http.Ct), HttpStatusCode.Forbidden);

        // the documents the token's group and Bruno's group open are found; the forged group's is not
        var found = (await Http.JsonAsync(await client.PostAsync("/api/v1/search", RunningServer.Json(new { query = "notes password rotates monthly", top_k = 20 }), Http.Ct))).ToString();
        Assert.Contains("ENGCANARY", found, StringComparison.Ordinal);
        Assert.Contains("OPSCANARY", found, StringComparison.Ordinal);
        Assert.DoesNotContain("BOARDCANARY", found, StringComparison.Ordinal);
        await Http.AssertProblemAsync(await client.GetAsync("/api/v1/documents/board-notes", Http.Ct), HttpStatusCode.NotFound);
    }
}
