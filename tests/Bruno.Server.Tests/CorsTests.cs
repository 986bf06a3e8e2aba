using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>CORS is off unless origins are listed, and then only for those origins.</summary>
public sealed class CorsTests
{
    private static async Task<string?> PreflightAsync(RunningServer server, string origin)
    {
        using var client = server.Client();
        using var request = new HttpRequestMessage(HttpMethod.Options, "/api/v1/query");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        using var response = await client.SendAsync(request, Http.Ct);
        return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
    }

    [Fact]
    public async Task WithoutOrigins_NoBrowserOriginIsAllowed()
    {
        await using var server = await RunningServer.StartAsync();
        Assert.Null(await PreflightAsync(server, "https://evil.example"));
    }

    [Fact]
    public async Task WithOrigins_OnlyThoseAreAllowed_NeverAWildcard()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:CorsOrigins:0"] = "https://app.example.com" });
        Assert.Equal("https://app.example.com", await PreflightAsync(server, "https://app.example.com"));
        Assert.Null(await PreflightAsync(server, "https://evil.example"));
    }
}
