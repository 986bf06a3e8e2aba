using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Deque.AxeCore.Playwright;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Bruno.Server.Tests;

/// <summary>
/// A Bruno server and Debian's Chromium driven by Playwright (its own browser download is not reachable here), with what
/// the console's browser tests share: sign-in links, signed-in pages collecting console errors, screenshots, axe-core.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Where Debian puts Chromium (test.sh installs it when missing).</summary>
    public const string Chromium = "/usr/bin/chromium";

    public RunningServer Server { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    private IPlaywright _playwright = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await RunningServer.StartAsync();
        _playwright = await Playwright.CreateAsync();
        Browser = await LaunchAsync(_playwright);
    }

    /// <summary>Debian's Chromium, headless.</summary>
    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Chromium,
        Headless = true,
        // as root, and on a machine whose network is closed: no sandbox, no background connections
        Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });

    /// <summary>A sign-in link for <paramref name="user"/> of <paramref name="tenant"/> with <paramref name="role"/>'s scopes.</summary>
    public string Link(string tenant, string user, TenantRole role = TenantRole.Member) =>
        new Uri(Server.Address, "/console/signin?link=" + Uri.EscapeDataString(Server.Services.GetRequiredService<ConsoleLinks>().Issue(TenantId.Parse(tenant), UserId.Parse(user), role))).ToString();

    /// <summary>A new tenant holding one markdown document.</summary>
    public async Task<string> TenantWithDocumentAsync(string name, string id, string content)
    {
        var tenant = ServerFixture.NewTenant(name);
        using var client = await Server.TenantClientAsync(tenant, "loader");
        (await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id, content, content_type = "text/markdown" }), Http.Ct)).EnsureSuccessStatusCode();
        return tenant;
    }

    /// <summary>A new browser context (its own cookies) with a page whose console errors are collected.</summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Errors)> NewPageAsync(bool bypassCsp = false)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BypassCSP = bypassCsp });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add($"{message.Text} at {message.Location}");
            }
        };
        return (context, page, errors);
    }

    /// <summary>A new browser context signed in through <paramref name="link"/>, on the chat page; console errors are collected.</summary>
    public async Task<(IBrowserContext Context, IPage Page, List<string> Errors)> SignInAsync(string link, bool bypassCsp = false)
    {
        var (context, page, errors) = await NewPageAsync(bypassCsp);
        await page.GotoAsync(link);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Ask" })).ToBeVisibleAsync();
        return (context, page, errors);
    }

    /// <summary>The page's serious and critical accessibility violations (axe-core; the context must bypass the CSP).</summary>
    public static async Task<IReadOnlyList<string>> AxeAsync(IPage page, string what)
    {
        var result = await page.RunAxe();
        return [.. result.Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{what}: {v.Id} ({v.Impact}) {v.Help}")];
    }

    /// <summary>
    /// With BRUNO_CONSOLE_SCREENSHOTS=1, writes a screenshot of the page into docs/console (the README shows them), once
    /// the assertions before it held; otherwise nothing (so that a test run leaves the working tree as it was).
    /// </summary>
    public static async Task ShotAsync(IPage page, string name)
    {
        if (Environment.GetEnvironmentVariable("BRUNO_CONSOLE_SCREENSHOTS") == "1")
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(NodeClients.RepositoryRoot(), "docs", "console", name + ".png"), FullPage = true });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await Server.DisposeAsync();
    }
}
