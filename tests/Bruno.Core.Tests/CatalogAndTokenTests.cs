using Bruno.Core.Identity;
using Bruno.Storage.Identity;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Bruno.Core.Tests;

public sealed class CatalogAndTokenTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bruno-core-" + Guid.NewGuid().ToString("N"));

    public CatalogAndTokenTests() => Directory.CreateDirectory(_root);

    [Fact]
    public async Task Tokens_CarryTenantUserAndScopes_AndValidateOnlyWithTheirKey()
    {
        var key = new byte[32];
        Random.Shared.NextBytes(key);
        var tokens = new TokenService(key, "bruno", "bruno-api");
        var jwt = tokens.IssueUserToken(TenantId.Parse("acme"), UserId.Parse("alice"), [Scopes.Query, Scopes.Ingest], TimeSpan.FromMinutes(5));

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(jwt, tokens.ValidationParameters());
        Assert.True(result.IsValid);
        Assert.Equal("acme", result.Claims[TokenService.TenantClaim]);
        Assert.Equal("alice", result.Claims["sub"]);
        Assert.Equal("query ingest", result.Claims[TokenService.ScopeClaim]);

        var otherKey = new byte[32];
        var other = new TokenService(otherKey, "bruno", "bruno-api");
        Assert.False((await new JsonWebTokenHandler().ValidateTokenAsync(jwt, other.ValidationParameters())).IsValid);
        Assert.Throws<ArgumentException>(() => tokens.IssueUserToken(TenantId.Parse("acme"), UserId.Parse("alice"), ["root"], TimeSpan.FromMinutes(5)));
        Assert.Throws<ArgumentException>(() => new TokenService(new byte[16], "bruno", "bruno-api"));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
