using System.Net;
using Bruno.Core.Identity;
using Bruno.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;

namespace Bruno.Server.Tests;

/// <summary>
/// Metering through the real pipeline with a fake chat model: requests and tokens are counted per tenant, the LLM-token
/// level refuses past the hour's tokens (HTTP and MCP), the users quota refuses a new user, and usage and cost are read
/// as JSON, CSV, by the tenant's admin and as the <c>tenant_cost_dollars</c> gauge.
/// </summary>
public sealed class UsageApiTests
{
    [Fact]
    public async Task RequestsAndTokens_AreMetered_LimitedAndReported()
    {
        var model = new FakeChatClient(); // 120 prompt and 9 completion tokens an answer
        await using var server = await RunningServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["Bruno:Chat:Provider"] = "openai",
                ["Bruno:Chat:Endpoint"] = "http://127.0.0.1:9",
                ["Bruno:Chat:Model"] = "fake-model",
                ["Bruno:Plans:metered:RequestsPerMinute"] = "100",
                ["Bruno:Plans:metered:RequestsPerHour"] = "1000",
                ["Bruno:Plans:metered:RequestsPerDay"] = "1000",
                ["Bruno:Plans:metered:Concurrent"] = "10",
                ["Bruno:Plans:metered:ClientRequestsPerMinute"] = "50",
                ["Bruno:Plans:metered:LlmTokensPerHour"] = "300",
                ["Bruno:Plans:metered:MaxUsers"] = "2",
                ["Bruno:Cost:LlmPromptPer1k"] = "1",
                ["Bruno:Cost:LlmCompletionPer1k"] = "2",
            },
            services => services.AddSingleton<IChatClient>(model));
        using var platform = server.Client(server.PlatformToken());
        var (tenant, other) = (ServerFixture.NewTenant("meter"), ServerFixture.NewTenant("quiet"));
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant, plan = "metered", isolation = "kamaji" }), Http.Ct)).EnsureSuccessStatusCode();
        await server.CreateTenantsAsync(other);

        using var alice = server.Client(server.UserToken(tenant, "alice", Scopes.Query, Scopes.Ingest));
        (await alice.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "hours", content = "The pool opens at seven and closes at nine." }), Http.Ct)).EnsureSuccessStatusCode();
        for (var i = 0; i < 3; i++)
        {
            (await alice.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the pool open?" }), Http.Ct)).EnsureSuccessStatusCode();
        }

        // 387 tokens used: the LLM-token level refuses until the hour ends
        var refused = await alice.PostAsync("/api/v1/query", RunningServer.Json(new { query = "And when does it close?" }), Http.Ct);
        var problem = await Http.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("llm_tokens", problem.GetProperty("level").GetString());
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("300", refused.Headers.GetValues("X-RateLimit-Limit").Single());
        await using (var mcp = await server.McpAsync(server.UserToken(tenant, "alice", Scopes.Query), Http.Ct))
        {
            var rpc = await Assert.ThrowsAsync<McpProtocolException>(() => mcp.CallToolAsync("ask_agent", new Dictionary<string, object?> { ["question"] = "When?" }, cancellationToken: Http.Ct).AsTask());
            Assert.Equal(-32029, (int)rpc.ErrorCode);
        }

        // users: alice and bob fit the plan's two; carol does not; another tenant's users are its own
        using var bob = server.Client(server.UserToken(tenant, "bob", Scopes.Query));
        (await bob.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        using var carol = server.Client(server.UserToken(tenant, "carol", Scopes.Query));
        var full = await Http.AssertProblemAsync(await carol.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
        Assert.Equal(("Quota exceeded", "users"), (full.GetProperty("title").GetString(), full.GetProperty("quota").GetString()));
        using var stranger = server.Client(server.UserToken(other, "carol", Scopes.Query));
        (await stranger.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();

        var month = DateTimeOffset.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var report = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/usage?month={month}", Http.Ct));
        var usage = report.GetProperty("usage");
        Assert.Equal(7, usage.GetProperty("requests").GetInt64()); // upload, 4 questions, the MCP call, bob; not carol
        Assert.Equal((360, 27), (usage.GetProperty("llm_prompt_tokens").GetInt64(), usage.GetProperty("llm_completion_tokens").GetInt64()));
        Assert.True(usage.GetProperty("embedding_tokens").GetInt64() > 10); // the document and four questions
        Assert.True(usage.GetProperty("storage_byte_hours").GetInt64() > 0);  // sampled when the server started its hour
        Assert.Equal(("metered", "kamaji"), (report.GetProperty("plan").GetString(), report.GetProperty("isolation").GetString()));
        var cost = report.GetProperty("cost");
        Assert.Equal(0.36 + 0.054, cost.GetProperty("llm").GetDouble(), 6);
        Assert.True(cost.GetProperty("total").GetDouble() >= cost.GetProperty("llm").GetDouble());
        Assert.True(usage.GetProperty("cpu_milliseconds").GetInt64() > 0); // the process's CPU, shared by request time
        Assert.True(cost.GetProperty("projected_month").GetDouble() is > 32 and < 40);
        Assert.Equal(1, (await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{other}/usage", Http.Ct))).GetProperty("usage").GetProperty("requests").GetInt64());

        // CSV, and the tenant admin's own view
        var csv = await platform.GetAsync($"/admin/v1/tenants/{tenant}/usage?month={month}&format=csv", Http.Ct);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync(Http.Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("hour,requests,llm_prompt_tokens,llm_completion_tokens,embedding_tokens,storage_byte_hours,cpu_ms", lines[0]);
        Assert.StartsWith("total,7,360,27,", lines[^2], StringComparison.Ordinal);
        Assert.StartsWith("cost_usd,", lines[^1], StringComparison.Ordinal);
        using var admin = server.Client(server.UserToken(tenant, "alice", Scopes.Admin));
        var own = await Http.JsonAsync(await admin.GetAsync($"/api/v1/usage?month={month}", Http.Ct));
        Assert.Equal(tenant, own.GetProperty("tenant").GetString());
        await Http.AssertProblemAsync(await alice.GetAsync("/api/v1/usage", Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/usage?month=2026-13", Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await platform.GetAsync("/admin/v1/tenants/nobody/usage", Http.Ct), HttpStatusCode.NotFound);

        // the gauge, for the platform's scraper only
        var metrics = await (await platform.GetAsync("/metrics", Http.Ct)).Content.ReadAsStringAsync(Http.Ct);
        var gauge = metrics.Split('\n').Single(l => l.StartsWith($"tenant_cost_dollars{{otel_scope_name=\"Bruno.Tenants\",tenant_id=\"{tenant}\"}} ", StringComparison.Ordinal));
        Assert.InRange(double.Parse(gauge.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture), 0.414, 0.42); // tokens, and seconds of reserved capacity
        Assert.Contains($"tenant_cost_dollars{{otel_scope_name=\"Bruno.Tenants\",tenant_id=\"{other}\"}} 0", metrics, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Client().GetAsync("/metrics", Http.Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await admin.GetAsync("/metrics", Http.Ct)).StatusCode);
    }
}
