using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Server;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 20: third-party MCP clients against the real server — the official MCP TypeScript SDK
/// (<c>tests/contract/mcp-client.mjs</c>) and the MCP Inspector CLI (<c>tests/contract/mcp-inspector.mjs</c>), both
/// installed by <c>./test.sh</c>.
/// </summary>
public sealed class McpClientsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private async Task<string> TenantTokenAsync(string prefix)
    {
        var tenant = ServerFixture.NewTenant(prefix);
        using var http = await Server.TenantClientAsync(tenant);
        (await http.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "harbour", title = "Harbour rules", content_type = "text/markdown", content = "# Mooring\nBoats may moor at the east quay for up to three nights.\n# Fees\nMooring costs nine euros a night." }), Http.Ct)).EnsureSuccessStatusCode();
        return Server.UserToken(tenant, "alice", Scopes.Query);
    }

    private static Task<JsonElement> InspectAsync(string url, string token, params string[] methods) =>
        NodeClients.RunAsync("mcp-inspector.mjs", new Dictionary<string, string> { ["BRUNO_MCP_URL"] = url, ["BRUNO_TOKEN"] = token, ["BRUNO_METHODS"] = string.Join(',', methods) }, Http.Ct);

    [Fact]
    public async Task TheOfficialTypeScriptSdk_ListsCallsReadsAndPrompts_AndSeesInvalidParams()
    {
        var token = await TenantTokenAsync("mcp-ts");
        var seen = await NodeClients.RunAsync("mcp-client.mjs", new Dictionary<string, string>
        {
            ["BRUNO_URL"] = Server.Address.ToString().TrimEnd('/'),
            ["BRUNO_TOKEN"] = token,
            ["BRUNO_QUERY"] = "How long may boats moor at the east quay?",
            ["BRUNO_DOCUMENT"] = "harbour",
        }, Http.Ct);

        var tools = seen.GetProperty("tools").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(["ask_agent", "list_documents", "search_knowledge"], tools.Keys.Order(StringComparer.Ordinal)); // query scope only
        Assert.Equal(["query", "top_k"], tools["search_knowledge"].GetProperty("arguments").EnumerateArray().Select(a => a.GetString()));
        Assert.All(tools.Values, t => Assert.Equal("object", t.GetProperty("output").GetString()));
        Assert.Equal(["bruno://documents/{id}"], seen.GetProperty("templates").EnumerateArray().Select(t => t.GetString()));
        var resource = Assert.Single(seen.GetProperty("resources").EnumerateArray());
        Assert.Equal(("bruno://documents/harbour", "Harbour rules", "text/markdown"), (resource.GetProperty("uri").GetString(), resource.GetProperty("title").GetString(), resource.GetProperty("mime").GetString()));
        Assert.Equal(["ask_with_citations", "summarize_document"], seen.GetProperty("prompts").EnumerateArray().Select(p => p.GetProperty("name").GetString()).Order(StringComparer.Ordinal));

        // the SDK validated structuredContent against the output schema before handing it over
        Assert.False(seen.GetProperty("search").GetProperty("is_error").GetBoolean());
        Assert.Contains("harbour", seen.GetProperty("search").GetProperty("sources").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal(["harbour"], seen.GetProperty("list").EnumerateArray().Select(s => s.GetString()));
        Assert.Contains("three nights", seen.GetProperty("answer").GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(seen.GetProperty("answer").GetProperty("session_id").GetString()));
        var read = Assert.Single(seen.GetProperty("read").EnumerateArray());
        Assert.Equal("text/markdown", read.GetProperty("mime").GetString());
        Assert.Contains("nine euros a night", read.GetProperty("text").GetString(), StringComparison.Ordinal);
        var prompt = Assert.Single(seen.GetProperty("prompt").EnumerateArray());
        Assert.Equal(("user", "text"), (prompt.GetProperty("role").GetString(), prompt.GetProperty("type").GetString()));
        Assert.Contains("three nights", prompt.GetProperty("text").GetString(), StringComparison.Ordinal);

        Assert.Equal(-32602, seen.GetProperty("invalid").GetProperty("code").GetInt32());
        Assert.Contains("'top_k' must be 1-20", seen.GetProperty("invalid").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(-32602, seen.GetProperty("unknown").GetProperty("code").GetInt32());
        Assert.Contains("'tenant_id'", seen.GetProperty("unknown").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheMcpInspector_FindsNoSchemaPortabilityProblem_AndListsPromptsAndTemplates()
    {
        var tenant = ServerFixture.NewTenant("mcp-insp");
        await Server.CreateTenantsAsync(tenant);
        var all = Server.UserToken(tenant, "alice", Scopes.Query, Scopes.Memory); // every tool of Bruno's is linted
        var report = await InspectAsync(Server.Address.ToString().TrimEnd('/') + "/mcp", all, "tools/list", "prompts/list", "resources/templates/list");

        var tools = report.GetProperty("tools/list");
        Assert.Equal(0, tools.GetProperty("exit").GetInt32());
        Assert.Equal(6, tools.GetProperty("listed").GetArrayLength());
        Assert.Empty(tools.GetProperty("problems").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, tools.GetProperty("summary").ValueKind); // "N errors, M warnings across K tools" only when there are some
        var prompts = report.GetProperty("prompts/list");
        Assert.Equal(0, prompts.GetProperty("exit").GetInt32());
        Assert.Equal(["ask_with_citations", "summarize_document"], prompts.GetProperty("listed").EnumerateArray().Select(p => p.GetString()).Order(StringComparer.Ordinal));
        var templates = report.GetProperty("resources/templates/list");
        Assert.Equal(0, templates.GetProperty("exit").GetInt32());
        Assert.Equal(["bruno://documents/{id}"], templates.GetProperty("listed").EnumerateArray().Select(p => p.GetString()));
    }

    [Fact]
    public async Task TheMcpInspectorReport_NamesTheProblems_OfASchemaWithATypeUnion()
    {
        // the same check against a server that keeps the SDK's default schemas (an optional int is ["integer","null"]):
        // the report the test above finds empty does name problems when there are some
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddMcpServer().WithHttpTransport(o => o.Stateless = true)
            .WithTools([McpServerTool.Create((string query, int? top_k) => $"{query} {top_k}", new() { Name = "plain_search" })]);
        await using var plain = builder.Build();
        plain.MapMcp("/mcp");
        await plain.StartAsync(Http.Ct);

        var report = await InspectAsync(plain.Urls.First() + "/mcp", "unused", "tools/list");
        var tools = report.GetProperty("tools/list");
        Assert.Equal(0, tools.GetProperty("exit").GetInt32()); // warnings only: --strict fails on errors
        var problem = Assert.Single(tools.GetProperty("problems").EnumerateArray()).GetString();
        Assert.Contains("Warning: tool \"plain_search\"", problem, StringComparison.Ordinal);
        Assert.Contains("inputSchema.properties.top_k", problem, StringComparison.Ordinal);
        Assert.Contains("0 errors, 1 warning across 1 tool", tools.GetProperty("summary").GetString(), StringComparison.Ordinal);
    }
}
