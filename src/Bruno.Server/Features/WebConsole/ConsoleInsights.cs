using System.Globalization;
using Bruno.Core.Metering;
using Bruno.Core.Tenants;

namespace Bruno.Server.Features.WebConsole;

/// <summary>One day of a tenant's month: what it used and what that day cost.</summary>
/// <param name="Day">The UTC day.</param>
/// <param name="Usage">Its usage (the report's hours of that day, added up).</param>
/// <param name="Cost">Dollars: the day's share of the reserved lines (for the hours the tenant existed) and what it used.</param>
internal sealed record UsageDay(DateOnly Day, UsageTotals Usage, double Cost);

/// <summary>
/// What the tenant admin's pages about use and performance (usage, insights, evaluation runs) compute from the reports
/// the API returns: the month's days, the door a route belongs to, the names of the evaluation figures. Nothing here
/// reads data of its own; the pages call the API's services.
/// </summary>
internal static class ConsoleInsights
{
    /// <summary>The evaluation figures a chart may show, by the names <see cref="Core.Evaluation.EvaluationService.Figures"/> gives them.</summary>
    public static readonly IReadOnlyDictionary<string, string> FigureNames = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["hit_at_1"] = "Hit@1",
        ["hit_at_5"] = "Hit@5",
        ["mrr_at_10"] = "MRR@10",
        ["answer_accuracy"] = "Answer accuracy",
        ["citation_precision"] = "Citation precision",
        ["no_answer_precision"] = "Abstention precision",
        ["no_answer_recall"] = "Abstention recall",
        ["confidence_right"] = "Confidence when right",
        ["confidence_wrong"] = "Confidence when wrong",
        ["calibration_error"] = "Calibration error",
        ["confidence_auc"] = "Confidence AUC",
        ["latency_p50_ms"] = "Latency p50 (ms)",
        ["latency_p95_ms"] = "Latency p95 (ms)",
    };

    /// <summary>Whether a figure is a share (0 to 1; latencies are not).</summary>
    public static bool IsShare(string figure) => !figure.StartsWith("latency", StringComparison.Ordinal);

    /// <summary>A figure as the pages write it: shares with three decimals, milliseconds with one, "—" for none.</summary>
    public static string Figure(string figure, double? value) =>
        value is not { } v ? "—" : IsShare(figure) ? v.ToString("0.000", CultureInfo.InvariantCulture) : v.ToString("0.0", CultureInfo.InvariantCulture);

    /// <summary>
    /// Every day of the report's month, each with the usage of its hours and its cost priced by the same
    /// <see cref="CostModel"/> as the month (its share of the reserved lines for the hours the tenant existed that day,
    /// before <paramref name="now"/>, and what it used), so the days add up to the month's cost.
    /// </summary>
    public static IReadOnlyList<UsageDay> Days(UsageReport report, TenantRecord tenant, PlanOptions plan, CostOptions prices, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(tenant);
        var (start, end) = UsageMeter.Month(report.Month);
        var byDay = report.Hours.GroupBy(h => DateOnly.FromDateTime(h.Hour.UtcDateTime)).ToDictionary(g => g.Key, g => Sum(g.Select(h => h.Usage)));
        var days = new List<UsageDay>();
        for (var day = start; day < end; day = day.AddDays(1))
        {
            var date = DateOnly.FromDateTime(day.UtcDateTime);
            var usage = byDay.GetValueOrDefault(date, UsageTotals.Zero);
            var from = tenant.CreatedAt > day ? tenant.CreatedAt : day;
            var until = now < day.AddDays(1) ? now : day.AddDays(1);
            var hours = Math.Max(0, (until - from).TotalHours);
            days.Add(new UsageDay(date, usage, CostModel.Price(prices, plan, report.Isolation, usage, hours, report.HoursInMonth).Total));
        }

        return days;
    }

    /// <summary>The door a request came in by, from its route template.</summary>
    public static string Door(string route) =>
        route.StartsWith("/api/v1/", StringComparison.Ordinal) ? "HTTP API"
        : route.StartsWith("/v1/", StringComparison.Ordinal) ? "OpenAI-compatible"
        : route.StartsWith("/mcp", StringComparison.Ordinal) ? "MCP"
        : route.StartsWith("/console", StringComparison.Ordinal) ? "Console"
        : "Other";

    private static UsageTotals Sum(IEnumerable<UsageTotals> all) => all.Aggregate(UsageTotals.Zero, (a, b) => new UsageTotals(
        a.Requests + b.Requests, a.LlmPromptTokens + b.LlmPromptTokens, a.LlmCompletionTokens + b.LlmCompletionTokens,
        a.EmbeddingTokens + b.EmbeddingTokens, a.StorageByteHours + b.StorageByteHours, a.CpuMilliseconds + b.CpuMilliseconds));
}
