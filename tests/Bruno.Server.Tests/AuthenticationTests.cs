using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bruno.Server.Tests;

/// <summary>Only tokens signed by this server's key, for this issuer and audience, still valid, are accepted.</summary>
public sealed class AuthenticationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private TokenService Tokens => Server.Services.GetRequiredService<TokenService>();

    public static TheoryData<string> Attacks => ["none", "wrong-key", "rs256-confusion", "wrong-issuer", "wrong-audience", "expired", "tampered", "unknown-kid", "garbage", "empty", "tenant-array", "tenant-twice", "sub-array", "tenant-number"];

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task ForgedOrInvalidTokens_Get401_NeverAServerError(string attack)
    {
        var tenant = ServerFixture.NewTenant("jwt");
        await Server.CreateTenantsAsync(tenant, tenant + "-other");

        var token = Forge(attack, tenant);
        using var client = Server.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        foreach (var (method, path) in new[] { (HttpMethod.Get, "/api/v1/documents"), (HttpMethod.Post, "/api/v1/query"), (HttpMethod.Get, "/admin/v1/tenants") })
        {
            using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? RunningServer.Json(new { query = "x" }) : null };
            await Http.AssertProblemAsync(await client.SendAsync(request, Http.Ct), HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task AHandBuiltToken_WithOneTenantClaim_IsAccepted()
    {
        // the duplicated-key attack builds its token by hand: without the duplicate, the same token works
        var tenant = ServerFixture.NewTenant("jwt-hand");
        await Server.CreateTenantsAsync(tenant);
        using var client = Server.Client(Forge("hand-built", tenant));
        (await client.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task NoToken_Gets401_AndAValidToken_Works()
    {
        var tenant = ServerFixture.NewTenant("jwt-ok");
        using var good = await Server.TenantClientAsync(tenant);
        await Http.AssertProblemAsync(await Server.Client().GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Unauthorized);
        (await good.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Scopes_AreEnforced_ForUsersAndOperators()
    {
        var tenant = ServerFixture.NewTenant("scopes");
        await Server.CreateTenantsAsync(tenant);

        using var reader = Server.Client(Server.UserToken(tenant, "reader", Scopes.Query));
        await Http.AssertProblemAsync(await reader.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "d", content = "text" }), Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await reader.GetAsync("/admin/v1/tenants", Http.Ct), HttpStatusCode.Forbidden);
        using var writer = Server.Client(Server.UserToken(tenant, "writer", Scopes.Ingest));
        await Http.AssertProblemAsync(await writer.PostAsync("/api/v1/query", RunningServer.Json(new { query = "q" }), Http.Ct), HttpStatusCode.Forbidden);
        using var operatorClient = Server.Client(Server.PlatformToken());
        await Http.AssertProblemAsync(await operatorClient.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task SuspendedAndUnknownTenants_Get403_WithAProblemSayingSo()
    {
        var tenant = ServerFixture.NewTenant("suspend");
        using var user = await Server.TenantClientAsync(tenant);
        using var admin = Server.Client(Server.PlatformToken());
        (await admin.PostAsync($"/admin/v1/tenants/{tenant}/suspend", null, Http.Ct)).EnsureSuccessStatusCode();
        var problem = await Http.AssertProblemAsync(await user.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
        Assert.Contains("suspended", problem.GetProperty("title").GetString(), StringComparison.OrdinalIgnoreCase);
        (await admin.PostAsync($"/admin/v1/tenants/{tenant}/resume", null, Http.Ct)).EnsureSuccessStatusCode();
        (await user.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();

        using var ghost = Server.Client(Server.UserToken("never-created", "alice"));
        problem = await Http.AssertProblemAsync(await ghost.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
        Assert.Contains("unknown", problem.GetProperty("title").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    private string Forge(string attack, string tenant)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { ["tenant_id"] = tenant, ["sub"] = "alice", ["scope"] = "query ingest admin" };
        string Sign(SigningCredentials credentials, string issuer = "bruno", string audience = "bruno-api", DateTime? expires = null) =>
            new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = issuer,
                Audience = audience,
                IssuedAt = (expires ?? now.AddMinutes(10)).AddMinutes(-20),
                NotBefore = (expires ?? now.AddMinutes(10)).AddMinutes(-20),
                Expires = expires ?? now.AddMinutes(10),
                Claims = claims,
                SigningCredentials = credentials,
            });
        var ours = new SigningCredentials(Tokens.SigningKey, SecurityAlgorithms.HmacSha256);
        static string B64(string s) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(s));
        switch (attack)
        {
            case "none":
                return B64("""{"alg":"none","typ":"JWT"}""") + "." + B64(JsonSerializer.Serialize(new { iss = "bruno", aud = "bruno-api", tenant_id = tenant, sub = "alice", scope = "query", exp = new DateTimeOffset(now.AddMinutes(10)).ToUnixTimeSeconds() })) + ".";
            case "wrong-key":
                return Sign(new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = Tokens.SigningKey.KeyId }, SecurityAlgorithms.HmacSha256));
            case "rs256-confusion":
                // An RS256 token under our key id: a server that let the token pick the algorithm could be fooled.
                using (var rsa = RSA.Create(2048))
                {
                    return Sign(new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = Tokens.SigningKey.KeyId }, SecurityAlgorithms.RsaSha256));
                }

            case "wrong-issuer":
                return Sign(ours, issuer: "someone-else");
            case "wrong-audience":
                return Sign(ours, audience: "another-api");
            case "expired":
                return Sign(ours, expires: now.AddMinutes(-5)); // beyond the 60 s clock skew
            case "tampered":
                var parts = Tokens.IssueUserToken(Storage.Identity.TenantId.Parse(tenant), Storage.Identity.UserId.Parse("alice"), [Scopes.Query], TimeSpan.FromMinutes(5)).Split('.');
                var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"query\"", "\"query ingest admin\"", StringComparison.Ordinal);
                return parts[0] + "." + B64(payload) + "." + parts[2];
            case "unknown-kid":
                return Sign(new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "someone-elses-key" }, SecurityAlgorithms.HmacSha256));
            case "tenant-array":
                // both tenants exist: a token naming two of them must not be served as either
                claims["tenant_id"] = new[] { tenant + "-other", tenant };
                return Sign(ours);
            case "sub-array":
                claims["sub"] = new[] { "alice", "mallory" };
                return Sign(ours);
            case "tenant-number":
                claims["tenant_id"] = 42;
                return Sign(ours);
            case "tenant-twice" or "hand-built":
                // a duplicated key, signed with the server's own key: parsers disagree on which value wins
                var header = B64($$"""{"alg":"HS256","kid":"{{Tokens.SigningKey.KeyId}}","typ":"JWT"}""");
                var body = B64($$"""{"iss":"bruno","aud":"bruno-api",{{(attack == "tenant-twice" ? $"\"tenant_id\":\"{tenant}-other\"," : string.Empty)}}"sub":"alice","scope":"query ingest admin","tenant_id":"{{tenant}}","exp":{{new DateTimeOffset(now.AddMinutes(10)).ToUnixTimeSeconds()}}}""");
                var mac = HMACSHA256.HashData(Tokens.SigningKey.Key, Encoding.ASCII.GetBytes(header + "." + body));
                return header + "." + body + "." + Base64UrlEncoder.Encode(mac);
            case "garbage":
                return "not.a.token";
            default:
                return string.Empty;
        }
    }
}
