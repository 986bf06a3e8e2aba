using System.Net;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>The knowledge API end to end: upload, list, ask with citations, replace, delete.</summary>
public sealed class KnowledgeApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task UploadAskReplaceDelete_ThroughTheApi()
    {
        using var client = await Server.TenantClientAsync(ServerFixture.NewTenant("kb"));
        var put = await Http.JsonAsync(await client.PostAsync("/api/v1/documents", RunningServer.Json(new
        {
            id = "handbook",
            title = "Handbook",
            content_type = "text/markdown",
            content = "# Leave\nEmployees receive 25 days of paid leave per year.\n# Travel\nTrain travel is booked in second class.",
            metadata = new Dictionary<string, string> { ["team"] = "hr" },
        }), Http.Ct));
        Assert.Equal(2, put.GetProperty("chunks").GetInt32());

        var answer = await Http.JsonAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "How many days of paid leave do employees get?", session_id = "s1" }), Http.Ct));
        Assert.Contains("25 days", answer.GetProperty("answer").GetString(), StringComparison.Ordinal);
        Assert.Equal("extractive", answer.GetProperty("model").GetString());
        Assert.Equal("s1", answer.GetProperty("session_id").GetString());
        var first = answer.GetProperty("sources")[0];
        Assert.Equal(("handbook", "Leave", 1), (first.GetProperty("document_id").GetString(), first.GetProperty("section").GetString(), first.GetProperty("n").GetInt32()));
        Assert.False(string.IsNullOrEmpty(answer.GetProperty("trace_id").GetString()));

        (await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "handbook", content = "Leave is now 30 days." }), Http.Ct)).EnsureSuccessStatusCode();
        var doc = await Http.JsonAsync(await client.GetAsync("/api/v1/documents/handbook", Http.Ct));
        Assert.Equal(1, doc.GetProperty("chunks").GetInt32());

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/api/v1/documents/handbook", Http.Ct)).StatusCode);
        var after = await Http.JsonAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "paid leave" }), Http.Ct));
        Assert.Empty(after.GetProperty("sources").EnumerateArray());
    }

    [Fact]
    public async Task HealthEndpoints_AnswerWithoutCredentials()
    {
        using var anonymous = Server.Client();
        (await anonymous.GetAsync("/healthz", Http.Ct)).EnsureSuccessStatusCode();
        (await anonymous.GetAsync("/readyz", Http.Ct)).EnsureSuccessStatusCode();
    }
}
