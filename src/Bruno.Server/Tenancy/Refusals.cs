using Bruno.Core.Tenants;
using Bruno.Server.Hosting;

namespace Bruno.Server.Tenancy;

/// <summary>The HTTP door's one mapping of an admission's <see cref="Refusal"/> (MCP has its own, in its caller).</summary>
internal static class Refusals
{
    /// <summary>
    /// The HTTP answer to a refused admission, one for each <see cref="RefusalKind"/>: 401 without a credential, 404 for
    /// another tenant named (as if it did not exist), 403 for the tenant's state, a missing scope or a quota (with
    /// <c>quota</c>), 429 with <c>Retry-After</c> and <c>level</c> for a rate limit (<paramref name="decision"/>).
    /// </summary>
    public static IResult Problem(Refusal refusal, LimitDecision? decision = null)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        return refusal.Kind switch
        {
            RefusalKind.Unauthenticated => Problems.Result(StatusCodes.Status401Unauthorized, "Unauthorized", "A valid bearer token is required."),
            RefusalKind.OtherTenantNamed => Problems.Result(StatusCodes.Status404NotFound, "Not found", "No such resource."),
            RefusalKind.TenantUnknown => Problems.Result(StatusCodes.Status403Forbidden, "Tenant unknown", refusal.Detail),
            RefusalKind.TenantSuspended => Problems.Result(StatusCodes.Status403Forbidden, "Tenant suspended", refusal.Detail),
            RefusalKind.TenantUnavailable => Problems.Result(StatusCodes.Status403Forbidden, "Tenant unavailable", refusal.Detail),
            RefusalKind.ScopeMissing => Problems.Result(StatusCodes.Status403Forbidden, "Forbidden", refusal.Detail),
            RefusalKind.QuotaExceeded => Problems.Result(StatusCodes.Status403Forbidden, "Quota exceeded", refusal.Detail, refusal.Limit is { } quota ? new Dictionary<string, object?>(StringComparer.Ordinal) { ["quota"] = quota } : null),
            RefusalKind.RateLimited when decision is not null => LimitHeaders.Problem(decision),
            RefusalKind.RateLimited => Problems.Result(StatusCodes.Status429TooManyRequests, "Rate limit exceeded", refusal.Detail),
            _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal.Kind, "Unknown refusal."),
        };
    }
}
