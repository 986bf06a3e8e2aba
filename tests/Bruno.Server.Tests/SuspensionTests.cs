using System.Net;
using System.Net.Http.Headers;
using Bruno.Core.Identity;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>A suspension reaches requests already in flight: an answer being streamed and an MCP call in progress.</summary>
public sealed class SuspensionTests(FakeModelFixture fixture) : IClassFixture<FakeModelFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task SuspendingATenant_CutsItsOpenStreamAndMcpCall()
    {
        var tenant = ServerFixture.NewTenant("cut");
        using var user = await Server.TenantClientAsync(tenant);
        (await user.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "d", content = "# Pool\nThe pool opens at six." }), Http.Ct)).EnsureSuccessStatusCode();
        using var platform = Server.Client(Server.PlatformToken());
        var gate = new TaskCompletionSource();
        fixture.Model.Gate = gate.Task;
        try
        {
            // an answer streaming: its first piece arrives, then the model waits
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/query") { Content = RunningServer.Json(new { query = "When does the pool open?" }) };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            using var response = await user.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Http.Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await fixture.Model.Waiting.Task.WaitAsync(TimeSpan.FromSeconds(30), Http.Ct);

            (await platform.PostAsync($"/admin/v1/tenants/{tenant}/suspend", null, Http.Ct)).EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsStringAsync(Http.Ct).WaitAsync(TimeSpan.FromSeconds(5), Http.Ct); // ends, though the model never resumed
            Assert.Contains("event: delta", body, StringComparison.Ordinal);
            Assert.Contains("event: error", body, StringComparison.Ordinal);
            Assert.Contains("\"status\":403", body, StringComparison.Ordinal);
            Assert.Matches("\"trace_id\":\"[0-9a-f]{32}\"", body); // issue 20: the error event names its trace, as problems do
            Assert.DoesNotContain("event: done", body, StringComparison.Ordinal);

            // an MCP call in progress when the tenant is suspended loses its connection
            (await platform.PostAsync($"/admin/v1/tenants/{tenant}/resume", null, Http.Ct)).EnsureSuccessStatusCode();
            await using var mcp = await Server.McpAsync(Server.UserToken(tenant, "alice", Scopes.Query), Http.Ct);
            fixture.Model.Reset();
            var call = mcp.CallToolAsync("ask_agent", new Dictionary<string, object?> { ["question"] = "When does the pool open?" }, cancellationToken: Http.Ct).AsTask();
            await fixture.Model.Waiting.Task.WaitAsync(TimeSpan.FromSeconds(30), Http.Ct);
            (await platform.PostAsync($"/admin/v1/tenants/{tenant}/suspend", null, Http.Ct)).EnsureSuccessStatusCode();
            await Assert.ThrowsAnyAsync<Exception>(() => call.WaitAsync(TimeSpan.FromSeconds(5), Http.Ct));

            // and new requests are refused
            await Http.AssertProblemAsync(await user.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
        }
        finally
        {
            fixture.Model.Gate = null;
            gate.TrySetResult();
        }
    }
}
