using System.Net;
using System.Security.Cryptography;
using Bruno.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bruno.Server.Tests;

/// <summary>
/// A real OIDC discovery document and JWKS served on 127.0.0.1 (the identity provider is the part we stand in for; its
/// protocol is real), and a Bruno server that trusts it.
/// </summary>
public sealed class OidcFixture : IAsyncLifetime
{
    private readonly List<(SecurityKey Private, object Public)> _published = [];
    private WebApplication _idp = null!;

    public string Issuer { get; private set; } = string.Empty;

    public RunningServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _idp = builder.Build();
        _idp.MapGet("/.well-known/openid-configuration", () => Results.Json(new { issuer = Issuer, jwks_uri = Issuer + "/jwks" }));
        _idp.MapGet("/jwks", () => Results.Json(new { keys = _published.Select(k => k.Public).ToArray() }));
        await _idp.StartAsync();
        Issuer = _idp.Urls.First().TrimEnd('/');
        Publish(NewRsa("rsa-1"));
        Publish(NewEc("ec-1"));
        Server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:Auth:Authority"] = Issuer, ["Bruno:Auth:RequireHttpsMetadata"] = "false" });
    }

    /// <summary>A key that signs tokens: published in the JWKS when passed to <see cref="Publish"/>.</summary>
    public static (SecurityKey Private, object Public) NewRsa(string kid)
    {
        var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        return (new RsaSecurityKey(rsa) { KeyId = kid }, new { kty = "RSA", use = "sig", alg = "RS256", kid, n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) });
    }

    public static (SecurityKey Private, object Public) NewEc(string kid)
    {
        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var p = ec.ExportParameters(false);
        return (new ECDsaSecurityKey(ec) { KeyId = kid }, new { kty = "EC", use = "sig", alg = "ES256", kid, crv = "P-256", x = Base64UrlEncoder.Encode(p.Q.X), y = Base64UrlEncoder.Encode(p.Q.Y) });
    }

    public void Publish((SecurityKey Private, object Public) key) => _published.Add(key);

    /// <summary>The private half of a published key.</summary>
    public SecurityKey Key(string kid) => _published.First(k => k.Private.KeyId == kid).Private;

    public string Token(SecurityKey key, string algorithm, string tenant, string scope = "query", string? audience = null, string? issuer = null, IReadOnlyDictionary<string, object>? extra = null) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience ?? "bruno-api",
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["tenant_id"] = tenant, ["sub"] = "sso-user", ["scope"] = scope }
                .Concat(extra ?? new Dictionary<string, object>()).ToDictionary(p => p.Key, p => p.Value),
            SigningCredentials = new SigningCredentials(key, algorithm),
        });

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await _idp.DisposeAsync();
    }
}

/// <summary>Tokens of an external identity provider: accepted when its keys sign them, refreshed without restart.</summary>
public sealed class OidcTests(OidcFixture fixture) : IClassFixture<OidcFixture>
{
    [Fact]
    public async Task RS256AndES256TokensOfTheAuthority_AreAccepted_OthersAreNot()
    {
        var tenant = ServerFixture.NewTenant("sso");
        await fixture.Server.CreateTenantsAsync(tenant);

        var (rsa, _) = OidcFixture.NewRsa("unused");
        foreach (var (key, alg) in new[] { (Find("rsa-1"), SecurityAlgorithms.RsaSha256), (Find("ec-1"), SecurityAlgorithms.EcdsaSha256) })
        {
            using var ok = fixture.Server.Client(fixture.Token(key, alg, tenant));
            (await ok.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        }

        foreach (var bad in new[]
        {
            fixture.Token(Find("rsa-1"), SecurityAlgorithms.RsaSha256, tenant, audience: "someone-else"),
            fixture.Token(Find("rsa-1"), SecurityAlgorithms.RsaSha256, tenant, issuer: "https://evil.example"),
            fixture.Token(rsa, SecurityAlgorithms.RsaSha256, tenant), // a key the authority never published
        })
        {
            await Http.AssertProblemAsync(await fixture.Server.Client(bad).GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Unauthorized);
        }

        // Bruno's own tokens keep working beside the authority's.
        (await fixture.Server.Client(fixture.Server.UserToken(tenant, "alice")).GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
    }

    private SecurityKey Find(string kid) => fixture.Key(kid);
}

/// <summary>
/// Key rotation, on a server of its own: the handler refetches keys for an unknown key id at most once per refresh
/// interval, so another test's unknown key must not have used that chance first.
/// </summary>
public sealed class OidcRotationTests(OidcFixture fixture) : IClassFixture<OidcFixture>
{
    [Fact]
    public async Task AKeyPublishedAfterStart_IsPickedUpWithoutRestart()
    {
        var tenant = ServerFixture.NewTenant("rotate");
        await fixture.Server.CreateTenantsAsync(tenant);

        using (var warm = fixture.Server.Client(fixture.Token(Find("rsa-1"), SecurityAlgorithms.RsaSha256, tenant)))
        {
            (await warm.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode(); // the keys are fetched and cached
        }

        var rotated = OidcFixture.NewRsa("rsa-2");
        fixture.Publish(rotated);
        using var client = fixture.Server.Client(fixture.Token(rotated.Private, SecurityAlgorithms.RsaSha256, tenant));
        // An unknown key id makes the server fetch the keys again, in the background: the requests that arrive before
        // the new keys are in place still fail. Retry (each attempt a real request, no fixed wait) until one succeeds.
        var status = HttpStatusCode.Unauthorized;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            using var response = await client.GetAsync("/api/v1/documents", Http.Ct);
            status = response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, status);
    }

    private SecurityKey Find(string kid) => fixture.Key(kid);
}
