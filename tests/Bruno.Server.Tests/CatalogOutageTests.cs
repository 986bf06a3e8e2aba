using System.Net;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 23, first part: a PostgreSQL catalog that restarts or goes away stops nothing. Requests in the meantime get 503
/// problem+json with Retry-After, never 500; a connection the pool kept from before a restart is replaced; once the
/// server is back everything works without restarting Bruno. On a server of the test's own (the shared one is not
/// restarted under the other tests).
/// </summary>
public sealed class CatalogOutageTests
{
    [Fact]
    public async Task ACatalogRestartOrOutage_StopsNothing_AnswersOnly200Or503_AndRecoversByItself()
    {
        await using var pg = await OwnPostgres.StartAsync();
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:Catalog:Provider"] = "postgres", ["Bruno:Catalog:ConnectionString"] = pg.ConnectionString });
        using var client = await server.TenantClientAsync("outage-acme", "alice");
        (await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "hours", content = "The office opens at eight." }), Http.Ct)).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/documents", Http.Ct)).StatusCode);

        // a restart terminates every pooled connection: the requests after it are answered (a stale connection replaced)
        // or refused with 503 and Retry-After, never 500, and the service is back within a few requests
        await pg.RestartAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync("/api/v1/documents", Http.Ct);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                Assert.NotNull(response.Headers.RetryAfter);
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }

        Assert.All(statuses, s => Assert.Contains(s, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
        Assert.Equal(HttpStatusCode.OK, statuses[^1]);

        // the catalog away: a tenant and user admitted moments ago are still answered, from what was last read of them
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the office open?" }), Http.Ct)).StatusCode);
        await pg.StopAsync();
        using (var served = await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the office open?" }), Http.Ct))
        {
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Contains("eight", await served.Content.ReadAsStringAsync(Http.Ct), StringComparison.Ordinal);
        }

        // but anyone the catalog must be asked about gets 503 with Retry-After, with no detail of the failure
        using var stranger = server.Client(server.UserToken("outage-acme", "newcomer"));
        using (var down = await stranger.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the office open?" }), Http.Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), down.Headers.RetryAfter?.Delta);
            var body = await down.Content.ReadAsStringAsync(Http.Ct);
            Assert.Contains("Catalog unavailable", body, StringComparison.Ordinal);
            Assert.DoesNotContain("127.0.0.1", body, StringComparison.Ordinal);
        }

        using var platform = server.Client(server.PlatformToken());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await platform.GetAsync("/admin/v1/tenants", Http.Ct)).StatusCode);

        // back: the next request works, and the process never began to stop
        await pg.StartAgainAsync();
        using (var back = await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the office open?" }), Http.Ct))
        {
            Assert.Equal(HttpStatusCode.OK, back.StatusCode);
            Assert.Contains("eight", await back.Content.ReadAsStringAsync(Http.Ct), StringComparison.Ordinal);
        }

        Assert.False(server.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.IsCancellationRequested);
    }
}
