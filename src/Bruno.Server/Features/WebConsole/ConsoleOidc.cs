using System.Security.Claims;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Server.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Bruno.Server.Features.WebConsole;

/// <summary>
/// The console's sign-in through the identity provider (decision 0032): authorization code flow with PKCE. The access
/// token the provider returns for Bruno's API is put through the API's own bearer-token handler — the same issuer,
/// audience, keys, algorithms and claim-shape checks — and the console session takes its tenant, user, scopes, groups
/// and roles from that token and nothing else; a token the API would refuse, or one naming no tenant, signs no one in.
/// </summary>
internal static partial class ConsoleOidc
{
    /// <summary>The authentication scheme of the flow (it signs into the console's cookie scheme).</summary>
    public const string Scheme = "ConsoleOidc";

    /// <summary>Where the provider sends the browser back with the code (the console's redirect URI).</summary>
    public const string CallbackPath = "/console/signin-oidc";

    /// <summary>Registers the flow when <c>Bruno:Auth:Console:ClientId</c> is set.</summary>
    public static void AddConsoleOidc(this IServiceCollection services, BrunoOptions options)
    {
        var auth = options.Auth;
        if (!auth.ConsoleSignIn)
        {
            return;
        }

        services.AddAuthentication().AddOpenIdConnect(Scheme, o =>
        {
            o.Authority = auth.Authority;
            o.RequireHttpsMetadata = auth.RequireHttpsMetadata;
            o.ClientId = auth.Console.ClientId;
            o.ClientSecret = string.IsNullOrEmpty(auth.Console.ClientSecret) ? null : auth.Console.ClientSecret;
            o.ResponseType = OpenIdConnectResponseType.Code;
            o.ResponseMode = OpenIdConnectResponseMode.Query; // a top-level GET back, so the flow's cookies can be SameSite=Lax
            o.UsePkce = true;
            o.CallbackPath = CallbackPath;
            o.SignInScheme = ConsoleFeature.Scheme;
            o.MapInboundClaims = false;
            o.SaveTokens = false; // the session keeps claims, never the provider's tokens
            o.GetClaimsFromUserInfoEndpoint = false;
            o.Scope.Clear();
            foreach (var scope in auth.Console.Scopes)
            {
                o.Scope.Add(scope);
            }

            // the correlation and nonce cookies live for the round trip to the provider and back (a cross-site top-level
            // GET, which Lax allows and Strict would not); Secure on HTTPS
            foreach (var cookie in new[] { o.CorrelationCookie, o.NonceCookie })
            {
                cookie.SameSite = SameSiteMode.Lax;
                cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.HttpOnly = true;
            }

            o.Events.OnTokenValidated = TokenValidatedAsync;
            o.Events.OnRemoteFailure = c =>
            {
                // the provider's error, a replayed or forged callback, or a token refused above: back to the sign-in page,
                // which says it failed (the reason goes to the log, not to the browser)
                Log.SignInFailed(c.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ConsoleOidc)), c.Failure?.Message ?? "unknown");
                c.HandleResponse();
                c.Response.Redirect("/console/signin?failed=2");
                return Task.CompletedTask;
            };
        });
    }

    /// <summary>Starting the flow, and the page a finished flow lands on.</summary>
    public static void MapConsoleOidc(this WebApplication app, BrunoOptions options)
    {
        if (!options.Auth.ConsoleSignIn)
        {
            return;
        }

        app.MapGet("/console/session/oidc", () => Results.Challenge(new AuthenticationProperties { RedirectUri = "/console/session/landing", IsPersistent = false }, [Scheme]))
            .AllowAnonymous().ExcludeFromDescription();
        // The flow ends in a redirect chain the provider's site began, and a browser sends no SameSite=Strict cookie along
        // such a chain: this page, of Bruno's own site, moves on to the console, and that request carries the session.
        app.MapGet("/console/session/landing", () => Results.Content(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0;url=/console\"><title>Signed in · Bruno</title>" +
            "<link rel=\"icon\" type=\"image/svg+xml\" href=\"/console/assets/icon.svg\"><link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head>" +
            "<body><main class=\"narrow\"><h1>Signed in</h1><p><a href=\"/console\">Continue to Bruno</a></p></main></body></html>",
            "text/html; charset=utf-8")).AllowAnonymous().ExcludeFromDescription();
    }

    /// <summary>
    /// Replaces the provider's identity token principal with the session's: the claims of the access token, once Bruno's
    /// bearer handler accepted it.
    /// </summary>
    private static async Task TokenValidatedAsync(Microsoft.AspNetCore.Authentication.OpenIdConnect.TokenValidatedContext c)
    {
        var http = c.HttpContext;
        if (c.TokenEndpointResponse?.AccessToken is not { Length: > 0 } accessToken)
        {
            c.Fail("The identity provider returned no access token.");
            return;
        }

        // the API's own handler, on a request that carries only this token: every check a bearer token meets at the API
        var probe = new DefaultHttpContext { RequestServices = http.RequestServices };
        probe.Request.Headers.Authorization = "Bearer " + accessToken;
        var handler = await http.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>().GetHandlerAsync(probe, JwtBearerDefaults.AuthenticationScheme);
        var result = handler is null ? AuthenticateResult.NoResult() : await handler.AuthenticateAsync();
        if (!result.Succeeded || result.Principal?.Identity is not ClaimsIdentity token)
        {
            c.Fail("The identity provider's access token is not one Bruno's API accepts.");
            return;
        }

        var auth = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<BrunoOptions>>().Value.Auth;
        var kept = token.Claims.Where(x => x.Type is TokenService.TenantClaim or JwtRegisteredClaimNames.Sub or TokenService.ScopeClaim or "scp"
            || x.Type == auth.GroupsClaim || x.Type == auth.RolesClaim).Select(x => new Claim(x.Type, x.Value));
        var identity = new ClaimsIdentity(kept, ConsoleFeature.Scheme, JwtRegisteredClaimNames.Sub, "role");
        var principal = new ClaimsPrincipal(identity);
        if (Caller.From(principal) is not { } caller)
        {
            c.Fail("The identity provider's access token names no tenant or no valid user.");
            return;
        }

        c.Principal = principal;
        c.Properties!.IsPersistent = false;
        await http.RequestServices.GetRequiredService<AuditTrail>().RecordAsync(caller.Tenant,
            new Core.Audit.AuditEvent(caller.User.Value, "console.signin", "GET " + CallbackPath + " (single sign-on)", Core.Audit.AuditResults.Success, http.TraceIdentifier));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3840, Level = LogLevel.Warning, Message = "Console single sign-on failed: {Reason}")]
        public static partial void SignInFailed(ILogger logger, string reason);
    }
}
