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

/// <summary>Retrieval numbers per tenant.</summary>
public sealed class TenantSettingsTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task ATenantsOwnRetrievalNumbers_ApplyToItsAnswersOnly()
    {
        var a = ServerFixture.NewTenant("set-a");
        var b = ServerFixture.NewTenant("set-b");
        using var aUser = await fixture.Server.TenantClientAsync(a);
        using var bUser = await fixture.Server.TenantClientAsync(b);
        foreach (var client in new[] { aUser, bUser })
        {
            for (var i = 0; i < 6; i++)
            {
                (await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = $"d{i}", content = $"Topic {i}: lighthouses guide ships along the coast number {i}." }), Http.Ct)).EnsureSuccessStatusCode();
            }
        }

        using var aAdmin = fixture.Server.Client(fixture.Server.UserToken(a, "owner", Bruno.Core.Identity.Scopes.Admin, Bruno.Core.Identity.Scopes.Query));
        var set = await Http.JsonAsync(await aAdmin.PutAsync("/api/v1/settings/retrieval", RunningServer.Json(new { final_count = 2, rrf_k = 40 }), Http.Ct));
        Assert.Equal((2, 40, 40), (set.GetProperty("final_count").GetInt32(), set.GetProperty("rrf_k").GetInt32(), set.GetProperty("candidates_per_list").GetInt32()));

        var answerA = await Http.JsonAsync(await aUser.PostAsync("/api/v1/query", RunningServer.Json(new { query = "lighthouses guide ships" }), Http.Ct));
        var answerB = await Http.JsonAsync(await bUser.PostAsync("/api/v1/query", RunningServer.Json(new { query = "lighthouses guide ships" }), Http.Ct));
        Assert.Equal(2, answerA.GetProperty("sources").GetArrayLength());
        Assert.Equal(5, answerB.GetProperty("sources").GetArrayLength());

        await Http.AssertProblemAsync(await aAdmin.PutAsync("/api/v1/settings/retrieval", RunningServer.Json(new { final_count = 50 }), Http.Ct), System.Net.HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await aUser.PutAsync("/api/v1/settings/retrieval", RunningServer.Json(new { final_count = 1 }), Http.Ct), System.Net.HttpStatusCode.Forbidden);
        using var op = fixture.Server.Client(fixture.Server.PlatformToken());
        var seen = await Http.JsonAsync(await op.GetAsync($"/admin/v1/tenants/{a}/settings/retrieval", Http.Ct));
        Assert.Equal(2, seen.GetProperty("final_count").GetInt32());
    }
}
