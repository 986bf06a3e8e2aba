using System.Text.Json;
using Bruno.Server.Tenancy;
using ModelContextProtocol.Server;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// The MCP door: knowledge and memory tools, knowledge prompts and the documents as resources, over stateless
/// Streamable HTTP at <c>/mcp</c>, every request through <see cref="McpDoor"/>.
/// </summary>
internal static class McpFeature
{
    /// <summary>
    /// What tools return, in the HTTP API's spelling (snake_case, as <c>session_id</c> and <c>document_id</c> there), nulls
    /// written: the output schemas require every property (a null <c>next</c> is the end of the list, not a missing key).
    /// </summary>
    private static readonly JsonSerializerOptions Json = new(ModelContextProtocol.McpJsonUtilities.DefaultOptions)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never,
    };

    public static void AddMcp(this IServiceCollection services)
    {
        services.AddScoped<McpCaller>();
        services.AddSingleton<McpRateLimits>();
        services.AddSingleton<McpDoor>();
        // Stateless Streamable HTTP: every request carries its credential, and nothing of a session outlives it.
        services.AddMcpServer().WithHttpTransport(o => o.Stateless = true)
            .WithTools<KnowledgeTools>(Json).WithTools<MemoryTools>(Json)
            .WithPrompts<KnowledgePrompts>()
            .WithResources<DocumentResources>().WithListResourcesHandler(DocumentResources.ListAsync)
            .WithRequestFilters(McpDoor.Configure);
        // The tools' input schemas say what the door enforces (no argument beyond those named), without type unions.
        services.PostConfigure<McpServerOptions>(o =>
        {
            foreach (var tool in o.ToolCollection ?? [])
            {
                tool.ProtocolTool.InputSchema = McpSchemas.Input(tool.ProtocolTool.InputSchema);
                tool.ProtocolTool.OutputSchema = McpSchemas.Output(tool.ProtocolTool.OutputSchema);
            }
        });
        // The SDK logs every failed request with its exception (Warning) and a tool's at Error; the door logs each
        // itself, a client's mistake at Warning without a stack and a server failure at Error (McpDoor), so the SDK's
        // server category is off. Its transport's categories are untouched.
        services.AddLogging(b => b.AddFilter("ModelContextProtocol.Server.McpServer", LogLevel.None));
    }

    /// <summary>Behind the tenant policy; each call is admitted by <see cref="McpCaller"/>.</summary>
    public static void MapMcpEndpoint(this IEndpointRouteBuilder app) => app.MapMcp("/mcp").RequireAuthorization(Policies.Tenant);
}
