using System.Globalization;
using Bruno.Core.Identity;
using Bruno.Storage.Identity;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Bruno.Core.Tenants;

/// <summary>Who a redeemed console link signs in: the tenant, the user and the scopes the link named.</summary>
public sealed record ConsoleSignIn(TenantId Tenant, UserId User, IReadOnlyList<string> Scopes);

/// <summary>Who a redeemed operator's console link signs in: a platform operator (no tenant, the platform-admin scope).</summary>
public sealed record ConsoleOperatorSignIn(UserId Operator);

/// <summary>
/// One-time sign-in links of the web console, for installations without an identity provider: an operator makes one
/// (<c>bruno console link</c>) for a user of a tenant; it is a token signed with the installation's key for the console's
/// own audience (the API refuses it), good for <see cref="Lifetime"/> and for one sign-in: its id is recorded in the
/// catalog when redeemed, and a second redemption is refused. An operator's link (<see cref="IssueOperator"/>) signs a
/// platform operator in, with no tenant; it has its own audience, so each kind is redeemed only as itself.
/// <see cref="RedeemAsync"/> and <see cref="RedeemOperatorAsync"/> returns null for any link that
/// does not sign anyone in (malformed, forged, expired, used, of an unknown tenant) — the caller says only that.
/// Throws <see cref="System.Data.Common.DbException"/> when the catalog fails (the link is then not spent).
/// </summary>
public sealed class ConsoleLinks(CatalogDatabase db, TenantCatalog catalog, TokenService tokens, TimeProvider? time = null)
{
    /// <summary>How long a link may wait to be used.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The scopes a console session of <paramref name="role"/> holds (a role assigned in Bruno caps them again at each request).</summary>
    public static IReadOnlyList<string> ScopesFor(TenantRole role) => [.. TenantRoles.ScopesOf(role).Order(StringComparer.Ordinal)];

    /// <summary>A link token for <paramref name="user"/> of <paramref name="tenant"/> with the scopes of <paramref name="role"/>.</summary>
    public string Issue(TenantId tenant, UserId user, TenantRole role) => tokens.IssueConsoleLink(tenant, user, ScopesFor(role), Lifetime);

    /// <summary>Spends <paramref name="link"/>: who it signs in, or null when it signs no one in (see the class).</summary>
    public async Task<ConsoleSignIn?> RedeemAsync(string? link)
    {
        if (await tokens.ReadConsoleLinkAsync(link) is not { } identity
            || identity.FindFirst(JwtRegisteredClaimNames.Jti)?.Value is not { Length: > 0 and <= 64 } id
            || !TenantId.TryParse(identity.FindFirst(TokenService.TenantClaim)?.Value, out var tenant)
            || !UserId.TryParse(identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value, out var user)
            || !long.TryParse(identity.FindFirst(JwtRegisteredClaimNames.Exp)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return null;
        }

        var scopes = (identity.FindFirst(TokenService.ScopeClaim)?.Value ?? string.Empty).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (scopes.Length == 0 || scopes.Any(s => !Scopes.TenantScopes.Contains(s))
            || catalog.Find(tenant) is not { Status: TenantStatus.Active or TenantStatus.Offloaded })
        {
            return null;
        }

        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        db.Execute("DELETE FROM console_links WHERE expires_at < @now;", ("@now", now - (long)TimeSpan.FromMinutes(5).TotalMilliseconds));
        // the id's insert is the redemption: a second one conflicts and spends nothing
        var spent = db.Execute(
            "INSERT INTO console_links(link_id, tenant, user_id, used_at, expires_at) VALUES (@id, @t, @u, @now, @exp) ON CONFLICT (link_id) DO NOTHING;",
            ("@id", id), ("@t", tenant.Value), ("@u", user.Value), ("@now", now), ("@exp", expires * 1000));
        return spent == 1 ? new ConsoleSignIn(tenant, user, scopes) : null;
    }

    /// <summary>An operator's link token for the platform operator <paramref name="operatorName"/> (a valid user id, else <see cref="InvalidIdentifierException"/>).</summary>
    public string IssueOperator(string operatorName) => tokens.IssueConsoleOperatorLink(operatorName, Lifetime);

    /// <summary>
    /// Spends an operator's <paramref name="link"/>: the operator it signs in, or null when it signs no one in (see the
    /// class; a tenant user's link is not an operator's). Its row in <c>console_operator_signins</c> stays: operators have
    /// no tenant audit log, so that table is the record of their console sign-ins.
    /// </summary>
    public async Task<ConsoleOperatorSignIn?> RedeemOperatorAsync(string? link)
    {
        if (await tokens.ReadConsoleOperatorLinkAsync(link) is not { } identity
            || identity.FindFirst(JwtRegisteredClaimNames.Jti)?.Value is not { Length: > 0 and <= 64 } id
            || identity.FindFirst(TokenService.TenantClaim) is not null
            || identity.FindFirst(TokenService.ScopeClaim)?.Value != Scopes.PlatformAdmin
            || !UserId.TryParse(identity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value, out var user)
            || !long.TryParse(identity.FindFirst(JwtRegisteredClaimNames.Exp)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
        {
            return null;
        }

        // the id's insert is the redemption: a second one conflicts and spends nothing
        var spent = db.Execute(
            "INSERT INTO console_operator_signins(link_id, operator, used_at, expires_at) VALUES (@id, @u, @now, @exp) ON CONFLICT (link_id) DO NOTHING;",
            ("@id", id), ("@u", user.Value), ("@now", _time.GetUtcNow().ToUnixTimeMilliseconds()), ("@exp", expires * 1000));
        return spent == 1 ? new ConsoleOperatorSignIn(user) : null;
    }
}
