using System.Security.Claims;
using Bruno.Storage.Identity;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Bruno.Core.Identity;

/// <summary>
/// Issues the HS256 tokens of the embedded mode (signed with the generated key) and describes how they are validated.
/// Claims: <c>tenant_id</c> (absent on platform-admin tokens), <c>sub</c> (user), <c>scope</c> (space-separated).
/// Throws <see cref="ArgumentException"/> for an unknown scope or an invalid lifetime.
/// </summary>
public sealed class TokenService
{
    /// <summary>Claim carrying the tenant id.</summary>
    public const string TenantClaim = "tenant_id";

    /// <summary>Claim carrying the scopes.</summary>
    public const string ScopeClaim = "scope";

    private readonly SigningCredentials _credentials;
    private readonly TimeProvider _time;

    /// <summary>Creates the service over a signing key of at least 32 bytes.</summary>
    public TokenService(byte[] signingKey, string issuer, string audience, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(signingKey);
        if (signingKey.Length < 32)
        {
            throw new ArgumentException("An HS256 signing key needs at least 32 bytes.", nameof(signingKey));
        }

        SigningKey = new SymmetricSecurityKey(signingKey) { KeyId = KeyIdOf(signingKey) };
        _credentials = new SigningCredentials(SigningKey, SecurityAlgorithms.HmacSha256);
        (Issuer, Audience, _time) = (issuer, audience, time ?? TimeProvider.System);
    }

    /// <summary>The token service of a data folder: its signing key file (32 random bytes, 0600, created on first use).</summary>
    public static TokenService ForDataDirectory(DataDirectory data, BrunoOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        using var key = Storage.Crypto.MasterKey.LoadOrCreate(data.SigningKeyPath, allowGroupRead: data.SecretsShared); // the same 32-byte 0600 secret file format
        return new TokenService(Convert.FromBase64String(key.ToBase64()), options.Issuer, options.Audience, time);
    }

    /// <summary>The key tokens are signed and validated with.</summary>
    public SymmetricSecurityKey SigningKey { get; }

    /// <summary>The issuer written into and required of tokens.</summary>
    public string Issuer { get; }

    /// <summary>The audience written into and required of tokens.</summary>
    public string Audience { get; }

    /// <summary>Issues a token for user <paramref name="user"/> of <paramref name="tenant"/> with tenant scopes.</summary>
    public string IssueUserToken(TenantId tenant, UserId user, IEnumerable<string> scopes, TimeSpan lifetime) =>
        IssueUserToken(tenant, user, scopes, lifetime, null);

    /// <summary>
    /// A user token that also names the user's role in claim <c>RoleClaim.Claim</c> (the roles claim the server reads,
    /// <c>Bruno:Auth:RolesClaim</c>): what the holder of the signing key — the operator — states; a role assigned in the
    /// tenant still wins. Throws as the overload without a role.
    /// </summary>
    public string IssueUserToken(TenantId tenant, UserId user, IEnumerable<string> scopes, TimeSpan lifetime, (string Claim, string Role)? roleClaim)
    {
        var list = scopes.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count == 0 || list.Any(s => !Scopes.TenantScopes.Contains(s)))
        {
            throw new ArgumentException($"Scopes must be some of: {string.Join(", ", Scopes.TenantScopes)}.", nameof(scopes));
        }

        var claims = new Dictionary<string, object> { [TenantClaim] = tenant.Value, [JwtRegisteredClaimNames.Sub] = user.Value, [ScopeClaim] = string.Join(' ', list) };
        if (roleClaim is { } r)
        {
            claims[r.Claim] = new[] { r.Role };
        }

        return Issue(claims, lifetime);
    }

    /// <summary>Issues a platform-admin token (no tenant) for <paramref name="operatorName"/>.</summary>
    public string IssuePlatformToken(string operatorName, TimeSpan lifetime)
    {
        var user = UserId.Parse(operatorName); // same charset rules as users
        return Issue(new Dictionary<string, object> { [JwtRegisteredClaimNames.Sub] = user.Value, [ScopeClaim] = Scopes.PlatformAdmin }, lifetime);
    }

    /// <summary>
    /// A token for a metrics scraper (<paramref name="name"/>, for example <c>prometheus</c>): no tenant, scope
    /// <see cref="Scopes.Metrics"/>, good for <c>/metrics</c> only. Throws <see cref="InvalidIdentifierException"/> for a bad name.
    /// </summary>
    public string IssueMetricsToken(string name, TimeSpan lifetime)
    {
        var user = UserId.Parse(name);
        return Issue(new Dictionary<string, object> { [JwtRegisteredClaimNames.Sub] = user.Value, [ScopeClaim] = Scopes.Metrics }, lifetime);
    }

    /// <summary>Validation rules for these tokens: signature, issuer, audience, lifetime (60 s skew), HS256 only.</summary>
    public TokenValidationParameters ValidationParameters() => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = SigningKey,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ValidateIssuer = true,
        ValidateAudience = true,
        ValidateLifetime = true,
        ValidateIssuerSigningKey = true,
        RequireExpirationTime = true,
        RequireSignedTokens = true,
        ClockSkew = TimeSpan.FromSeconds(60),
        NameClaimType = JwtRegisteredClaimNames.Sub,
    };

    /// <summary>What a console sign-in link's audience adds to Bruno's: a link is never a bearer token of the API.</summary>
    public const string ConsoleLinkAudienceSuffix = "#console-link";

    /// <summary>
    /// A one-time console sign-in link's token for <paramref name="user"/> of <paramref name="tenant"/> with
    /// <paramref name="scopes"/>, good for <paramref name="lifetime"/>: signed like a user token but for another audience,
    /// so the API refuses it; the console redeems it once (<c>ConsoleLinks</c>). Throws as <see cref="IssueUserToken(TenantId, UserId, IEnumerable{string}, TimeSpan)"/>.
    /// </summary>
    public string IssueConsoleLink(TenantId tenant, UserId user, IEnumerable<string> scopes, TimeSpan lifetime)
    {
        var list = scopes.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count == 0 || list.Any(s => !Scopes.TenantScopes.Contains(s)))
        {
            throw new ArgumentException($"Scopes must be some of: {string.Join(", ", Scopes.TenantScopes)}.", nameof(scopes));
        }

        return Issue(new Dictionary<string, object> { [TenantClaim] = tenant.Value, [JwtRegisteredClaimNames.Sub] = user.Value, [ScopeClaim] = string.Join(' ', list) }, lifetime, Audience + ConsoleLinkAudienceSuffix);
    }

    /// <summary>
    /// The claims of a console link token signed by this service and still valid, or null (bad signature, expired, another
    /// audience, a claim of the wrong shape). Never throws for a malformed link.
    /// </summary>
    public Task<ClaimsIdentity?> ReadConsoleLinkAsync(string? link) => ReadLinkAsync(link, ConsoleLinkAudienceSuffix);

    /// <summary>What an operator's console link's audience adds to Bruno's: neither a bearer token nor a tenant user's link.</summary>
    public const string ConsoleOperatorLinkAudienceSuffix = "#console-operator-link";

    /// <summary>
    /// A one-time console sign-in link's token for the platform operator <paramref name="operatorName"/> (no tenant, scope
    /// <see cref="Scopes.PlatformAdmin"/>), good for <paramref name="lifetime"/>: its own audience, so neither the API nor
    /// <see cref="ReadConsoleLinkAsync"/> accepts it. Throws <see cref="InvalidIdentifierException"/> for a name that is not
    /// a valid user id, and as <see cref="IssueUserToken(TenantId, UserId, IEnumerable{string}, TimeSpan)"/> for a bad lifetime.
    /// </summary>
    public string IssueConsoleOperatorLink(string operatorName, TimeSpan lifetime)
    {
        var user = UserId.Parse(operatorName); // same charset rules as users
        return Issue(new Dictionary<string, object> { [JwtRegisteredClaimNames.Sub] = user.Value, [ScopeClaim] = Scopes.PlatformAdmin }, lifetime, Audience + ConsoleOperatorLinkAudienceSuffix);
    }

    /// <summary>
    /// The claims of an operator's console link token (<see cref="IssueConsoleOperatorLink"/>) signed by this service and
    /// still valid, or null, as <see cref="ReadConsoleLinkAsync"/>. Never throws for a malformed link.
    /// </summary>
    public Task<ClaimsIdentity?> ReadConsoleOperatorLinkAsync(string? link) => ReadLinkAsync(link, ConsoleOperatorLinkAudienceSuffix);

    private async Task<ClaimsIdentity?> ReadLinkAsync(string? link, string audienceSuffix)
    {
        if (string.IsNullOrEmpty(link) || link.Length > 4_096)
        {
            return null;
        }

        var parameters = ValidationParameters();
        parameters.ValidAudience = Audience + audienceSuffix;
        var result = await new JsonWebTokenHandler { MapInboundClaims = false }.ValidateTokenAsync(link, parameters);
        return result.IsValid && result.SecurityToken is JsonWebToken jwt && ClaimShapeProblem(jwt.EncodedPayload) is null ? result.ClaimsIdentity : null;
    }

    private string Issue(Dictionary<string, object> claims, TimeSpan lifetime, string? audience = null)
    {
        if (lifetime <= TimeSpan.Zero || lifetime > TimeSpan.FromDays(366))
        {
            throw new ArgumentException("A token lives between one second and one year.", nameof(lifetime));
        }

        var now = _time.GetUtcNow().UtcDateTime;
        claims[JwtRegisteredClaimNames.Jti] = Guid.NewGuid().ToString("N");
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience ?? Audience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            Claims = claims,
            SigningCredentials = _credentials,
        });
    }

    private static string KeyIdOf(byte[] key) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(key))[..16];

    /// <summary>
    /// Why a token whose signature holds still cannot name one identity, or null when it can: a claim name given twice
    /// (RFC 7519 lets a parser reject that, and a parser that keeps the first would disagree with one that keeps the
    /// last), or <c>tenant_id</c>, <c>sub</c> or <c>scope</c> that is not a single string (an array would be read as
    /// several claims, one of them picked). <paramref name="encodedPayload"/> is the token's base64url payload. Never throws.
    /// </summary>
    public static string? ClaimShapeProblem(string encodedPayload)
    {
        byte[] json;
        try
        {
            json = Base64UrlEncoder.DecodeBytes(encodedPayload);
        }
        catch (FormatException)
        {
            return "the payload is not base64url";
        }

        try
        {
            var reader = new System.Text.Json.Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != System.Text.Json.JsonTokenType.StartObject)
            {
                return "the payload is not a JSON object";
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == System.Text.Json.JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!names.Add(name))
                {
                    return $"the claim '{name}' appears twice";
                }

                reader.Read();
                if (name is TenantClaim or JwtRegisteredClaimNames.Sub or ScopeClaim && reader.TokenType != System.Text.Json.JsonTokenType.String)
                {
                    return $"the claim '{name}' is not a single string";
                }

                reader.Skip();
            }

            return null;
        }
        catch (System.Text.Json.JsonException)
        {
            return "the payload is not valid JSON";
        }
    }

    /// <summary>The scopes a validated principal carries.</summary>
    public static IReadOnlySet<string> ScopesOf(ClaimsPrincipal principal) =>
        principal.FindAll(c => c.Type is ScopeClaim or "scp").SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);
}
