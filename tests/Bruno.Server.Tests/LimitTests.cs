using System.Net;
using Bruno.Core.Identity;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Client;

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
        await using var mcp = await McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(server.Address, "/mcp"),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + server.UserToken(quiet, "dee", Scopes.Query) },
            }),
            cancellationToken: Http.Ct);
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
        clock.Advance(TimeSpan.FromMinutes(1)); // a new minute, but the penalty holds
        Assert.Equal("penalty", (await Http.AssertProblemAsync(await ann.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.TooManyRequests)).GetProperty("level").GetString());
        (await bob.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        clock.Advance(TimeSpan.FromMinutes(5));
        (await ann.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();

    }

    private static string? Header(HttpResponseMessage r, string name) => r.Headers.TryGetValues(name, out var v) ? v.Single() : null;
}
