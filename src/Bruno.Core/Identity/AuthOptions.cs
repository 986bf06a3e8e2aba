namespace Bruno.Core.Identity;

/// <summary>
/// Production identity (section <c>Bruno:Auth</c>): an OIDC authority whose signing keys (JWKS) are fetched from its
/// discovery document and refreshed without restart (on schedule, and at once when a token names a key not seen yet).
/// Its tokens must carry the audience <see cref="BrunoOptions.Audience"/>, the issuer the discovery document names, and
/// the claims <c>tenant_id</c>, <c>sub</c> and <c>scope</c> (or <c>scp</c>). Checked by <see cref="AuthOptionsValidator"/>.
/// </summary>
public sealed class AuthOptions
{
    /// <summary>The authority's base address (its discovery document is under <c>/.well-known/openid-configuration</c>); empty: none.</summary>
    public string? Authority { get; set; }

    /// <summary>Whether the authority must be https (only a test or a local setup may turn this off).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Signature algorithms accepted from the authority.</summary>
    public string[] Algorithms { get; set; } = ["RS256", "ES256"];

    /// <summary>How often the keys are refreshed on schedule, in minutes.</summary>
    public int KeyRefreshMinutes { get; set; } = 60;

    /// <summary>
    /// The claim of the authority's tokens that lists the user's groups (values that are valid group names count; the
    /// union with the groups managed in Bruno is the user's groups). Default <c>groups</c>.
    /// </summary>
    public string GroupsClaim { get; set; } = "groups";

    /// <summary>
    /// The claim of the authority's tokens that lists the user's roles (values naming a Bruno role — owner, admin,
    /// editor, member, auditor — count, the most privileged first; a role assigned in Bruno takes precedence). Default <c>roles</c>.
    /// </summary>
    public string RolesClaim { get; set; } = "roles";

    /// <summary>The web console's sign-in through the authority (section <c>Bruno:Auth:Console</c>); off without a client id.</summary>
    public ConsoleSignInOptions Console { get; set; } = new();

    /// <summary>True when an authority is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);

    /// <summary>True when the web console signs people in through the authority.</summary>
    public bool ConsoleSignIn => Enabled && !string.IsNullOrWhiteSpace(Console.ClientId);
}

/// <summary>
/// The web console as a client of the authority: authorization code flow with PKCE, redirect URI
/// <c>{Bruno's address}/console/signin-oidc</c>. The access token the authority returns is validated exactly as the API
/// validates a bearer token (issuer, audience, keys, algorithms, claim shape), and the session takes its tenant, user,
/// scopes, groups and roles from it; a token without a tenant signs no one in.
/// </summary>
public sealed class ConsoleSignInOptions
{
    /// <summary>The console's client id registered at the authority; empty: the console signs in by link only.</summary>
    public string? ClientId { get; set; }

    /// <summary>The client secret, for an authority that registers the console as a confidential client (keep it out of files: an environment variable or a mounted secret).</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The scopes asked for: <c>openid</c> and the API scopes the console's pages need (the authority grants what the user has).</summary>
    public string[] Scopes { get; set; } = ["openid", "profile", "query", "memory"];

    /// <summary>The sign-in button's words: "Sign in with …".</summary>
    public string DisplayName { get; set; } = "single sign-on";
}
