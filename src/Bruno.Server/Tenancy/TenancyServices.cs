using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Bruno.Server.Tenancy;

/// <summary>
/// The door every caller passes: authentication (Bruno's tokens, the identity provider's, API keys), the authorisation
/// policies with deny-by-default, and admission (tenant state, request limits, users, tracking).
/// </summary>
internal static class TenancyServices
{
    private const string CredentialScheme = "Bruno";

    /// <summary>
    /// The policy of an endpoint that declared none: refused. A request that matched none of the application's route
    /// endpoints passes on to the answer routing gives it (404, or the 405 and 415 that routing's own rejection
    /// endpoints write, which are not route endpoints).
    /// </summary>
    public static readonly Microsoft.AspNetCore.Authorization.AuthorizationPolicy DenyByDefault = new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder()
        .RequireAssertion(c => c.Resource is HttpContext http && http.GetEndpoint() is not RouteEndpoint)
        .Build();

    public static void AddTenancy(this IServiceCollection services, BrunoOptions options)
    {
        // One scheme in front: API keys (brk_...) go to their handler, a request with no Authorization header but the web
        // console's session cookie to the cookie (Features/WebConsole), everything else to JWT bearer validation.
        services.AddAuthentication(CredentialScheme)
            .AddPolicyScheme(CredentialScheme, "Bearer token, API key or console session", o => o.ForwardDefaultSelector = c =>
                ApiKeyHandler.KeyOf(c.Request) is not null ? ApiKeyHandler.SchemeName
                : c.Request.Headers.Authorization.Count == 0 && c.Request.Cookies.ContainsKey(Features.WebConsole.ConsoleFeature.CookieName) ? Features.WebConsole.ConsoleFeature.Scheme
                : JwtBearerDefaults.AuthenticationScheme)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        services.AddSingleton<Microsoft.AspNetCore.Authentication.IClaimsTransformation, AccessClaims>(); // roles cap scopes; groups (every door)
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<TokenService>((o, tokens) =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = tokens.ValidationParameters();
            if (options.Auth.Enabled)
            {
                // Tokens of the identity provider as well as Bruno's own: its issuer and keys come from its discovery
                // document (JwtBearer adds them to the ones above), refreshed on schedule and when an unknown key id
                // appears. Only the listed asymmetric algorithms are accepted from it; HS256 stays bound to Bruno's key.
                o.Authority = options.Auth.Authority;
                o.Audience = options.Audience;
                o.RequireHttpsMetadata = options.Auth.RequireHttpsMetadata;
                o.RefreshOnIssuerKeyNotFound = true;
                o.AutomaticRefreshInterval = TimeSpan.FromMinutes(options.Auth.KeyRefreshMinutes);
                o.TokenValidationParameters.ValidAlgorithms = [.. o.TokenValidationParameters.ValidAlgorithms!, .. options.Auth.Algorithms];
            }

            o.Events = new JwtBearerEvents
            {
                OnTokenValidated = c =>
                {
                    // a valid signature over an ambiguous identity (a tenant claim given twice, or as an array) is refused
                    if (c.SecurityToken is JsonWebToken jwt && TokenService.ClaimShapeProblem(jwt.EncodedPayload) is { } problem)
                    {
                        c.Fail(problem);
                    }

                    return Task.CompletedTask;
                },
                OnChallenge = async c =>
                {
                    c.HandleResponse(); // no details of why the token failed reach the client
                    ProtectedResource.Challenge(c.HttpContext);
                    await Problems.WriteAsync(c.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized", "A valid bearer token is required.");
                },
                OnForbidden = async c =>
                {
                    await c.HttpContext.RequestServices.GetRequiredService<AuditTrail>().DeniedAsync(c.HttpContext);
                    await Problems.WriteAsync(c.HttpContext, StatusCodes.Status403Forbidden, "Forbidden", "The token does not carry the scope this request needs.");
                },
            };
        });
        services.AddAuthorizationBuilder()
            // deny by default: an endpoint that declares neither a policy nor AllowAnonymous is refused (401 without a
            // credential, 403 with one); a path that matches no endpoint goes on to its 404
            .SetFallbackPolicy(DenyByDefault)
            .AddPolicy(Policies.Query, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Query)))
            .AddPolicy(Policies.Ingest, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Ingest)))
            .AddPolicy(Policies.Tenant, p => p.RequireClaim(TokenService.TenantClaim))
            .AddPolicy(Policies.Memory, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Memory)))
            .AddPolicy(Policies.Admin, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Admin)))
            .AddPolicy(Policies.Audit, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Overlaps([Scopes.Audit, Scopes.Admin])))
            .AddPolicy(Policies.Platform, p => p.RequireAssertion(c => !c.User.HasClaim(x => x.Type == TokenService.TenantClaim) && TokenService.ScopesOf(c.User).Contains(Scopes.PlatformAdmin)))
            .AddPolicy(Policies.Metrics, p => p.RequireAssertion(c => !c.User.HasClaim(x => x.Type == TokenService.TenantClaim) && TokenService.ScopesOf(c.User).Overlaps([Scopes.PlatformAdmin, Scopes.Metrics])));
        services.AddSingleton<Admission>();
        services.AddSingleton<TenantFilter>();
        services.AddSingleton<TenantWatch>();
        services.AddSingleton<RequestLimits>();
        if (options.Cluster.Kind == Core.Cluster.NodeRole.Gateway)
        {
            // gateways share the limits through the catalog (decision 0035); the ledger is the cluster's (AddBrunoCluster)
            services.AddSingleton<CatalogLimitTokens>();
            services.AddSingleton<ILimitTokens>(sp => sp.GetRequiredService<CatalogLimitTokens>());
        }
        else
        {
            services.AddSingleton<ILimitTokens, LocalLimitTokens>();
        }

        services.AddSingleton<AuditTrail>();
        if (options.Cluster.Kind != Core.Cluster.NodeRole.Store) // a store node runs none of the tenant jobs
        {
            services.AddHostedService(sp => sp.GetRequiredService<TenantWatch>());
        }
    }

    /// <summary>Authentication, then authorisation, in the pipeline.</summary>
    public static void UseTenancy(this WebApplication app)
    {
        _ = app.Services.GetRequiredService<TokenService>(); // the signing key exists from the start: the CLI signs with it
        app.UseAuthentication();
        app.UseAuthorization();
    }
}
