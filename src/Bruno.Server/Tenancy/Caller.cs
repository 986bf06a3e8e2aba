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
    /// <summary>Reads the caller from a validated principal; null when its claims are missing or malformed.</summary>
    public static Caller? From(ClaimsPrincipal principal)
    {
        ArgumentNullException.ThrowIfNull(principal);
        if (principal.Identity?.IsAuthenticated != true
            || !TenantId.TryParse(principal.FindFirst(TokenService.TenantClaim)?.Value, out var tenant)
            || !UserId.TryParse(principal.FindFirst(JwtRegisteredClaimNames.Sub)?.Value, out var user))
        {
            return null;
        }

        return new Caller(tenant, user, TokenService.ScopesOf(principal));
    }

    /// <summary>Minimal-API binding.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context, ParameterInfo parameter)
    {
        ArgumentNullException.ThrowIfNull(context);
        return ValueTask.FromResult(From(context.User));
    }
}

/// <summary>A request body that may name a tenant (to detect override attempts; the value is never used).</summary>
public interface INamesTenant
{
    /// <summary>The tenant the body names, if any.</summary>
    string? TenantId { get; }
}
