using System.Net;
using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>
/// Security-relevant events reach the tenant's audit log through the real pipeline — admin actions, keys and tokens
/// issued and revoked, failed sign-ins, authorisation denials, reads and erasures of memory — with who, what, result,
/// request id and compliance flags; admins read it with filters and paging, tenants only their own.
/// </summary>
public sealed class AuditApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] Gdpr = ["gdpr"];
    private static readonly string[] QueryOnly = ["query"];

    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task SecurityEvents_AreRecorded_AndReadWithFilters()
    {
        var tenant = ServerFixture.NewTenant("aud");
        using var platform = Server.Client(Server.PlatformToken());
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant, compliance = Gdpr }), Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PostAsync($"/admin/v1/tenants/{tenant}/suspend", null, Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PostAsync($"/admin/v1/tenants/{tenant}/resume", null, Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PostAsync($"/admin/v1/tenants/{tenant}/tokens", RunningServer.Json(new { user = "dora", scopes = QueryOnly }), Http.Ct)).EnsureSuccessStatusCode();
        var key = await Http.JsonAsync(await platform.PostAsync($"/admin/v1/tenants/{tenant}/api-keys", RunningServer.Json(new { name = "ci" }), Http.Ct));
        var keyId = key.GetProperty("id").GetString()!;

        // a failed sign-in with the tenant's key id, and a denial of a query-only user on an admin route
        using var wrongSecret = Server.Client();
        wrongSecret.DefaultRequestHeaders.Add("X-Api-Key", $"brk_{keyId}_{new string('A', 43)}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongSecret.GetAsync("/api/v1/documents", Http.Ct)).StatusCode);
        using var user = Server.Client(Server.UserToken(tenant, "dora"));
        await Http.AssertProblemAsync(await user.PutAsync("/api/v1/settings/retrieval", RunningServer.Json(new { top_k = 3 }), Http.Ct), HttpStatusCode.Forbidden);

        // an admin of the tenant reads a user's memory, then erases it
        using var admin = Server.Client(Server.UserToken(tenant, "boss", Scopes.Admin));
        (await admin.GetAsync("/api/v1/users/dora/memory", Http.Ct)).EnsureSuccessStatusCode();
        (await admin.DeleteAsync("/api/v1/users/dora/memory", Http.Ct)).EnsureSuccessStatusCode();
        (await platform.DeleteAsync($"/admin/v1/tenants/{tenant}/api-keys/{keyId}", Http.Ct)).EnsureSuccessStatusCode();

        var all = (await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/audit?limit=1000", Http.Ct))).GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(
            ["tenant.create", "tenant.suspend", "tenant.resume", "token.issue", "key.issue", "auth.signin_failed", "auth.denied", "memory.read", "user.erase", "key.revoke"],
            all.Select(e => e.GetProperty("action").GetString()));
        Assert.Equal(Enumerable.Range(1, all.Count), all.Select(e => e.GetProperty("seq").GetInt32()));
        Assert.All(all, e => Assert.Equal(Gdpr, e.GetProperty("compliance").EnumerateArray().Select(f => f.GetString())));
        Assert.All(all, e => Assert.False(string.IsNullOrEmpty(e.GetProperty("request_id").GetString())));
        var denied = all.Single(e => e.GetProperty("action").GetString() == "auth.denied");
        Assert.Equal(("dora", "denied", "PUT /api/v1/settings/retrieval"), (denied.GetProperty("actor").GetString(), denied.GetProperty("result").GetString(), denied.GetProperty("resource").GetString()));
        var failed = all.Single(e => e.GetProperty("action").GetString() == "auth.signin_failed");
        Assert.Equal(("key:" + keyId, "failure"), (failed.GetProperty("actor").GetString(), failed.GetProperty("result").GetString()));
        Assert.Equal("operator:operator", all[1].GetProperty("actor").GetString());
        Assert.Equal("boss", all.Single(e => e.GetProperty("action").GetString() == "user.erase").GetProperty("actor").GetString());

        // filters and paging
        var page = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/audit?limit=3", Http.Ct));
        Assert.Equal(3, page.GetProperty("entries").GetArrayLength());
        var rest = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/audit?limit=100&after={page.GetProperty("next").GetInt64()}", Http.Ct));
        Assert.Equal(all.Count - 3, rest.GetProperty("entries").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, rest.GetProperty("next").ValueKind);
        var onlyKeys = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/audit?action=key.issue", Http.Ct));
        Assert.Single(onlyKeys.GetProperty("entries").EnumerateArray());
        var byActor = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/audit?actor=boss&result=success", Http.Ct));
        Assert.Equal(2, byActor.GetProperty("entries").GetArrayLength());
        await Http.AssertProblemAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/audit?limit=0", Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await platform.GetAsync("/admin/v1/tenants/no-such-tenant/audit", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await platform.GetAsync("/admin/v1/tenants/..%2Fetc/audit", Http.Ct), HttpStatusCode.NotFound);

        // a checkpoint on demand, and the key that verifies it
        var checkpoint = await Http.JsonAsync(await platform.PostAsync($"/admin/v1/tenants/{tenant}/audit/checkpoints", null, Http.Ct));
        Assert.True(checkpoint.GetProperty("seq").GetInt64() >= all.Count);
        var pem = await (await platform.GetAsync("/admin/v1/audit/public-key", Http.Ct)).Content.ReadAsStringAsync(Http.Ct);
        Assert.StartsWith("-----BEGIN PUBLIC KEY-----", pem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATenantAdminReadsOnlyItsOwnLog()
    {
        var (mine, theirs) = (ServerFixture.NewTenant("own"), ServerFixture.NewTenant("other"));
        await Server.CreateTenantsAsync(mine, theirs);
        using var platform = Server.Client(Server.PlatformToken());
        (await platform.PostAsync($"/admin/v1/tenants/{theirs}/tokens", RunningServer.Json(new { user = "eve" }), Http.Ct)).EnsureSuccessStatusCode();

        using var admin = Server.Client(Server.UserToken(mine, "boss", Scopes.Admin));
        var own = await Http.JsonAsync(await admin.GetAsync("/api/v1/audit", Http.Ct));
        Assert.All(own.GetProperty("entries").EnumerateArray(), e => Assert.Equal(mine, e.GetProperty("tenant").GetString()));
        Assert.DoesNotContain("token.issue", own.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        await Http.AssertProblemAsync(await admin.GetAsync($"/api/v1/audit?tenant={theirs}", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await admin.GetAsync($"/admin/v1/tenants/{theirs}/audit", Http.Ct), HttpStatusCode.Forbidden);
        using var plainUser = Server.Client(Server.UserToken(mine, "dora"));
        await Http.AssertProblemAsync(await plainUser.GetAsync("/api/v1/audit", Http.Ct), HttpStatusCode.Forbidden);
    }
}
