using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 21, per-document permissions: a member of group alpha never meets group beta's document through any door —
/// search, query and its streamed events, the prompt built for the chat model, the OpenAI door, MCP tools, resources
/// and prompts, document list and get, evaluation runs, exports — and a member of both meets both. Changes of
/// membership and of access lists hold from the next request. Group admins and editors manage what the rules let them,
/// and every change and denial is in the audit log.
/// </summary>
public sealed class DocumentPermissionTests(FakeModelFixture fixture) : IClassFixture<FakeModelFixture>
{
    private const string AlphaCanary = "ORCHIDALPHA";
    private const string BetaCanary = "TULIPBETA";

    private static readonly string[] All = [Scopes.Query, Scopes.Ingest, Scopes.Memory, Scopes.Admin, Scopes.Audit];

    private static readonly string[] QueryOnly = [Scopes.Query];

    private static readonly string[] BetaOnly = ["group:beta"];

    private RunningServer Server => fixture.Server;

    /// <summary>The body of an access change (or of a promotion) naming <paramref name="entries"/>.</summary>
    private static StringContent Access(params string[] entries) => RunningServer.Json(new { access = entries });

    private HttpClient As(string tenant, string user) => Server.Client(Server.UserToken(tenant, user, All));

    /// <summary>
    /// A tenant with an owner (boss), groups alpha (ann, both) and beta (bo, both), and three documents: one per group and
    /// one for the whole tenant; every passage clears the bars, so whatever a caller may read reaches the answer.
    /// </summary>
    private async Task<string> TenantAsync(string name)
    {
        var tenant = ServerFixture.NewTenant(name);
        await Server.CreateTenantsAsync(tenant);
        using var op = Server.Client(Server.PlatformToken());
        (await op.PutAsync($"/admin/v1/tenants/{tenant}/users/boss/role", RunningServer.Json(new { role = "owner" }), Http.Ct)).EnsureSuccessStatusCode();
        using var boss = As(tenant, "boss");
        foreach (var group in new[] { "alpha", "beta" })
        {
            (await boss.PostAsync("/api/v1/groups", RunningServer.Json(new { name = group }), Http.Ct)).EnsureSuccessStatusCode();
        }

        foreach (var (group, user) in new[] { ("alpha", "ann"), ("alpha", "both"), ("beta", "bo"), ("beta", "both") })
        {
            (await boss.PutAsync($"/api/v1/groups/{group}/members/{user}", RunningServer.Json(new { }), Http.Ct)).EnsureSuccessStatusCode();
        }

        (await boss.PutAsync("/api/v1/settings/retrieval", RunningServer.Json(new { min_answerability = 0.0, min_relevance = 0.0 }), Http.Ct)).EnsureSuccessStatusCode();
        await PutAsync(boss, "alpha-plan", $"# Alpha plan\nThe alpha launch code is {AlphaCanary}. The alpha team meets on Tuesdays to review the launch.", "group:alpha");
        await PutAsync(boss, "beta-plan", $"# Beta plan\nThe beta launch code is {BetaCanary}. The beta team meets on Thursdays to review the launch.", "group:beta");
        await PutAsync(boss, "handbook", "# Handbook\nEvery team keeps its own launch code with its lead. The cafeteria opens at noon.", null);
        return tenant;
    }

    private static async Task<JsonElement> PutAsync(HttpClient client, string id, string content, params string[]? access)
    {
        var response = await client.PostAsync("/api/v1/documents", RunningServer.Json(access is null or { Length: 0 } ? new { id, content } : new { id, content, access }), Http.Ct);
        return await Http.JsonAsync(response);
    }

    private static async Task<string> SearchAsync(HttpClient client, string query) =>
        (await Http.JsonAsync(await client.PostAsync("/api/v1/search", RunningServer.Json(new { query, top_k = 20 }), Http.Ct))).ToString();

    private static async Task<List<string>> ListAsync(HttpClient client) =>
        [.. (await Http.JsonAsync(await client.GetAsync("/api/v1/documents", Http.Ct))).GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetString()!)];

    [Fact]
    public async Task AMemberOfAlpha_NeverMeetsBetasDocument_AtAnyDoor_AndAMemberOfBoth_MeetsBoth()
    {
        var tenant = await TenantAsync("perm");
        using var ann = As(tenant, "ann");
        Assert.Equal("member", (await Http.JsonAsync(await ann.GetAsync("/api/v1/me", Http.Ct))).GetProperty("role").GetString());
        const string question = "What is the beta launch code? And the alpha launch code?";

        // search: the visible documents are all found; the hidden one is not, nor its words
        var found = await SearchAsync(ann, question);
        Assert.Contains("alpha-plan", found, StringComparison.Ordinal);
        Assert.Contains("handbook", found, StringComparison.Ordinal);
        Assert.DoesNotContain("beta-plan", found, StringComparison.Ordinal);
        Assert.DoesNotContain(BetaCanary, found, StringComparison.Ordinal);

        // a query: its answer, sources and suggestions, and the prompt the chat model was given
        var before = fixture.Model.Prompts.Count;
        var answer = (await Http.JsonAsync(await ann.PostAsync("/api/v1/query", RunningServer.Json(new { query = question }), Http.Ct))).ToString();
        Assert.Contains("alpha-plan", answer, StringComparison.Ordinal);
        Assert.DoesNotContain("beta-plan", answer, StringComparison.Ordinal);
        var prompt = Assert.Single(fixture.Model.PromptTexts.Skip(before).ToList());
        Assert.Contains(AlphaCanary, prompt, StringComparison.Ordinal);
        Assert.DoesNotContain(BetaCanary, prompt, StringComparison.Ordinal);

        // the query's streamed events
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/query") { Content = RunningServer.Json(new { query = question }) })
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            using var response = await ann.SendAsync(request, Http.Ct);
            var events = await response.Content.ReadAsStringAsync(Http.Ct);
            Assert.Contains("alpha-plan", events, StringComparison.Ordinal);
            Assert.DoesNotContain("beta-plan", events, StringComparison.Ordinal);
            Assert.DoesNotContain(BetaCanary, events, StringComparison.Ordinal);
        }

        // the OpenAI door, and its prompt
        before = fixture.Model.Prompts.Count;
        var chat = await ann.PostAsync("/v1/chat/completions", RunningServer.Json(new { model = "bruno-" + tenant, messages = new[] { new { role = "user", content = question } } }), Http.Ct);
        Assert.DoesNotContain("beta-plan", (await Http.JsonAsync(chat)).ToString(), StringComparison.Ordinal);
        var chatPrompt = Assert.Single(fixture.Model.PromptTexts.Skip(before).ToList());
        Assert.Contains(AlphaCanary, chatPrompt, StringComparison.Ordinal);
        Assert.DoesNotContain(BetaCanary, chatPrompt, StringComparison.Ordinal);

        // list and get
        Assert.Equal(["alpha-plan", "handbook"], await ListAsync(ann));
        await Http.AssertProblemAsync(await ann.GetAsync("/api/v1/documents/beta-plan", Http.Ct), HttpStatusCode.NotFound);
        var alpha = await Http.JsonAsync(await ann.GetAsync("/api/v1/documents/alpha-plan", Http.Ct));
        Assert.Equal(["group:alpha"], alpha.GetProperty("access").EnumerateArray().Select(a => a.GetString()));

        // MCP: tools, resources and prompts
        await using (var mcp = await Server.McpAsync(Server.UserToken(tenant, "ann", All), Http.Ct))
        {
            var search = await mcp.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = question, ["top_k"] = 20 }, cancellationToken: Http.Ct);
            var ask = await mcp.CallToolAsync("ask_agent", new Dictionary<string, object?> { ["question"] = question }, cancellationToken: Http.Ct);
            var list = await mcp.CallToolAsync("list_documents", new Dictionary<string, object?>(), cancellationToken: Http.Ct);
            foreach (var result in new[] { search, ask, list })
            {
                Assert.NotEqual(true, result.IsError);
                var text = JsonSerializer.Serialize(result.StructuredContent);
                Assert.Contains("alpha-plan", text, StringComparison.Ordinal);
                Assert.DoesNotContain("beta-plan", text, StringComparison.Ordinal);
                Assert.DoesNotContain(BetaCanary, text, StringComparison.Ordinal);
            }

            Assert.Equal(["bruno://documents/alpha-plan", "bruno://documents/handbook"], (await mcp.ListResourcesAsync(cancellationToken: Http.Ct)).Select(r => r.Uri));
            Assert.Contains(AlphaCanary, ((TextResourceContents)(await mcp.ReadResourceAsync("bruno://documents/alpha-plan", cancellationToken: Http.Ct)).Contents[0]).Text, StringComparison.Ordinal);
            await Assert.ThrowsAsync<McpProtocolException>(() => mcp.ReadResourceAsync("bruno://documents/beta-plan", cancellationToken: Http.Ct).AsTask());
            await Assert.ThrowsAsync<McpProtocolException>(() => mcp.GetPromptAsync("summarize_document", new Dictionary<string, object?> { ["id"] = "beta-plan" }, cancellationToken: Http.Ct).AsTask());
            var cited = await mcp.GetPromptAsync("ask_with_citations", new Dictionary<string, object?> { ["question"] = question }, cancellationToken: Http.Ct);
            var citedText = string.Join('\n', cited.Messages.Select(m => (m.Content as TextContentBlock)?.Text));
            Assert.Contains(AlphaCanary, citedText, StringComparison.Ordinal);
            Assert.DoesNotContain(BetaCanary, citedText, StringComparison.Ordinal);
        }

        // bo sees beta's and not alpha's; a member of both sees both
        using var bo = As(tenant, "bo");
        var boFound = await SearchAsync(bo, question);
        Assert.Contains(BetaCanary, boFound, StringComparison.Ordinal);
        Assert.DoesNotContain(AlphaCanary, boFound, StringComparison.Ordinal);
        using var both = As(tenant, "both");
        var bothFound = await SearchAsync(both, question);
        Assert.Contains(AlphaCanary, bothFound, StringComparison.Ordinal);
        Assert.Contains(BetaCanary, bothFound, StringComparison.Ordinal);
        Assert.Equal(["alpha-plan", "beta-plan", "handbook"], await ListAsync(both));

        // an API key has no group: it reads what is open to the whole tenant
        using var boss = As(tenant, "boss");
        var key = (await Http.JsonAsync(await boss.PostAsync("/api/v1/api-keys", RunningServer.Json(new { name = "bot", scopes = QueryOnly }), Http.Ct))).GetProperty("key").GetString()!;
        using var bot = Server.Client();
        bot.DefaultRequestHeaders.Add("X-Api-Key", key);
        var botFound = await SearchAsync(bot, question);
        Assert.Contains("handbook", botFound, StringComparison.Ordinal);
        Assert.DoesNotContain("alpha-plan", botFound, StringComparison.Ordinal);
        Assert.DoesNotContain("beta-plan", botFound, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MembershipAndAccessChanges_HoldFromTheNextRequest_WithoutReembedding_AndAreAudited()
    {
        var tenant = await TenantAsync("permchg");
        using var boss = As(tenant, "boss");
        using var ann = As(tenant, "ann");
        Assert.Contains(AlphaCanary, await SearchAsync(ann, "alpha launch code"), StringComparison.Ordinal);

        // out of the group: the next request no longer finds it
        Assert.Equal(HttpStatusCode.NoContent, (await boss.DeleteAsync("/api/v1/groups/alpha/members/ann", Http.Ct)).StatusCode);
        Assert.DoesNotContain(AlphaCanary, await SearchAsync(ann, "alpha launch code"), StringComparison.Ordinal);
        Assert.Equal(["handbook"], await ListAsync(ann));

        // beta's document opened to ann by name: found on the next request; its chunks and creation time unchanged
        var original = await Http.JsonAsync(await boss.GetAsync("/api/v1/documents/beta-plan", Http.Ct));
        var changed = await Http.JsonAsync(await boss.PutAsync("/api/v1/documents/beta-plan/access", Access("group:beta", "user:ann"), Http.Ct));
        Assert.Equal(["user:ann", "group:beta"], changed.GetProperty("access").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(original.GetProperty("chunks").GetInt32(), changed.GetProperty("chunks").GetInt32());
        Assert.Equal(original.GetProperty("created_at").GetString(), changed.GetProperty("created_at").GetString());
        Assert.Contains(BetaCanary, await SearchAsync(ann, "beta launch code"), StringComparison.Ordinal);

        // and back to the whole tenant
        (await boss.PutAsync("/api/v1/documents/alpha-plan/access", Access("tenant"), Http.Ct)).EnsureSuccessStatusCode();
        Assert.Contains(AlphaCanary, await SearchAsync(ann, "alpha launch code"), StringComparison.Ordinal);

        // bad lists are refused and change nothing
        foreach (var bad in new object[] { Array.Empty<string>(), new[] { "tenant", "group:beta" }, new[] { "group:a|b" }, new[] { "beta" }, Enumerable.Range(0, 65).Select(i => $"user:u{i}").ToArray() })
        {
            await Http.AssertProblemAsync(await boss.PutAsync("/api/v1/documents/beta-plan/access", RunningServer.Json(new { access = bad }), Http.Ct), HttpStatusCode.BadRequest);
        }

        Assert.Equal(["user:ann", "group:beta"], (await Http.JsonAsync(await boss.GetAsync("/api/v1/documents/beta-plan", Http.Ct))).GetProperty("access").EnumerateArray().Select(a => a.GetString()));

        // a promoted fact gets the list its promoter chooses
        using var bo = As(tenant, "bo");
        var note = await Http.JsonAsync(await ann.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "The beta offsite is in Porto FACTCANARY." }), Http.Ct));
        var promoted = await Http.JsonAsync(await boss.PostAsync($"/api/v1/users/ann/memory/{Uri.EscapeDataString(note.GetProperty("id").GetString()!)}/promote", Access("group:beta"), Http.Ct));
        Assert.Equal(["group:beta"], promoted.GetProperty("access").EnumerateArray().Select(a => a.GetString()));
        Assert.Contains("FACTCANARY", await SearchAsync(bo, "beta offsite Porto"), StringComparison.Ordinal);
        Assert.DoesNotContain("FACTCANARY", await SearchAsync(ann, "beta offsite Porto"), StringComparison.Ordinal);

        // the audit log has the changes of membership and of access lists
        var audit = (await Http.JsonAsync(await boss.GetAsync("/api/v1/audit?limit=200", Http.Ct))).ToString();
        Assert.Contains("group.member.remove", audit, StringComparison.Ordinal);
        Assert.Contains("document.access", audit, StringComparison.Ordinal);
        Assert.Contains("/api/v1/documents/beta-plan/access", audit, StringComparison.Ordinal);
        Assert.Contains("memory.promote", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GroupAdminsAndEditors_ManageOnlyWhatTheRulesLetThem_AndDenialsAreAudited()
    {
        var tenant = await TenantAsync("permadm");
        using var boss = As(tenant, "boss");
        (await boss.PutAsync("/api/v1/groups/alpha/members/gail", RunningServer.Json(new { admin = true }), Http.Ct)).EnsureSuccessStatusCode();
        using var gail = As(tenant, "gail"); // a member, and alpha's admin
        var me = await Http.JsonAsync(await gail.GetAsync("/api/v1/me", Http.Ct));
        Assert.Equal(["alpha"], me.GetProperty("administers").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal("read", me.GetProperty("documents").GetString());

        // alpha's documents are hers to add, change and delete; nothing else is
        Assert.Equal(["group:alpha"], (await PutAsync(gail, "alpha-notes", "# Notes\nThe alpha retro is on Friday.", "group:alpha")).GetProperty("access").EnumerateArray().Select(a => a.GetString()));
        await Http.AssertProblemAsync(await gail.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "x1", content = "text", access = BetaOnly }), Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await gail.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "x2", content = "text" }), Http.Ct), HttpStatusCode.Forbidden);
        (await gail.PutAsync("/api/v1/documents/alpha-plan/access", Access("group:alpha", "user:zed"), Http.Ct)).EnsureSuccessStatusCode();
        await Http.AssertProblemAsync(await gail.PutAsync("/api/v1/documents/alpha-plan/access", Access("tenant"), Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await gail.DeleteAsync("/api/v1/documents/handbook", Http.Ct), HttpStatusCode.Forbidden); // she reads it, it is not alpha's
        await Http.AssertProblemAsync(await gail.DeleteAsync("/api/v1/documents/beta-plan", Http.Ct), HttpStatusCode.NotFound); // not even told it exists
        Assert.Equal(HttpStatusCode.NoContent, (await gail.DeleteAsync("/api/v1/documents/alpha-notes", Http.Ct)).StatusCode);

        // an editor in alpha: adds documents they can read, never beta's, and cannot take over beta's id
        using var op = Server.Client(Server.PlatformToken());
        (await op.PutAsync($"/admin/v1/tenants/{tenant}/users/ed/role", RunningServer.Json(new { role = "editor" }), Http.Ct)).EnsureSuccessStatusCode();
        (await boss.PutAsync("/api/v1/groups/alpha/members/ed", RunningServer.Json(new { }), Http.Ct)).EnsureSuccessStatusCode();
        using var ed = As(tenant, "ed");
        Assert.Equal("edit", (await Http.JsonAsync(await ed.GetAsync("/api/v1/me", Http.Ct))).GetProperty("documents").GetString());
        await PutAsync(ed, "ed-open", "# Open\nThe parking lot closes at nine.", null);
        await PutAsync(ed, "ed-alpha", "# Alpha\nThe alpha budget is small.", "group:alpha");
        await Http.AssertProblemAsync(await ed.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "ed-beta", content = "text", access = BetaOnly }), Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await ed.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "beta-plan", content = "overwritten" }), Http.Ct), HttpStatusCode.Forbidden);
        Assert.Contains(BetaCanary, await SearchAsync(As(tenant, "bo"), "beta launch code"), StringComparison.Ordinal); // untouched

        // re-posting keeps the list when none is given
        Assert.Equal(["group:alpha"], (await PutAsync(ed, "ed-alpha", "# Alpha\nThe alpha budget is larger now.")).GetProperty("access").EnumerateArray().Select(a => a.GetString()));

        // a member with no group to administer may write nothing; the denial is audited
        using var ann = As(tenant, "ann");
        await Http.AssertProblemAsync(await ann.DeleteAsync("/api/v1/documents/alpha-plan", Http.Ct), HttpStatusCode.Forbidden);

        // an admin manages every document (and lists them all), yet reads only what the lists let them
        Assert.Equal(["alpha-plan", "beta-plan", "ed-alpha", "ed-open", "handbook"], await ListAsync(boss));
        Assert.DoesNotContain(BetaCanary, await SearchAsync(boss, "beta launch code"), StringComparison.Ordinal);

        var denied = (await Http.JsonAsync(await boss.GetAsync("/api/v1/audit?result=denied&limit=200", Http.Ct))).GetProperty("entries").EnumerateArray()
            .Select(e => (e.GetProperty("actor").GetString(), e.GetProperty("resource").GetString())).ToList();
        Assert.Contains(("gail", "PUT /api/v1/documents/alpha-plan/access"), denied);
        Assert.Contains(("ed", "POST /api/v1/documents"), denied);
        Assert.Contains(("ann", "DELETE /api/v1/documents/alpha-plan"), denied);
    }

    [Fact]
    public async Task EvaluationRuns_SeeOnlyWhatTheirRunnerReads_AndExportsKeepTheLists()
    {
        var tenant = await TenantAsync("permeval");
        using var op = Server.Client(Server.PlatformToken());
        (await op.PutAsync($"/admin/v1/tenants/{tenant}/users/adam/role", RunningServer.Json(new { role = "admin" }), Http.Ct)).EnsureSuccessStatusCode();
        using var boss = As(tenant, "boss");
        (await boss.PutAsync("/api/v1/groups/alpha/members/adam", RunningServer.Json(new { }), Http.Ct)).EnsureSuccessStatusCode();
        using var adam = As(tenant, "adam"); // an admin in alpha

        var cases = new[]
        {
            new { question = "What is the beta launch code?", expected_documents = new[] { "beta-plan" } },
            new { question = "What is the alpha launch code?", expected_documents = new[] { "alpha-plan" } },
        };
        var run = await Http.JsonAsync(await adam.PostAsync("/api/v1/evaluations", RunningServer.Json(new { cases, label = "adam" }), Http.Ct));
        Assert.DoesNotContain(BetaCanary, run.ToString(), StringComparison.Ordinal);
        Assert.Contains(run.GetProperty("cases").EnumerateArray(), c => c.GetProperty("ranked_documents").EnumerateArray().Any(d => d.GetString() == "alpha-plan"));
        foreach (var c in run.GetProperty("cases").EnumerateArray())
        {
            Assert.DoesNotContain("beta-plan", c.GetProperty("ranked_documents").EnumerateArray().Select(d => d.GetString()));
            Assert.DoesNotContain("beta-plan", c.GetProperty("cited_documents").EnumerateArray().Select(d => d.GetString()));
        }

        // the kept run found alpha's document: it is adam's to read, not every admin's
        var id = run.GetProperty("id").GetString()!;
        Assert.Contains(id, (await Http.JsonAsync(await adam.GetAsync("/api/v1/evaluations", Http.Ct))).ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(id, (await Http.JsonAsync(await boss.GetAsync("/api/v1/evaluations", Http.Ct))).ToString(), StringComparison.Ordinal);
        await Http.AssertProblemAsync(await boss.GetAsync($"/api/v1/evaluations/{id}", Http.Ct), HttpStatusCode.NotFound);

        // a bundle keeps every document's list: the copy's admin sees the lists, and a caller without groups reads neither plan
        using var export = await op.PostAsync($"/admin/v1/tenants/{tenant}/export", RunningServer.Json(new { passphrase = BundleFixture.Passphrase }), Http.Ct);
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        var copy = ServerFixture.NewTenant("permcopy");
        using (var content = new ByteArrayContent(await export.Content.ReadAsByteArrayAsync(Http.Ct)))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            using var import = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/tenants/import?as={copy}") { Content = content };
            import.Headers.Add("X-Bundle-Passphrase", BundleFixture.Passphrase);
            (await op.SendAsync(import, Http.Ct)).EnsureSuccessStatusCode();
        }

        using var root = As(copy, "root");
        var listed = (await Http.JsonAsync(await root.GetAsync("/api/v1/documents", Http.Ct))).GetProperty("items").EnumerateArray()
            .ToDictionary(d => d.GetProperty("id").GetString()!, d => string.Join(',', d.GetProperty("access").EnumerateArray().Select(a => a.GetString())));
        Assert.Equal("group:alpha", listed["alpha-plan"]);
        Assert.Equal("group:beta", listed["beta-plan"]);
        Assert.Equal("tenant", listed["handbook"]);
        var rootFound = await SearchAsync(root, "What is the beta launch code? And the alpha launch code?");
        Assert.DoesNotContain(AlphaCanary, rootFound, StringComparison.Ordinal);
        Assert.DoesNotContain(BetaCanary, rootFound, StringComparison.Ordinal);
    }
}
