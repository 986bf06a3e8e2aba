using System.Net;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 21: every tenant endpoint × every role, called for real — allowed (any answer but 403) or refused (403) as the
/// table below says. The endpoints come from the server's own list, so a new endpoint without a line in the table
/// fails the test until someone decides who may call it.
/// </summary>
public sealed class RoleMatrixTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    /// <summary>What an endpoint needs: a scope, or nothing beyond a credential of the tenant ("any").</summary>
    private static readonly Dictionary<string, string> Needs = new(StringComparer.Ordinal)
    {
        ["GET /api/v1/me"] = "any",
        ["GET /api/v1/api-keys"] = Scopes.Admin,
        ["POST /api/v1/api-keys"] = Scopes.Admin,
        ["DELETE /api/v1/api-keys/{id}"] = Scopes.Admin,
        ["GET /api/v1/settings/retrieval"] = Scopes.Query,
        ["PUT /api/v1/settings/retrieval"] = Scopes.Admin,
        ["GET /api/v1/settings/retention"] = Scopes.Admin,
        ["PUT /api/v1/settings/retention"] = Scopes.Admin,
        ["GET /api/v1/settings/memory"] = Scopes.Memory,
        ["PUT /api/v1/settings/memory"] = Scopes.Admin,
        ["GET /api/v1/audit"] = Scopes.Audit,
        ["GET /api/v1/usage"] = Scopes.Audit,
        ["GET /api/v1/insights"] = Scopes.Audit,
        ["POST /api/v1/query"] = Scopes.Query,
        ["POST /api/v1/search"] = Scopes.Query,
        ["POST /api/v1/feedback"] = Scopes.Query,
        ["GET /api/v1/documents"] = Scopes.Query,
        ["POST /api/v1/documents"] = Scopes.Ingest, // or a group admin, for the group's documents
        ["GET /api/v1/documents/{id}"] = Scopes.Query,
        ["DELETE /api/v1/documents/{id}"] = Scopes.Ingest, // or a group admin, for the group's documents (AccessTests)
        ["PUT /api/v1/documents/{id}/access"] = Scopes.Ingest,
        ["POST /api/v1/evaluations"] = Scopes.Admin,
        ["GET /api/v1/evaluations"] = Scopes.Admin,
        ["GET /api/v1/evaluations/compare"] = Scopes.Admin,
        ["GET /api/v1/evaluations/{id}"] = Scopes.Admin,
        ["DELETE /api/v1/evaluations/{id}"] = Scopes.Admin,
        ["GET /api/v1/me/memory"] = Scopes.Memory,
        ["POST /api/v1/me/memory"] = Scopes.Memory,
        ["DELETE /api/v1/me/memory"] = Scopes.Memory,
        ["DELETE /api/v1/me/memory/{id}"] = Scopes.Memory,
        ["GET /api/v1/users/{user}/memory"] = Scopes.Admin,
        ["DELETE /api/v1/users/{user}/memory"] = Scopes.Admin,
        ["POST /api/v1/users/{user}/memory/{id}/promote"] = Scopes.Admin,
        ["GET /api/v1/users"] = Scopes.Admin,
        ["PUT /api/v1/users/{user}/role"] = Scopes.Admin,
        ["DELETE /api/v1/users/{user}/role"] = Scopes.Admin,
        ["GET /api/v1/groups"] = Scopes.Admin,
        ["POST /api/v1/groups"] = Scopes.Admin,
        ["DELETE /api/v1/groups/{group}"] = Scopes.Admin,
        ["GET /api/v1/groups/{group}/members"] = "any", // the handler admits the tenant's admins and the group's admins
        ["PUT /api/v1/groups/{group}/members/{user}"] = "any",
        ["DELETE /api/v1/groups/{group}/members/{user}"] = "any",
        ["GET /v1/models"] = Scopes.Query,
        ["POST /v1/chat/completions"] = Scopes.Query,
    };

    private static readonly string[] AllScopes = [Scopes.Query, Scopes.Ingest, Scopes.Memory, Scopes.Admin, Scopes.Audit];

    [Fact]
    public async Task EveryTenantEndpoint_AnswersEveryRole_AsTheTableSays()
    {
        var server = fixture.Server;
        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is { } r && (r.StartsWith("/api/v1/", StringComparison.Ordinal) || r.StartsWith("/v1/", StringComparison.Ordinal)))
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {e.RoutePattern.RawText!.TrimEnd('/')}"))
            .Distinct(StringComparer.Ordinal)
            .OrderBy(e => e == "DELETE /api/v1/me/memory" ? 1 : 0).ThenBy(e => e, StringComparer.Ordinal) // the caller's own erasure last
            .ToList();
        var unlisted = endpoints.Where(e => !Needs.ContainsKey(e)).ToList();
        Assert.True(unlisted.Count == 0, "decide who may call: " + string.Join(", ", unlisted));
        Assert.True(endpoints.Count >= 40, $"only {endpoints.Count} tenant endpoints found");

        var access = server.Services.GetRequiredService<TenantAccess>();
        var wrong = new List<string>();
        foreach (var role in Enum.GetValues<TenantRole>())
        {
            // a tenant per role: the calls of one role stay within the plan's rate limits
            var tenant = ServerFixture.NewTenant("matrix");
            await server.CreateTenantsAsync(tenant);
            var user = "matrix-" + TenantRoles.Name(role);
            var tenantId = Storage.Identity.TenantId.Parse(tenant);
            await access.AssignAsync(tenantId, Storage.Identity.UserId.Parse(user), role, AccessActor.Operator("test"), Http.Ct);
            using var client = server.Client(server.UserToken(tenant, user, AllScopes)); // the role alone decides
            foreach (var endpoint in endpoints)
            {
                var need = Needs[endpoint];
                var allowed = need == "any" || TenantRoles.ScopesOf(role).Contains(need) || (need == Scopes.Audit && TenantRoles.ScopesOf(role).Contains(Scopes.Admin));
                var status = await CallAsync(client, endpoint);
                if ((status == HttpStatusCode.Forbidden) == allowed)
                {
                    wrong.Add($"{TenantRoles.Name(role)} {endpoint}: {(int)status}, expected {(allowed ? "allowed" : "403")}");
                }
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    private static async Task<HttpStatusCode> CallAsync(HttpClient client, string endpoint)
    {
        var (method, route) = (endpoint[..endpoint.IndexOf(' ', StringComparison.Ordinal)], endpoint[(endpoint.IndexOf(' ', StringComparison.Ordinal) + 1)..]);
        var path = route.Replace("{id}", "x", StringComparison.Ordinal).Replace("{user}", "someone", StringComparison.Ordinal).Replace("{group}", "nogroup", StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method is "POST" or "PUT")
        {
            request.Content = RunningServer.Json(new { });
        }

        using var response = await client.SendAsync(request, Http.Ct);
        return response.StatusCode;
    }
}
