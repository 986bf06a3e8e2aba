using System.Net;
using System.Text;
using Bruno.Server.Hosting;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>Every bad input gets its status code and a problem document, and leaves nothing behind.</summary>
public sealed class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] RootScope = ["root"];

    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task BadDocuments_GetTheirStatusCodes_AndNothingIsStored()
    {
        using var client = await Server.TenantClientAsync(ServerFixture.NewTenant("bad-docs"));
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", new StringContent("{not json", Encoding.UTF8, "application/json"), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "../../etc/passwd", content = "x" }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "bin", content_type = "application/octet-stream", content = "MZ" }), Http.Ct), HttpStatusCode.UnsupportedMediaType);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "big", content = new string('a', ServerFixture.MaxDocumentBytes + 1) }), Http.Ct), HttpStatusCode.RequestEntityTooLarge);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", new StringContent(new string('x', (3 * ServerFixture.MaxDocumentBytes) + 70_000), Encoding.UTF8, "application/json"), Http.Ct), HttpStatusCode.RequestEntityTooLarge);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "meta", content = "x", metadata = new Dictionary<string, string> { ["document_id"] = "spoof" } }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", new StringContent("id=x", Encoding.UTF8, "application/x-www-form-urlencoded"), Http.Ct), HttpStatusCode.UnsupportedMediaType);

        var list = await Http.JsonAsync(await client.GetAsync("/api/v1/documents", Http.Ct));
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task BadQuestionsAndUnknownThings_GetTheirStatusCodes()
    {
        using var client = await Server.TenantClientAsync(ServerFixture.NewTenant("bad-query"));
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "" }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = new string('q', 5_000) }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await client.GetAsync("/api/v1/documents/missing", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await client.GetAsync("/api/v1/no-such-endpoint", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await client.PutAsync("/api/v1/query", RunningServer.Json(new { query = "q" }), Http.Ct), HttpStatusCode.MethodNotAllowed);

        using var admin = Server.Client(Server.PlatformToken());
        await Http.AssertProblemAsync(await admin.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = "../escape" }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await admin.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = "UPPER" }), Http.Ct), HttpStatusCode.BadRequest);
        var tenant = ServerFixture.NewTenant("dup");
        (await admin.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant }), Http.Ct)).EnsureSuccessStatusCode();
        await Http.AssertProblemAsync(await admin.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant }), Http.Ct), HttpStatusCode.Conflict);
        await Http.AssertProblemAsync(await admin.GetAsync("/admin/v1/tenants/nobody-here", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await admin.PostAsync($"/admin/v1/tenants/{tenant}/tokens", RunningServer.Json(new { user = "alice", scopes = RootScope }), Http.Ct), HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("Bruno:TokenLifetimeMinutes", "abc")]
    [InlineData("Bruno:TokenLifetimeMinutes", "0")]
    [InlineData("Bruno:Retrieval:RrfK", "-1")]
    [InlineData("Bruno:MasterKey", "not-base64")]
    [InlineData("Bruno:CorsOrigins:0", "*")]
    [InlineData("Bruno:Chat:Provider", "skynet")]
    [InlineData("Bruno:Embeddings:Provider", "ollama")]
    [InlineData("Bruno:Auth:Authority", "http://idp.example")]
    public void ABadSetting_StopsStartUp_WithAMessageNamingIt(string key, string value)
    {
        var e = Assert.Throws<ConfigurationException>(() => BrunoServer.Build([], b => b.Configuration[key] = value));
        Assert.Contains(key.Split(':')[..2].Aggregate((a, b) => a + ":" + b), e.Message, StringComparison.Ordinal);
    }
}
