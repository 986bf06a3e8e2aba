using System.Globalization;

namespace Bruno.Server.Tenancy;

/// <summary>
/// How a limit decision is told to the client: <c>X-RateLimit-Limit</c>, <c>-Remaining</c> and <c>-Reset</c> (seconds
/// until the window ends) on every answer, and on a refusal 429 with <c>Retry-After</c> and a problem document whose
/// <c>level</c> says which limit refused (tenant, client, concurrency or penalty).
/// </summary>
internal static class LimitHeaders
{
    public static void Write(HttpResponse response, LimitDecision d)
    {
        response.Headers["X-RateLimit-Limit"] = d.Limit.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-RateLimit-Remaining"] = d.Remaining.ToString(CultureInfo.InvariantCulture);
        response.Headers["X-RateLimit-Reset"] = d.ResetSeconds.ToString(CultureInfo.InvariantCulture);
        if (!d.Allowed)
        {
            response.Headers.RetryAfter = ((int)d.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }
    }

    public static IResult Problem(LimitDecision d) => TypedResults.Problem(
        statusCode: StatusCodes.Status429TooManyRequests,
        title: "Rate limit exceeded",
        detail: d.Detail,
        extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["level"] = d.Level, ["limit"] = d.Limit, ["retry_after_seconds"] = (int)d.RetryAfter.TotalSeconds });
}
