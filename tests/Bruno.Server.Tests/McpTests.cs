using Bruno.Core.Identity;
using Bruno.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Bruno.Server.Tests;

/// <summary>The MCP endpoint through the real MCP client: the same credentials, tenancy and services as the HTTP API.</summary>
public sealed class McpTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private async Task<McpClient> ConnectAsync(string credential) =>
        await Server.McpAsync(credential, Http.Ct);

    private const string McpRetryAfter = "retry_after_seconds";

    private static string Text(CallToolResult result) => string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text));

    [Fact]
    public async Task TheKnowledgeTools_AnswerFromTheCallersTenantOnly()
    {
        var a = ServerFixture.NewTenant("mcp-a");
        var b = ServerFixture.NewTenant("mcp-b");
        using var aUser = await Server.TenantClientAsync(a);
        using var bUser = await Server.TenantClientAsync(b);
        (await aUser.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "canal", content = "# Canal\nThe canal locks open at seven. MCPCANARY" }), Http.Ct)).EnsureSuccessStatusCode();
        (await bUser.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "river", content = "# River\nThe river ferry runs hourly." }), Http.Ct)).EnsureSuccessStatusCode();

        await using var client = await ConnectAsync(Server.UserToken(a, "alice", Scopes.Query));
        var tools = await client.ListToolsAsync(cancellationToken: Http.Ct);
        Assert.Superset(new HashSet<string> { "search_knowledge", "ask_agent", "list_documents" }, tools.Select(t => t.Name).ToHashSet());
        // issue 20: a title a client can show, and the shape of what each tool returns
        Assert.All(tools, t => Assert.False(string.IsNullOrWhiteSpace(t.Title), $"{t.Name}: no title"));
        Assert.All(tools, t => Assert.NotNull(t.ProtocolTool.OutputSchema));

        // an argument naming tenant B is refused as an unknown argument (issue 20: never ignored), and B is never reached
        var named = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "when does the river ferry run", ["tenant_id"] = b }, cancellationToken: Http.Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, named.ErrorCode);
        Assert.Contains("'tenant_id'", named.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("river", named.Message.Replace("'tenant_id'", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        var search = await client.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "when do the canal locks open" }, cancellationToken: Http.Ct);
        Assert.NotEqual(true, search.IsError);
        Assert.Contains("canal", Text(search), StringComparison.Ordinal);
        Assert.DoesNotContain("river", Text(search), StringComparison.Ordinal);

        var answer = await client.CallToolAsync("ask_agent", new Dictionary<string, object?> { ["question"] = "When do the canal locks open?" }, cancellationToken: Http.Ct);
        Assert.Contains("seven", Text(answer), StringComparison.Ordinal);
        Assert.Contains("seven", answer.StructuredContent?.ToString(), StringComparison.Ordinal); // the answer as structured content too
        var list = await client.CallToolAsync("list_documents", new Dictionary<string, object?>(), cancellationToken: Http.Ct);
        Assert.Contains("canal", Text(list), StringComparison.Ordinal);

        // tenant B's user, through every tool, never sees A's canary
        await using var other = await ConnectAsync(Server.UserToken(b, "bob", Scopes.Query));
        foreach (var (tool, args) in new (string, Dictionary<string, object?>)[]
        {
            ("search_knowledge", new() { ["query"] = "canal locks MCPCANARY" }),
            ("ask_agent", new() { ["question"] = "When do the canal locks open? MCPCANARY" }),
            ("list_documents", new()),
        })
        {
            var r = await other.CallToolAsync(tool, args, cancellationToken: Http.Ct);
            Assert.NotEqual(true, r.IsError);
            Assert.DoesNotContain("MCPCANARY", Text(r), StringComparison.Ordinal); // no tool output echoes the question
            Assert.DoesNotContain("open at seven", Text(r), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CredentialsScopesAndHostileArguments_AreRefusedCleanly()
    {
        var tenant = ServerFixture.NewTenant("mcp-bad");
        await Server.CreateTenantsAsync(tenant);

        // no credential, or a forged one: the HTTP layer refuses before MCP starts
        await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync("not.a.token"));

        // a credential without the scope: a tool error, not a server failure
        await using var writer = await ConnectAsync(Server.UserToken(tenant, "w", Scopes.Ingest));
        var denied = await writer.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "x" }, cancellationToken: Http.Ct);
        Assert.True(denied.IsError);
        Assert.Contains("'query' scope", Text(denied), StringComparison.Ordinal);

        await using var client = await ConnectAsync(Server.UserToken(tenant, "alice", Scopes.Query));
        // a 1 MB argument is refused by the HTTP layer's body limit (413), before any tool runs
        var huge = await Assert.ThrowsAsync<HttpRequestException>(() => client.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = new string('x', 1_000_000) }, cancellationToken: Http.Ct).AsTask());
        // Kestrel answers 413 and closes the connection: a client still sending the body may meet the close first
        Assert.True(huge.Message.Contains("413", StringComparison.Ordinal) || huge.InnerException is IOException, huge.ToString());

        var hostile = new Dictionary<string, object?>[]
        {
            new() { ["query"] = new string('x', 10_000) },
            new() { ["query"] = "" },
            new() { ["query"] = "   " },
            new() { ["query"] = "../../etc/passwd", ["topK"] = 5 },
        };
        foreach (var args in hostile)
        {
            // each one a JSON-RPC -32602 with a reason of Bruno's, never a stack, a type or a path
            var r = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("search_knowledge", args, cancellationToken: Http.Ct).AsTask());
            Assert.Equal(McpErrorCode.InvalidParams, r.ErrorCode);
            Http.AssertNoInternals(r.Message);
        }

        var injection = await client.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "x' OR tenant_id != '' --" }, cancellationToken: Http.Ct);
        Assert.NotEqual(true, injection.IsError); // just words to look for
        var badPage = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("list_documents", new Dictionary<string, object?> { ["after"] = "../../x" }, cancellationToken: Http.Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, badPage.ErrorCode);
        Http.AssertNoInternals(badPage.Message);

        var unknown = await Assert.ThrowsAsync<McpProtocolException>(() => client.CallToolAsync("drop_tables", new Dictionary<string, object?>(), cancellationToken: Http.Ct).AsTask());
        Http.AssertNoInternals(unknown.Message);
    }

    [Fact]
    public async Task TheMemoryTools_KeepTheSameUserNameApartAcrossTenants()
    {
        var a = ServerFixture.NewTenant("mcp-ma");
        var b = ServerFixture.NewTenant("mcp-mb");
        await Server.CreateTenantsAsync(a, b);

        await using var inA = await ConnectAsync(Server.UserToken(a, "sam", Scopes.Memory));
        await using var inB = await ConnectAsync(Server.UserToken(b, "sam", Scopes.Memory));
        var stored = await inA.CallToolAsync("remember", new Dictionary<string, object?> { ["text"] = "My bike lock code is 9182 MCPMEMCANARY." }, cancellationToken: Http.Ct);
        Assert.NotEqual(true, stored.IsError);
        var id = System.Text.Json.JsonDocument.Parse(Text(stored)).RootElement.GetProperty("id").GetString();

        var named = await Assert.ThrowsAsync<McpProtocolException>(() => inB.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "bike lock code MCPMEMCANARY", ["tenant_id"] = a }, cancellationToken: Http.Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, named.ErrorCode);
        Assert.DoesNotContain("9182", named.Message, StringComparison.Ordinal);
        var recalled = await inB.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "bike lock code MCPMEMCANARY" }, cancellationToken: Http.Ct);
        Assert.DoesNotContain("9182", Text(recalled), StringComparison.Ordinal);
        Assert.True((await inB.CallToolAsync("forget", new Dictionary<string, object?> { ["id"] = id }, cancellationToken: Http.Ct)).IsError);
        Assert.Contains("9182", Text(await inA.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "bike lock code" }, cancellationToken: Http.Ct)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachToolHasARateLimitPerClient_RefusedWithAJsonRpcErrorSayingWhenToRetry()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:Mcp:SearchPerMinute"] = "3", ["Bruno:Mcp:GenerationPerMinute"] = "1" });
        var tenant = ServerFixture.NewTenant("mcp-rl");
        await server.CreateTenantsAsync(tenant);

        async Task<McpClient> As(string user) => await server.McpAsync(server.UserToken(tenant, user, Scopes.Query, Scopes.Memory), Http.Ct);

        await using var greedy = await As("greedy");
        var search = new Dictionary<string, object?> { ["query"] = "opening hours" };
        for (var i = 0; i < 3; i++)
        {
            Assert.NotEqual(true, (await greedy.CallToolAsync("search_knowledge", search, cancellationToken: Http.Ct)).IsError);
        }

        var refused = await Assert.ThrowsAsync<McpProtocolException>(() => greedy.CallToolAsync("search_knowledge", search, cancellationToken: Http.Ct).AsTask());
        Assert.Equal(-32029, (int)refused.ErrorCode);
        Assert.Matches(@"3 calls a minute per client\. Retry after \d+ s\.", refused.Message);
        // issue 20: the seconds in the error's data too, for a client to act on without reading the message
        var seconds = Convert.ToInt32(refused.Data[McpRetryAfter], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(seconds, 1, 60);
        Assert.Contains($"Retry after {seconds} s.", refused.Message, StringComparison.Ordinal);

        // generation has its own, smaller budget; another tool and another client are unaffected
        Assert.NotEqual(true, (await greedy.CallToolAsync("ask_agent", new Dictionary<string, object?> { ["question"] = "When are you open?" }, cancellationToken: Http.Ct)).IsError);
        var generation = await Assert.ThrowsAsync<McpProtocolException>(() => greedy.CallToolAsync("ask_agent", new Dictionary<string, object?> { ["question"] = "And on Sunday?" }, cancellationToken: Http.Ct).AsTask());
        Assert.Contains("ask_agent allows 1 calls a minute", generation.Message, StringComparison.Ordinal);
        Assert.True(generation.Data.Contains(McpRetryAfter));
        Assert.NotEqual(true, (await greedy.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "hours" }, cancellationToken: Http.Ct)).IsError);
        await using var polite = await As("polite");
        Assert.NotEqual(true, (await polite.CallToolAsync("search_knowledge", search, cancellationToken: Http.Ct)).IsError);
    }

    [Fact]
    public async Task AnUnauthenticatedClient_IsToldWhereTheProtectedResourceMetadataIs()
    {
        // issue 20: the MCP authorization spec (RFC 9728) — a 401 names the metadata, which names the resource
        using var anonymous = Server.Client();
        using var refused = await anonymous.PostAsync("/mcp", RunningServer.Json(new { jsonrpc = "2.0", id = 1, method = "tools/list" }), Http.Ct);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
        var challenge = Assert.Single(refused.Headers.WwwAuthenticate);
        var expected = $"{Server.Address.ToString().TrimEnd('/')}/.well-known/oauth-protected-resource";
        Assert.Equal(("Bearer", $"resource_metadata=\"{expected}\""), (challenge.Scheme, challenge.Parameter));

        var metadata = await Http.JsonAsync(await anonymous.GetAsync(expected, Http.Ct));
        Assert.Equal(Server.Address.ToString().TrimEnd('/') + "/mcp", metadata.GetProperty("resource").GetString());
        Assert.Equal(["header"], metadata.GetProperty("bearer_methods_supported").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("query", metadata.GetProperty("scopes_supported").EnumerateArray().Select(e => e.GetString()));
    }
}
