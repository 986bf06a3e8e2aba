using System.Reflection;
using System.Security.Claims;
using Bruno.Core.Identity;
using Bruno.Storage.Identity;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Who is calling: tenant, user and scopes, taken from the verified token and nothing else. Handlers receive it as a
/// parameter; it binds only from an authenticated principal whose claims are valid identifiers.
/// </summary>
public sealed record Caller(TenantId Tenant, UserId User, IReadOnlySet<string> Scopes)
{
    /// <summary>The user's role in the tenant (<see cref="AccessClaims"/>); null when none is assigned or for a machine key.</summary>
    public Core.Tenants.TenantRole? Role { get; init; }

    /// <summary>The user's groups in the tenant (<see cref="AccessClaims"/>): Bruno's and the identity provider's.</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];

    /// <summary>The groups the user administers in Bruno (<see cref="AccessClaims"/>).</summary>
    public IReadOnlyList<string> Administers { get; init; } = [];

    /// <summary>
    /// The caller as a reader of the tenant's documents: their user and groups; what they may change from their scopes
    /// (<c>admin</c>: every document, <c>ingest</c>: those they read) and the groups they administer.
    /// </summary>
    public Core.Documents.Viewer Viewer => Core.Documents.Viewer.Of(User, Groups) with
    {
        Rights = Scopes.Contains(Core.Identity.Scopes.Admin) ? Core.Documents.DocumentRights.Manage
            : Scopes.Contains(Core.Identity.Scopes.Ingest) ? Core.Documents.DocumentRights.Edit : Core.Documents.DocumentRights.Read,
        Administers = new HashSet<string>(Administers, StringComparer.Ordinal),
    };

    /// <summary>Reads the caller from a validated principal; null when its claims are missing or malformed.</summary>
    public static Caller? From(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (principal.Identity?.IsAuthenticated != true
            || !TenantId.TryParse(Single(principal, TokenService.TenantClaim), out var tenant)
            || !UserId.TryParse(Single(principal, JwtRegisteredClaimNames.Sub), out var user))
        {
            return null;
        }

        var (role, groups, administers) = AccessClaims.Of(principal);
        return new Caller(tenant, user, TokenService.ScopesOf(principal)) { Role = role, Groups = groups, Administers = administers };
    }

    /// <summary>The value of the one claim of <paramref name="type"/>; null when there is none or more than one.</summary>
    private static string? Single(ClaimsPrincipal principal, string type)
    {
        string? value = null;
        foreach (var claim in principal.FindAll(type))
        {
            if (value is not null)
            {
                return null;
            }

            value = claim.Value;
        }

        return value;
    }

    /// <summary>The caller of <paramref name="context"/>'s request, read from its principal once per request.</summary>
    public static Caller? Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Features.Get<Parsed>() is { } parsed)
        {
            return parsed.Caller;
        }

        var caller = From(context.User);
        context.Features.Set(new Parsed(caller));
        return caller;
    }

    /// <summary>Minimal-API binding.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context, ParameterInfo parameter) => ValueTask.FromResult(Of(context));

    /// <summary>The request's caller as first read (null: none).</summary>
    private sealed record Parsed(Caller? Caller);
}

/// <summary>
/// A JSON request body of a tenant endpoint. It never chooses the tenant; the keys it does not define are kept in
/// <see cref="Other"/> so that <see cref="TenantFilter"/> can answer 404 to any spelling of a tenant key
/// (<c>tenant_id</c>, <c>tenantId</c>, <c>TenantId</c>, <c>tenant</c>, <c>tenant-id</c>...) naming another tenant.
/// </summary>
public abstract record TenantBody
{
    /// <summary>Top-level keys of the body that no property of the request reads.</summary>
    [System.Text.Json.Serialization.JsonExtensionData]
    public Dictionary<string, System.Text.Json.JsonElement>? Other { get; init; }

    /// <summary>The values of the body's keys that spell a tenant (see <see cref="TenantKeys.Names"/>).</summary>
    public IEnumerable<System.Text.Json.JsonElement> TenantValues() =>
        Other is null ? [] : Other.Where(p => TenantKeys.Names(p.Key)).Select(p => p.Value);
}

/// <summary>What counts as a key naming a tenant, in a header, a query string, a form or a body.</summary>
public static class TenantKeys
{
    /// <summary>
    /// Whether <paramref name="key"/> spells a tenant: its letters and digits, lowercased, are <c>tenant</c>,
    /// <c>tenantid</c> or either behind an <c>x</c> (<c>X-Tenant-Id</c>), whatever the case and separators.
    /// </summary>
    public static bool Names(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var letters = new string([.. key.Where(char.IsLetterOrDigit).Select(char.ToLowerInvariant)]);
        return letters is "tenant" or "tenantid" or "xtenant" or "xtenantid";
    }
}
