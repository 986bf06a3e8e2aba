using System.Net;
using System.Net.Http.Json;
using Bruno.Testing;

namespace Bruno.Cli.Tests;

/// <summary>
/// Issue 23's first failure, with real processes: a PostgreSQL catalog restarted, then stopped and started, under two
/// gateways and a store node. No process exits, no request gets 500, and both gateways answer again once it is back.
/// On a PostgreSQL server of the test's own (the shared one is not restarted under the other tests).
/// </summary>
public sealed class CatalogRestartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task APostgresRestartAndOutage_UnderTwoGateways_StopNoProcess_AnswerNo500_AndRecover()
    {
        await using var pg = await OwnPostgres.StartAsync();
        await using var cluster = await TestCluster.StartAsync(stores: 2, gateways: 2, Ct, pg.ConnectionString);
        const string tenant = "restart-acme";
        await cluster.CreateTenantsAsync(0, Ct, tenant);
        var token = cluster.UserToken(tenant, "alice");
        using var first = cluster.Client(0, token);
        using var second = cluster.Client(1, token);
        (await first.PostAsJsonAsync("/api/v1/documents", new { id = "hours", content = "The office opens at eight." }, Ct)).EnsureSuccessStatusCode();

        var seen = new List<HttpStatusCode>();
        async Task<HttpStatusCode> AskAsync(HttpClient client)
        {
            using var response = await client.PostAsJsonAsync("/api/v1/query", new { query = "When does the office open?" }, Ct);
            seen.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.NotNull(response.Headers.RetryAfter);
            }

            return response.StatusCode;
        }

        // both gateways answer the question again within 10 s of the catalog's return
        async Task AnsweredByBothAsync()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            foreach (var client in new[] { first, second })
            {
                var answered = false;
                while (!answered && DateTime.UtcNow < deadline)
                {
                    answered = await AskAsync(client) == HttpStatusCode.OK;
                }

                Assert.True(answered, "a gateway did not answer within 10 s of the catalog's return: " + string.Join(", ", seen.TakeLast(5)));
            }

            TestContext.Current.TestOutputHelper?.WriteLine($"both gateways answered {clock.ElapsedMilliseconds} ms after the catalog was back");
        }

        await AnsweredByBothAsync();
        await pg.RestartAsync(); // every pooled connection of every process is terminated
        await AnsweredByBothAsync();

        // the catalog away for longer than a store node's lease (5 s), under questions through both gateways: each is
        // served from what was last read, or 503, never 500; and once it is back, no owner is deposed for a lease it
        // could not renew while the catalog was away
        var before = await PlacementAsync(cluster, tenant);
        await pg.StopAsync();
        var away = System.Diagnostics.Stopwatch.StartNew();
        while (away.Elapsed < TimeSpan.FromSeconds(7))
        {
            await AskAsync(first);
            await AskAsync(second);
        }

        await pg.StartAgainAsync();
        await AnsweredByBothAsync();
        var after = await PlacementAsync(cluster, tenant);
        Assert.Equal(before.GetProperty("node").GetString(), after.GetProperty("node").GetString());
        Assert.Equal(before.GetProperty("epoch").GetInt64(), after.GetProperty("epoch").GetInt64());

        Assert.DoesNotContain(HttpStatusCode.InternalServerError, seen);
        Assert.All(cluster.Gateways.Concat(cluster.Stores), p => Assert.True(p.IsRunning, $"{p.Name} exited"));
    }

    private static async Task<System.Text.Json.JsonElement> PlacementAsync(TestCluster cluster, string tenant)
    {
        using var admin = cluster.Client(0, cluster.PlatformToken());
        return await admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/admin/v1/tenants/{tenant}/placement", Ct);
    }
}
