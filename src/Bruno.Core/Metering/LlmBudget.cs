using System.Globalization;
using Bruno.Core.Documents;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Core.Metering;

/// <summary>Thrown when a rate limit refuses work: which level, and when to try again.</summary>
public sealed class RateLimitedException(string level, long limit, TimeSpan retryAfter, string message) : Exception(message)
{
    /// <summary>The level that refused (<c>llm_tokens</c>).</summary>
    public string Level { get; } = level;

    /// <summary>The limit.</summary>
    public long Limit { get; } = limit;

    /// <summary>When the window resets.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// The last level of the rate limits and the monthly token quota: a tenant whose language-model tokens this hour
/// reached its plan's <see cref="PlanOptions.LlmTokensPerHour"/> is refused generation until the hour ends
/// (<see cref="RateLimitedException"/>), and one whose tokens this calendar month reached
/// <see cref="PlanOptions.LlmTokensPerMonth"/> until the month ends (<see cref="QuotaExceededException"/>). The check
/// happens before a question is generated; the question that crosses the line completes (soft by one answer).
/// </summary>
public sealed class LlmBudget(UsageMeter meter, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Throws when the tenant may not generate now; returns the tokens left this hour otherwise.</summary>
    public long EnsureAvailable(TenantId tenant, PlanOptions plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var now = _time.GetUtcNow();
        var month = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        var monthUsed = meter.LlmTokensSince(tenant, month);
        if (monthUsed >= plan.LlmTokensPerMonth)
        {
            throw new QuotaExceededException("llm_tokens_month", plan.LlmTokensPerMonth, monthUsed, string.Create(CultureInfo.InvariantCulture,
                $"The tenant used its {plan.LlmTokensPerMonth:N0} language-model tokens of this month; answers are generated again from {month.AddMonths(1):yyyy-MM-dd}."));
        }

        var hour = new DateTimeOffset(UsageMeter.HourOf(now), TimeSpan.Zero);
        var hourUsed = meter.LlmTokensSince(tenant, hour);
        if (hourUsed >= plan.LlmTokensPerHour)
        {
            throw new RateLimitedException("llm_tokens", plan.LlmTokensPerHour, hour.AddHours(1) - now, string.Create(CultureInfo.InvariantCulture,
                $"The tenant used its {plan.LlmTokensPerHour:N0} language-model tokens of this hour."));
        }

        return plan.LlmTokensPerHour - hourUsed;
    }
}
