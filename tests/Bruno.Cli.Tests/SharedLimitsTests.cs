using System.Net;
using System.Net.Http.Json;
using Bruno.Core.Identity;
using Bruno.Testing;
using ModelContextProtocol;
using ModelContextProtocol.Client;

namespace Bruno.Cli.Tests;

/// <summary>
/// Decision 0035 with real processes: two gateways and a store node over one PostgreSQL catalog. A plan's limit of 20
/// requests a minute holds for the tenant whichever gateways its requests go through, and so does an MCP tool's limit;
/// each gateway's insights say they are its share. The gateways use the real clock, so what is counted is grouped by
/// the minute each request was sent and answered in (a request that straddles two minutes may be in either).
/// </summary>
public sealed class SharedLimitsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task APlansLimits_HoldAcrossTwoGateways_ForRequestsAndMcpTools_AndInsightsNameTheirGateway()
    {
        await using var cluster = await TestCluster.StartAsync(stores: 1, gateways: 2, Ct, settings: new Dictionary<string, string>
        {
            ["BRUNO_PLANS__small__REQUESTSPERMINUTE"] = "20",
            ["BRUNO_PLANS__small__REQUESTSPERHOUR"] = "1000",
            ["BRUNO_PLANS__small__REQUESTSPERDAY"] = "10000",
            ["BRUNO_PLANS__small__CLIENTREQUESTSPERMINUTE"] = "20",
            ["BRUNO_PLANS__small__CONCURRENT"] = "100",
            ["BRUNO_MCP__SEARCHPERMINUTE"] = "4",
        });
        const string small = "limits-small";
        const string open = "limits-open";
        using (var admin = cluster.Client(0, cluster.PlatformToken()))
        {
            (await admin.PostAsJsonAsync("/admin/v1/tenants", new { id = small, display_name = small, plan = "small" }, Ct)).EnsureSuccessStatusCode();
            (await admin.PostAsJsonAsync("/admin/v1/tenants", new { id = open, display_name = open }, Ct)).EnsureSuccessStatusCode();
        }

        // 60 requests of six users, alternating between the gateways: at most 20 (plus 10%) a minute are admitted
        var clients = Enumerable.Range(0, 6).SelectMany(u => new[] { cluster.Client(0, cluster.UserToken(small, $"u{u}")), cluster.Client(1, cluster.UserToken(small, $"u{u}")) }).ToList();
        var admitted = new List<(long, long)>();
        var refused = 0;
        for (var i = 0; i < 60; i++)
        {
            var sent = Minute();
            using var response = await clients[i % clients.Count].GetAsync("/api/v1/documents", Ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                admitted.Add((sent, Minute()));
                continue;
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.InRange(response.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 60);
            Assert.Contains("\"level\":\"tenant\"", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            refused++;
        }

        Assert.True(refused >= 60 - 44, $"{refused} refused"); // at most two minutes' worth admitted
        AssertAtMostPerMinute(admitted, 22);
        clients.ForEach(c => c.Dispose());

        // an MCP tool's limit (search_knowledge, 4 a minute per client) across both gateways, for one client
        var token = cluster.UserToken(open, "mia", Scopes.Query);
        await using var first = await McpAsync(cluster.Gateways[0].Address, token);
        await using var second = await McpAsync(cluster.Gateways[1].Address, token);
        var calls = new List<(long, long)>();
        var limited = 0;
        for (var i = 0; i < 12; i++)
        {
            var sent = Minute();
            try
            {
                var result = await (i % 2 == 0 ? first : second).CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = "opening hours" }, cancellationToken: Ct);
                Assert.NotEqual(true, result.IsError);
                calls.Add((sent, Minute()));
            }
            catch (McpProtocolException e)
            {
                Assert.Equal(-32029, (int)e.ErrorCode);
                Assert.Matches(@"4 calls a minute per client\. Retry after \d+ s\.", e.Message);
                limited++;
            }
        }

        Assert.True(limited >= 12 - 8, $"{limited} limited");
        AssertAtMostPerMinute(calls, 4);

        // each gateway's insights are its own, and say so
        var gateways = new List<string>();
        foreach (var index in new[] { 0, 1 })
        {
            using var admin = cluster.Client(index, cluster.UserToken(open, "ada", Scopes.Admin));
            using var response = await admin.GetAsync("/api/v1/insights", Ct);
            response.EnsureSuccessStatusCode();
            var report = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Ct);
            Assert.True(report.GetProperty("partial").GetBoolean());
            var gateway = report.GetProperty("gateway").GetString()!;
            gateways.Add(gateway);
            Assert.All(report.GetProperty("entries").EnumerateArray(), e => Assert.Equal(gateway, e.GetProperty("gateway").GetString()));
            Assert.NotEmpty(report.GetProperty("entries").EnumerateArray()); // mia's MCP calls through it, at least
        }

        Assert.Equal(2, gateways.Distinct(StringComparer.Ordinal).Count());
        Assert.All(cluster.Gateways, g => Assert.True(g.IsRunning));
    }

    private static long Minute() => DateTimeOffset.UtcNow.UtcTicks / TimeSpan.TicksPerMinute;

    /// <summary>
    /// The gateway counts a request in the minute it handled it, which lies between the minute it was sent in and the one it
    /// was answered in (one clock). So the requests sent and answered in one minute may not exceed the limit, and all of them
    /// together may not exceed the limit times the minutes they touch.
    /// </summary>
    private static void AssertAtMostPerMinute(List<(long Sent, long Answered)> requests, int limit)
    {
        Assert.NotEmpty(requests);
        Assert.All(requests.Where(r => r.Sent == r.Answered).GroupBy(r => r.Sent), g => Assert.InRange(g.Count(), 1, limit));
        var minutes = requests.SelectMany(r => new[] { r.Sent, r.Answered }).Distinct().Count();
        Assert.InRange(requests.Count, 1, limit * minutes);
    }

    private static Task<McpClient> McpAsync(Uri gateway, string token) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(gateway, "/mcp"),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + token },
            }),
            cancellationToken: Ct);
}
