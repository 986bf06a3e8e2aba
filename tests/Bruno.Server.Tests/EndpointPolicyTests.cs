using System.Security.Claims;
using Bruno.Server.Tenancy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Tests;

/// <summary>
/// Deny by default (issue 19): every endpoint the server maps is explicitly anonymous (health, the API description),
/// behind the tenant policy and the tenant filter, or behind a platform policy; one that declares nothing is refused.
/// </summary>
public sealed class EndpointPolicyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] AnonymousRoutes =
    [
        "/healthz", "/readyz", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp", "/openapi/{documentName}.json", "/scalar/{documentName?}", "/scalar/", "/scalar/{**path}",
        // the web console's way in (the sign-in page, spending a link, leaving) and its own scripts and styles
        "/console/signin", "/console/session", "/console/session/end", "/console/assets/{name}",
    ];

    private static readonly string[] PlatformPolicies = [Policies.Platform, Policies.Metrics];

    private static readonly string[] ConsolePolicies = [Features.WebConsole.ConsoleFeature.Policy, Features.WebConsole.ConsoleFeature.QueryPolicy, Features.WebConsole.ConsoleFeature.MemoryPolicy, Features.WebConsole.ConsoleFeature.AdminPolicy, Features.WebConsole.ConsoleOperators.SessionPolicy, Features.WebConsole.ConsoleFeature.AuditPolicy];

    [Fact]
    public void EveryEndpoint_IsAnonymousOnPurpose_OrBehindTheTenantOrPlatformPolicy()
    {
        var endpoints = fixture.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        Assert.True(endpoints.Count > 40, $"only {endpoints.Count} endpoints found");
        var wrong = new List<string>();
        var tenantEndpoints = 0;
        foreach (var endpoint in endpoints)
        {
            var route = endpoint.RoutePattern.RawText ?? "?";
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var policies = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Select(a => a.Policy).ToList();
            var tenant = endpoint.Metadata.GetMetadata<TenantEndpointMetadata>() is not null;
            // the two API groups carry their policy for every endpoint a feature maps into them
            if ((route.StartsWith("/api/v1/", StringComparison.Ordinal) || route.StartsWith("/v1/", StringComparison.Ordinal)) && !tenant)
            {
                wrong.Add($"{route}: under /api/v1 or /v1 without the tenant group's admission");
            }

            if (route.StartsWith("/admin/v1/", StringComparison.Ordinal) && !policies.Contains(Policies.Platform))
            {
                wrong.Add($"{route}: under /admin/v1 without the platform policy");
            }

            if (anonymous)
            {
                if (!AnonymousRoutes.Contains(route, StringComparer.Ordinal) && !route.StartsWith("/scalar", StringComparison.Ordinal))
                {
                    wrong.Add($"{route}: anonymous");
                }
            }
            else if (tenant)
            {
                tenantEndpoints++;
                if (!policies.Contains(Policies.Tenant) || policies.Any(PlatformPolicies.Contains))
                {
                    wrong.Add($"{route}: tenant filter without the tenant policy ({string.Join(", ", policies)})");
                }
            }
            else if (route.StartsWith("/console/operator", StringComparison.Ordinal))
            {
                // the operators' pages need an operator's session (no tenant, the platform-admin scope), and nothing else does
                if (policies.Count != 1 || policies[0] != Features.WebConsole.ConsoleOperators.Policy)
                {
                    wrong.Add($"{route}: an operator's console page without the operator policy ({string.Join(", ", policies)})");
                }
            }
            else if (route.StartsWith("/console", StringComparison.Ordinal))
            {
                // the console's pages need a session of a tenant; the console's middleware admits each through Admission
                if (policies.Count != 1 || !ConsolePolicies.Contains(policies[0]))
                {
                    wrong.Add($"{route}: a console page without the console policy ({string.Join(", ", policies)})");
                }
            }
            else if (route.StartsWith("/_framework/", StringComparison.Ordinal) && policies.Count == 0)
            {
                // the components framework's own endpoint (enhanced navigation, which the console does not use): the
                // deny-by-default fallback refuses it
            }
            else if (route.StartsWith("/mcp", StringComparison.Ordinal))
            {
                // MCP admits each tool call through the same admission service (McpCaller); the endpoint needs a tenant
                if (!policies.Contains(Policies.Tenant))
                {
                    wrong.Add($"{route}: MCP without the tenant policy");
                }
            }
            else if (policies.Count == 0 || !policies.All(PlatformPolicies.Contains))
            {
                wrong.Add($"{route}: neither anonymous, tenant nor platform ({string.Join(", ", policies)})");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        Assert.True(tenantEndpoints > 20, $"only {tenantEndpoints} tenant endpoints");
    }

    [Fact]
    public async Task AnEndpointThatDeclaresNothing_IsRefused_AndAnUnmatchedPathIsNot()
    {
        var services = fixture.Server.Services;
        var fallback = services.GetRequiredService<IOptions<AuthorizationOptions>>().Value.FallbackPolicy;
        Assert.NotNull(fallback);
        var authorization = services.GetRequiredService<IAuthorizationService>();
        var operatorPrincipal = new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "alice"), new Claim("tenant_id", "acme"), new Claim("scope", "query ingest admin platform-admin")], "test"));

        var forgotten = new DefaultHttpContext { User = operatorPrincipal };
        forgotten.SetEndpoint(new RouteEndpoint(_ => Task.CompletedTask, Microsoft.AspNetCore.Routing.Patterns.RoutePatternFactory.Parse("/api/v1/forgotten"), 0, new EndpointMetadataCollection(), "forgotten"));
        Assert.False((await authorization.AuthorizeAsync(operatorPrincipal, forgotten, fallback)).Succeeded);

        var unmatched = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity()) };
        Assert.True((await authorization.AuthorizeAsync(unmatched.User, unmatched, fallback)).Succeeded);

        // through the real pipeline: an unknown path is still 404 and a wrong method 405, not 401
        using var anonymous = fixture.Server.Client();
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await anonymous.GetAsync("/api/v1/no-such-thing", Http.Ct)).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, (await anonymous.PatchAsync("/healthz", null, Http.Ct)).StatusCode);
    }
}
