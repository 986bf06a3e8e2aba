using System.Net;
using Bruno.Core.Tenants;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 22, the operators' console in a real browser: an operator signed in by a one-time link (no tenant) creates a
/// tenant, changes its plan, suspends it (its signed-in user's next page is refused) and resumes it, deletes one with
/// confirmation and sees the signed receipt, downloads its manifests; operators and tenant users are kept to their own
/// pages; no console error and no serious accessibility violation.
/// </summary>
public sealed class ConsoleOperatorTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private RunningServer Server => fixture.Server;

    private string OperatorLink(string name = "ops-ann") =>
        new Uri(Server.Address, "/console/signin?link=" + Uri.EscapeDataString(Server.Services.GetRequiredService<ConsoleLinks>().IssueOperator(name))).ToString();

    private string Url(string path) => new Uri(Server.Address, path).ToString();

    /// <summary>A new browser context signed in as an operator, on the tenants page.</summary>
    private async Task<(IBrowserContext Context, IPage Page, List<string> Errors)> OperatorAsync(bool bypassCsp = false)
    {
        var (context, page, errors) = await fixture.NewPageAsync(bypassCsp);
        await page.GotoAsync(OperatorLink());
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Tenants", Exact = true })).ToBeVisibleAsync();
        return (context, page, errors);
    }

    private async Task<List<string>> AuditAsync(string tenant)
    {
        using var op = Server.Client(Server.PlatformToken());
        return [.. (await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{tenant}/audit?limit=100", Http.Ct))).GetProperty("entries").EnumerateArray()
            .Select(e => $"{e.GetProperty("actor").GetString()} {e.GetProperty("action").GetString()} {e.GetProperty("result").GetString()}")];
    }

    [Fact]
    public async Task AnOperator_SignsInByLink_CreatesATenant_ChangesItsPlan_AndSuspendingItRefusesItsSignedInUser()
    {
        var link = OperatorLink();
        var (context, page, errors) = await fixture.NewPageAsync();
        await using var _ = context;
        await page.GotoAsync(link);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Tenants", Exact = true })).ToBeVisibleAsync();
        Assert.EndsWith("/console/operator/tenants", page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator(".who")).ToHaveTextAsync("ops-ann · operator");
        var nav = page.GetByRole(AriaRole.Navigation, new() { Name = "Console" });
        await Assertions.Expect(nav.GetByRole(AriaRole.Link)).ToHaveTextAsync(["Tenants", "Store nodes"]);

        // a tenant is created with a plan; a malformed id is refused with a message
        var tenant = ServerFixture.NewTenant("op-made");
        await page.GetByLabel("Id").FillAsync("Not/A-Tenant");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create tenant" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not a tenant id");
        await page.GetByLabel("Id").FillAsync(tenant);
        await page.GetByLabel("Plan").SelectOptionAsync("premium");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create tenant" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"Tenant {tenant} is created.");
        var row = page.GetByRole(AriaRole.Row, new() { Name = tenant });
        await Assertions.Expect(row).ToContainTextAsync("active");
        await Assertions.Expect(row).ToContainTextAsync("premium");
        await BrowserFixture.ShotAsync(page, "operator-tenants");
        await page.GetByLabel("Id").FillAsync(tenant);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create tenant" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("exists already");

        // its page: the plan changed, and a plan that does not exist refused as the API refuses it
        await row.GetByRole(AriaRole.Link, new() { Name = tenant }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Tenant " + tenant })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#plan")).ToHaveTextAsync("premium");
        await page.GetByLabel("Plan of " + tenant).SelectOptionAsync("default");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change plan" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("The plan is now default.");
        await Assertions.Expect(page.Locator("#plan")).ToHaveTextAsync("default");
        await page.EvaluateAsync("() => { const o = document.querySelector('#new-plan option'); o.value = 'gold'; o.selected = true; }");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change plan" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("plan must be one of");
        await Assertions.Expect(page.Locator("#plan")).ToHaveTextAsync("default");
        using (var op = Server.Client(Server.PlatformToken()))
        {
            Assert.Equal("default", (await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{tenant}", Http.Ct))).GetProperty("plan").GetString());
        }

        // a user of another tenant is signed in; the operator suspends that tenant: the user's next page is refused
        var served = await fixture.TenantWithDocumentAsync("op-suspend", "notes", "# Notes\n\nThe team meets on Mondays.");
        var (userContext, user, userErrors) = await fixture.SignInAsync(fixture.Link(served, "uma"));
        await using var __ = userContext;
        await page.GotoAsync(Url($"/console/operator/tenants/{served}"));
        await BrowserFixture.ShotAsync(page, "operator-tenant");
        await page.GetByRole(AriaRole.Button, new() { Name = "Suspend" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("The tenant is suspended.");
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("suspended");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Suspend" })).ToHaveCountAsync(0);

        var refused = await user.GotoAsync(Url("/console/documents"));
        Assert.Equal(403, refused!.Status);
        await Assertions.Expect(user.GetByRole(AriaRole.Heading, new() { Name = "This tenant is suspended" })).ToBeVisibleAsync();

        // resumed: the user's next page works again
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume" }).ClickAsync();
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("active");
        var again = await user.GotoAsync(Url("/console/documents"));
        Assert.Equal(200, again!.Status);
        await Assertions.Expect(user.GetByRole(AriaRole.Table)).ToContainTextAsync("notes");

        // offloaded: its store is closed, and the user's next page opens it again
        await page.GetByRole(AriaRole.Button, new() { Name = "Offload" }).ClickAsync();
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("offloaded");
        Assert.Equal(200, (await user.GotoAsync(Url("/console/documents")))!.Status);
        await Assertions.Expect(user.GetByRole(AriaRole.Table)).ToContainTextAsync("notes");
        Assert.Empty(errors);
        Assert.Equal(["403"], userErrors.Select(e => e.Contains("status of 403", StringComparison.Ordinal) ? "403" : e)); // the refused page's own status, nothing else

        // every change is in the tenant's audit log under the operator's name, as the admin API records it
        var made = await AuditAsync(tenant);
        Assert.Contains("operator:ops-ann tenant.create success", made);
        Assert.Contains("operator:ops-ann tenant.plan success", made);
        Assert.Single(made, e => e.Contains("tenant.plan", StringComparison.Ordinal)); // the refused plan changed nothing
        var suspended = await AuditAsync(served);
        Assert.Contains("operator:ops-ann tenant.suspend success", suspended);
        Assert.Contains("operator:ops-ann tenant.resume success", suspended);
        Assert.Contains("operator:ops-ann tenant.offload success", suspended);

        // the link was spent: a second sign-in with it is refused; and it is no bearer token of the admin API
        var second = await fixture.Browser.NewPageAsync();
        await second.GotoAsync(link);
        await second.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(second.GetByRole(AriaRole.Alert)).ToContainTextAsync("cannot sign you in");
        await second.CloseAsync();
        using var asBearer = Server.Client(System.Web.HttpUtility.ParseQueryString(new Uri(link).Query)["link"]!);
        Assert.Equal(HttpStatusCode.Unauthorized, (await asBearer.GetAsync("/admin/v1/tenants", Http.Ct)).StatusCode);
    }

    [Fact]
    public async Task AnOperator_DownloadsManifests_AndDeletesATenantWithConfirmation_SeeingTheReceipt()
    {
        var tenant = ServerFixture.NewTenant("op-delete");
        await Server.CreateTenantsAsync(tenant);
        var (context, page, errors) = await OperatorAsync();
        await using var _ = context;
        await page.GotoAsync(Url($"/console/operator/tenants/{tenant}"));

        // the manifests: a YAML file, given as an attachment
        var download = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Link, new() { Name = "Download manifests" }).ClickAsync());
        Assert.Equal($"bruno-{tenant}-manifests.yaml", download.SuggestedFilename);
        var yaml = await File.ReadAllTextAsync((await download.PathAsync())!, Http.Ct);
        Assert.Contains("kind: Namespace", yaml, StringComparison.Ordinal);
        Assert.Contains($"# File: tenants/{tenant}/", yaml, StringComparison.Ordinal);
        Assert.Matches($@"(?m)^\s*name: \S*{System.Text.RegularExpressions.Regex.Escape(tenant)}", yaml); // the tenant's own objects
        var response = await page.APIRequest.GetAsync(Url($"/console/operator/tenants/{tenant}/manifests"));
        Assert.StartsWith("attachment", response.Headers["content-disposition"], StringComparison.Ordinal);
        Assert.StartsWith("application/yaml", response.Headers["content-type"], StringComparison.Ordinal);

        // deleting needs the tenant's id typed
        await page.GetByLabel("Type the tenant's id to confirm").FillAsync("something-else");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete tenant" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync($"Nothing is deleted: type {tenant} to confirm.");
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("active");
        await page.GetByLabel("Type the tenant's id to confirm").FillAsync(tenant);
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete tenant" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync($"Tenant {tenant} is deleted.");
        await Assertions.Expect(page.Locator("#state")).ToHaveTextAsync("deleted");
        var receipt = System.Text.Json.JsonDocument.Parse(await page.Locator("#receipt").InnerTextAsync()).RootElement;
        Assert.Equal("deleted", receipt.GetProperty("status").GetString());
        Assert.Equal(tenant, receipt.GetProperty("receipt").GetProperty("receipt").GetProperty("tenant").GetString());
        Assert.Equal("tenant", receipt.GetProperty("receipt").GetProperty("receipt").GetProperty("kind").GetString());
        Assert.Equal("ops-ann", receipt.GetProperty("receipt").GetProperty("receipt").GetProperty("erased_by").GetString());
        Assert.False(string.IsNullOrEmpty(receipt.GetProperty("receipt").GetProperty("signature").GetString()));
        using (var op = Server.Client(Server.PlatformToken()))
        {
            var receipts = await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{tenant}/receipts", Http.Ct));
            Assert.Equal(receipt.GetProperty("receipt").GetProperty("signature").GetString(), receipts.EnumerateArray().Last().GetProperty("signature").GetString());
        }

        // a deleted tenant's page shows its receipt and no more actions; its manifests are gone
        await page.GotoAsync(Url($"/console/operator/tenants/{tenant}"));
        await Assertions.Expect(page.Locator("#receipt")).ToContainTextAsync(tenant);
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Delete tenant" })).ToHaveCountAsync(0);
        Assert.Equal(404, (await page.APIRequest.GetAsync(Url($"/console/operator/tenants/{tenant}/manifests"))).Status);

        Assert.Empty(errors);

        // an id that is no tenant, or not an id at all: the page says so, 404
        foreach (var id in new[] { "no-such-tenant-here", "Not..An..Id" })
        {
            var missing = await page.GotoAsync(Url($"/console/operator/tenants/{Uri.EscapeDataString(id)}"));
            Assert.Equal(404, missing!.Status);
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "No such tenant" })).ToBeVisibleAsync();
        }

        Assert.Equal(2, errors.Count(e => e.Contains("status of 404", StringComparison.Ordinal))); // those pages' own status, nothing else
        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public async Task OperatorsAndTenantUsers_AreEachRefusedTheOthersPages()
    {
        var tenant = await fixture.TenantWithDocumentAsync("op-apart", "memo", "# Memo\n\nLunch is at noon.");

        // a tenant's admin: "Not allowed" on every operator page, and no manifests
        var (adminContext, admin, _) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Admin));
        await using var _ = adminContext;
        foreach (var path in new[] { "/console/operator/tenants", $"/console/operator/tenants/{tenant}", "/console/operator/nodes" })
        {
            await admin.GotoAsync(Url(path));
            await Assertions.Expect(admin.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
            Assert.Contains("/console/denied", admin.Url, StringComparison.Ordinal);
        }

        var manifests = await admin.APIRequest.GetAsync(Url($"/console/operator/tenants/{tenant}/manifests"));
        Assert.DoesNotContain("kind: Namespace", await manifests.TextAsync(), StringComparison.Ordinal);
        await Assertions.Expect(admin.GetByRole(AriaRole.Link, new() { Name = "Store nodes" })).ToHaveCountAsync(0);

        // an operator: "Not allowed" on the tenants' pages, and the tenant API refuses the operator's session
        var (context, page, errors) = await OperatorAsync();
        await using var __ = context;
        foreach (var path in new[] { "/console", "/console/documents", "/console/memory", "/console/keys" })
        {
            await page.GotoAsync(Url(path));
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
            Assert.Contains("/console/denied", page.Url, StringComparison.Ordinal);
            await Assertions.Expect(page.Locator(".who")).ToHaveTextAsync("ops-ann · operator");
        }

        Assert.Equal(403, (await page.APIRequest.GetAsync(Url("/api/v1/documents"))).Status);
        Assert.DoesNotContain("Lunch is at noon", await page.ContentAsync(), StringComparison.Ordinal);

        // this server runs in one process: the store nodes page says so
        await page.GetByRole(AriaRole.Link, new() { Name = "Store nodes" }).ClickAsync();
        await Assertions.Expect(page.Locator("#single-node")).ToContainTextAsync("runs single-node");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task EveryOperatorPage_HasNoSeriousAccessibilityViolation()
    {
        var tenant = ServerFixture.NewTenant("op-axe");
        var gone = ServerFixture.NewTenant("op-axe-gone");
        await Server.CreateTenantsAsync(tenant, gone);
        using (var op = Server.Client(Server.PlatformToken()))
        {
            (await op.DeleteAsync($"/admin/v1/tenants/{gone}", Http.Ct)).EnsureSuccessStatusCode();
        }

        var (context, page, _) = await OperatorAsync(bypassCsp: true); // axe is injected as a script
        await using var __ = context;
        var problems = new List<string>();
        problems.AddRange(await BrowserFixture.AxeAsync(page, "tenants"));
        await page.GotoAsync(Url($"/console/operator/tenants/{tenant}"));
        problems.AddRange(await BrowserFixture.AxeAsync(page, "a tenant"));
        await page.GotoAsync(Url($"/console/operator/tenants/{gone}"));
        await Assertions.Expect(page.Locator("#receipt")).ToBeVisibleAsync();
        problems.AddRange(await BrowserFixture.AxeAsync(page, "a deleted tenant, with its receipt"));
        await page.GotoAsync(Url("/console/operator/tenants/no-such-tenant-here"));
        problems.AddRange(await BrowserFixture.AxeAsync(page, "no such tenant"));
        await page.GotoAsync(Url("/console/operator/nodes"));
        problems.AddRange(await BrowserFixture.AxeAsync(page, "store nodes"));
        await page.GotoAsync(Url("/console/documents"));
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
        problems.AddRange(await BrowserFixture.AxeAsync(page, "not allowed, for an operator"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
