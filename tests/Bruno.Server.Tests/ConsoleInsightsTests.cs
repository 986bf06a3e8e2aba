using System.Globalization;
using System.Net;
using Bruno.Core.Tenants;
using Bruno.Testing;
using Microsoft.Playwright;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 22, the tenant admin's pages about use and performance in a real browser: usage and cost by day (today's bar
/// counts the requests made, another tenant's admin sees none of them), insights (a failed request under "errors only"),
/// evaluation runs started from the page (their figures, the chart's points, a run's page, the audit), the documents
/// page's search, and no serious accessibility violation on any of them.
/// </summary>
public sealed class ConsoleInsightsTests(BrowserFixture fixture) : IClassFixture<BrowserFixture>
{
    private RunningServer Server => fixture.Server;

    private string Url(string path) => new Uri(Server.Address, path).ToString();

    [Fact]
    public async Task TheUsageChart_CountsTodaysRequests_AndAnotherTenantsAdminSeesNoneOfThem()
    {
        var tenant = await fixture.TenantWithDocumentAsync("usage-a", "pool", "# Pool\n\n## Hours\n\nThe pool opens at seven in the morning.");
        var other = await fixture.TenantWithDocumentAsync("usage-b", "gym", "# Gym\n\n## Hours\n\nThe gym opens at six.");
        var today = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Admin));
        await using var _ = context;
        var (otherContext, otherPage, otherErrors) = await fixture.SignInAsync(fixture.Link(other, "bob", TenantRole.Admin));
        await using var __ = otherContext;

        await page.GetByRole(AriaRole.Link, new() { Name = "Usage" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Usage and cost" })).ToBeVisibleAsync();
        var before = await TodaysRequestsAsync(page, today);
        await otherPage.GotoAsync(Url("/console/usage"));
        var otherBefore = await TodaysRequestsAsync(otherPage, today);

        // three questions of a user of the tenant, through the API
        using (var user = Server.Client(Server.UserToken(tenant, "uma")))
        {
            for (var i = 0; i < 3; i++)
            {
                (await user.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the pool open?" }), Http.Ct)).EnsureSuccessStatusCode();
            }
        }

        // shown again: today's bar and the table's cell count the three, and the page's own showing (a console page is
        // metered like an API request)
        await page.ReloadAsync();
        var expected = (before + 3 + 1).ToString(CultureInfo.InvariantCulture);
        await Assertions.Expect(page.Locator($"#usage-days tr[data-day='{today}'] td.requests")).ToHaveTextAsync(expected);
        await Assertions.Expect(page.Locator($"svg[data-chart=requests] rect[data-key='{today}']")).ToHaveAttributeAsync("data-value", expected);
        await Assertions.Expect(page.Locator($"svg[data-chart=requests] rect[data-key='{today}'] title")).ToHaveTextAsync($"{today}: {expected} requests");
        await Assertions.Expect(page.Locator("svg[data-chart=requests]")).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex($"^Requests per day of {today[..7]}: "));
        await Assertions.Expect(page.Locator("#usage-totals")).ToContainTextAsync("50,000 a day");
        await Assertions.Expect(page.GetByLabel("Month")).ToHaveValueAsync(today[..7]);
        await BrowserFixture.ShotAsync(page, "usage");

        // the other tenant's admin sees none of them
        await otherPage.ReloadAsync();
        await Assertions.Expect(otherPage.Locator($"#usage-days tr[data-day='{today}'] td.requests")).ToHaveTextAsync((otherBefore + 1).ToString(CultureInfo.InvariantCulture)); // its own showing only

        // another month by the GET form; a malformed one is refused with a message
        await page.GotoAsync(Url("/console/usage?month=2020-02"));
        await Assertions.Expect(page.Locator("#usage-days tbody tr")).ToHaveCountAsync(29);
        await Assertions.Expect(page.Locator("#usage-days")).Not.ToContainTextAsync(today);
        await page.GotoAsync(Url("/console/usage?month=2020-13"));
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("A month is written yyyy-MM, for example 2026-12.");
        Assert.Empty(errors);
        Assert.Empty(otherErrors);

        // a member has no usage page
        var (memberContext, member, _) = await fixture.SignInAsync(fixture.Link(tenant, "max"));
        await using var ___ = memberContext;
        await Assertions.Expect(member.GetByRole(AriaRole.Link, new() { Name = "Usage" })).ToHaveCountAsync(0);
        await member.GotoAsync(Url("/console/usage"));
        await Assertions.Expect(member.GetByRole(AriaRole.Heading, new() { Name = "Not allowed" })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Insights_ListRecentRequests_AndAFailedOneUnderErrorsOnly()
    {
        var tenant = await fixture.TenantWithDocumentAsync("insights", "pool", "# Pool\n\n## Hours\n\nThe pool opens at seven in the morning.");
        using (var user = Server.Client(Server.UserToken(tenant, "uma")))
        {
            (await user.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the pool open?" }), Http.Ct)).EnsureSuccessStatusCode();
            Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync("/api/v1/documents/no-such-document", Http.Ct)).StatusCode);
        }

        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Admin));
        await using var _ = context;
        await page.GetByRole(AriaRole.Link, new() { Name = "Insights" }).ClickAsync();
        var requests = page.Locator("#insights-requests");
        await Assertions.Expect(requests.Locator("tbody tr", new() { HasText = "POST /api/v1/query" })).ToContainTextAsync("uma");
        await Assertions.Expect(requests.Locator("tbody tr", new() { HasText = "POST /api/v1/query" })).ToContainTextAsync("HTTP API");
        await Assertions.Expect(page.Locator("#insights-routes")).ToContainTextAsync("/api/v1/documents/{id}");

        await page.GetByLabel("Errors only").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Recent errors" })).ToBeVisibleAsync();
        Assert.Contains("errors_only=true", page.Url, StringComparison.Ordinal);
        var failed = requests.Locator("tbody tr", new() { HasText = "GET /api/v1/documents/{id}" });
        await Assertions.Expect(failed).ToHaveCountAsync(1);
        await Assertions.Expect(failed.Locator("td.status")).ToHaveTextAsync("404");
        await Assertions.Expect(failed).ToContainTextAsync("uma");
        await Assertions.Expect(requests).Not.ToContainTextAsync("/api/v1/query");
        await Assertions.Expect(requests.Locator("tbody tr[data-status='200']")).ToHaveCountAsync(0);
        await Assertions.Expect(page.GetByLabel("Errors only")).ToBeCheckedAsync();
        await BrowserFixture.ShotAsync(page, "insights");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task TwoRunsStartedFromThePage_AreListedWithTheirFigures_ChartedAsTwoPoints_AndAudited()
    {
        var tenant = await fixture.TenantWithDocumentAsync("evals", "hours", "# Library\n\n## Opening hours\n\nThe library opens at nine in the morning on weekdays.");
        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "ada", TenantRole.Admin));
        await using var _ = context;
        await page.GetByRole(AriaRole.Link, new() { Name = "Evaluations" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Evaluation runs" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("No runs kept yet.");

        // bad input: a clear message, nothing run
        var cases = page.GetByLabel("Cases, one a line", new() { Exact = false });
        await cases.FillAsync("When does the library open?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Case 1: write the question, '|'");
        await cases.FillAsync("When does the library open? | ../secret");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("is not a valid document id");

        foreach (var label in new[] { "first", "second" })
        {
            await cases.FillAsync("When does the library open? | hours\nWhat is the airspeed of an unladen swallow? | none");
            await page.GetByLabel("Label (optional)").FillAsync(label);
            await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync($"Run {label} finished: 2 cases");
        }

        var runs = page.Locator("#evaluation-runs tbody tr");
        await Assertions.Expect(runs).ToHaveCountAsync(2);
        foreach (var label in new[] { "first", "second" })
        {
            var row = runs.Filter(new() { HasText = label });
            await Assertions.Expect(row.Locator("td[data-figure=hit_at_1]")).ToHaveTextAsync("1.000");
            await Assertions.Expect(row.Locator("td[data-figure=mrr_at_10]")).ToHaveTextAsync("1.000");
            await Assertions.Expect(row.Locator("td[data-figure=no_answer_recall]")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^[01]\.\d{3}$"));
        }

        // the chart: one point per run, and its table; another figure by the GET form
        await Assertions.Expect(page.Locator("svg[data-chart=figure] circle.point")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("#evaluation-figure tbody tr")).ToHaveCountAsync(2);
        await page.GetByLabel("Figure").SelectOptionAsync("latency_p50_ms");
        await page.GetByRole(AriaRole.Button, new() { Name = "Show" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Latency p50 (ms) over time" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("svg[data-chart=figure] circle.point")).ToHaveCountAsync(2);
        await Assertions.Expect(page.Locator("svg[data-chart=figure]")).ToHaveAttributeAsync("aria-label", new System.Text.RegularExpressions.Regex("^Latency p50 \\(ms\\) of 2 runs, oldest first: "));
        await BrowserFixture.ShotAsync(page, "evaluations");

        // one run's page: its figures and cases
        await runs.Filter(new() { HasText = "first" }).GetByRole(AriaRole.Link).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Evaluation run first" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#run-figures tr[data-figure=hit_at_1] td").First).ToHaveTextAsync("1.000");
        await Assertions.Expect(page.Locator("#run-cases")).ToContainTextAsync("What is the airspeed of an unladen swallow?");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        var missing = await page.GotoAsync(Url("/console/evaluations/20200101000000-deadbeef"));
        Assert.Equal(404, missing!.Status);

        using var op = Server.Client(Server.PlatformToken());
        var audit = (await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{tenant}/audit?actor=ada&limit=100", Http.Ct))).GetProperty("entries").EnumerateArray()
            .Select(e => $"{e.GetProperty("action").GetString()} {e.GetProperty("result").GetString()}").ToList();
        Assert.Equal(2, audit.Count(e => e == "evaluation.run success"));
    }

    [Fact]
    public async Task TheDocumentsSearch_ShowsTheDocumentWhoseIdOrTitleMatches_AndNotAnother()
    {
        var tenant = await fixture.TenantWithDocumentAsync("doc-search", "ferry-times", "# Island crossings\n\nThe ferry leaves at noon.");
        using (var loader = Server.Client(Server.UserToken(tenant, "loader")))
        {
            (await loader.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "cafe-menu", title = "Harbour cafe", content = "Soup of the day.", content_type = "text/markdown" }), Http.Ct)).EnsureSuccessStatusCode();
        }

        var (context, page, errors) = await fixture.SignInAsync(fixture.Link(tenant, "mia"));
        await using var _ = context;
        await page.GetByRole(AriaRole.Link, new() { Name = "Documents" }).ClickAsync();
        var table = page.GetByRole(AriaRole.Table);
        await Assertions.Expect(table).ToContainTextAsync("cafe-menu");

        await page.GetByLabel("Search by id or title").FillAsync("FERRY");
        await page.GetByLabel("Search by id or title").PressAsync("Enter");
        await Assertions.Expect(table).ToContainTextAsync("ferry-times");
        await Assertions.Expect(table).Not.ToContainTextAsync("cafe-menu");
        await Assertions.Expect(page.GetByLabel("Search by id or title")).ToHaveValueAsync("FERRY");

        await page.GetByLabel("Search by id or title").FillAsync("harbour");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await Assertions.Expect(table).ToContainTextAsync("cafe-menu");
        await Assertions.Expect(table).Not.ToContainTextAsync("ferry-times");

        await page.GetByLabel("Search by id or title").FillAsync("nothing like it");
        await page.GetByLabel("Search by id or title").PressAsync("Enter");
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("No document's id or title contains that.");
        Assert.Empty(errors);
    }

    [Fact]
    public async Task TheNewPages_HaveNoSeriousAccessibilityViolation()
    {
        var tenant = await fixture.TenantWithDocumentAsync("insights-axe", "guide", "# Guide\n\n## Start\n\nPress the green button to start the machine.");
        var (context, page, _) = await fixture.SignInAsync(fixture.Link(tenant, "ann", TenantRole.Admin), bypassCsp: true); // axe is injected as a script
        await using var __ = context;
        var problems = new List<string>();
        async Task CheckAsync(string path, string what)
        {
            await page.GotoAsync(Url(path));
            problems.AddRange(await BrowserFixture.AxeAsync(page, what));
        }

        await CheckAsync("/console/usage", "usage");
        await CheckAsync("/console/usage?month=2020-13", "usage, a malformed month");
        await CheckAsync("/console/insights", "insights");
        await CheckAsync("/console/insights?errors_only=true", "insights, errors only");
        await page.GotoAsync(Url("/console/evaluations"));
        await page.GetByLabel("Cases, one a line", new() { Exact = false }).FillAsync("How do I start the machine? | guide");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start run" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Status)).ToContainTextAsync("finished");
        problems.AddRange(await BrowserFixture.AxeAsync(page, "evaluations, with a run"));
        var run = await page.Locator("#evaluation-runs tbody tr").First.GetAttributeAsync("data-run");
        await CheckAsync($"/console/evaluations/{run}", "an evaluation run");
        await CheckAsync("/console/documents?q=guide", "documents, searched");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static async Task<long> TodaysRequestsAsync(IPage page, string today) =>
        long.Parse(await page.Locator($"#usage-days tr[data-day='{today}'] td.requests").InnerTextAsync(), NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
}
