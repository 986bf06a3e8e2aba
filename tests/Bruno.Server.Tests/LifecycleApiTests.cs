using System.Net;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>The operator's tenant lifecycle through the admin API: profile, transitions, conflicts, events.</summary>
public sealed class LifecycleApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] Hipaa = ["hipaa", "gdpr"];
    private static readonly string[] Unknown = ["pci"];

    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task AnOperatorDrivesATenantThroughItsStates()
    {
        var tenant = ServerFixture.NewTenant("life");
        using var platform = Server.Client(Server.PlatformToken());
        var created = await Http.JsonAsync(await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant, display_name = "Life", plan = "premium", isolation = "kamaji", compliance = Hipaa }), Http.Ct));
        Assert.Equal(("active", "premium", "kamaji"), (created.GetProperty("status").GetString(), created.GetProperty("plan").GetString(), created.GetProperty("isolation").GetString()));
        Assert.Equal(["gdpr", "hipaa"], created.GetProperty("compliance").EnumerateArray().Select(f => f.GetString()));
        await Http.AssertProblemAsync(await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = ServerFixture.NewTenant("bad"), plan = "gold" }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = ServerFixture.NewTenant("bad"), compliance = Unknown }), Http.Ct), HttpStatusCode.BadRequest);

        using var user = Server.Client(Server.UserToken(tenant, "alice"));
        (await user.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "d", content = "Lockers close at ten." }), Http.Ct)).EnsureSuccessStatusCode();

        var conflict = await Http.AssertProblemAsync(await platform.PostAsync($"/admin/v1/tenants/{tenant}/resume", null, Http.Ct), HttpStatusCode.Conflict);
        Assert.Contains("is active", conflict.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // offloaded: the next request of the tenant reactivates it
        Assert.Equal("offloaded", (await Http.JsonAsync(await platform.PostAsync($"/admin/v1/tenants/{tenant}/offload", null, Http.Ct))).GetProperty("status").GetString());
        (await user.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        Assert.Equal("active", (await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}", Http.Ct))).GetProperty("status").GetString());

        Assert.Equal("default", (await Http.JsonAsync(await platform.PutAsync($"/admin/v1/tenants/{tenant}/plan", RunningServer.Json(new { plan = "default" }), Http.Ct))).GetProperty("plan").GetString());
        await Http.AssertProblemAsync(await platform.PutAsync($"/admin/v1/tenants/{tenant}/plan", RunningServer.Json(new { plan = "gold" }), Http.Ct), HttpStatusCode.BadRequest);

        // deleted: the tenant's credentials stop working, its id stays taken, and every step was recorded
        Assert.Equal("deleted", (await Http.JsonAsync(await platform.DeleteAsync($"/admin/v1/tenants/{tenant}", Http.Ct))).GetProperty("status").GetString());
        var refused = await Http.AssertProblemAsync(await user.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
        Assert.Equal("Tenant unknown", refused.GetProperty("title").GetString());
        await Http.AssertProblemAsync(await platform.DeleteAsync($"/admin/v1/tenants/{tenant}", Http.Ct), HttpStatusCode.Conflict);
        await Http.AssertProblemAsync(await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant }), Http.Ct), HttpStatusCode.Conflict);
        var events = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/events", Http.Ct));
        Assert.Equal(
            ["create", "provisioned", "offload", "reactivate", "plan default", "delete", "deleted"],
            events.EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        Assert.Equal("operator", events[2].GetProperty("actor").GetString());
        Assert.Equal("request", events[3].GetProperty("actor").GetString());

        await Http.AssertProblemAsync(await platform.PostAsync("/admin/v1/tenants/no-such-tenant/suspend", null, Http.Ct), HttpStatusCode.NotFound);
        using var tenantAdmin = Server.Client(Server.UserToken(ServerFixture.NewTenant("x"), "boss", Bruno.Core.Identity.Scopes.Admin));
        await Http.AssertProblemAsync(await tenantAdmin.DeleteAsync($"/admin/v1/tenants/{tenant}", Http.Ct), HttpStatusCode.Forbidden);
    }
}
