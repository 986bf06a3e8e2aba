using System.Security.Claims;
using System.Text.Encodings.Web;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Server.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Authenticates machines by tenant API key (<c>Authorization: Bearer brk_...</c>, <c>Authorization: ApiKey brk_...</c>
/// or <c>X-Api-Key: brk_...</c>). The principal carries the key's tenant and scopes, and <c>key:&lt;id&gt;</c> as its
/// subject; nothing else about the request can change them.
/// </summary>
internal sealed partial class ApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeys keys, AuditTrail trail)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    /// <summary>The key in the request, if it carries one.</summary>
    public static string? KeyOf(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        foreach (var prefix in new[] { "Bearer ", "ApiKey " })
        {
            if (header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && header[prefix.Length..].Trim().StartsWith(ApiKeys.Prefix, StringComparison.Ordinal))
            {
                return header[prefix.Length..].Trim();
            }
        }

        var x = request.Headers["X-Api-Key"].ToString();
        return x.StartsWith(ApiKeys.Prefix, StringComparison.Ordinal) ? x : null;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var key = KeyOf(Request);
        if (key is null)
        {
            return AuthenticateResult.NoResult();
        }

        var (info, named) = keys.Check(key);
        if (info is null)
        {
            LogRejected(Logger, Problems.RouteOf(Context));
            if (named is not null)
            {
                // the key id is the tenant's own (only the secret or its revocation failed): its log records the attempt
                await trail.RecordAsync(named.Tenant, new Core.Audit.AuditEvent("key:" + named.Id, "auth.signin_failed", "api key " + named.Id, Core.Audit.AuditResults.Failure, Context.TraceIdentifier));
            }

            return AuthenticateResult.Fail("invalid or revoked API key");
        }

        var identity = new ClaimsIdentity(
            [
                new Claim(TokenService.TenantClaim, info.Tenant.Value),
                new Claim("sub", "key:" + info.Id),
                new Claim(TokenService.ScopeClaim, string.Join(' ', info.Scopes)),
            ],
            SchemeName,
            "sub",
            null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        ProtectedResource.Challenge(Context);
        return Problems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "Unauthorized", "A valid bearer token or API key is required.");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        await trail.DeniedAsync(Context);
        await Problems.WriteAsync(Context, StatusCodes.Status403Forbidden, "Forbidden", "The credential does not carry the scope this request needs.");
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Rejected an invalid or revoked API key on {Route}")]
    private static partial void LogRejected(ILogger logger, string route);
}
