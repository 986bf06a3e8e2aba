using System.Diagnostics;
using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 20, item 2: MCP as the spec says — the HTTP API's argument names, -32602 with the reason for arguments that
/// do not fit, lists filtered by scope, documents as resources, prompts, the retry time in a rate limit's data, client
/// mistakes logged as warnings without a stack, a span per call with the tenant.
/// </summary>
public sealed class McpProtocolTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static string Text(CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text));

    private static async Task<McpProtocolException> RefusedAsync(McpClient client, string tool, Dictionary<string, object?> args) =>
        await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync(tool, args, cancellationToken: Http.Ct).AsTask());

    private async Task<(string Tenant, McpClient Client)> TenantWithDocumentsAsync(string prefix, params string[] scopes)
    {
        var tenant = ServerFixture.NewTenant(prefix);
        using var http = await Server.TenantClientAsync(tenant);
        (await http.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "ferry", title = "Ferry timetable", content_type = "text/markdown", content = "# Ferry\nThe ferry to the island leaves every hour from pier four.\n# Fares\nA return ticket costs twelve euros." }), Http.Ct)).EnsureSuccessStatusCode();
        (await http.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "museum", title = "Museum", content = "The museum opens at nine and closes at five." }), Http.Ct)).EnsureSuccessStatusCode();
        return (tenant, await Server.McpAsync(Server.UserToken(tenant, "alice", scopes), Http.Ct));
    }

    [Fact]
    public async Task ToolArguments_AreTheHttpApisNames_AndTheSchemasAreClosed()
    {
        var tenant = ServerFixture.NewTenant("mcp-names");
        await Server.CreateTenantsAsync(tenant);
        await using var client = await Server.McpAsync(Server.UserToken(tenant, "alice", Scopes.Query, Scopes.Memory), Http.Ct);
        var tools = (await client.ListToolsAsync(cancellationToken: Http.Ct)).ToDictionary(t => t.Name, t => t.ProtocolTool.InputSchema);

        string[] Names(string tool) => [.. tools[tool].GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal)];
        Assert.Equal(["query", "top_k"], Names("search_knowledge"));
        Assert.Equal(["question", "session_id", "top_k"], Names("ask_agent"));
        Assert.Equal(["after", "limit"], Names("list_documents"));
        Assert.Equal(["query", "top_k"], Names("recall"));
        Assert.Equal(["text"], Names("remember"));
        Assert.Equal(["id"], Names("forget"));
        Assert.All(tools, t => Assert.False(t.Value.GetProperty("additionalProperties").GetBoolean(), t.Key));
        var topK = tools["search_knowledge"].GetProperty("properties").GetProperty("top_k");
        Assert.Equal((1, 20), (topK.GetProperty("minimum").GetInt32(), topK.GetProperty("maximum").GetInt32()));
        Assert.Equal(["query"], tools["search_knowledge"].GetProperty("required").EnumerateArray().Select(e => e.GetString()));

        // the names work: top_k limits the passages, limit the page
        using var http = Server.Client(Server.UserToken(tenant, "alice"));
        foreach (var id in new[] { "a1", "a2", "a3" })
        {
            (await http.PostAsync("/api/v1/documents", RunningServer.Json(new { id, content = $"Lighthouse {id} is painted red and white and stands on the northern cape." }), Http.Ct)).EnsureSuccessStatusCode();
        }

        var one = await client.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "lighthouse painted red", ["top_k"] = 1 }, cancellationToken: Http.Ct);
        Assert.Equal(1, one.StructuredContent!.Value.GetProperty("sources").GetArrayLength());
        Assert.StartsWith("a", one.StructuredContent!.Value.GetProperty("sources")[0].GetProperty("document_id").GetString(), StringComparison.Ordinal); // the HTTP API's field names
        var page = await client.CallToolAsync("list_documents", new Dictionary<string, object?> { ["limit"] = 2, ["after"] = "a1" }, cancellationToken: Http.Ct);
        Assert.Equal(["a2", "a3"], page.StructuredContent!.Value.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetString()));
        Assert.Equal("a3", page.StructuredContent!.Value.GetProperty("next").GetString());
    }

    [Theory]
    [InlineData("search_knowledge", """{"query":"ferry","top_k":0}""", "'top_k' must be 1-20")]
    [InlineData("search_knowledge", """{"query":"ferry","top_k":500}""", "'top_k' must be 1-20")]
    [InlineData("search_knowledge", """{"query":"ferry","top_k":"five"}""", "'top_k' must be an integer")]
    [InlineData("search_knowledge", """{"query":""}""", "'query' must have 1-4000 characters")]
    [InlineData("search_knowledge", """{"query":"   "}""", "A question has 1-4000 characters")]
    [InlineData("search_knowledge", """{"query":42}""", "'query' must be a string")]
    [InlineData("search_knowledge", """{}""", "Missing required argument 'query'")]
    [InlineData("search_knowledge", """{"query":"ferry","topK":3}""", "Unknown argument 'topK'")]
    [InlineData("search_knowledge", """{"query":"ferry","tenant_id":"other"}""", "Unknown argument 'tenant_id'")]
    [InlineData("ask_agent", """{"query":"ferry"}""", "Unknown argument 'query'")]
    [InlineData("list_documents", """{"limit":1000}""", "'limit' must be 1-200")]
    [InlineData("list_documents", """{"after":"../x"}""", "A document id has 1-128 characters")]
    [InlineData("recall", """{"query":"ferry","k":5}""", "Unknown argument 'k'")]
    [InlineData("recall", """{"query":"ferry","top_k":51}""", "'top_k' must be 1-50")]
    [InlineData("remember", """{}""", "Missing required argument 'text'")]
    public async Task ArgumentsThatDoNotFit_AreInvalidParams_WithTheReason(string tool, string json, string reason)
    {
        var tenant = ServerFixture.NewTenant("mcp-args");
        await Server.CreateTenantsAsync(tenant);
        await using var client = await Server.McpAsync(Server.UserToken(tenant, "alice", Scopes.Query, Scopes.Memory), Http.Ct);
        var args = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(json)!.ToDictionary(p => p.Key, p => (object?)p.Value);

        var refused = await RefusedAsync(client, tool, args);
        Assert.Equal(McpErrorCode.InvalidParams, refused.ErrorCode);
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Http.AssertNoInternals(refused.Message);
    }

    [Fact]
    public async Task TheLists_ShowOnlyWhatTheCallersScopesAllow_AndHiddenToolsStayRefused()
    {
        var (tenant, queryOnly) = await TenantWithDocumentsAsync("mcp-scopes", Scopes.Query);
        await using var _ = queryOnly;
        await using var ingestOnly = await Server.McpAsync(Server.UserToken(tenant, "ivan", Scopes.Ingest), Http.Ct);
        await using var memoryOnly = await Server.McpAsync(Server.UserToken(tenant, "mia", Scopes.Memory), Http.Ct);

        async Task<string[]> ToolsOf(McpClient c) => [.. (await c.ListToolsAsync(cancellationToken: Http.Ct)).Select(t => t.Name).Order(StringComparer.Ordinal)];
        Assert.Equal(["ask_agent", "list_documents", "search_knowledge"], await ToolsOf(queryOnly));
        Assert.Equal(["forget", "recall", "remember"], await ToolsOf(memoryOnly));
        Assert.Empty(await ToolsOf(ingestOnly));
        Assert.Empty(await ingestOnly.ListPromptsAsync(cancellationToken: Http.Ct));
        Assert.Empty(await ingestOnly.ListResourceTemplatesAsync(cancellationToken: Http.Ct));
        Assert.Empty(await ingestOnly.ListResourcesAsync(cancellationToken: Http.Ct));
        Assert.Empty(await memoryOnly.ListPromptsAsync(cancellationToken: Http.Ct));
        Assert.NotEmpty(await queryOnly.ListPromptsAsync(cancellationToken: Http.Ct));

        // a hidden tool called by name is still refused, naming the scope
        var denied = await ingestOnly.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "ferry" }, cancellationToken: Http.Ct);
        Assert.True(denied.IsError);
        Assert.Contains("'query' scope", Text(denied), StringComparison.Ordinal);
        var deniedMemory = await queryOnly.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "ferry" }, cancellationToken: Http.Ct);
        Assert.True(deniedMemory.IsError);
        Assert.Contains("'memory' scope", Text(deniedMemory), StringComparison.Ordinal);
        var deniedRead = await Assert.ThrowsAsync<McpProtocolException>(() => ingestOnly.ReadResourceAsync("bruno://documents/ferry", cancellationToken: Http.Ct).AsTask());
        Assert.Contains("'query' scope", deniedRead.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Documents_AreResources_ReadFromTheCallersTenantOnly()
    {
        var (_, client) = await TenantWithDocumentsAsync("mcp-res", Scopes.Query);
        await using var __ = client;
        var (_, other) = await TenantWithDocumentsAsync("mcp-res-b", Scopes.Query);
        await using var ___ = other;

        var template = Assert.Single(await client.ListResourceTemplatesAsync(cancellationToken: Http.Ct));
        Assert.Equal("bruno://documents/{id}", template.UriTemplate);
        var listed = await client.ListResourcesAsync(cancellationToken: Http.Ct);
        Assert.Equal(["bruno://documents/ferry", "bruno://documents/museum"], listed.Select(r => r.Uri));
        Assert.Equal("Ferry timetable", listed[0].ProtocolResource.Title);
        var after = await client.ListResourcesAsync(new ListResourcesRequestParams { Cursor = "ferry" }, Http.Ct);
        Assert.Equal(["bruno://documents/museum"], after.Resources.Select(r => r.Uri));
        Assert.Null(after.NextCursor);

        var read = await client.ReadResourceAsync("bruno://documents/ferry", cancellationToken: Http.Ct);
        var text = Assert.IsType<TextResourceContents>(Assert.Single(read.Contents));
        Assert.Equal(("bruno://documents/ferry", "text/markdown"), (text.Uri, text.MimeType));
        Assert.Contains("# Ferry timetable", text.Text, StringComparison.Ordinal);
        Assert.Contains("## Fares", text.Text, StringComparison.Ordinal);
        Assert.Contains("A return ticket costs twelve euros.", text.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("Ferry timetable › Fares", text.Text, StringComparison.Ordinal); // the chunks' context lines are not the text

        var unknown = await Assert.ThrowsAsync<McpProtocolException>(() => client.ReadResourceAsync("bruno://documents/nothing-here", cancellationToken: Http.Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, unknown.ErrorCode);
        Assert.Contains("No such document", unknown.Message, StringComparison.Ordinal);
        var malformed = await Assert.ThrowsAsync<McpProtocolException>(() => client.ReadResourceAsync("bruno://documents/..%2Fetc", cancellationToken: Http.Ct).AsTask());
        Http.AssertNoInternals(malformed.Message);

        // the other tenant's identical ids read the other tenant's own documents, never this one's
        var mine = await other.ReadResourceAsync("bruno://documents/museum", cancellationToken: Http.Ct);
        Assert.Contains("museum", Assert.IsType<TextResourceContents>(Assert.Single(mine.Contents)).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prompts_ReturnMessages_WithThePassagesOrTheDocument()
    {
        var (_, client) = await TenantWithDocumentsAsync("mcp-prompts", Scopes.Query);
        await using var __ = client;
        var prompts = await client.ListPromptsAsync(cancellationToken: Http.Ct);
        Assert.Equal(["ask_with_citations", "summarize_document"], prompts.Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.All(prompts, p => Assert.False(string.IsNullOrWhiteSpace(p.Title)));
        Assert.Equal("question", Assert.Single(prompts.Single(p => p.Name == "ask_with_citations").ProtocolPrompt.Arguments!).Name);

        var ask = await client.GetPromptAsync("ask_with_citations", new Dictionary<string, object?> { ["question"] = "How often does the ferry leave?" }, cancellationToken: Http.Ct);
        var message = Assert.Single(ask.Messages);
        Assert.Equal(Role.User, message.Role);
        var prompt = Assert.IsType<TextContentBlock>(message.Content).Text;
        Assert.Contains("[1] Ferry timetable", prompt, StringComparison.Ordinal);
        Assert.Contains("every hour from pier four", prompt, StringComparison.Ordinal);

        var summary = await client.GetPromptAsync("summarize_document", new Dictionary<string, object?> { ["id"] = "ferry" }, cancellationToken: Http.Ct);
        var embedded = Assert.IsType<EmbeddedResourceBlock>(summary.Messages[^1].Content);
        Assert.Equal("bruno://documents/ferry", embedded.Resource.Uri);
        Assert.Contains("twelve euros", Assert.IsType<TextResourceContents>(embedded.Resource).Text, StringComparison.Ordinal);

        var missing = await Assert.ThrowsAsync<McpProtocolException>(() => client.GetPromptAsync("ask_with_citations", new Dictionary<string, object?>(), cancellationToken: Http.Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, missing.ErrorCode);
        Assert.Contains("Missing required argument 'question'", missing.Message, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<McpProtocolException>(() => client.GetPromptAsync("summarize_document", new Dictionary<string, object?> { ["id"] = "nope" }, cancellationToken: Http.Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, unknown.ErrorCode);
        Assert.Contains("No such document", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ClientMistakes_AreWarningsWithoutAStack_ServerFailuresErrors_AndEachCallIsASpanWithItsTenant()
    {
        var logs = new JsonLogCapture();
        var spans = new SpanCapture();
        using var embedder = new FailingEmbedder(new Core.Embeddings.MiniLmEmbeddingGenerator());
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:Mcp:SearchPerMinute"] = "2" }, services =>
        {
            services.AddLogging(b => b.AddProvider(logs));
            spans.Register(services);
            services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(embedder);
        });
        var tenant = ServerFixture.NewTenant("mcp-logs");
        await server.CreateTenantsAsync(tenant);
        await using var client = await server.McpAsync(server.UserToken(tenant, "alice", Scopes.Query), Http.Ct);

        Assert.NotEqual(true, (await client.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "opening hours" }, cancellationToken: Http.Ct)).IsError);
        await RefusedAsync(client, "search_knowledge", new() { ["query"] = "x", ["top_k"] = 0 }); // invalid
        Assert.True((await client.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "x" }, cancellationToken: Http.Ct)).IsError); // scope
        var failed = await client.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "FAILNOW please" }, cancellationToken: Http.Ct); // server failure
        Assert.True(failed.IsError);
        Http.AssertNoInternals(Text(failed));
        Assert.DoesNotContain("embedder", Text(failed), StringComparison.OrdinalIgnoreCase);
        var limited = await RefusedAsync(client, "search_knowledge", new() { ["query"] = "opening hours" }); // the third, of two a minute (refusals before the limit took none)
        Assert.Equal(-32029, (int)limited.ErrorCode);

        var refusals = logs.WithEventId(3301);
        Assert.Equal(["invalid_params", "rate_limited", "scope_missing"], refusals.Select(e => e.GetProperty("refusal").GetString()).Order(StringComparer.Ordinal));
        Assert.All(refusals, e =>
        {
            Assert.Equal("warn", e.GetProperty("level").GetString());
            Assert.Equal(tenant, e.GetProperty("tenant_id").GetString());
            Assert.False(e.TryGetProperty("exception", out _), e.ToString());
        });
        Assert.Contains(refusals, e => e.GetProperty("target").GetString() == "recall");
        var failure = Assert.Single(logs.WithEventId(3302));
        Assert.Equal("error", failure.GetProperty("level").GetString());
        Assert.Equal(tenant, failure.GetProperty("tenant_id").GetString());
        Assert.True(failure.TryGetProperty("exception", out _));
        // nothing else about MCP calls at Warning or above: the SDK's own lines with stacks are gone
        Assert.DoesNotContain(logs.Entries, e => e.GetProperty("category").GetString()!.StartsWith("ModelContextProtocol", StringComparison.Ordinal) && e.GetProperty("level").GetString() is "warn" or "error" or "critical");

        var calls = spans.All.Where(s => s.Source.Name == Core.Telemetry.BrunoTelemetry.Name && s.DisplayName.StartsWith("tools/call ", StringComparison.Ordinal) && (string?)s.GetTagItem("tenant_id") == tenant).ToList();
        Assert.Equal(5, calls.Count);
        Assert.All(calls, s =>
        {
            Assert.Equal("tools/call", s.GetTagItem("mcp.method.name"));
            Assert.Equal(s.DisplayName["tools/call ".Length..], s.GetTagItem("gen_ai.tool.name"));
        });
        Assert.Single(calls, s => s.Status == ActivityStatusCode.Unset);
        Assert.Equal(["System.InvalidOperationException", "invalid_params", "rate_limited", "scope_missing"], calls.Where(s => s.Status == ActivityStatusCode.Error).Select(s => (string?)s.GetTagItem("error.type")).Order(StringComparer.Ordinal));
    }

    /// <summary>An embedder that fails like a bug would when the text asks it to.</summary>
    private sealed class FailingEmbedder(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        public override Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default) =>
            values.Any(v => v.Contains("FAILNOW", StringComparison.Ordinal))
                ? throw new InvalidOperationException("embedder exploded at /srv/secret/path")
                : base.GenerateAsync(values, options, cancellationToken);
    }
}
