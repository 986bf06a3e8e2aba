using System.Text.Json.Nodes;
using Bruno.Kubernetes.Yaml;
using k8s.Models;
using static Bruno.Kubernetes.Resources.Observability;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// Bruno's Prometheus rules as a standard rule file (<c>groups: [{name, interval, rules}]</c>) in a ConfigMap labelled
/// <c>prometheus_rule: "1"</c> under the key <c>bruno.rules.yaml</c>, for a rule-loading sidecar or a mounted rule
/// folder. With the Prometheus operator, the same <c>groups</c> go under the <c>spec</c> of a
/// <c>monitoring.coreos.com/v1</c> PrometheusRule instead.
/// <list type="bullet">
/// <item>Recording rules: per tenant (<c>tenant_id:</c>) and for the platform (<c>platform:</c>) the request rate,
/// the 5xx rate, the 5xx ratio and the share of requests slower than 2 s, over 5m, 30m, 1h, 2h, 6h, 1d and 3d.</item>
/// <item>Availability SLO 99.9% (an error is a 5xx) with the SRE workbook's multi-window, multi-burn-rate alerts:
/// 1h and 5m above 14.4 or 6h and 30m above 6 (critical), 1d and 2h above 3 or 3d and 6h above 1 (warning).</item>
/// <item>Latency SLO p95 under 2 s, as the same burn rates on the share slower than 2 s (budget 5%), and p95 above
/// 2 s for 10 minutes.</item>
/// <item>5xx ratio above 0.1% for 15 minutes; a tenant's rate-limit storm; a tenant's quota refusals and a quota
/// above 90% used for 30 minutes.</item>
/// </list>
/// Every alert has a <c>severity</c> label and <c>summary</c>, <c>description</c> and <c>runbook_url</c> annotations.
/// </summary>
internal static class AlertRules
{
    /// <summary>The ConfigMap key of the rule file.</summary>
    public const string Key = "bruno.rules.yaml";

    /// <summary>Rate-limit refusals per second that a tenant keeps up for 10 minutes before it is a storm.</summary>
    public const string StormRefusalsPerSecond = "1";

    private static readonly string[] Windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

    // The burn-rate pairs (long window, short window, factor) of each severity; see the SRE workbook, "Alerting on SLOs".
    private static readonly (string Long, string Short, string Factor)[] FastBurn = [("1h", "5m", "14.4"), ("6h", "30m", "6")];
    private static readonly (string Long, string Short, string Factor)[] SlowBurn = [("1d", "2h", "3"), ("3d", "6h", "1")];

    /// <summary>Whose requests a rule covers: a prefix for recorded names, how to aggregate, which requests, how to say it.</summary>
    private sealed record Scope(string Prefix, string Name, string Filter, string Who, string Whose)
    {
        public string Sum(string inner) => Prefix == "tenant_id" ? $"sum by (tenant_id) ({inner})" : $"sum({inner})";

        public string Quantile(string q, string inner) => Prefix == "tenant_id" ? $"histogram_quantile({q}, sum by (tenant_id, le) ({inner}))" : $"histogram_quantile({q}, sum by (le) ({inner}))";

        public string Record(string what, string window) => $"{Prefix}:bruno_http_{what}{window}";
    }

    private static readonly Scope Tenant = new("tenant_id", "Tenant", AnyTenant, "Tenant {{ $labels.tenant_id }}", "the tenant's");
    private static readonly Scope Platform = new("platform", string.Empty, NotProbes, "The platform", "the platform's");

    /// <summary>The rule file's ConfigMap in the management namespace.</summary>
    public static V1ConfigMap ConfigMap(string ns, Dictionary<string, string> labels) =>
        Observability.ConfigMap("bruno-prometheus-rules", ns, labels, "prometheus_rule", Key, Yaml());

    /// <summary>The rule file as YAML.</summary>
    public static string Yaml() => YamlWriter.Write(Document());

    /// <summary>The rule file as a JSON tree (what <see cref="Yaml"/> writes).</summary>
    public static JsonObject Document() => new()
    {
        ["groups"] = new JsonArray(
            Group("bruno-http-recording", [.. Recording(Tenant), .. Recording(Platform)]),
            Group("bruno-slo-alerts", [.. SloAlerts(Platform), .. SloAlerts(Tenant)]),
            Group("bruno-tenant-alerts", TenantAlerts())),
    };

    private static JsonObject Group(string name, List<JsonObject> rules) => new()
    {
        ["name"] = name,
        ["interval"] = "1m",
        ["rules"] = new JsonArray([.. rules]),
    };

    // Rules of a group are evaluated in order, so the ratios read the rates recorded just before them.
    private static List<JsonObject> Recording(Scope s)
    {
        var rules = new List<JsonObject>();
        foreach (var w in Windows)
        {
            rules.Add(Record(s.Record("requests:rate", w), s.Sum($"rate({Requests}{{{s.Filter}}}[{w}])")));
            rules.Add(Record(s.Record("errors:rate", w), s.Sum($"rate({Requests}{{{s.Filter},{ServerError}}}[{w}])")));
            rules.Add(Record(s.Record("errors:ratio_rate", w), $"{s.Record("errors:rate", w)} / {s.Record("requests:rate", w)}"));
            rules.Add(Record(s.Record("slow_requests:ratio_rate", w), $"1 - {s.Sum($"rate({Buckets}{{{s.Filter},le=\"{SlowSeconds}\"}}[{w}])")} / {s.Record("requests:rate", w)}"));
        }

        return rules;
    }

    private static List<JsonObject> SloAlerts(Scope s)
    {
        var errors = "errors:ratio_rate";
        var slow = "slow_requests:ratio_rate";
        return
        [
            Alert($"Bruno{s.Name}ErrorBudgetFastBurn", Burn(s, errors, ErrorBudget, FastBurn), null, "critical",
                $"{s.Who} is burning its availability error budget fast",
                $"The 5xx ratio of {s.Whose} requests is {{{{ $value | humanizePercentage }}}} over the last hour (or 6 hours), at least 14.4 (or 6) times the 0.1% that the 99.9% availability objective allows: at this pace the 30-day budget is gone within 2 (or 5) days.",
                "error-budget-burn"),
            Alert($"Bruno{s.Name}ErrorBudgetSlowBurn", Burn(s, errors, ErrorBudget, SlowBurn), null, "warning",
                $"{s.Who} is burning its availability error budget",
                $"The 5xx ratio of {s.Whose} requests is {{{{ $value | humanizePercentage }}}} over the last day (or 3 days), at least 3 (or 1) times the 0.1% that the 99.9% availability objective allows: at this pace the 30-day budget is gone within 10 (or 30) days.",
                "error-budget-burn"),
            Alert($"Bruno{s.Name}LatencyBudgetFastBurn", Burn(s, slow, LatencyBudget, FastBurn), null, "critical",
                $"{s.Who} is burning its latency budget fast",
                $"{{{{ $value | humanizePercentage }}}} of {s.Whose} requests took longer than {SlowSeconds} s over the last hour (or 6 hours), at least 14.4 (or 6) times the 5% that the p95 < {SlowSeconds} s objective allows.",
                "latency-budget-burn"),
            Alert($"Bruno{s.Name}LatencyBudgetSlowBurn", Burn(s, slow, LatencyBudget, SlowBurn), null, "warning",
                $"{s.Who} is burning its latency budget",
                $"{{{{ $value | humanizePercentage }}}} of {s.Whose} requests took longer than {SlowSeconds} s over the last day (or 3 days), at least 3 (or 1) times the 5% that the p95 < {SlowSeconds} s objective allows.",
                "latency-budget-burn"),
            Alert($"Bruno{s.Name}HighLatencyP95", $"{s.Quantile("0.95", $"rate({Buckets}{{{s.Filter}}}[5m])")} > {SlowSeconds}", "10m", "warning",
                $"{s.Who} answers slowly (p95 above {SlowSeconds} s)",
                $"The 95th percentile of {s.Whose} request durations has been {{{{ $value | humanizeDuration }}}} (above {SlowSeconds} s) for 10 minutes.",
                "high-latency"),
            Alert($"Bruno{s.Name}HighErrorRate", $"{s.Record("errors:ratio_rate", "5m")} > {ErrorBudget}", "15m", "warning",
                $"{s.Who} answers with 5xx above 0.1%",
                $"{{{{ $value | humanizePercentage }}}} of {s.Whose} requests over the last 5 minutes failed with a 5xx, above 0.1%, for 15 minutes.",
                "high-error-rate"),
        ];
    }

    // (long > factor * budget and short > factor * budget) or (...) for each pair.
    private static string Burn(Scope s, string what, string budget, (string Long, string Short, string Factor)[] pairs) =>
        string.Join(" or ", pairs.Select(p => $"({s.Record(what, p.Long)} > ({p.Factor} * {budget}) and {s.Record(what, p.Short)} > ({p.Factor} * {budget}))"));

    private static List<JsonObject> TenantAlerts() =>
    [
        Alert("BrunoTenantRateLimitStorm", $"sum by (tenant_id) (rate(bruno_rate_limit_refusals_total{{{AnyTenant}}}[5m])) > {StormRefusalsPerSecond}", "10m", "warning",
            "Tenant {{ $labels.tenant_id }} is refused by its rate limits in a storm",
            $"Tenant {{{{ $labels.tenant_id }}}} has been refused {{{{ $value | humanize }}}} requests per second by its rate limits (above {StormRefusalsPerSecond}) for 10 minutes: a client retrying without backing off, or a plan too small for its traffic.",
            "rate-limit-storm"),
        // increase() misses a counter's first step (the series appears at 1), hence the second part: series new in the window.
        Alert("BrunoTenantQuotaExhausted", $"sum by (tenant_id, quota) (increase(bruno_quota_refusals_total{{{AnyTenant}}}[15m])) > 0 or sum by (tenant_id, quota) (bruno_quota_refusals_total{{{AnyTenant}}} unless bruno_quota_refusals_total{{{AnyTenant}}} offset 15m)", null, "warning",
            "Tenant {{ $labels.tenant_id }} has exhausted its {{ $labels.quota }} quota",
            "Requests of tenant {{ $labels.tenant_id }} were refused by its {{ $labels.quota }} quota in the last 15 minutes.",
            "quota-exhaustion"),
        Alert("BrunoTenantQuotaNearlyExhausted", $"max by (tenant_id, quota) (bruno_tenant_quota_usage_ratio{{{AnyTenant}}}) > 0.9", "30m", "warning",
            "Tenant {{ $labels.tenant_id }} has used over 90% of its {{ $labels.quota }} quota",
            "Tenant {{ $labels.tenant_id }} has used {{ $value | humanizePercentage }} of its {{ $labels.quota }} quota for 30 minutes; requests will be refused once it is all used.",
            "quota-exhaustion"),
    ];

    private static JsonObject Record(string name, string expr) => new() { ["record"] = name, ["expr"] = expr };

    private static JsonObject Alert(string name, string expr, string? @for, string severity, string summary, string description, string anchor)
    {
        var rule = new JsonObject { ["alert"] = name, ["expr"] = expr };
        if (@for is not null)
        {
            rule["for"] = @for;
        }

        rule["labels"] = new JsonObject { ["severity"] = severity };
        rule["annotations"] = new JsonObject
        {
            ["summary"] = summary,
            ["description"] = description,
            ["runbook_url"] = $"{Runbook}#{anchor}",
        };
        return rule;
    }
}
