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

    /// <summary>True when an authority is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}
