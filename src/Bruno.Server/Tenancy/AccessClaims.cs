using System.Security.Claims;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Turns a verified user credential into what the user may do, once per request and before any policy runs, so every
/// door (HTTP, MCP, the OpenAI door) sees the same: the scopes become the credential's scopes capped by the user's role
/// (assigned in Bruno, else named by the identity provider's roles claim, else member once the tenant uses roles; in a
/// tenant that has never given a role, the credential's scopes stand), and the user's groups are those managed in Bruno
/// joined with the identity provider's groups claim. Both are read from the catalog on every request, in one query, so a
/// change takes effect on the next one; so are the groups the user administers. Machine keys keep their scopes.
/// What this adds lives in an identity of its own type, which a token cannot carry: a token claiming a role or groups
/// in Bruno's claim names gains nothing.
/// </summary>
internal sealed class AccessClaims(TenantAccess access, IOptions<BrunoOptions> options) : IClaimsTransformation
{
    /// <summary>The authentication type of the identity this adds.</summary>
    public const string IdentityType = "bruno-access";

    /// <summary>The claim naming the user's role (in the added identity only).</summary>
    public const string RoleClaim = "bruno_role";

    /// <summary>The claims naming the user's groups (in the added identity only).</summary>
    public const string GroupClaim = "bruno_group";

    /// <summary>The claims naming the groups the user administers (in the added identity only).</summary>
    public const string GroupAdminClaim = "bruno_group_admin";

    public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
    {
        if (principal.Identities.Any(i => i.AuthenticationType == IdentityType)
            || principal.Identity is not ClaimsIdentity { IsAuthenticated: true } identity
            || identity.AuthenticationType == ApiKeyHandler.SchemeName
            || Caller.From(principal) is not { } caller)
        {
            return Task.FromResult(principal);
        }

        var auth = options.Value.Auth;
        // a tenant that gives anyone a role uses roles: a user without one (never given one, erased, or whose role was
        // taken) is a member, so no credential's wider scopes come back into force
        var held = access.Of(caller.Tenant, caller.User);
        var role = held.Assigned ?? RoleFromClaims(identity, auth.RolesClaim) ?? (held.RolesInUse ? TenantRole.Member : null);
        var groups = held.Groups
            .Concat(identity.FindAll(auth.GroupsClaim).Select(c => c.Value).Where(GroupName.IsValid))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        // the credential's own identity, its scopes capped by the role
        var scopes = role is { } r ? caller.Scopes.Where(TenantRoles.ScopesOf(r).Contains).ToList() : [.. caller.Scopes];
        var capped = new ClaimsIdentity(
            identity.Claims.Where(c => c.Type is not (TokenService.ScopeClaim or "scp")).Append(new Claim(TokenService.ScopeClaim, string.Join(' ', scopes))),
            identity.AuthenticationType,
            identity.NameClaimType,
            identity.RoleClaimType);
        var added = new ClaimsIdentity(
            groups.Select(g => new Claim(GroupClaim, g))
                .Concat(held.Administers.Select(g => new Claim(GroupAdminClaim, g)))
                .Concat(role is { } given ? [new Claim(RoleClaim, TenantRoles.Name(given))] : []),
            IdentityType);
        return Task.FromResult(new ClaimsPrincipal([capped, added]));
    }

    /// <summary>The most privileged Bruno role among the values of the identity provider's roles claim, if any.</summary>
    private static TenantRole? RoleFromClaims(ClaimsIdentity identity, string claim)
    {
        TenantRole? best = null;
        foreach (var value in identity.FindAll(claim).Select(c => c.Value))
        {
            if (TenantRoles.TryParse(value, out var role) && (best is null || role < best))
            {
                best = role;
            }
        }

        return best;
    }

    /// <summary>The role, groups and administered groups this added to <paramref name="principal"/> (none when it added nothing).</summary>
    public static (TenantRole? Role, IReadOnlyList<string> Groups, IReadOnlyList<string> Administers) Of(ClaimsPrincipal principal)
    {
        var added = principal.Identities.FirstOrDefault(i => i.AuthenticationType == IdentityType);
        if (added is null)
        {
            return (null, [], []);
        }

        TenantRole? role = added.FindFirst(RoleClaim) is { } r && TenantRoles.TryParse(r.Value, out var parsed) ? parsed : null;
        return (role, [.. added.FindAll(GroupClaim).Select(c => c.Value)], [.. added.FindAll(GroupAdminClaim).Select(c => c.Value)]);
    }
}
