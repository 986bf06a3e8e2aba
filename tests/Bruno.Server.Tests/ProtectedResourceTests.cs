using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>
/// The protected resource metadata (RFC 9728) behind a proxy: with <c>Bruno:PublicUrl</c> set, the challenge and the
/// metadata name the configured address, whatever <c>Host</c> a request claims; a malformed address stops the start.
/// </summary>
public sealed class ProtectedResourceTests
{
    [Fact]
    public async Task TheConfiguredPublicAddress_IsNamed_NotTheRequestsHost()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:PublicUrl"] = "https://bruno.example.com/" });
        using var client = server.Client();
        using var refused = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = RunningServer.Json(new { jsonrpc = "2.0", id = 1, method = "tools/list" }) };
        refused.Headers.Host = "attacker.example";
        using var answer = await client.SendAsync(refused, Http.Ct);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, answer.StatusCode);
        Assert.Equal("resource_metadata=\"https://bruno.example.com/.well-known/oauth-protected-resource\"", Assert.Single(answer.Headers.WwwAuthenticate).Parameter);

        using var read = new HttpRequestMessage(HttpMethod.Get, "/.well-known/oauth-protected-resource/mcp");
        read.Headers.Host = "attacker.example";
        var metadata = await Http.JsonAsync(await client.SendAsync(read, Http.Ct));
        Assert.Equal("https://bruno.example.com/mcp", metadata.GetProperty("resource").GetString());
    }

    [Fact]
    public async Task AMalformedPublicAddress_StopsTheStart_SayingWhy()
    {
        var e = await Assert.ThrowsAsync<Hosting.ConfigurationException>(() => RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:PublicUrl"] = "bruno.example.com?x=1" }));
        Assert.Contains("Bruno:PublicUrl", e.Message, StringComparison.Ordinal);
    }
}
