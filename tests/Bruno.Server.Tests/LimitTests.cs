using System.Net;
using Bruno.Core.Identity;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol;

namespace Bruno.Server.Tests;

/// <summary>Request limits from the tenant's plan: levels, headers, the penalty, and tenants that do not share them.</summary>
public sealed class LimitTests
{
    [Fact]
    public async Task ATenantsPlan_LimitsItsClientsThenItself_With429AndHeaders_AndPenalisesFlooding()
    {
        // a fixed clock: the minute never rolls over during the test
        var now = DateTimeOffset.UtcNow;
        var clock = new FakeTimeProvider(now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerMinute)).AddSeconds(15)); // 15 s into this minute
        await using var server = await RunningServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["Bruno:Plans:tiny:RequestsPerMinute"] = "5",
                ["Bruno:Plans:tiny:RequestsPerHour"] = "100",
                ["Bruno:Plans:tiny:RequestsPerDay"] = "1000",
                ["Bruno:Plans:tiny:Concurrent"] = "5",
                ["Bruno:Plans:tiny:ClientRequestsPerMinute"] = "2",
            },
            services => services.AddSingleton<TimeProvider>(clock));
        using var platform = server.Client(server.PlatformToken());
        var tenant = ServerFixture.NewTenant("tiny");
        var quiet = ServerFixture.NewTenant("quiet");
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant, plan = "tiny" }), Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = quiet, plan = "tiny" }), Http.Ct)).EnsureSuccessStatusCode();

        using var ann = server.Client(server.UserToken(tenant, "ann", Scopes.Query));
        var first = await ann.GetAsync("/api/v1/documents", Http.Ct);
        first.EnsureSuccessStatusCode();
        Assert.Equal(("2", "1", "45"), (Header(first, "X-RateLimit-Limit"), Header(first, "X-RateLimit-Remaining"), Header(first, "X-RateLimit-Reset")));
        (await ann.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();

        // the client's limit: 429, Retry-After to the end of the minute, and the level in the body
        var refused = await ann.GetAsync("/api/v1/documents", Http.Ct);
        var problem = await Http.AssertProblemAsync(refused, HttpStatusCode.TooManyRequests);
        Assert.Equal("https://www.rfc-editor.org/rfc/rfc6585#section-4", problem.GetProperty("type").GetString()); // issue 20
        Assert.Equal(("client", "45"), (problem.GetProperty("level").GetString(), refused.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("0", Header(refused, "X-RateLimit-Remaining"));

        // other clients of the tenant until the tenant's own limit (5 a minute), which then refuses everyone
        using var bob = server.Client(server.UserToken(tenant, "bob", Scopes.Query));
        using var cy = server.Client(server.UserToken(tenant, "cy", Scopes.Query));
        (await bob.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        (await bob.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        (await cy.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        Assert.Equal("tenant", (await Http.AssertProblemAsync(await cy.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.TooManyRequests)).GetProperty("level").GetString());

        // another tenant is not affected
        using var other = server.Client(server.UserToken(quiet, "ann", Scopes.Query));
        (await other.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();

        // MCP tool calls count against the same plan, refused with a JSON-RPC error (before the clock moves: the
        // server checks tokens against the real clock)
        await using var mcp = await server.McpAsync(server.UserToken(quiet, "dee", Scopes.Query), Http.Ct);
        await mcp.CallToolAsync("list_documents", new Dictionary<string, object?>(), cancellationToken: Http.Ct);
        await mcp.CallToolAsync("list_documents", new Dictionary<string, object?>(), cancellationToken: Http.Ct);
        var rpc = await Assert.ThrowsAsync<McpProtocolException>(() => mcp.CallToolAsync("list_documents", new Dictionary<string, object?>(), cancellationToken: Http.Ct).AsTask());
        Assert.Contains("limit of 2 requests a minute", rpc.Message, StringComparison.Ordinal);

        // ann keeps calling: past three times her limit (6 attempts) she is refused everything for five minutes
        for (var i = 0; i < 3; i++)
        {
            await ann.GetAsync("/api/v1/documents", Http.Ct);
        }

        var penalised = await ann.GetAsync("/api/v1/documents", Http.Ct);
        Assert.Equal("penalty", (await Http.AssertProblemAsync(penalised, HttpStatusCode.TooManyRequests)).GetProperty("level").GetString());
        var penalties = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/audit?action=limits.penalty", Http.Ct));
        Assert.Equal("client ann", Assert.Single(penalties.GetProperty("entries").EnumerateArray()).GetProperty("resource").GetString()); // recorded once
        clock.Advance(TimeSpan.FromMinutes(1)); // a new minute, but the penalty holds
        Assert.Equal("penalty", (await Http.AssertProblemAsync(await ann.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.TooManyRequests)).GetProperty("level").GetString());
        (await bob.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        clock.Advance(TimeSpan.FromMinutes(5));
        (await ann.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();

        // every refusal counted by level, for the tenant that was refused (platform's token is from before the clock moved)
        var refusals = await RefusalsAsync(platform, "bruno_rate_limit_refusals_total", tenant, "level");
        Assert.Equal(["client", "penalty", "tenant"], refusals.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, refusals["penalty"]); // the two refusals seen above while the penalty held
        Assert.Equal(5, refusals["client"] + refusals["tenant"]); // ann's third call, cy's, and ann's three more
        Assert.Equal(1, (await RefusalsAsync(platform, "bruno_rate_limit_refusals_total", quiet, "level"))["client"]); // dee's third MCP call
    }

    /// <summary>The tenant's samples of a refusal counter, by the value of <paramref name="label"/>.</summary>
    private static async Task<Dictionary<string, double>> RefusalsAsync(HttpClient platform, string counter, string tenant, string label)
    {
        var text = await (await platform.GetAsync("/metrics", Http.Ct)).Content.ReadAsStringAsync(Http.Ct);
        return PromSample.Parse(text).Where(s => s.Name == counter && s["tenant_id"] == tenant).ToDictionary(s => s[label]!, s => s.Value, StringComparer.Ordinal);
    }

    [Fact]
    public async Task DocumentAndStorageQuotas_RefuseTheWrite_LeavingNothingHalfWritten()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>(
            Plan("two-docs", ("MaxDocuments", "2")).Concat(Plan("no-disk", ("MaxStorageBytes", "1")))));
        using var platform = server.Client(server.PlatformToken());
        var small = ServerFixture.NewTenant("docs");
        var full = ServerFixture.NewTenant("disk");
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = small, plan = "two-docs" }), Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = full, plan = "no-disk" }), Http.Ct)).EnsureSuccessStatusCode();

        using var writer = server.Client(server.UserToken(small, "w", Scopes.Ingest, Scopes.Query));
        foreach (var id in new[] { "a", "b" })
        {
            (await writer.PostAsync("/api/v1/documents", RunningServer.Json(new { id, content = $"Document {id}." }), Http.Ct)).EnsureSuccessStatusCode();
        }

        var refused = await Http.AssertProblemAsync(await writer.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "c", content = "QUOTACANARY" }), Http.Ct), HttpStatusCode.Forbidden);
        Assert.Equal("Quota exceeded", refused.GetProperty("title").GetString());
        Assert.Contains("allows 2 documents", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        (await writer.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "a", content = "Document a, replaced." }), Http.Ct)).EnsureSuccessStatusCode(); // a replacement adds no document
        await Http.AssertProblemAsync(await writer.GetAsync("/api/v1/documents/c", Http.Ct), HttpStatusCode.NotFound);
        Assert.DoesNotContain("QUOTACANARY", (await Http.JsonAsync(await writer.PostAsync("/api/v1/search", RunningServer.Json(new { query = "QUOTACANARY" }), Http.Ct))).ToString(), StringComparison.Ordinal);

        using var diskWriter = server.Client(server.UserToken(full, "w", Scopes.Ingest, Scopes.Query));
        using var form = new MultipartFormDataContent { { new StringContent("Too big for this plan."), "file", "notes.txt" } };
        var storage = await Http.AssertProblemAsync(await diskWriter.PostAsync("/api/v1/documents", form, Http.Ct), HttpStatusCode.Forbidden);
        Assert.Contains("bytes of storage", storage.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, (await Http.JsonAsync(await diskWriter.GetAsync("/api/v1/documents", Http.Ct))).GetProperty("items").GetArrayLength());
        Assert.Equal(1, (await RefusalsAsync(platform, "bruno_quota_refusals_total", small, "quota"))["documents"]);
        Assert.Equal(1, (await RefusalsAsync(platform, "bruno_quota_refusals_total", full, "quota"))["storage_bytes"]);
    }

    /// <summary>Settings of a plan with generous rates and the given limits.</summary>
    private static IEnumerable<KeyValuePair<string, string?>> Plan(string name, params (string Key, string Value)[] limits) =>
        new[] { ("RequestsPerMinute", "1000"), ("RequestsPerHour", "1000"), ("RequestsPerDay", "1000"), ("Concurrent", "10"), ("ClientRequestsPerMinute", "1000") }
            .Concat(limits)
            .Select(kv => new KeyValuePair<string, string?>($"Bruno:Plans:{name}:{kv.Item1}", kv.Item2));

    private static string? Header(HttpResponseMessage r, string name) => r.Headers.TryGetValues(name, out var v) ? v.Single() : null;
}
