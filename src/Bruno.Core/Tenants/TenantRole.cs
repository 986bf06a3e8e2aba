using Bruno.Core.Identity;

namespace Bruno.Core.Tenants;

/// <summary>
/// What a user may do in a tenant. A role caps the scopes of the user's credentials (a token never grants more than
/// its holder's role allows); machine keys keep their own scopes.
/// </summary>
public enum TenantRole
{
    /// <summary>Everything an admin may do, and managing owners. A tenant keeps at least one once it has one.</summary>
    Owner,

    /// <summary>Administer the tenant: users' roles (not owners'), groups, keys, settings, audit, usage; and all an editor may.</summary>
    Admin,

    /// <summary>Add and manage the documents they may see; ask, search, memory.</summary>
    Editor,

    /// <summary>Ask, search, and their own memory.</summary>
    Member,

    /// <summary>Read the audit log, usage and insights; nothing else.</summary>
    Auditor,
}

/// <summary>Names and scopes of <see cref="TenantRole"/>.</summary>
public static class TenantRoles
{
    private static readonly Dictionary<TenantRole, IReadOnlySet<string>> ScopeSets = new()
    {
        [TenantRole.Owner] = Set(Scopes.Query, Scopes.Ingest, Scopes.Memory, Scopes.Admin, Scopes.Audit),
        [TenantRole.Admin] = Set(Scopes.Query, Scopes.Ingest, Scopes.Memory, Scopes.Admin, Scopes.Audit),
        [TenantRole.Editor] = Set(Scopes.Query, Scopes.Ingest, Scopes.Memory),
        [TenantRole.Member] = Set(Scopes.Query, Scopes.Memory),
        [TenantRole.Auditor] = Set(Scopes.Audit),
    };

    /// <summary>Every role's name, most privileged first.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. Enum.GetValues<TenantRole>().Select(Name)];

    /// <summary>The role's name as the API and the catalog spell it (<c>owner</c>…).</summary>
    public static string Name(TenantRole role) => role.ToString().ToLowerInvariant();

    /// <summary>The role named <paramref name="name"/> (exact, lower case); throws <see cref="ArgumentException"/> naming the roles otherwise.</summary>
    public static TenantRole Parse(string? name) =>
        TryParse(name, out var role) ? role : throw new ArgumentException($"role must be one of: {string.Join(", ", Names)}.");

    /// <summary>Whether <paramref name="name"/> names a role (exact, lower case).</summary>
    public static bool TryParse(string? name, out TenantRole role)
    {
        foreach (var candidate in Enum.GetValues<TenantRole>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.Ordinal))
            {
                role = candidate;
                return true;
            }
        }

        role = default;
        return false;
    }

    /// <summary>The scopes a holder of <paramref name="role"/> may use.</summary>
    public static IReadOnlySet<string> ScopesOf(TenantRole role) => ScopeSets[role];

    private static HashSet<string> Set(params string[] scopes) => new(scopes, StringComparer.Ordinal);
}
