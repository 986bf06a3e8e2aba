using System.Net;
using System.Security.Claims;
using Bruno.Testing;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Bruno.Server.Tests;

/// <summary>
/// A real OpenID Connect provider (OpenIddict's server: authorization code flow, PKCE required, RS256-signed JWT access
/// tokens for the audience <c>bruno-api</c>) on 127.0.0.1, with a sign-in page of its own where a test types a user
/// name; a Bruno server whose console signs in through it; and Debian's Chromium.
/// </summary>
public sealed class OidcConsoleFixture : IAsyncLifetime
{
    /// <summary>The console's client id at the provider.</summary>
    public const string ClientId = "bruno-console";

    private WebApplication _provider = null!;
    private IPlaywright _playwright = null!;

    /// <summary>The provider's users: their tenant (none for one the provider knows but no tenant claims) and groups.</summary>
    public Dictionary<string, (string? Tenant, string[] Groups)> Users { get; } = new(StringComparer.Ordinal);

    /// <summary>The authorization requests the provider received by GET (their query strings), in order, across the class's tests.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<string> AuthorizationRequests { get; } = new();

    public string Issuer { get; private set; } = string.Empty;

    public RunningServer Server { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddOpenIddict().AddServer(o =>
        {
            o.SetAuthorizationEndpointUris("connect/authorize").SetTokenEndpointUris("connect/token");
            o.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
            o.RegisterScopes(Scopes.OpenId, Scopes.Profile, "query", "memory");
            o.AddEphemeralEncryptionKey().AddEphemeralSigningKey();
            o.DisableAccessTokenEncryption(); // a JWT the resource server (Bruno) validates with the published keys
            o.EnableDegradedMode(); // no client database: the two handlers below know the one client
            o.UseAspNetCore().EnableAuthorizationEndpointPassthrough().DisableTransportSecurityRequirement();
            o.AddEventHandler<OpenIddictServerEvents.ValidateAuthorizationRequestContext>(b => b.UseInlineHandler(c =>
            {
                if (c.ClientId != ClientId)
                {
                    c.Reject(Errors.InvalidClient, "Unknown client.");
                }
                else if (c.RedirectUri != new Uri(Server.Address, "/console/signin-oidc").ToString())
                {
                    c.Reject(Errors.InvalidRequest, "This redirect_uri is not registered.");
                }

                return default;
            }));
            o.AddEventHandler<OpenIddictServerEvents.ValidateTokenRequestContext>(b => b.UseInlineHandler(c =>
            {
                if (c.ClientId != ClientId)
                {
                    c.Reject(Errors.InvalidClient, "Unknown client.");
                }

                return default;
            }));
        });
        _provider = builder.Build();
        _provider.MapMethods("/connect/authorize", ["GET", "POST"], (Delegate)AuthorizeAsync);
        await _provider.StartAsync();
        Issuer = _provider.Urls.First().TrimEnd('/');
        Server = await RunningServer.StartAsync(new Dictionary<string, string?>
        {
            ["Bruno:Auth:Authority"] = Issuer,
            ["Bruno:Auth:RequireHttpsMetadata"] = "false",
            ["Bruno:Auth:Console:ClientId"] = ClientId,
            ["Bruno:Auth:Console:DisplayName"] = "Example SSO",
        });
        _playwright = await Playwright.CreateAsync();
        Browser = await BrowserFixture.LaunchAsync(_playwright);
    }

    /// <summary>
    /// The provider's authorization endpoint: without a user name, its own sign-in page (the request's parameters kept in
    /// hidden fields); with one, the user is signed in and the provider answers with a code.
    /// </summary>
    private async Task<IResult> AuthorizeAsync(HttpContext http)
    {
        var request = http.GetOpenIddictServerRequest()!;
        if (HttpMethods.IsGet(http.Request.Method))
        {
            AuthorizationRequests.Enqueue(http.Request.QueryString.Value ?? string.Empty);
        }

        var user = http.Request.HasFormContentType ? (await http.Request.ReadFormAsync())["username"].ToString() : string.Empty;
        if (user.Length == 0)
        {
            var hidden = string.Concat(request.GetParameters().Select(p => $"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(p.Key)}\" value=\"{WebUtility.HtmlEncode((string?)p.Value)}\">"));
            return Results.Content(
                "<!DOCTYPE html><html lang=\"en\"><head><title>Example SSO</title><link rel=\"icon\" href=\"data:,\"></head><body><main><h1>Example SSO</h1>" +
                $"<form method=\"post\" action=\"/connect/authorize\">{hidden}<label for=\"u\">Username</label> <input id=\"u\" name=\"username\"> <button type=\"submit\">Continue</button></form></main></body></html>",
                "text/html; charset=utf-8");
        }

        if (!Users.TryGetValue(user, out var account))
        {
            return Results.Forbid(authenticationSchemes: [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user);
        if (account.Tenant is { } tenant)
        {
            identity.SetClaim("tenant_id", tenant);
        }

        foreach (var group in account.Groups)
        {
            identity.AddClaim(new Claim("groups", group));
        }

        identity.SetScopes(request.GetScopes());
        identity.SetResources("bruno-api");
        identity.SetDestinations(c => c.Type == Claims.Subject ? [Destinations.AccessToken, Destinations.IdentityToken] : [Destinations.AccessToken]);
        return Results.SignIn(new ClaimsPrincipal(identity), null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await Server.DisposeAsync();
        await _provider.DisposeAsync();
    }
}

/// <summary>
/// Issue 22, the console's sign-in through an identity provider: authorization code with PKCE against a real OpenID
/// Connect server, the session's tenant and user taken from the provider's access token as the API takes them, and a
/// token naming no tenant signing no one in.
/// </summary>
public sealed class ConsoleOidcTests(OidcConsoleFixture fixture) : IClassFixture<OidcConsoleFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task SingleSignOn_WithPkce_OpensASessionOfTheTokensTenantAndUser()
    {
        var tenant = ServerFixture.NewTenant("console-sso");
        using (var loader = await Server.TenantClientAsync(tenant, "loader"))
        {
            (await loader.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "parking", content = "# Parking\n\n## Visitors\n\nVisitors park on level minus two.", content_type = "text/markdown" }), Http.Ct)).EnsureSuccessStatusCode();
        }

        fixture.Users["olga"] = (tenant, ["staff"]);
        var context = await fixture.Browser.NewContextAsync();
        await using var _ = context;
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                errors.Add($"{m.Text} at {m.Location}");
            }
        };

        await page.GotoAsync(new Uri(Server.Address, "/console").ToString());
        var earlier = fixture.AuthorizationRequests.Count; // the class's other tests sign in through the same provider
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Example SSO" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Example SSO" })).ToBeVisibleAsync();
        await page.GetByLabel("Username").FillAsync("olga");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Ask" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".who")).ToContainTextAsync("olga · " + tenant);

        // the code was asked for with a PKCE challenge (S256), for the console's redirect URI
        var asked = Assert.Single(fixture.AuthorizationRequests.Skip(earlier), q => q.Contains("client_id=" + OidcConsoleFixture.ClientId, StringComparison.Ordinal));
        Assert.Contains("code_challenge_method=S256", asked, StringComparison.Ordinal);
        Assert.Contains("code_challenge=", asked, StringComparison.Ordinal);
        Assert.Contains("response_type=code", asked, StringComparison.Ordinal);

        // the session works like a link's: a question answered from the tenant's documents
        await page.GetByLabel("Your question").FillAsync("Where do visitors park?");
        await page.GetByLabel("Your question").PressAsync("Enter");
        await Assertions.Expect(page.Locator("#answer .answer[data-answered=true] .answer-text")).ToContainTextAsync("level minus two");

        // the session cookie: HttpOnly, SameSite=Strict; the provider's tokens are not kept in the browser
        var cookies = await context.CookiesAsync();
        var session = Assert.Single(cookies, c => c.Name == "bruno-console");
        Assert.True(session.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, session.SameSite);
        Assert.DoesNotContain(cookies, c => c.Name.StartsWith(".AspNetCore.Correlation", StringComparison.Ordinal) || c.Name.StartsWith(".AspNetCore.OpenIdConnect.Nonce", StringComparison.Ordinal));
        Assert.True(errors.Count == 0, string.Join("\n", errors));

        using var op = Server.Client(Server.PlatformToken());
        var audit = (await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{tenant}/audit?actor=olga&limit=20", Http.Ct))).GetProperty("entries").EnumerateArray()
            .Select(e => e.GetProperty("action").GetString() + " " + e.GetProperty("result").GetString()).ToList();
        Assert.Contains("console.signin success", audit);
    }

    [Fact]
    public async Task AProviderTokenNamingNoTenant_SignsNoOneIn()
    {
        fixture.Users["nadia"] = (null, []);
        var context = await fixture.Browser.NewContextAsync(new BrowserNewContextOptions { BypassCSP = true }); // axe is injected as a script
        await using var _ = context;
        var page = await context.NewPageAsync();
        await page.GotoAsync(new Uri(Server.Address, "/console/signin").ToString());
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with Example SSO" }).ClickAsync();
        await page.GetByLabel("Username").FillAsync("nadia");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Single sign-on did not sign you in");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "bruno-console");
        var problems = await BrowserFixture.AxeAsync(page, "sign-in with single sign-on");
        Assert.True(problems.Count == 0, string.Join("\n", problems));

        // and the console stays closed
        await page.GotoAsync(new Uri(Server.Address, "/console").ToString());
        Assert.Contains("/console/signin", page.Url, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAClientId_TheSignInPageOffersNoSingleSignOn_AndTheFlowIsNotThere()
    {
        await using var plain = await RunningServer.StartAsync();
        using var client = plain.Client();
        var page = await client.GetStringAsync("/console/signin", Http.Ct);
        Assert.DoesNotContain("Sign in with", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/console/session/oidc", Http.Ct)).StatusCode);
    }
}
