using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 22, the tenant admin's pages of the web console in a real browser: users, roles and groups (the access rules
/// refusing here what they refuse through the API), the audit log with its filters and the verification of its chain
/// (intact, then broken by an entry changed in the store), and the tenant's settings (an out-of-range value changes
/// nothing). Every change made here is seen by the API and is in the audit log; another tenant's admin sees none of it;
/// a member is not allowed in; axe-core finds no serious violation.
/// </summary>
public sealed class ConsoleAdminTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private RunningServer Server => fixture.Server;

    private string Url(string path) => new Uri(Server.Address, path).ToString();

    [Fact]
    public async Task Users_AnOwnerGivesRolesAndManagesGroups_AndAnAdminIsRefusedWhatTheApiRefuses()
    {
        var tenant = ServerFixture.NewTenant("console-users");
        await Server.CreateTenantsAsync(tenant);
        using var op = Server.Client(Server.PlatformToken());
        (await op.PutAsync($"/admin/v1/tenants/{tenant}/users/ada/role", RunningServer.Json(new { role = "owner" }), Http.Ct)).EnsureSuccessStatusCode();
        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Owner));
        await using var _ = context;
        await page.GetByRole(AriaRole.Link, new() { Name = "Users" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Users and groups" })).ToBeVisibleAsync();
        var users = page.GetByRole(AriaRole.Table, new() { Name = "Users of " + tenant });
        await Assertions.Expect(Row(users, "ada")).ToContainTextAsync("owner");

        // roles: bea an admin, cal a member, then cal's role taken away
        await GiveRoleAsync(page, "bea", "admin");
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("bea is now admin.");
        await Assertions.Expect(Row(users, "bea")).ToContainTextAsync("admin");
        await GiveRoleAsync(page, "cal", "editor");
        await Assertions.Expect(Row(users, "cal")).ToContainTextAsync("editor");
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove role of cal" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("cal has no role any more.");
        await Assertions.Expect(Row(users, "cal")).ToHaveCountAsync(0);

        // groups: eng with cal (its admin) and dan; dan removed; a bad name refused; a spare group deleted
        await CreateGroupAsync(page, "eng");
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("The group eng is created.");
        await AddMemberAsync(page, "eng", "cal", admin: true);
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("cal is in eng as its admin.");
        await AddMemberAsync(page, "eng", "dan", admin: false);
        var eng = page.GetByRole(AriaRole.Table, new() { Name = "Members of eng" });
        await Assertions.Expect(Row(eng, "cal")).ToContainTextAsync("yes");
        await Assertions.Expect(Row(eng, "dan")).ToContainTextAsync("no");
        await Assertions.Expect(Row(users, "dan")).ToContainTextAsync("eng");
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove dan from eng" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("dan is no longer in eng.");
        await Assertions.Expect(Row(eng, "dan")).ToHaveCountAsync(0);
        await CreateGroupAsync(page, "no way");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("A group name has 1-64 letters");
        await CreateGroupAsync(page, "spare");
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete group spare" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("The group spare is deleted.");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "spare" })).ToHaveCountAsync(0);
        await BrowserFixture.ShotAsync(page, "users");

        // the tenant's last owner cannot take their own role away
        await page.GetByRole(AriaRole.Button, new() { Name = "Remove role of ada" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("last owner");
        Assert.Empty(errors);

        // bea, an admin but no owner, may not make an owner nor touch one (the rules refuse, the log says so)
        var (beaContext, bea, _) = await fixture.SignInAsync(fixture.Link(tenant, "bea", TenantRole.Admin));
        await using var __ = beaContext;
        await bea.GotoAsync(Url("/console/users"));
        await GiveRoleAsync(bea, "cal", "owner");
        await Assertions.Expect(bea.GetByRole(AriaRole.Alert)).ToContainTextAsync("Only an owner may give, change or take the owner role.");
        await bea.GetByRole(AriaRole.Button, new() { Name = "Remove role of ada" }).ClickAsync();
        await Assertions.Expect(bea.GetByRole(AriaRole.Alert)).ToContainTextAsync("Not allowed");

        // what the API sees
        using var api = Server.Client(Server.UserToken(tenant, "ada", Scopes.Admin));
        var roles = (await Http.JsonAsync(await api.GetAsync("/api/v1/users", Http.Ct))).GetProperty("items").EnumerateArray()
            .ToDictionary(r => r.GetProperty("user").GetString()!, r => r.GetProperty("role").GetString());
        Assert.Equal(new Dictionary<string, string?> { ["ada"] = "owner", ["bea"] = "admin" }, roles);
        Assert.Equal(["eng"], (await Http.JsonAsync(await api.GetAsync("/api/v1/groups", Http.Ct))).GetProperty("items").EnumerateArray().Select(g => g.GetProperty("name").GetString()));
        var members = (await Http.JsonAsync(await api.GetAsync("/api/v1/groups/eng/members", Http.Ct))).GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([("cal", true)], members.Select(m => (m.GetProperty("user").GetString(), m.GetProperty("admin").GetBoolean())));

        // and the audit log, with the API's actions
        var audit = await AuditAsync(tenant);
        foreach (var expected in new[] { "ada role.assign success", "ada role.remove success", "ada group.create success", "ada group.member.add success", "ada group.member.remove success", "ada group.delete success", "bea role.assign denied", "bea role.remove denied" })
        {
            Assert.Contains(expected, audit);
        }

        Assert.Equal(2, audit.Count(e => e == "ada role.assign success"));
    }

    [Fact]
    public async Task AuditLog_FiltersAndPages_AndVerifyShowsIntact_ThenBrokenAfterAnEntryIsChanged()
    {
        var tenant = ServerFixture.NewTenant("console-audit");
        await Server.CreateTenantsAsync(tenant);
        var log = Server.Services.GetRequiredService<Core.Audit.AuditLog>();
        for (var i = 0; i < 30; i++)
        {
            await log.AppendAsync(TenantId.Parse(tenant), new Core.Audit.AuditEvent("robot", "document.put", $"PUT /api/v1/documents/doc-{i}", i % 10 == 0 ? "denied" : "success"));
        }

        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Admin));
        await using var _ = context;
        await page.GetByRole(AriaRole.Link, new() { Name = "Audit log" }).ClickAsync();
        var table = page.GetByRole(AriaRole.Table);
        await Assertions.Expect(table).ToContainTextAsync("tenant.create");
        await Assertions.Expect(table).ToContainTextAsync("console.signin");

        // filters by a GET form: robot's denials
        await page.GetByLabel("Actor").FillAsync("robot");
        await page.GetByLabel("Result").SelectOptionAsync("denied");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
        Assert.Contains("actor=robot", page.Url, StringComparison.Ordinal);
        await Assertions.Expect(table.Locator("tbody tr")).ToHaveCountAsync(3);
        Assert.All(await table.Locator("tbody tr").AllInnerTextsAsync(), row => Assert.Contains("denied", row, StringComparison.Ordinal));
        await Assertions.Expect(page.GetByLabel("Actor")).ToHaveValueAsync("robot"); // the form shows what filters the page

        // pages of 25, the next one carrying the filters
        await page.GotoAsync(Url("/console/audit?action=document.put&limit=25"));
        await Assertions.Expect(table.Locator("tbody tr")).ToHaveCountAsync(25);
        await page.GetByRole(AriaRole.Link, new() { Name = "Next page" }).ClickAsync();
        await Assertions.Expect(table.Locator("tbody tr")).ToHaveCountAsync(5);
        await Assertions.Expect(table).ToContainTextAsync("doc-29");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Next page" })).ToHaveCountAsync(0);

        // a time window: everything is before a minute from now, nothing from then on
        var soon = DateTimeOffset.UtcNow.AddMinutes(1).ToString("yyyy-MM-ddTHH:mm", System.Globalization.CultureInfo.InvariantCulture);
        await page.GotoAsync(Url($"/console/audit?action=document.put&to={soon}"));
        await Assertions.Expect(table.Locator("tbody tr")).ToHaveCountAsync(30);
        await page.GotoAsync(Url($"/console/audit?action=document.put&from={soon}"));
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("No entries match these filters.");

        // filters the API refuses are said, not run
        await page.GotoAsync(Url("/console/audit?limit=5000"));
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("limit must be between 1 and 1000.");
        await page.GotoAsync(Url("/console/audit?from=yesterday"));
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("From must be a date and time");

        // the chain verifies
        await page.GotoAsync(Url("/console/audit"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify chain" }).ClickAsync();
        var verdict = page.Locator("#verdict");
        await Assertions.Expect(verdict).ToContainTextAsync("Intact.");
        var entries = (await log.ReadAllAsync(TenantId.Parse(tenant))).Count;
        await Assertions.Expect(verdict).ToContainTextAsync($"{entries} entries");
        await BrowserFixture.ShotAsync(page, "audit");

        // one entry changed in the tenant's store: the chain is broken there
        var store = Server.Services.GetRequiredService<TenantService>().Store(TenantId.Parse(tenant)).Collection(Core.Audit.AuditLog.CollectionName);
        var rows = (await store.ReadAllAsync(Http.Ct)).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        var second = Core.Audit.AuditLog.Parse(rows[1]);
        await store.UpsertAsync([Core.Audit.AuditLog.ToRow(second with { Actor = "operator:nobody" })], ct: Http.Ct);
        await page.GetByRole(AriaRole.Button, new() { Name = "Verify chain" }).ClickAsync();
        await Assertions.Expect(verdict).ToContainTextAsync("Broken.");
        await Assertions.Expect(verdict).ToContainTextAsync("Entry 2: entry was altered");
        Assert.Empty(errors);

        // an auditor (no query scope: the chat is not theirs) reads the log too
        var (auditorContext, auditor, _) = await fixture.NewPageAsync();
        await using var __ = auditorContext;
        await auditor.GotoAsync(fixture.Link(tenant, "ava", TenantRole.Auditor));
        await auditor.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(auditor.GetByRole(AriaRole.Heading, new() { Name = "Audit log" })).ToBeVisibleAsync(); // where an auditor starts
        Assert.EndsWith("/console/audit", auditor.Url, StringComparison.Ordinal);
        await Assertions.Expect(auditor.GetByRole(AriaRole.Table)).ToContainTextAsync("console.signin");
        await Assertions.Expect(auditor.GetByRole(AriaRole.Link, new() { Name = "Users" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Settings_AreSavedAsTheApiWould_AndAnOutOfRangeValueChangesNothing()
    {
        var tenant = ServerFixture.NewTenant("console-settings");
        await Server.CreateTenantsAsync(tenant);
        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Admin));
        await using var _ = context;
        using var api = Server.Client(Server.UserToken(tenant, "ada", Scopes.Admin, Scopes.Query, Scopes.Memory));
        var defaults = await Http.JsonAsync(await api.GetAsync("/api/v1/settings/retention", Http.Ct));
        await page.GetByRole(AriaRole.Link, new() { Name = "Settings" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("Audit log (days)")).ToHaveValueAsync(""); // the service's default

        // retention, memory's included
        await page.GetByLabel("Memory (days)").FillAsync("60");
        await page.GetByLabel("Audit log (days)").FillAsync("30");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save retention" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Retention saved.");
        await Assertions.Expect(page.GetByLabel("Audit log (days)")).ToHaveValueAsync("30");
        var retention = await Http.JsonAsync(await api.GetAsync("/api/v1/settings/retention", Http.Ct));
        Assert.Equal((60, 30, defaults.GetProperty("usage_days").GetInt32()), (retention.GetProperty("memory_days").GetInt32(), retention.GetProperty("audit_days").GetInt32(), retention.GetProperty("usage_days").GetInt32()));
        Assert.Equal(60, (await Http.JsonAsync(await api.GetAsync("/api/v1/settings/memory", Http.Ct))).GetProperty("retention_days").GetInt32());

        // retrieval
        await page.GetByLabel("Passages per answer").FillAsync("3");
        await page.GetByLabel("Relevance bar").FillAsync("0.1");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save retrieval" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Retrieval saved.");
        var retrieval = await Http.JsonAsync(await api.GetAsync("/api/v1/settings/retrieval", Http.Ct));
        Assert.Equal((3, 0.1), (retrieval.GetProperty("final_count").GetInt32(), retrieval.GetProperty("min_relevance").GetDouble()));
        await BrowserFixture.ShotAsync(page, "settings");

        // out of range: said in the page's words, the value kept in the field to correct, nothing stored
        await page.GetByLabel("Audit log (days)").FillAsync("5000");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save retention" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Nothing was saved: Audit log (days) must be between 1 and 3650 (or empty for the default).");
        await Assertions.Expect(page.GetByLabel("Audit log (days)")).ToHaveValueAsync("5000");
        Assert.Equal(30, (await Http.JsonAsync(await api.GetAsync("/api/v1/settings/retention", Http.Ct))).GetProperty("audit_days").GetInt32());
        await page.GetByLabel("Passages per answer").FillAsync("70");
        await page.GetByLabel("Answerability bar").FillAsync("1.5");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save retrieval" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Passages per answer must be between 1 and Candidates re-ranked");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Answerability bar must be between 0 and 1.");
        retrieval = await Http.JsonAsync(await api.GetAsync("/api/v1/settings/retrieval", Http.Ct));
        Assert.Equal(3, retrieval.GetProperty("final_count").GetInt32());
        await page.EvaluateAsync("() => { const field = document.getElementById('min_relevance'); field.type = 'text'; field.value = 'a lot'; }"); // past the browser's own check of a number
        await page.GetByRole(AriaRole.Button, new() { Name = "Save retrieval" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Nothing was saved: Relevance bar must be a number such as 0.5 (or empty for the default).");

        // an emptied field is the service's default again
        await page.GotoAsync(Url("/console/settings"));
        await page.GetByLabel("Audit log (days)").FillAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save retention" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Retention saved.");
        Assert.Equal(defaults.GetProperty("audit_days").GetInt32(), (await Http.JsonAsync(await api.GetAsync("/api/v1/settings/retention", Http.Ct))).GetProperty("audit_days").GetInt32());
        Assert.Empty(errors);

        // recorded as the API's changes are, the refused ones not at all
        var audit = await AuditAsync(tenant);
        Assert.Equal(2, audit.Count(e => e == "ada settings.retention success"));
        Assert.Equal(1, audit.Count(e => e == "ada settings.retrieval success"));
    }

    [Fact]
    public async Task AnotherTenantsAdmin_SeesNothingOfThisTenant_AndAMemberIsNotAllowed()
    {
        // tenant A: a canary user with a role and a group, and a canary retention
        var a = ServerFixture.NewTenant("console-canary");
        var b = ServerFixture.NewTenant("console-other");
        await Server.CreateTenantsAsync(a, b);
        using (var admin = Server.Client(Server.UserToken(a, "root", Scopes.Admin)))
        {
            (await admin.PostAsync("/api/v1/groups", RunningServer.Json(new { name = "canary-crew" }), Http.Ct)).EnsureSuccessStatusCode();
            (await admin.PutAsync("/api/v1/groups/canary-crew/members/canary-zed", RunningServer.Json(new { }), Http.Ct)).EnsureSuccessStatusCode();
            (await admin.PutAsync("/api/v1/settings/retention", RunningServer.Json(new { audit_days = 1234 }), Http.Ct)).EnsureSuccessStatusCode();
            // last: once a user has a role, root (who has none) is a member
            (await admin.PutAsync("/api/v1/users/canary-zed/role", RunningServer.Json(new { role = "editor" }), Http.Ct)).EnsureSuccessStatusCode();
        }

        // B's admin: not on any page, whatever the address asks
        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(b, "bob", TenantRole.Admin));
        await using var _ = context;
        foreach (var path in new[] { "/console/users", "/console/audit", "/console/audit?actor=canary-zed", "/console/audit?verify=1", $"/console/audit?tenant={a}", "/console/settings" })
        {
            await page.GotoAsync(Url(path));
            await Assertions.Expect(page.Locator("main h1")).ToBeVisibleAsync();
            var html = (await page.ContentAsync()).Replace("value=\"canary-zed\"", "", StringComparison.Ordinal); // the filter asked for, in its field
            Assert.DoesNotContain("canary", html, StringComparison.Ordinal);
            Assert.DoesNotContain(a, html, StringComparison.Ordinal);
            Assert.DoesNotContain("1234", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
        }

        await page.GotoAsync(Url("/console/audit?actor=canary-zed"));
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("No entries match these filters.");
        Assert.Empty(errors);

        // a member of B: no links, and "Not allowed" on each page; a form posted anyway changes nothing
        var (memberContext, member, _) = await fixture.SignInAsync(fixture.Link(b, "max"));
        await using var __ = memberContext;
        foreach (var link in new[] { "Users", "Audit log", "Settings" })
        {
            await Assertions.Expect(member.GetByRole(AriaRole.Link, new() { Name = link, Exact = true })).ToHaveCountAsync(0);
        }

        foreach (var path in new[] { "/console/users", "/console/audit", "/console/settings" })
        {
            await member.GotoAsync(Url(path));
            await Assertions.Expect(member.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
        }

        var landed = await member.EvaluateAsync<string>(
            "async () => { const f = new FormData(); f.append('__RequestVerificationToken', document.querySelector('input[name=__RequestVerificationToken]').value); f.append('_handler', 'retention'); f.append('audit_days', '1'); return (await fetch('/console/settings', { method: 'POST', body: f })).url; }");
        Assert.Contains("/console/denied", landed, StringComparison.Ordinal);
        using var api = Server.Client(Server.UserToken(b, "bob", Scopes.Admin));
        Assert.NotEqual(1, (await Http.JsonAsync(await api.GetAsync("/api/v1/settings/retention", Http.Ct))).GetProperty("audit_days").GetInt32());
    }

    [Fact]
    public async Task TheAdminPages_HaveNoSeriousAccessibilityViolation()
    {
        var tenant = ServerFixture.NewTenant("console-admin-axe");
        await Server.CreateTenantsAsync(tenant);
        using (var admin = Server.Client(Server.UserToken(tenant, "root", Scopes.Admin)))
        {
            (await admin.PostAsync("/api/v1/groups", RunningServer.Json(new { name = "eng" }), Http.Ct)).EnsureSuccessStatusCode();
            (await admin.PutAsync("/api/v1/groups/eng/members/cal", RunningServer.Json(new { admin = true }), Http.Ct)).EnsureSuccessStatusCode();
        }

        var (context, page, _) = await fixture.NewPageAsync(bypassCsp: true); // axe is injected as a script
        await using var _ = context;
        await page.GotoAsync(fixture.Link(tenant, "ann", TenantRole.Admin));
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Ask" })).ToBeVisibleAsync();
        var problems = new List<string>();
        await page.GotoAsync(Url("/console/users"));
        await GiveRoleAsync(page, "ann", "admin"); // a message shown, and a role in the table (her own first: users without one are then members)
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToBeVisibleAsync();
        problems.AddRange(await BrowserFixture.AxeAsync(page, "users"));
        await page.GotoAsync(Url("/console/audit?verify=1"));
        await Assertions.Expect(page.Locator("#verdict")).ToBeVisibleAsync();
        problems.AddRange(await BrowserFixture.AxeAsync(page, "audit, verified"));
        await page.GotoAsync(Url("/console/audit?limit=0"));
        problems.AddRange(await BrowserFixture.AxeAsync(page, "audit, a refused filter"));
        await page.GotoAsync(Url("/console/settings"));
        await page.GetByLabel("Usage records (days)").FillAsync("0");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save retention" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToBeVisibleAsync();
        problems.AddRange(await BrowserFixture.AxeAsync(page, "settings, a refused value"));
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>The row of <paramref name="table"/> whose first cell is <paramref name="user"/>.</summary>
    private static ILocator Row(ILocator table, string user) =>
        table.Locator("tbody tr").Filter(new() { Has = table.Page.GetByRole(AriaRole.Cell, new() { Name = user, Exact = true }) });

    private static async Task GiveRoleAsync(IPage page, string user, string role)
    {
        await page.GetByLabel("User", new() { Exact = true }).FillAsync(user);
        await page.GetByLabel("Role", new() { Exact = true }).SelectOptionAsync(role);
        await page.GetByRole(AriaRole.Button, new() { Name = "Give role" }).ClickAsync();
    }

    private static async Task CreateGroupAsync(IPage page, string name)
    {
        await page.GetByLabel("Name (letters, digits").FillAsync(name);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create group" }).ClickAsync();
    }

    private static async Task AddMemberAsync(IPage page, string group, string user, bool admin)
    {
        await page.GetByLabel("User to add to " + group).FillAsync(user);
        await page.GetByLabel("Admin of " + group).SetCheckedAsync(admin);
        await page.GetByRole(AriaRole.Button, new() { Name = "Add to " + group }).ClickAsync();
    }

    /// <summary>The tenant's audit log as the operator reads it through the API: "actor action result" per entry.</summary>
    private async Task<List<string>> AuditAsync(string tenant)
    {
        using var op = Server.Client(Server.PlatformToken());
        return [.. (await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{tenant}/audit?limit=1000", Http.Ct))).GetProperty("entries").EnumerateArray()
            .Select(e => $"{e.GetProperty("actor").GetString()} {e.GetProperty("action").GetString()} {e.GetProperty("result").GetString()}")];
    }
}
