using System.Net;
using Bruno.Core.Identity;
using Bruno.Core.Memory;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol;
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
        await Server.CreateTenantsAsync(tenant);

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

        await using var mcp = await Server.McpAsync(Server.UserToken(tenant, "bob", Scopes.Memory), Http.Ct);
        // an argument naming another user is refused (issue 20: -32602, never ignored), and alice is never reached
        var named = await Assert.ThrowsAsync<McpProtocolException>(() => mcp.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "locker code MEMCANARY", ["user"] = "alice" }, cancellationToken: Http.Ct).AsTask());
        Assert.Equal(McpErrorCode.InvalidParams, named.ErrorCode);
        Assert.DoesNotContain("4471", named.Message, StringComparison.Ordinal);
        var recall = await mcp.CallToolAsync("recall", new Dictionary<string, object?> { ["query"] = "locker code MEMCANARY" }, cancellationToken: Http.Ct);
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
        await Server.CreateTenantsAsync(tenant, other);

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

    [Fact]
    public async Task Feedback_PreferencesAndPromotion_StayWithTheirUser_UntilAnAdminSharesAFact()
    {
        var tenant = ServerFixture.NewTenant("fb");
        var other = ServerFixture.NewTenant("fb-o");
        await Server.CreateTenantsAsync(tenant, other);

        using var dana = User(tenant, "dana");
        using var eve = User(tenant, "eve");
        (await dana.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "leave", content = "# Leave\nAnnual leave is booked in the HR portal." }), Http.Ct)).EnsureSuccessStatusCode();

        // A stated preference shapes Dana's next prompt, never Eve's.
        var first = await Http.JsonAsync(await dana.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Please keep answers short. How do I book leave?" }), Http.Ct));
        var before = fixture.Model.Prompts.Count;
        var second = await Http.JsonAsync(await dana.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Where is annual leave booked?" }), Http.Ct));
        var prompt = fixture.Model.PromptTexts.Skip(before).Single();
        Assert.Contains("<preference kind=\"style\" strength=\"0.50\">concise</preference>", prompt, StringComparison.Ordinal);
        before = fixture.Model.Prompts.Count;
        (await eve.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Where is annual leave booked?" }), Http.Ct)).EnsureSuccessStatusCode();
        Assert.DoesNotContain("<preference kind", fixture.Model.PromptTexts.Skip(before).Single(), StringComparison.Ordinal);

        // Rating up the answer that used the preference reinforces it (x1.1); only the asker can rate it.
        var turn = second.GetProperty("turn_id").GetString();
        await Http.AssertProblemAsync(await eve.PostAsync("/api/v1/feedback", RunningServer.Json(new { turn_id = turn, rating = "down" }), Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await dana.PostAsync("/api/v1/feedback", RunningServer.Json(new { turn_id = turn, rating = "great" }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await dana.PostAsync("/api/v1/feedback", RunningServer.Json(new { turn_id = "../etc/passwd", rating = "up" }), Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await dana.PostAsync("/api/v1/feedback", RunningServer.Json(new { turn_id = "turn:\u0000" + new string('x', 300), rating = "up" }), Http.Ct), HttpStatusCode.BadRequest);
        Assert.Equal(HttpStatusCode.NoContent, (await dana.PostAsync("/api/v1/feedback", RunningServer.Json(new { turn_id = turn, rating = "up", comment = "just right" }), Http.Ct)).StatusCode);
        var export = await Http.JsonAsync(await dana.GetAsync("/api/v1/me/memory", Http.Ct));
        var rated = export.GetProperty("turns").EnumerateArray().Single(t => t.GetProperty("id").GetString() == turn).GetProperty("details");
        Assert.Equal("up", rated.GetProperty("feedback").GetString());
        Assert.Equal("just right", rated.GetProperty("feedback_comment").GetString());
        Assert.Equal("0.55", export.GetProperty("preferences")[0].GetProperty("details").GetProperty("strength").GetString());
        Assert.Equal(2, export.GetProperty("turns").GetArrayLength());
        Assert.NotEqual(first.GetProperty("turn_id").GetString(), turn);

        // A fact of Dana's is private until her tenant's admin promotes it; another tenant's admin cannot reach it.
        var note = await Http.JsonAsync(await dana.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "The team offsite is in Lisbon PROMOCANARY." }), Http.Ct));
        var noteId = note.GetProperty("id").GetString()!;
        using var eveSearch = Server.Client(Server.UserToken(tenant, "eve", Scopes.Query));
        Assert.DoesNotContain("PROMOCANARY", (await Http.JsonAsync(await eveSearch.PostAsync("/api/v1/search", RunningServer.Json(new { query = "team offsite Lisbon" }), Http.Ct))).ToString(), StringComparison.Ordinal);
        using var otherAdmin = Server.Client(Server.UserToken(other, "boss", Scopes.Admin));
        await Http.AssertProblemAsync(await otherAdmin.PostAsync($"/api/v1/users/dana/memory/{Uri.EscapeDataString(noteId)}/promote", null, Http.Ct), HttpStatusCode.NotFound);
        using var admin = Server.Client(Server.UserToken(tenant, "boss", Scopes.Admin));
        await Http.AssertProblemAsync(await admin.PostAsync($"/api/v1/users/eve/memory/{Uri.EscapeDataString(noteId)}/promote", null, Http.Ct), HttpStatusCode.NotFound);
        var promoted = await admin.PostAsync($"/api/v1/users/dana/memory/{Uri.EscapeDataString(noteId)}/promote", null, Http.Ct);
        Assert.Equal(HttpStatusCode.Created, promoted.StatusCode);
        var found = (await Http.JsonAsync(await eveSearch.PostAsync("/api/v1/search", RunningServer.Json(new { query = "team offsite Lisbon" }), Http.Ct))).ToString();
        Assert.Contains("PROMOCANARY", found, StringComparison.Ordinal);
        Assert.DoesNotContain("dana", found, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_IsATenantSetting_AndConsolidationRunsOnDemand()
    {
        var tenant = ServerFixture.NewTenant("ret");
        await Server.CreateTenantsAsync(tenant);

        using var admin = Server.Client(Server.UserToken(tenant, "boss", Scopes.Admin, Scopes.Memory));
        Assert.Equal(90, (await Http.JsonAsync(await admin.GetAsync("/api/v1/settings/memory", Http.Ct))).GetProperty("retention_days").GetInt32());
        var set = await Http.JsonAsync(await admin.PutAsync("/api/v1/settings/memory", RunningServer.Json(new { retention_days = 30 }), Http.Ct));
        Assert.Equal(30, set.GetProperty("retention_days").GetInt32());
        await Http.AssertProblemAsync(await admin.PutAsync("/api/v1/settings/memory", RunningServer.Json(new { retention_days = 0 }), Http.Ct), HttpStatusCode.BadRequest);
        using var user = User(tenant, "frank");
        await Http.AssertProblemAsync(await user.PutAsync("/api/v1/settings/memory", RunningServer.Json(new { retention_days = 5 }), Http.Ct), HttpStatusCode.Forbidden);

        using var platform = Server.Client(Server.PlatformToken());
        Assert.Equal(30, (await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/settings/memory", Http.Ct))).GetProperty("retention_days").GetInt32());
        Assert.Equal(90, (await Http.JsonAsync(await platform.PutAsync($"/admin/v1/tenants/{tenant}/settings/memory", RunningServer.Json(new { retention_days = (int?)null }), Http.Ct))).GetProperty("retention_days").GetInt32());
        await Http.AssertProblemAsync(await platform.GetAsync("/admin/v1/tenants/nobody-here/settings/memory", Http.Ct), HttpStatusCode.NotFound);

        (await user.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "I prefer answers in a table." }), Http.Ct)).EnsureSuccessStatusCode();
        var report = await Http.JsonAsync(await platform.PostAsync("/admin/v1/memory/consolidate", null, Http.Ct));
        Assert.True(report.GetProperty("users").GetInt32() >= 1);
        Assert.True(report.GetProperty("preferences_decayed").GetInt32() >= 1);
        await Http.AssertProblemAsync(await admin.PostAsync("/admin/v1/memory/consolidate", null, Http.Ct), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task TheConsolidationJob_RunsOnItsSchedule_ByTheHostsClock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await RunningServer.StartAsync(
            new Dictionary<string, string?> { ["Bruno:Memory:ConsolidationInterval"] = "1.00:00:00" },
            services => services.AddSingleton<TimeProvider>(clock));
        var tenant = ServerFixture.NewTenant("job");
        await server.CreateTenantsAsync(tenant);

        using var user = server.Client(server.UserToken(tenant, "ivy", Scopes.Memory));
        (await user.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "I prefer step by step answers." }), Http.Ct)).EnsureSuccessStatusCode();
        var consolidator = server.Services.GetRequiredService<MemoryConsolidator>();
        var runs = new System.Collections.Concurrent.ConcurrentQueue<ConsolidationReport>();
        var next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        consolidator.Completed += r =>
        {
            runs.Enqueue(r);
            next.TrySetResult();
        };

        Assert.Empty(runs); // nothing before the first run is due
        clock.Advance(TimeSpan.FromMinutes(5)); // the first run: five minutes after start
        await next.Task.WaitAsync(TimeSpan.FromSeconds(60), Http.Ct);
        Assert.Equal(1, Assert.Single(runs).PreferencesDecayed);

        next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        clock.Advance(TimeSpan.FromHours(23));
        Assert.Single(runs); // not yet a day
        clock.Advance(TimeSpan.FromHours(1));
        await next.Task.WaitAsync(TimeSpan.FromSeconds(60), Http.Ct);
        Assert.Equal(2, runs.Count);
    }
}
