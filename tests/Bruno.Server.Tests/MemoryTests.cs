using System.Net;
using Bruno.Core.Identity;
using Bruno.Testing;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Bruno.Server.Tests;

/// <summary>Memory belongs to one user: through the HTTP API, the MCP tools and the prompt, nobody else reaches it.</summary>
public sealed class MemoryTests(FakeModelFixture fixture) : IClassFixture<FakeModelFixture>
{
    private RunningServer Server => fixture.Server;

    private HttpClient User(string tenant, string user) => Server.Client(Server.UserToken(tenant, user, Scopes.Query, Scopes.Ingest, Scopes.Memory));

    [Fact]
    public async Task OneUsersMemory_NeverReachesAnotherUserOfTheSameTenant()
    {
        var tenant = ServerFixture.NewTenant("mem");
        using (await Server.TenantClientAsync(tenant))
        {
        }

        using var alice = User(tenant, "alice");
        using var bob = User(tenant, "bob");
        (await alice.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "gym", content = "The gym lockers use four-digit codes." }), Http.Ct)).EnsureSuccessStatusCode();
        (await alice.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "My locker code is 4471 MEMCANARY." }), Http.Ct)).EnsureSuccessStatusCode();
        var asked = await Http.JsonAsync(await alice.PostAsync("/api/v1/query", RunningServer.Json(new { query = "How do gym lockers work?", session_id = "a1" }), Http.Ct));
        Assert.StartsWith("turn:", asked.GetProperty("turn_id").GetString(), StringComparison.Ordinal);

        // Alice's export holds her note and her turn
        var export = await Http.JsonAsync(await alice.GetAsync("/api/v1/me/memory", Http.Ct));
        Assert.Contains("MEMCANARY", export.GetProperty("facts").ToString(), StringComparison.Ordinal);
        Assert.Single(export.GetProperty("turns").EnumerateArray());

        // Bob's export, his prompt and his MCP recall hold nothing of hers
        var bobsExport = await Http.JsonAsync(await bob.GetAsync("/api/v1/me/memory", Http.Ct));
        Assert.DoesNotContain("MEMCANARY", bobsExport.ToString(), StringComparison.Ordinal);
        Assert.Empty(bobsExport.GetProperty("turns").EnumerateArray());
        var before = fixture.Model.Prompts.Count;
        (await bob.PostAsync("/api/v1/query", RunningServer.Json(new { query = "What is my locker code? MEMCANARY" }), Http.Ct)).EnsureSuccessStatusCode();
        Assert.All(fixture.Model.PromptTexts.Skip(before), p => Assert.DoesNotContain("4471", p, StringComparison.Ordinal));

        await using var mcp = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(Server.Address, "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + Server.UserToken(tenant, "bob", Scopes.Memory) },
        }), cancellationToken: Http.Ct);
        var recall = await mcp.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "locker code MEMCANARY", ["user"] = "alice" }, cancellationToken: Http.Ct);
        Assert.DoesNotContain("4471", string.Join(" ", recall.Content.OfType<TextContentBlock>().Select(t => t.Text)), StringComparison.Ordinal);
        var aliceNote = export.GetProperty("facts")[0].GetProperty("id").GetString()!;
        Assert.True((await mcp.CallToolAsync("forget", new Dictionary<string, object?> { ["id"] = aliceNote }, cancellationToken: Http.Ct)).IsError);
        await Http.AssertProblemAsync(await bob.DeleteAsync($"/api/v1/me/memory/{Uri.EscapeDataString(aliceNote)}", Http.Ct), HttpStatusCode.NotFound);

        // ...and her prompt does use her own memory
        before = fixture.Model.Prompts.Count;
        (await alice.PostAsync("/api/v1/query", RunningServer.Json(new { query = "What is my locker code?", session_id = "a1" }), Http.Ct)).EnsureSuccessStatusCode();
        var prompt = fixture.Model.PromptTexts.Skip(before).Single();
        Assert.Contains("<memory>", prompt, StringComparison.Ordinal);
        Assert.Contains("4471", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Erasure_RemovesEverything_AndTenantAdminsReachOnlyTheirOwnUsers()
    {
        var tenant = ServerFixture.NewTenant("erase");
        var other = ServerFixture.NewTenant("erase-o");
        using (await Server.TenantClientAsync(tenant))
        using (await Server.TenantClientAsync(other))
        {
        }

        using var carol = User(tenant, "carol");
        (await carol.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "Carol prefers short answers." }), Http.Ct)).EnsureSuccessStatusCode();
        using var admin = Server.Client(Server.UserToken(tenant, "boss", Scopes.Admin));
        Assert.Contains("short answers", (await Http.JsonAsync(await admin.GetAsync("/api/v1/users/carol/memory", Http.Ct))).ToString(), StringComparison.Ordinal);

        // another tenant's admin asking for "carol" gets that tenant's carol (nobody), never this one
        using var otherAdmin = Server.Client(Server.UserToken(other, "boss", Scopes.Admin));
        Assert.DoesNotContain("short answers", (await Http.JsonAsync(await otherAdmin.GetAsync("/api/v1/users/carol/memory", Http.Ct))).ToString(), StringComparison.Ordinal);
        await Http.AssertProblemAsync(await carol.GetAsync("/api/v1/users/carol/memory", Http.Ct), HttpStatusCode.Forbidden); // not an admin

        var receipt = await Http.JsonAsync(await carol.DeleteAsync("/api/v1/me/memory", Http.Ct));
        Assert.Equal(1, receipt.GetProperty("rows_deleted").GetInt64());
        Assert.Contains("key was destroyed", receipt.GetProperty("method").GetString(), StringComparison.Ordinal);
        var export = await Http.JsonAsync(await carol.GetAsync("/api/v1/me/memory", Http.Ct));
        Assert.Empty(export.GetProperty("facts").EnumerateArray());
    }
}
