using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Mcp;

/// <summary>The MCP door: knowledge and memory tools over stateless Streamable HTTP at <c>/mcp</c>.</summary>
internal static class McpFeature
{
    public static void AddMcp(this IServiceCollection services)
    {
        services.AddScoped<McpCaller>();
        services.AddSingleton<McpRateLimits>();
        // Stateless Streamable HTTP: every request carries its credential, and nothing of a session outlives it.
        services.AddMcpServer().WithHttpTransport(o => o.Stateless = true).WithTools<KnowledgeTools>().WithTools<MemoryTools>()
            .WithRequestFilters(f => f.AddCallToolFilter(McpRateLimits.Filter));
    }

    /// <summary>Behind the tenant policy; each tool call is admitted by <see cref="McpCaller"/>.</summary>
    public static void MapMcpEndpoint(this IEndpointRouteBuilder app) => app.MapMcp("/mcp").RequireAuthorization(Policies.Tenant);
}
