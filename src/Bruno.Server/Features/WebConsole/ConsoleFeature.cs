using System.Security.Claims;
using Bruno.Core.Identity;
using Bruno.Server.Tenancy;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Bruno.Server.Features.WebConsole;

/// <summary>
/// The web console at <c>/console</c> (decision 0031): Razor components rendered on the server (static rendering, no
/// circuit, no WebAssembly), a session cookie made from a verified sign-in, small script modules of Bruno's own for what
/// must move in the page (the answer's stream). Every page is admitted by the same <see cref="Admission"/> as the API,
/// and the page scripts call the API itself with the session cookie, so there is no second data path.
/// </summary>
internal static class ConsoleFeature
{
    /// <summary>The session cookie's authentication scheme.</summary>
    public const string Scheme = "Console";

    /// <summary>The session cookie.</summary>
    public const string CookieName = "bruno-console";

    /// <summary>The policy of the console's pages: a session of a tenant.</summary>
    public const string Policy = "console";

    /// <summary>Pages that ask and read documents: a session holding the query scope.</summary>
    public const string QueryPolicy = "console:" + Scopes.Query;

    /// <summary>The user's own memory: a session holding the memory scope.</summary>
    public const string MemoryPolicy = "console:" + Scopes.Memory;

    /// <summary>The tenant's administration: a session holding the admin scope.</summary>
    public const string AdminPolicy = "console:" + Scopes.Admin;

    /// <summary>The tenant's audit log: a session holding the audit scope (an auditor's) or the admin scope, as the API's <see cref="Policies.Audit"/>.</summary>
    public const string AuditPolicy = "console:" + Scopes.Audit;

    /// <summary>The header a page script sends the antiforgery token in.</summary>
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>How long a session lasts without use.</summary>
    public static readonly TimeSpan SessionLifetime = TimeSpan.FromHours(8);

    /// <summary>The console's pages may load only Bruno's own scripts and styles, and be framed by no one.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static void AddConsole(this IServiceCollection services)
    {
        services.AddRazorComponents();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "bruno-console-csrf";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.HeaderName = CsrfHeader;
        });
        services.AddAuthentication().AddCookie(Scheme, o =>
        {
            o.Cookie.Name = CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // Secure on HTTPS
            o.Cookie.Path = "/";
            o.ExpireTimeSpan = SessionLifetime;
            o.SlidingExpiration = true;
            o.LoginPath = "/console/signin";
            o.AccessDeniedPath = "/console/denied";
            o.Events.OnRedirectToLogin = c => Redirect(c, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = c => Redirect(c, StatusCodes.Status403Forbidden);
        });
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, p => p.AddAuthenticationSchemes(Scheme).RequireClaim(TokenService.TenantClaim))
            .AddPolicy(QueryPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Query)))
            .AddPolicy(MemoryPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Memory)))
            .AddPolicy(AdminPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Admin)))
            .AddPolicy(AuditPolicy, p => p.AddAuthenticationSchemes(Scheme).RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Overlaps([Scopes.Audit, Scopes.Admin])));
        services.AddConsoleOperators();
        services.AddSingleton<ConsoleAssets>();
    }

    /// <summary>API calls answer 401/403 as problems; pages redirect to the sign-in (or refusal) page.</summary>
    private static Task Redirect(RedirectContext<CookieAuthenticationOptions> c, int status)
    {
        if (c.Request.Path.StartsWithSegments("/console"))
        {
            c.Response.Redirect(c.RedirectUri);
            return Task.CompletedTask;
        }

        c.Response.StatusCode = status;
        return Task.CompletedTask;
    }

    /// <summary>
    /// The console's pipeline part, after authentication: pages are admitted like API requests (a refused tenant's pages
    /// say why), carry the content security policy, and requests of the API made with the session cookie must carry the
    /// page's antiforgery token when they change anything.
    /// </summary>
    public static void UseConsole(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var path = http.Request.Path;
            var bySession = http.User.Identity is ClaimsIdentity { IsAuthenticated: true, AuthenticationType: Scheme };
            // whatever it asks (the API or a console form), a change made with the session cookie carries the page's token
            if (bySession && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method)
                && !await http.RequestServices.GetRequiredService<IAntiforgery>().IsRequestValidAsync(http))
            {
                await Hosting.Problems.WriteAsync(http, StatusCodes.Status403Forbidden, "Forbidden", "A console request must carry the page's antiforgery token.");
                return;
            }

            if (path.StartsWithSegments("/console"))
            {
                http.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
                http.Response.Headers.XContentTypeOptions = "nosniff";
                http.Response.Headers["Referrer-Policy"] = "no-referrer";
                // an operator's session has no tenant to admit (its pages are behind ConsoleOperators.Policy, the tenants' refuse it)
                if (bySession && !ConsoleOperators.IsOperator(http.User) && !path.StartsWithSegments("/console/assets") && !path.StartsWithSegments("/console/signin") && !path.StartsWithSegments("/console/session"))
                {
                    var admission = http.RequestServices.GetRequiredService<Admission>();
                    var result = await admission.AdmitAsync(http);
                    if (result.Refusal is { } refusal)
                    {
                        http.Response.StatusCode = (Refusals.Problem(refusal, result.Decision) as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status403Forbidden;
                        http.Response.ContentType = "text/html; charset=utf-8";
                        await http.Response.WriteAsync(RefusalPage(Title(refusal.Kind), refusal.Kind == Core.Tenants.RefusalKind.RateLimited ? "Too many requests for now; try again in a minute." : refusal.Detail));
                        return;
                    }
                }
            }

            await next(http);
        });
        app.UseAntiforgery();
    }

    public static void MapConsole(this WebApplication app)
    {
        app.MapRazorComponents<ConsoleApp>();
        app.MapGet("/console/assets/{name}", (string name, HttpContext http, ConsoleAssets assets) => assets.Serve(name, http)).AllowAnonymous().ExcludeFromDescription();
        app.MapPost("/console/session", SignInAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapConsoleDocuments();
        app.MapConsoleOperators();
        app.MapPost("/console/keys/revoke", RevokeKeyAsync).RequireAuthorization(AdminPolicy).ExcludeFromDescription();
        app.MapPost("/console/memory/forget", ForgetAsync).RequireAuthorization(MemoryPolicy).ExcludeFromDescription();
        app.MapPost("/console/memory/erase", EraseAsync).RequireAuthorization(MemoryPolicy).ExcludeFromDescription();
        app.MapPost("/console/session/end", async (HttpContext http) =>
        {
            await http.SignOutAsync(Scheme); // a session's request got here only with the page's token (UseConsole)
            return Results.Redirect("/console/signin?signed_out=1");
        }).AllowAnonymous().ExcludeFromDescription();
    }

    /// <summary>Revokes one of the tenant's keys (a form of the keys page); the API refuses it from the next request.</summary>
    private static async Task<IResult> RevokeKeyAsync(HttpContext http, Core.Tenants.ApiKeys keys, AuditTrail audit)
    {
        var admitted = Admitted(http);
        var id = (await http.Request.ReadFormAsync(http.RequestAborted))["id"].ToString();
        if (!keys.Revoke(admitted.Caller.Tenant, id))
        {
            return Results.Redirect("/console/keys?error=notfound");
        }

        await audit.RecordAsync(http, admitted.Caller.Tenant, "key.revoke", "POST /console/keys/revoke " + id);
        return Results.Redirect("/console/keys?revoked=1");
    }

    /// <summary>Forgets one item of the user's own memory (a form of the memory page), then shows the page again.</summary>
    private static async Task<IResult> ForgetAsync(HttpContext http, Core.Memory.MemoryService memory, Core.Tenants.TenantService tenants)
    {
        var admitted = Admitted(http);
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var caller = admitted.Caller;
        try
        {
            await memory.ForgetAsync(tenants.Store(caller.Tenant), caller.User, form["id"].ToString());
        }
        catch (ArgumentException)
        {
            // a malformed id forgets nothing
        }

        return Results.Redirect("/console/memory?forgot=1");
    }

    /// <summary>Erases the user (key destroyed, rows deleted, signed receipt), ends the session, and shows the receipt.</summary>
    private static async Task<IResult> EraseAsync(HttpContext http, Memory.UserErasure erasure)
    {
        var admitted = Admitted(http);
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        if (form["confirm"] != "yes")
        {
            return Results.Redirect("/console/memory");
        }

        var caller = admitted.Caller;
        var receipt = await erasure.EraseAsync(caller.Tenant, caller.User, caller.User.Value);
        await http.RequestServices.GetRequiredService<AuditTrail>().RecordAsync(http, caller.Tenant, "user.erase", "POST /console/memory/erase");
        await http.SignOutAsync(Scheme);
        return new Microsoft.AspNetCore.Http.HttpResults.RazorComponentResult<Pages.Erased>(new { Receipt = receipt });
    }

    /// <summary>
    /// The admission of a console form's request: <see cref="UseConsole"/> admitted it (and checked its antiforgery token)
    /// before any endpoint behind the console's policies runs.
    /// </summary>
    internal static AdmittedRequest Admitted(HttpContext http) =>
        Admission.Of(http) ?? throw new InvalidOperationException("The console's middleware did not admit this request.");

    /// <summary>Redeems a sign-in link (posted from the sign-in page, never spent by a GET a link preview could make).</summary>
    private static async Task<IResult> SignInAsync(HttpContext http, Core.Tenants.ConsoleLinks links, IAntiforgery antiforgery)
    {
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return Results.Redirect("/console/signin?failed=1");
        }

        var link = (await http.Request.ReadFormAsync(http.RequestAborted))["link"].ToString();
        if (await links.RedeemAsync(link) is not { } signIn)
        {
            return await links.RedeemOperatorAsync(link) is { } operatorSignIn ? await ConsoleOperators.SignInAsync(http, operatorSignIn) : Results.Redirect("/console/signin?failed=1");
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(TokenService.TenantClaim, signIn.Tenant.Value),
                new Claim(JwtRegisteredClaimNames.Sub, signIn.User.Value),
                new Claim(TokenService.ScopeClaim, string.Join(' ', signIn.Scopes)),
            ],
            Scheme,
            JwtRegisteredClaimNames.Sub,
            "role");
        await http.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
        await http.RequestServices.GetRequiredService<AuditTrail>().RecordAsync(signIn.Tenant, new Core.Audit.AuditEvent(signIn.User.Value, "console.signin", "POST /console/session", Core.Audit.AuditResults.Success, http.TraceIdentifier));
        // an auditor (no query scope) starts on the page they may read
        return Results.Redirect(signIn.Scopes.Contains(Scopes.Query) ? "/console" : "/console/audit");
    }

    private static string Title(Core.Tenants.RefusalKind kind) => kind switch
    {
        Core.Tenants.RefusalKind.TenantSuspended => "This tenant is suspended",
        Core.Tenants.RefusalKind.TenantUnavailable or Core.Tenants.RefusalKind.TenantUnknown => "This tenant is not available",
        Core.Tenants.RefusalKind.RateLimited => "Too many requests",
        Core.Tenants.RefusalKind.QuotaExceeded => "Quota exceeded",
        _ => "Not allowed",
    };

    private static string RefusalPage(string title, string detail) =>
        $"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{Enc(title)} · Bruno</title><link rel=\"icon\" type=\"image/svg+xml\" href=\"/console/assets/icon.svg\"><link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head>" +
        $"<body><main class=\"narrow\"><h1>{Enc(title)}</h1><p role=\"alert\">{Enc(detail)}</p></main></body></html>";

    private static string Enc(string s) => System.Net.WebUtility.HtmlEncode(s);

}
