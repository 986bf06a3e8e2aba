using System.Net;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 22, the web console in a real browser: sign-in by a one-time link, a question answered as it streams with its
/// citation opening the passage, tenants kept apart, a suspended tenant's session refused, the content security policy
/// obeyed (no console error), and no serious accessibility violation (axe-core).
/// </summary>
public sealed class ConsoleTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task ALink_SignsInOnce_TheAnswerStreams_AndItsCitationOpensThePassage()
    {
        var tenant = await fixture.TenantWithDocumentAsync("console", "hours", "# Library\n\n## Opening hours\n\nThe library opens at nine in the morning on weekdays.\n\n## Loans\n\nBooks are lent for three weeks.");
        var link = fixture.Link(tenant, "alice");
        var (context, page, errors) = await fixture.SignInAsync(link);
        await using var _ = context;
        Assert.EndsWith("/console", page.Url, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator(".who")).ToContainTextAsync("alice · " + tenant);

        // asked with the keyboard alone; the page script streams the answer from the API (no page load)
        await page.EvaluateAsync("() => { window.brunoTestMarker = 'same page'; }"); // a page load would drop it
        await page.GetByLabel("Your question").FillAsync("When does the library open?");
        await page.GetByLabel("Your question").PressAsync("Enter");
        var answer = page.Locator("#answer .answer[data-answered=true]");
        await Assertions.Expect(answer.Locator(".answer-text")).ToContainTextAsync("nine in the morning");
        Assert.Equal("same page", await page.EvaluateAsync<string>("() => window.brunoTestMarker"));
        var citation = answer.Locator("ol.sources a").First;
        await Assertions.Expect(citation).ToContainTextAsync("Opening hours");
        await BrowserFixture.ShotAsync(page, "ask");

        // the citation opens the document at the cited section
        await citation.ClickAsync();
        await Assertions.Expect(page.Locator("h2:target")).ToHaveTextAsync("Library › Opening hours");
        Assert.Contains("/console/documents/hours#s-library-opening-hours", page.Url, StringComparison.Ordinal);
        await BrowserFixture.ShotAsync(page, "document");

        // the conversation is there to return to, and a question asked there continues it
        await page.GotoAsync(new Uri(Server.Address, "/console").ToString());
        var session = await page.Locator("#ask").GetAttributeAsync("data-session");
        Assert.True(string.IsNullOrEmpty(session)); // a new page starts a new conversation
        await page.GetByRole(AriaRole.Navigation, new() { Name = "Conversations" }).GetByRole(AriaRole.Link, new() { Name = "When does the library open?" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Region, new() { Name = "Earlier in this conversation" })).ToContainTextAsync("nine in the morning");
        session = await page.Locator("#ask").GetAttributeAsync("data-session");
        Assert.False(string.IsNullOrEmpty(session));
        await page.GetByLabel("Your question").FillAsync("And how long are books lent?");
        await page.GetByLabel("Your question").PressAsync("Enter");
        await Assertions.Expect(page.Locator("#answer .answer[data-answered=true] .answer-text")).ToContainTextAsync("three weeks");
        Assert.Equal(session, await page.Locator("#ask").GetAttributeAsync("data-session"));

        // "not in these documents" is shown as such
        await page.GotoAsync(new Uri(Server.Address, "/console").ToString());
        await page.GetByLabel("Your question").FillAsync("What is the airspeed of an unladen swallow?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Ask" }).ClickAsync();
        await Assertions.Expect(page.Locator("#answer .answer.not-found .answer-text")).ToContainTextAsync("Not in these documents");
        Assert.Empty(errors); // nothing the content security policy refused, no script error

        // the link was spent: a second sign-in with it is refused
        var second = await fixture.Browser.NewPageAsync();
        await second.GotoAsync(link);
        await second.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(second.GetByRole(AriaRole.Alert)).ToContainTextAsync("cannot sign you in");
        await second.CloseAsync();
    }

    [Fact]
    public async Task Chat_WorksWithTheKeyboardAlone()
    {
        var tenant = await fixture.TenantWithDocumentAsync("console-keys-only", "pool", "# Pool\n\n## Hours\n\nThe pool opens at seven and closes at nine in the evening.");
        var (context, page, errors) = await fixture.NewPageAsync();
        await using var _ = context;

        // sign in: the button is reached by Tab and pressed with Enter
        await page.GotoAsync(fixture.Link(tenant, "kai"));
        await TabToAsync(page, "el => el.id === 'signin'");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Ask" })).ToBeVisibleAsync();

        // the first Tab reaches "Skip to content", which leads straight to the question
        await page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" })).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await page.Keyboard.PressAsync("Tab");
        await Assertions.Expect(page.GetByLabel("Your question")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync("When does the pool open?");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#answer .answer[data-answered=true] .answer-text")).ToContainTextAsync("seven");

        // the citation is reached by Tab and opened with Enter
        await TabToAsync(page, "el => el.closest('ol.sources') !== null && el.tagName === 'A'");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("h2:target")).ToHaveTextAsync("Pool › Hours");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    /// <summary>Presses Tab until the focused element satisfies <paramref name="predicate"/> (at most 40 times).</summary>
    private static async Task TabToAsync(IPage page, string predicate)
    {
        for (var i = 0; i < 40; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            if (await page.EvaluateAsync<bool>($"() => document.activeElement !== null && ({predicate})(document.activeElement)"))
            {
                return;
            }
        }

        Assert.Fail("Tab never reached the element " + predicate);
    }

    [Fact]
    public async Task ASession_SeesOnlyItsTenant_AndASuspendedTenantsSessionIsRefused()
    {
        var a = await fixture.TenantWithDocumentAsync("console-a", "a-secret", "The vault code of tenant A is CONSOLECANARY.");
        var b = await fixture.TenantWithDocumentAsync("console-b", "b-notes", "Tenant B keeps its notes here.");
        var (context, page, _) = await fixture.SignInAsync(fixture.Link(b, "bob", TenantRole.Admin));
        await using var __ = context;

        await page.GotoAsync(new Uri(Server.Address, "/console/documents").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Table)).ToContainTextAsync("b-notes");
        Assert.DoesNotContain("a-secret", await page.ContentAsync(), StringComparison.Ordinal);
        var response = await page.GotoAsync(new Uri(Server.Address, "/console/documents/a-secret").ToString());
        Assert.Equal((int)HttpStatusCode.NotFound, response!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "No such document" })).ToBeVisibleAsync(); // a page, not a problem's JSON
        Assert.DoesNotContain("CONSOLECANARY", await page.ContentAsync(), StringComparison.Ordinal);

        // the session's cookie reaches the API as tenant B only, whatever the request names
        var status = await page.EvaluateAsync<int>("async () => (await fetch('/api/v1/documents/a-secret')).status");
        Assert.Equal(404, status);
        var tenantHeader = await page.EvaluateAsync<int>($"async () => (await fetch('/api/v1/documents', {{ headers: {{ 'X-Tenant-Id': '{a}' }} }})).status");
        Assert.Equal(404, tenantHeader);
        // and a change through the API without the page's antiforgery token is refused
        var forged = await page.EvaluateAsync<int>("async () => (await fetch('/api/v1/documents/b-notes', { method: 'DELETE' })).status");
        Assert.Equal(403, forged);

        // a role without the query scope is shown where it may not go, not the page
        var auditor = await fixture.Browser.NewContextAsync();
        await using (auditor)
        {
            var audit = await auditor.NewPageAsync();
            await audit.GotoAsync(fixture.Link(b, "ava", TenantRole.Auditor));
            await audit.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Assertions.Expect(audit.GetByRole(AriaRole.Heading, new() { Name = "Audit log" })).ToBeVisibleAsync();
            await audit.GotoAsync(new Uri(Server.Address, "/console").ToString());
            await Assertions.Expect(audit.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
            Assert.Contains("/console/denied", audit.Url, StringComparison.Ordinal);
        }

        // suspended: the next page says so
        using var op = Server.Client(Server.PlatformToken());
        (await op.PostAsync($"/admin/v1/tenants/{b}/suspend", null, Http.Ct)).EnsureSuccessStatusCode();
        var refused = await page.GotoAsync(new Uri(Server.Address, "/console").ToString());
        Assert.Equal(403, refused!.Status);
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "This tenant is suspended" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task MyMemory_ShowsWhatIsKept_ForgetsOneItem_RatesAnAnswer_AndErasesEverythingWithAReceipt()
    {
        var tenant = await fixture.TenantWithDocumentAsync("console-mem", "parking", "# Parking\n\n## Visitors\n\nVisitors park for free after six in the evening.");
        await Server.Services.GetRequiredService<Core.Memory.MemoryService>().RememberAsync(Server.Services.GetRequiredService<TenantService>().Store(TenantId.Parse(tenant)), UserId.Parse("mia"), "My desk is on the third floor.", Http.Ct);
        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "mia"));
        await using var _ = context;

        // an answer is rated
        await page.GetByLabel("Your question").FillAsync("Where can visitors park for free?");
        await page.GetByLabel("Your question").PressAsync("Enter");
        await page.GetByRole(AriaRole.Button, new() { Name = "Helpful", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator(".feedback [role=status]")).ToHaveTextAsync("Thanks: noted.");

        // the memory page lists the note and the question; one is forgotten
        await page.GetByRole(AriaRole.Link, new() { Name = "My memory" }).ClickAsync();
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("My desk is on the third floor.");
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("Where can visitors park for free?");
        await BrowserFixture.ShotAsync(page, "memory");
        await page.GetByRole(AriaRole.Button, new() { Name = "Forget: My desk is on the third floor." }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Forgotten.");
        Assert.DoesNotContain("third floor", await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);

        // everything erased: a signed receipt, and the session is over
        await page.GetByLabel("I understand", new() { Exact = false }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Erase my memory" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Your memory is erased" })).ToBeVisibleAsync();
        Assert.Contains("signature", await page.Locator("#receipt").InnerTextAsync(), StringComparison.Ordinal);
        var export = await Server.Services.GetRequiredService<Core.Memory.MemoryService>().ExportAsync(Server.Services.GetRequiredService<TenantService>().Store(TenantId.Parse(tenant)), UserId.Parse("mia"), Http.Ct);
        Assert.Empty(export.Turns.Concat(export.Facts).Concat(export.Preferences));
        await page.GotoAsync(new Uri(Server.Address, "/console").ToString());
        Assert.Contains("/console/signin", page.Url, StringComparison.Ordinal);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task AnAdmin_UploadsSeveralFiles_ChangesWhoMayRead_AndDeletes_WhileAMemberMayNot()
    {
        var tenant = ServerFixture.NewTenant("console-docs");
        await Server.CreateTenantsAsync(tenant);
        var folder = Directory.CreateTempSubdirectory("bruno-console-upload").FullName;
        try
        {
            var ferry = Path.Combine(folder, "ferry.md");
            var cafe = Path.Combine(folder, "cafe notes.txt");
            await File.WriteAllTextAsync(ferry, "# Ferry\n\n## Times\n\nThe island ferry leaves the harbour at noon.", Http.Ct);
            await File.WriteAllTextAsync(cafe, "The harbour cafe opens at seven.", Http.Ct);
            var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Admin));
            await using var _ = context;

            await page.GetByRole(AriaRole.Link, new() { Name = "Documents" }).ClickAsync();
            await page.GetByLabel("Files (.md, .txt, .html, .pdf)").SetInputFilesAsync([ferry, cafe]);
            await page.GetByRole(AriaRole.Button, new() { Name = "Upload" }).ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("2 stored.");
            var table = page.GetByRole(AriaRole.Table);
            await Assertions.Expect(table).ToContainTextAsync("ferry.md");
            await Assertions.Expect(table).ToContainTextAsync("cafe_notes.txt");
            await BrowserFixture.ShotAsync(page, "documents");

            // and they answer at once: a question about one cites it
            await page.GetByRole(AriaRole.Link, new() { Name = "Ask" }).ClickAsync();
            await page.GetByLabel("Your question").FillAsync("When does the harbour cafe open?");
            await page.GetByLabel("Your question").PressAsync("Enter");
            var uploaded = page.Locator("#answer .answer[data-answered=true]");
            await Assertions.Expect(uploaded.Locator(".answer-text")).ToContainTextAsync("seven");
            await Assertions.Expect(uploaded.Locator("ol.sources")).ToContainTextAsync("cafe", new() { IgnoreCase = true });
            await page.GetByRole(AriaRole.Link, new() { Name = "Documents" }).ClickAsync();

            // who may read ferry.md: group eng only
            await page.GetByLabel("Who may read ferry.md").FillAsync("group:eng");
            await page.GetByLabel("Who may read ferry.md").PressAsync("Enter");
            await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Who may read it is changed.");
            await Assertions.Expect(page.GetByRole(AriaRole.Row, new() { Name = "ferry.md" })).ToContainTextAsync("group:eng");
            await page.GetByLabel("Who may read ferry.md").FillAsync("group:a|b");
            await page.GetByLabel("Who may read ferry.md").PressAsync("Enter");
            await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("not valid");

            await page.GetByRole(AriaRole.Button, new() { Name = "Delete cafe_notes.txt" }).ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToHaveTextAsync("Deleted.");
            await Assertions.Expect(table).Not.ToContainTextAsync("cafe_notes.txt");
            await page.GetByLabel("Who may read ferry.md").FillAsync("tenant");
            await page.GetByLabel("Who may read ferry.md").PressAsync("Enter");
            await Assertions.Expect(page.GetByRole(AriaRole.Row, new() { Name = "ferry.md" })).ToContainTextAsync("tenant");
            Assert.Empty(errors);

            // a member reads the document but sees no way to change it, and a forged form is refused (and audited)
            var (memberContext, member, _) = await fixture.SignInAsync(fixture.Link(tenant, "max"));
            await using var __ = memberContext;
            await member.GotoAsync(new Uri(Server.Address, "/console/documents").ToString());
            await Assertions.Expect(member.GetByRole(AriaRole.Button, new() { Name = "Upload" })).ToHaveCountAsync(0);
            var landed = await member.EvaluateAsync<string>(
                "async () => { const f = new FormData(); f.append('__RequestVerificationToken', document.querySelector('input[name=__RequestVerificationToken]').value); f.append('id', 'ferry.md'); return (await fetch('/console/documents/delete', { method: 'POST', body: f })).url; }");
            Assert.Contains("error=denied", landed, StringComparison.Ordinal);

            using var op = Server.Client(Server.PlatformToken());
            var audit = (await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{tenant}/audit?limit=100", Http.Ct))).GetProperty("entries").EnumerateArray()
                .Select(e => $"{e.GetProperty("actor").GetString()} {e.GetProperty("action").GetString()} {e.GetProperty("result").GetString()}").ToList();
            Assert.Equal(2, audit.Count(e => e == "ada document.put success"));
            Assert.Contains("ada document.access success", audit);
            Assert.Contains("ada document.delete success", audit);
            Assert.Contains("max document.delete denied", audit);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task AnAdmin_CreatesAKeyWhoseSecretIsShownOnce_AndRevokesIt_ThenTheApiRefusesIt()
    {
        var tenant = await fixture.TenantWithDocumentAsync("console-keys", "faq", "# FAQ\n\n## Wifi\n\nThe guest wifi password is on the reception desk.");
        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Admin));
        await using var _ = context;
        await page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        await page.GetByLabel("Name").FillAsync("helpdesk bot");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var secret = (await page.Locator("#secret").InnerTextAsync()).Trim();
        Assert.StartsWith("brk_", secret, StringComparison.Ordinal);
        await Assertions.Expect(page.GetByRole(AriaRole.Row, new() { Name = "helpdesk bot" })).ToContainTextAsync("query");
        await BrowserFixture.ShotAsync(page, "keys");

        using var bot = Server.Client();
        bot.DefaultRequestHeaders.Add("X-Api-Key", secret);
        Assert.Equal(HttpStatusCode.OK, (await bot.GetAsync("/api/v1/documents", Http.Ct)).StatusCode);

        // shown once: the page shown again has no secret
        await page.GotoAsync(new Uri(Server.Address, "/console/keys").ToString());
        await Assertions.Expect(page.Locator("#secret")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);

        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke helpdesk bot" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("revoked");
        Assert.Equal(HttpStatusCode.Unauthorized, (await bot.GetAsync("/api/v1/documents", Http.Ct)).StatusCode);
        Assert.Empty(errors);

        using var op = Server.Client(Server.PlatformToken());
        var actions = (await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{tenant}/audit?actor=ada&limit=100", Http.Ct))).GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("key.issue", actions);
        Assert.Contains("key.revoke", actions);

        // another tenant's admin sees none of this tenant's keys
        var elsewhere = await fixture.TenantWithDocumentAsync("console-keys-other", "faq", "# FAQ\n\n## Parking\n\nPark behind the building.");
        var (otherContext, other, _) = await fixture.SignInAsync(fixture.Link(elsewhere, "ada", TenantRole.Admin));
        await using var ___ = otherContext;
        await other.GotoAsync(new Uri(Server.Address, "/console/keys").ToString());
        await Assertions.Expect(other.GetByRole(AriaRole.Heading, new() { Name = "API keys" })).ToBeVisibleAsync();
        Assert.DoesNotContain("helpdesk bot", await other.ContentAsync(), StringComparison.Ordinal);

        // a member has no keys page
        var (memberContext, member, _) = await fixture.SignInAsync(fixture.Link(tenant, "max"));
        await using var __ = memberContext;
        await Assertions.Expect(member.GetByRole(AriaRole.Link, new() { Name = "API keys" })).ToHaveCountAsync(0);
        await member.GotoAsync(new Uri(Server.Address, "/console/keys").ToString());
        await Assertions.Expect(member.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task EveryPage_HasNoSeriousAccessibilityViolation()
    {
        var tenant = await fixture.TenantWithDocumentAsync("console-axe", "guide", "# Guide\n\n## Start\n\nPress the green button to start the machine.");
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BypassCSP = true }); // axe is injected as a script
        await using var _ = context;
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        async Task CheckAsync(string what)
        {
            problems.AddRange(await BrowserFixture.AxeAsync(page, what));
        }

        await page.GotoAsync(fixture.Link(tenant, "ann", TenantRole.Admin)); // an admin: every page, the documents page with its forms
        await CheckAsync("sign-in");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Ask" })).ToBeVisibleAsync();
        await page.GetByLabel("Your question").FillAsync("How do I start the machine?");
        await page.GetByLabel("Your question").PressAsync("Enter");
        await Assertions.Expect(page.Locator("#answer .answer")).ToBeVisibleAsync();
        await CheckAsync("ask, with an answer");
        await page.GotoAsync(new Uri(Server.Address, "/console").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Conversations" })).ToBeVisibleAsync();
        await CheckAsync("ask, with conversations");
        await page.GotoAsync(new Uri(Server.Address, "/console/documents").ToString());
        await CheckAsync("documents");
        await page.GotoAsync(new Uri(Server.Address, "/console/documents/guide").ToString());
        await CheckAsync("a document");
        await page.GotoAsync(new Uri(Server.Address, "/console/memory").ToString());
        await CheckAsync("my memory");
        await page.GotoAsync(new Uri(Server.Address, "/console/keys").ToString());
        await CheckAsync("API keys");
        await page.GotoAsync(new Uri(Server.Address, "/console/documents/not-there").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "No such document" })).ToBeVisibleAsync();
        await CheckAsync("no such document");
        await page.GotoAsync(new Uri(Server.Address, "/console/operator/tenants").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
        await CheckAsync("not allowed");

        // the erasure's receipt (the page that ends the session)
        await page.GotoAsync(new Uri(Server.Address, "/console/memory").ToString());
        await page.GetByLabel("I understand that everything Bruno holds about me").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Erase my memory" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Your memory is erased" })).ToBeVisibleAsync();
        await CheckAsync("erasure receipt");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
