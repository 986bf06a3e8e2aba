using System.Text.Json;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Server.Features.Observability;
using Bruno.Server.Tenancy;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Scalar.AspNetCore;

namespace Bruno.Server.Hosting;

/// <summary>The service defaults: JSON, problem details, authentication, authorisation, limits, health.</summary>
internal static class Hosting
{
    public const string QueryPolicy = "scope:" + Scopes.Query;
    public const string IngestPolicy = "scope:" + Scopes.Ingest;
    public const string PlatformPolicy = "scope:" + Scopes.PlatformAdmin;
    public const string MetricsPolicy = "scope:" + Scopes.Metrics;
    public const string AdminPolicy = "scope:" + Scopes.Admin;
    public const string TenantPolicy = "tenant";
    public const string MemoryPolicy = "scope:" + Scopes.Memory;
    private const string CredentialScheme = "Bruno";

    public static void AddBrunoHosting(this WebApplicationBuilder builder, BrunoOptions options)
    {
        var services = builder.Services;
        // Request-level framework logs are noise at Information; Bruno's own events and the host's lifetime stay.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Nothing in Bruno protects data with ASP.NET Core data protection (no cookies, no antiforgery): keep its keys in
        // memory rather than writing unencrypted key files to the home folder.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null;
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true); // binding failures reach the problem writer
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Instance = null;
            c.ProblemDetails.Extensions["trace_id"] = System.Diagnostics.Activity.Current?.TraceId.ToString() ?? c.HttpContext.TraceIdentifier;
            if (c.HttpContext.Items[Problems.LevelKey] is string level)
            {
                c.ProblemDetails.Extensions["level"] = level;
            }

            if (c.HttpContext.Items[Problems.QuotaKey] is string quota)
            {
                c.ProblemDetails.Extensions["quota"] = quota;
            }
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();

        // JSON bodies carry documents: room for the largest document, escaped, and nothing more.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = (2L * options.MaxDocumentBytes) + 65_536);

        // One scheme in front: API keys (brk_...) go to their handler, everything else to JWT bearer validation.
        services.AddAuthentication(CredentialScheme)
            .AddPolicyScheme(CredentialScheme, "Bearer token or API key", o => o.ForwardDefaultSelector = c =>
                ApiKeyHandler.KeyOf(c.Request) is null ? JwtBearerDefaults.AuthenticationScheme : ApiKeyHandler.SchemeName)
            .AddJwtBearer()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
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
                    await Problems.WriteAsync(c.HttpContext, StatusCodes.Status401Unauthorized, "Unauthorized", "A valid bearer token is required.");
                },
                OnForbidden = async c =>
                {
                    await c.HttpContext.RequestServices.GetRequiredService<Features.Audit.AuditTrail>().DeniedAsync(c.HttpContext);
                    await Problems.WriteAsync(c.HttpContext, StatusCodes.Status403Forbidden, "Forbidden", "The token does not carry the scope this request needs.");
                },
            };
        });
        services.AddAuthorizationBuilder()
            // deny by default: an endpoint that declares neither a policy nor AllowAnonymous is refused (401 without a
            // credential, 403 with one); a path that matches no endpoint goes on to its 404
            .SetFallbackPolicy(DenyByDefault)
            .AddPolicy(QueryPolicy, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Query)))
            .AddPolicy(IngestPolicy, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Ingest)))
            .AddPolicy(TenantPolicy, p => p.RequireClaim(TokenService.TenantClaim))
            .AddPolicy(MemoryPolicy, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Memory)))
            .AddPolicy(AdminPolicy, p => p.RequireClaim(TokenService.TenantClaim).RequireAssertion(c => TokenService.ScopesOf(c.User).Contains(Scopes.Admin)))
            .AddPolicy(PlatformPolicy, p => p.RequireAssertion(c => !c.User.HasClaim(x => x.Type == TokenService.TenantClaim) && TokenService.ScopesOf(c.User).Contains(Scopes.PlatformAdmin)))
            .AddPolicy(MetricsPolicy, p => p.RequireAssertion(c => !c.User.HasClaim(x => x.Type == TokenService.TenantClaim) && TokenService.ScopesOf(c.User).Overlaps([Scopes.PlatformAdmin, Scopes.Metrics])));
        services.AddSingleton<Admission>();
        services.AddSingleton<TenantFilter>();
        services.AddSingleton<TenantWatch>();
        services.AddSingleton<Features.Limits.RequestLimits>();
        services.AddSingleton<Features.Audit.AuditTrail>();
        services.AddSingleton<Features.Memory.UserErasure>();
        services.AddSingleton<Features.Metering.CpuShares>();
        services.AddSingleton<Features.Observability.TenantGauges>();
        services.AddSingleton<Features.Observability.InsightsLog>();
        var servesTenants = options.Cluster.Kind != Core.Cluster.NodeRole.Store; // a store node runs none of the tenant jobs
        if (servesTenants)
        {
            services.AddHostedService(sp => sp.GetRequiredService<Features.Observability.InsightsLog>());
            services.AddHostedService<Features.Metering.MeteringJob>();
            services.AddHostedService<Features.Admin.RetentionJob>();
            services.AddHostedService(sp => sp.GetRequiredService<TenantWatch>());
        }

        services.AddBrunoTelemetry(options);
        services.AddOpenApi();
        services.AddHttpContextAccessor();
        services.AddScoped<Features.Mcp.McpCaller>();
        // Stateless Streamable HTTP: every request carries its credential, and nothing of a session outlives it.
        services.AddSingleton<Features.Mcp.McpRateLimits>();
        services.AddMcpServer().WithHttpTransport(o => o.Stateless = true).WithTools<Features.Mcp.KnowledgeTools>().WithTools<Features.Mcp.MemoryTools>()
            .WithRequestFilters(f => f.AddCallToolFilter(Features.Mcp.McpRateLimits.Filter));
        services.TryAddSingleton(TimeProvider.System);
        if (servesTenants)
        {
            services.AddHostedService<Features.Admin.TenantRecovery>();
            services.AddHostedService<Features.Memory.ConsolidationJob>();
        }

        if (options.CorsOrigins.Length > 0)
        {
            // Only the listed origins, only the API's methods and headers; credentials are bearer headers, not cookies.
            services.AddCors(c => c.AddDefaultPolicy(p => p.WithOrigins(options.CorsOrigins).WithMethods("GET", "POST", "PUT", "DELETE").WithHeaders("Authorization", "Content-Type", "Accept", "X-Api-Key")));
        }
        services.AddHttpClient("readiness", c => c.Timeout = TimeSpan.FromSeconds(2));
    }

    public static void UseBrunoHosting(this WebApplication app)
    {
        app.UseMiddleware<Features.Observability.RequestTelemetry>(); // outermost: times and logs what the client saw
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (app.Services.GetRequiredService<IOptions<BrunoOptions>>().Value.CorsOrigins.Length > 0)
        {
            app.UseCors();
        }

        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<Features.Metering.MeteringMiddleware>();
        _ = app.Services.GetRequiredService<Features.Observability.TenantGauges>(); // its instruments exist from the start
        _ = app.Services.GetRequiredService<IOptions<BrunoOptions>>().Value; // fail at start, not on the first request
    }

    /// <summary>
    /// The policy of an endpoint that declared none: refused. A request that matched none of the application's route
    /// endpoints passes on to the answer routing gives it (404, or the 405 and 415 that routing's own rejection
    /// endpoints write, which are not route endpoints).
    /// </summary>
    public static readonly Microsoft.AspNetCore.Authorization.AuthorizationPolicy DenyByDefault = new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder()
        .RequireAssertion(c => c.Resource is HttpContext http && http.GetEndpoint() is not RouteEndpoint)
        .Build();

    public static void MapHealthEndpoints(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous();                          // /openapi/v1.json
        app.MapScalarApiReference().AllowAnonymous();               // /scalar/v1, a browsable reference
        app.MapGet("/healthz", () => TypedResults.Ok(new { status = "alive" })).AllowAnonymous();
        app.MapGet("/readyz", ReadyAsync).AllowAnonymous();
        // Prometheus text format; tenant ids are labels, so only the platform's credentials may scrape: an operator's, or
        // a scraper's token that can do nothing else (bruno token issue --metrics)
        app.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(MetricsPolicy);
    }

    /// <summary>Ready when the store answers; "degraded" (still 200) when the chat model's endpoint does not, since
    /// retrieval and extractive answers still work and generation answers 503 meanwhile.</summary>
    private static async Task<IResult> ReadyAsync(Bruno.Storage.IStorageEngine engine, IOptions<BrunoOptions> options, IHttpClientFactory http, IServiceProvider sp, CancellationToken ct)
    {
        var chat = options.Value.Chat;
        var chatState = "not configured";
        if (chat.Enabled)
        {
            try
            {
                using var response = await http.CreateClient("readiness").GetAsync(new Uri(chat.Endpoint!), HttpCompletionOption.ResponseHeadersRead, ct);
                chatState = "ok";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                chatState = "unreachable";
            }
        }

        var storeState = "ok";
        if (engine is Cluster.RoutedStorage && sp.GetService<Cluster.Placement>() is { } placement)
        {
            // a gateway is ready when the catalog answers and a store node has reported recently
            var timeout = TimeSpan.FromSeconds(options.Value.Cluster.NodeTimeoutSeconds);
            var nodes = placement.Nodes();
            var live = nodes.Count(n => placement.IsLive(n, timeout));
            if (live == 0)
            {
                return TypedResults.Json(new { status = "unavailable", checks = new { store = "no store node", chat = chatState }, open_tenants = 0 }, statusCode: 503);
            }

            storeState = live == nodes.Count ? "ok" : $"{live} of {nodes.Count} store nodes";
        }

        var status = chatState == "unreachable" || storeState != "ok" ? "degraded" : "ready";
        return TypedResults.Ok(new { status, checks = new { store = storeState, chat = chatState }, open_tenants = engine.OpenTenantCount });
    }
}
