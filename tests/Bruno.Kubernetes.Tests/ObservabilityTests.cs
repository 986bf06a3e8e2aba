using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Bruno.Testing;

namespace Bruno.Kubernetes.Tests;

/// <summary>
/// The dashboards and the Prometheus rules: every query parses and reads only series (and labels) the service exports,
/// the dashboards are well-formed Grafana JSON, the rules are a well-formed rule file with the SLO alerts the design
/// asks for; and the PromQL reader those checks rely on.
/// </summary>
public sealed partial class ObservabilityTests
{
    /// <summary>The series the service exports (histograms as their base name) and their labels.</summary>
    private static readonly (string Name, string Kind, string[] Labels)[] Exported =
    [
        ("http_server_request_duration_seconds", "histogram", ["http_request_method", "http_route", "http_response_status_code", "url_scheme", "tenant_id", "error_type"]),
        ("http_server_active_requests", "gauge", ["http_request_method", "url_scheme"]),
        ("bruno_rag_stage_duration_seconds", "histogram", ["tenant_id", "stage"]),
        ("bruno_rag_chunks_retrieved", "histogram", ["tenant_id"]),
        ("bruno_rag_chunk_score", "histogram", ["tenant_id"]),
        ("bruno_llm_tokens_total", "counter", ["tenant_id", "model", "token_type"]),
        ("bruno_llm_time_to_first_token_seconds", "histogram", ["tenant_id", "model"]),
        ("bruno_memory_operations_total", "counter", ["tenant_id", "operation", "memory_type"]),
        ("bruno_rate_limit_refusals_total", "counter", ["tenant_id", "level"]),
        ("bruno_quota_refusals_total", "counter", ["tenant_id", "quota"]),
        ("bruno_tenants_open", "gauge", []),
        ("bruno_tenant_store_size_bytes", "gauge", ["tenant_id"]),
        ("bruno_tenant_quota_usage_ratio", "gauge", ["tenant_id", "quota"]),
        ("tenant_cost_dollars", "gauge", ["tenant_id"]),
    ];

    /// <summary>Series from cAdvisor and the kubelet, allowed in dashboards only.</summary>
    private static readonly (string Name, string[] Labels)[] External =
    [
        ("container_cpu_usage_seconds_total", ["namespace", "container", "pod"]),
        ("container_memory_working_set_bytes", ["namespace", "container", "pod"]),
    ];

    /// <summary>Labels Prometheus adds to every series at scrape.</summary>
    private static readonly string[] ScrapeLabels = ["job", "instance"];

    /// <summary>The values a matcher may compare an enumerated label with (<c>le</c>: the request histogram's bounds).</summary>
    private static readonly Dictionary<string, string[]> Values = new(StringComparer.Ordinal)
    {
        ["le"] = ["0.5", "1", "2", "5", "10"],
        ["stage"] = ["embed", "vector_search", "keyword_search", "fusion", "generate"],
        ["token_type"] = ["prompt", "completion"],
        ["level"] = ["tenant", "client", "concurrency", "penalty", "tool", "llm_tokens"],
        ["quota"] = ["storage_bytes", "documents", "llm_tokens_month"],
    };

    /// <summary>The series the rules record: level (and its labels) × what × window.</summary>
    private static readonly (string Level, string[] Labels)[] RecordedLevels = [("tenant_id", ["tenant_id"]), ("platform", [])];

    private static readonly string[] RecordedWhat = ["bruno_http_requests:rate", "bruno_http_errors:rate", "bruno_http_errors:ratio_rate", "bruno_http_slow_requests:ratio_rate"];

    private static readonly string[] Windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

    /// <summary>Every alert: severity, for, and for the burn-rate alerts the (window, factor) pairs and the budget.</summary>
    private static readonly (string Alert, string Severity, string? For, string[] Burn, string? Budget)[] ExpectedAlerts =
    [
        ("BrunoErrorBudgetFastBurn", "critical", null, ["1h 14.4", "5m 14.4", "6h 6", "30m 6"], "0.001"),
        ("BrunoErrorBudgetSlowBurn", "warning", null, ["1d 3", "2h 3", "3d 1", "6h 1"], "0.001"),
        ("BrunoTenantErrorBudgetFastBurn", "critical", null, ["1h 14.4", "5m 14.4", "6h 6", "30m 6"], "0.001"),
        ("BrunoTenantErrorBudgetSlowBurn", "warning", null, ["1d 3", "2h 3", "3d 1", "6h 1"], "0.001"),
        ("BrunoLatencyBudgetFastBurn", "critical", null, ["1h 14.4", "5m 14.4", "6h 6", "30m 6"], "0.05"),
        ("BrunoLatencyBudgetSlowBurn", "warning", null, ["1d 3", "2h 3", "3d 1", "6h 1"], "0.05"),
        ("BrunoTenantLatencyBudgetFastBurn", "critical", null, ["1h 14.4", "5m 14.4", "6h 6", "30m 6"], "0.05"),
        ("BrunoTenantLatencyBudgetSlowBurn", "warning", null, ["1d 3", "2h 3", "3d 1", "6h 1"], "0.05"),
        ("BrunoHighLatencyP95", "warning", "10m", [], null),
        ("BrunoTenantHighLatencyP95", "warning", "10m", [], null),
        ("BrunoHighErrorRate", "warning", "15m", [], null),
        ("BrunoTenantHighErrorRate", "warning", "15m", [], null),
        ("BrunoTenantRateLimitStorm", "warning", "10m", [], null),
        ("BrunoTenantQuotaExhausted", "warning", null, [], null),
        ("BrunoTenantQuotaNearlyExhausted", "warning", "30m", [], null),
    ];

    private static readonly string[] PanelTypes = ["stat", "timeseries", "heatmap", "bargauge"];

    private static readonly string[] Severities = ["critical", "warning"];

    private static string TenantJson => ObservabilityArtifacts.TenantDashboardJson("acme", "agent-bruno-acme");

    // ---- the PromQL reader ----

    /// <summary>Expression → its selectors as PromQL writes them, space-separated.</summary>
    public static TheoryData<string, string> Tricky => new()
    {
        { "sum by (le) (rate(http_server_request_duration_seconds_bucket{tenant_id=\"acme\"}[5m]))", "http_server_request_duration_seconds_bucket{tenant_id=\"acme\"}" },
        { "histogram_quantile(0.95, sum without (instance, pod,) (rate(a_bucket{le!=\"+Inf\"}[5m])))", "a_bucket{le!=\"+Inf\"}" },
        { "topk(10, sum by (tenant_id) (rate(a{b!=\"\"}[5m]))) / on (tenant_id) group_left (quota) c{d=~\"5..\"}", "a{b!=\"\"} c{d=~\"5..\"}" },
        { "{__name__=\"up\", job=\"x\"} + {job=~\"y.+\"}", "up{job=\"x\"} {job=~\"y.+\"}" },
        { "1 - ((sum(increase(a[30d])) or vector(0)) / sum(increase(b[30d]))) / 0.001 + 1e-9 * -0.999 - .5e+3 + 0x1F", "a b" },
        { "max_over_time(rate(a{x=\"1\"}[5m])[30d:5m] offset -1h) + b @ start() + last_over_time(c[1h30m:] @ 1609746000) + d offset 5m", "a{x=\"1\"} b c d" },
        { "a and b or c unless d atan2 e", "a b c d e" },
        { "a > bool 0.5 == bool Inf != NaN", "a" },
        { "label_replace(a, \"dst\", \"${1}xx\", \"src\", \"(.)..\") * ignoring(x) group_right b", "a b" },
        { "count_values(\"value\", sum_requests) + by_tenant - offset_seconds * on_call{team=\"a\"} / bool_flag", "sum_requests by_tenant offset_seconds on_call{team=\"a\"} bool_flag" },
        { "a{path=\"/x{y}\\\"z\", re=~'a\\\\.b', raw!~`c\\d+`}", "a{path=\"/x{y}\\\"z\",re=~\"a\\\\.b\",raw!~\"c\\\\d+\"}" },
        { "tenant_id:bruno_http_errors:rate5m / tenant_id:bruno_http_requests:rate5m", "tenant_id:bruno_http_errors:rate5m tenant_id:bruno_http_requests:rate5m" },
        { "SUM BY (le) (rate(a[1h]))" + " # a comment with a{b=\"c\"}\n + sum(x{}) by (le)", "a x" },
        { "quantile(0.9, a) - scalar(time() - b) + sort_desc(-c) > bottomk(3, d)", "a b c d" },
    };

    [Theory]
    [MemberData(nameof(Tricky))]
    public void TheReader_FindsEverySelector_AndNothingElse(string expression, string expected) =>
        Assert.Equal(expected, string.Join(" ", PromQl.Selectors(expression)));

    [Fact]
    public void TheReader_GivesNamesOperatorsAndValues()
    {
        var selectors = PromQl.Selectors("rate(m{a=\"1\",b!=\"2\",c=~\"3|4\",d!~\"5\"}[5m])");
        var only = Assert.Single(selectors);
        Assert.Equal("m", only.Metric);
        Assert.Equal([new PromMatcher("a", "=", "1"), new PromMatcher("b", "!=", "2"), new PromMatcher("c", "=~", "3|4"), new PromMatcher("d", "!~", "5")], only.Matchers);
        Assert.Null(Assert.Single(PromQl.Selectors("{__name__=~\"bruno_.*\"}")).Metric); // a regular expression names no one series
    }

    public static TheoryData<string> Malformed => new()
    {
        "",
        "rate(a[5m]",
        "(a))",
        "sum(rate(a{b=\"c\"[5m]))",
        "a[5m",
        "a{b=\"c}",
        "a{b=\"c\"",
        "rat(a[5m])",
        "a[5x]",
        "a[]",
        "sum by (le (rate(a[5m]))",
        "{}",
        "{b=\"\"}",
        "{b=~\".*\"}",
        "a b",
        "a{b~\"c\"}",
        "a{b=c}",
        "rate(a)[5m]",
        "a offset",
        "rate(a[5m]) offset 5m",
        "sum()",
        "a{b=~\"(\"}",
        "a{__name__=\"b\"}",
        "5m",
        "a +",
        "a{b=\"\\d\"}",
        "by (le) (a)",
        "sum(a) by (le) by (x)",
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void TheReader_RejectsWhatItCannotParse(string expression) =>
        Assert.Throws<FormatException>(() => PromQl.Selectors(expression));

    // ---- the series and labels every query reads ----

    [Fact]
    public void EveryDashboardQuery_ReadsOnlyExportedSeriesAndTheirLabels()
    {
        var failures = new List<string>();
        foreach (var (name, json) in new[] { ("platform", ObservabilityArtifacts.PlatformDashboardJson()), ("tenant", TenantJson) })
        {
            var expressions = Expressions(JsonNode.Parse(json)).ToList();
            Assert.True(expressions.Count >= 12, $"{name}: {expressions.Count} queries");
            failures.AddRange(expressions.SelectMany(e => Problems(e, KnownSeries(external: true)).Select(p => $"{name}: {p}")));
        }

        Assert.Empty(failures);
    }

    [Fact]
    public void EveryRule_ReadsOnlyExportedOrRecordedSeriesAndTheirLabels()
    {
        var known = KnownSeries(external: false);
        foreach (var (level, labels) in RecordedLevels)
        {
            foreach (var what in RecordedWhat)
            {
                foreach (var window in Windows)
                {
                    known[$"{level}:{what}{window}"] = [.. labels, .. ScrapeLabels];
                }
            }
        }

        var rules = Rules();
        Assert.Empty(rules.SelectMany(r => Problems((string)r["expr"]!, known)));

        // The recorded series are exactly the table's, each aggregated to its level's labels.
        var records = rules.Where(r => r["record"] is not null).ToList();
        Assert.Equal(known.Keys.Where(k => k.Contains(':', StringComparison.Ordinal)).Order(StringComparer.Ordinal), records.Select(r => (string)r["record"]!).Order(StringComparer.Ordinal));
        foreach (var record in records)
        {
            var name = (string)record["record"]!;
            var level = RecordedLevels.Single(l => name.StartsWith(l.Level + ":", StringComparison.Ordinal));
            var window = name[(name.LastIndexOf("rate", StringComparison.Ordinal) + 4)..];
            var expr = (string)record["expr"]!;
            Assert.All(GroupingPattern().Matches(expr), m => Assert.Equal(string.Join(", ", level.Labels), m.Groups[2].Value.Trim()));
            Assert.True(level.Labels.Length > 0 || !expr.Contains(" by ", StringComparison.Ordinal), name);
            Assert.All(Regex.Matches(expr, @"\[(\w+)\]"), m => Assert.Equal(window, m.Groups[1].Value)); // the window its name says
            Assert.All(PromQl.Selectors(expr).Where(s => s.Metric!.Contains(':', StringComparison.Ordinal)), s => Assert.EndsWith(window, s.Metric, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void TheChecks_CatchAnUnknownSeries_AWrongLabel_AndACadvisorSeriesInARule()
    {
        Assert.Single(Problems("sum(rate(http_server_requests_total[5m]))", KnownSeries(external: true))); // not exported
        Assert.Single(Problems("sum(bruno_tenants_open{tenant_id=\"acme\"})", KnownSeries(external: true))); // a label it does not have
        Assert.Single(Problems("sum by (tenant_id) (bruno_tenants_open)", KnownSeries(external: true))); // grouping by a label it does not have
        Assert.Single(Problems("rate(http_server_request_duration_seconds_count{le=\"2\"}[5m])", KnownSeries(external: true))); // le only on _bucket
        Assert.Single(Problems("rate(http_server_request_duration_seconds_bucket{le=\"3\"}[5m])", KnownSeries(external: true))); // not a bound
        Assert.Single(Problems("sum(container_memory_working_set_bytes)", KnownSeries(external: false)));
        Assert.Empty(Problems("sum by (instance) (rate(http_server_request_duration_seconds_bucket{job=\"bruno\",le=\"2\"}[5m]))", KnownSeries(external: false)));
    }

    // ---- the dashboards ----

    [Fact]
    public void Dashboards_AreGrafanaJson_WithUniqueIds_PanelsThatDoNotOverlap_AndAShortUid()
    {
        var longId = new string('a', 30) + "-" + new string('b', 32);
        var boards = new[]
        {
            ObservabilityArtifacts.PlatformDashboardJson(),
            TenantJson,
            ObservabilityArtifacts.TenantDashboardJson(longId, Names.Namespace(longId)),
            ObservabilityArtifacts.TenantDashboardJson(longId[..^1] + "c", "agent-bruno-x"),
        };
        var uids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var json in boards)
        {
            var board = JsonNode.Parse(json)!.AsObject();
            Assert.Equal(39, (int)board["schemaVersion"]!);
            var uid = (string)board["uid"]!;
            Assert.Matches("^[a-zA-Z0-9_-]{1,40}$", uid);
            Assert.True(uids.Add(uid), $"uid {uid} twice");
            Assert.Equal("datasource", (string)board["templating"]!["list"]![0]!["name"]!);

            var panels = board["panels"]!.AsArray().Select(p => p!.AsObject()).ToList();
            Assert.Equal(panels.Count, panels.Select(p => (int)p["id"]!).Distinct().Count());
            var boxes = panels.Select(p => (Title: (string)p["title"]!, X: (int)p["gridPos"]!["x"]!, Y: (int)p["gridPos"]!["y"]!, W: (int)p["gridPos"]!["w"]!, H: (int)p["gridPos"]!["h"]!)).ToList();
            Assert.All(boxes, b => Assert.True(b.X >= 0 && b.Y >= 0 && b.W > 0 && b.H > 0 && b.X + b.W <= 24, b.Title));
            for (var i = 0; i < boxes.Count; i++)
            {
                for (var j = i + 1; j < boxes.Count; j++)
                {
                    var (a, b) = (boxes[i], boxes[j]);
                    Assert.False(a.X < b.X + b.W && b.X < a.X + a.W && a.Y < b.Y + b.H && b.Y < a.Y + a.H, $"'{a.Title}' overlaps '{b.Title}'");
                }
            }

            foreach (var panel in panels)
            {
                Assert.Contains((string)panel["type"]!, PanelTypes);
                Assert.Equal("${datasource}", (string)panel["datasource"]!["uid"]!);
                var targets = panel["targets"]!.AsArray();
                Assert.NotEmpty(targets);
                Assert.Equal(targets.Count, targets.Select(t => (string)t!["refId"]!).Distinct().Count());
            }
        }
    }

    [Fact]
    public void ThePlatformDashboard_HasTheOverviewsPanels()
    {
        var board = JsonNode.Parse(ObservabilityArtifacts.PlatformDashboardJson())!;
        var panels = board["panels"]!.AsArray().Select(p => p!).ToList();
        Assert.Equal("bruno-platform", (string)board["uid"]!);

        var heatmap = Assert.Single(panels, p => (string)p["type"]! == "heatmap");
        var target = heatmap["targets"]![0]!;
        Assert.Equal("heatmap", (string)target["format"]!);
        Assert.StartsWith("sum by (le) (rate(http_server_request_duration_seconds_bucket", (string)target["expr"]!, StringComparison.Ordinal);

        var exprs = panels.SelectMany(p => p["targets"]!.AsArray().Select(t => (Panel: p, Expr: (string)t!["expr"]!))).ToList();
        foreach (var perTenant in new[] { "rate(http_server_request_duration_seconds_count{tenant_id!=\"\"}[5m])", "http_response_status_code=~\"5..\"", "histogram_quantile(0.95, sum by (tenant_id, le)", "tenant_cost_dollars" })
        {
            Assert.Contains(exprs, e => e.Expr.StartsWith("topk(10, ", StringComparison.Ordinal) && e.Expr.Contains(perTenant, StringComparison.Ordinal) && e.Expr.Contains("tenant_id", StringComparison.Ordinal)
                && (bool)e.Panel["targets"]![0]!["instant"]!);
        }

        Assert.Contains(exprs, e => e.Expr.Contains("[30d]", StringComparison.Ordinal) && e.Expr.Contains("/ 0.001", StringComparison.Ordinal)); // the error budget left
        Assert.Contains(exprs, e => e.Expr.Contains("sum by (stage, le) (rate(bruno_rag_stage_duration_seconds_bucket", StringComparison.Ordinal));
        Assert.Contains(exprs, e => e.Expr.Contains("sum by (level) (rate(bruno_rate_limit_refusals_total", StringComparison.Ordinal));
        Assert.Contains(exprs, e => e.Expr.Contains("sum by (token_type) (rate(bruno_llm_tokens_total", StringComparison.Ordinal));
        Assert.Contains(exprs, e => e.Expr.Contains("bruno_tenants_open", StringComparison.Ordinal));
        foreach (var statusClass in new[] { "2..", "3..", "4..", "5.." })
        {
            Assert.Contains(exprs, e => e.Expr == $"sum(rate(http_server_request_duration_seconds_count{{http_route!~\"/healthz|/readyz|/metrics\",http_response_status_code=~\"{statusClass}\"}}[5m]))");
        }
    }

    [Fact]
    public void TheTenantDashboard_ReadsOnlyItsTenantsSeries()
    {
        var selectors = Expressions(JsonNode.Parse(TenantJson)).SelectMany(PromQl.Selectors).ToList();
        var external = External.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        Assert.All(selectors, s => Assert.Contains(external.Contains(s.Metric!) ? new PromMatcher("namespace", "=", "agent-bruno-acme") : new PromMatcher("tenant_id", "=", "acme"), s.Matchers));
        foreach (var series in new[] { "http_server_request_duration_seconds_count", "http_server_request_duration_seconds_bucket", "bruno_rag_stage_duration_seconds_bucket", "bruno_llm_tokens_total", "bruno_rate_limit_refusals_total", "bruno_quota_refusals_total", "bruno_tenant_store_size_bytes", "tenant_cost_dollars", "container_cpu_usage_seconds_total", "container_memory_working_set_bytes" })
        {
            Assert.Contains(selectors, s => s.Metric == series);
        }

        Assert.Throws<ArgumentException>(() => ObservabilityArtifacts.TenantDashboardJson("acme\"} or vector(1", "agent-bruno-acme"));
        Assert.Throws<ArgumentException>(() => ObservabilityArtifacts.TenantDashboardJson("acme", "agent-bruno-acme\""));
    }

    // ---- the rules ----

    [Fact]
    public void TheRules_AreARuleFile_EachARecordOrAnAlert_AlertsWithSeverityTextAndRunbook()
    {
        var file = Yaml.Documents(ObservabilityArtifacts.AlertRulesYaml()).Single();
        Assert.Equal(["groups"], file.Select(p => p.Key));
        var groups = file["groups"]!.AsArray().Select(g => g!.AsObject()).ToList();
        Assert.Equal(groups.Count, groups.Select(g => (string)g["name"]!).Distinct().Count());
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            Assert.Subset(new HashSet<string>(["name", "interval", "rules"], StringComparer.Ordinal), group.Select(p => p.Key).ToHashSet(StringComparer.Ordinal));
            Assert.True(PromQl.IsDuration((string)group["interval"]!));
            foreach (var rule in group["rules"]!.AsArray().Select(r => r!.AsObject()))
            {
                var isRecord = rule["record"] is not null;
                Assert.True(isRecord ^ (rule["alert"] is not null), rule.ToJsonString());
                Assert.NotEmpty(PromQl.Selectors((string)rule["expr"]!));
                if (isRecord)
                {
                    Assert.Matches("^[a-z_]+:[a-z_]+:[a-z0-9_]+$", (string)rule["record"]!);
                    Assert.Equal(["record", "expr"], rule.Select(p => p.Key));
                    continue;
                }

                var name = (string)rule["alert"]!;
                Assert.Matches("^[A-Z][A-Za-z0-9]+$", name);
                Assert.Subset(new HashSet<string>(["alert", "expr", "for", "labels", "annotations"], StringComparer.Ordinal), rule.Select(p => p.Key).ToHashSet(StringComparer.Ordinal));
                Assert.True(rule["for"] is null || PromQl.IsDuration((string)rule["for"]!), name);
                Assert.Contains((string)rule["labels"]!["severity"]!, Severities);
                var annotations = rule["annotations"]!.AsObject();
                Assert.False(string.IsNullOrWhiteSpace((string?)annotations["summary"]), name);
                Assert.False(string.IsNullOrWhiteSpace((string?)annotations["description"]), name);
                var runbook = Regex.Match((string)annotations["runbook_url"]!, "^docs/observability\\.md#([a-z0-9-]+)$");
                Assert.True(runbook.Success, name);
                anchors.Add(runbook.Groups[1].Value);

                // Every label a template names is one the alert's series keep; tenants' alerts name the tenant.
                var expr = (string)rule["expr"]!;
                foreach (Match used in Regex.Matches(annotations.ToJsonString(), @"\$labels\.(\w+)"))
                {
                    Assert.Contains(used.Groups[1].Value, expr, StringComparison.Ordinal);
                }

                Assert.Equal(name.StartsWith("BrunoTenant", StringComparison.Ordinal), ((string)annotations["summary"]!).Contains("{{ $labels.tenant_id }}", StringComparison.Ordinal));
            }
        }

        Assert.Equal(["error-budget-burn", "high-error-rate", "high-latency", "latency-budget-burn", "quota-exhaustion", "rate-limit-storm"], anchors.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheAlerts_AreTheSloBurnRatesOfTheWorkbook_AndTheOthersOfTheDesign()
    {
        var alerts = Rules().Where(r => r["alert"] is not null).ToDictionary(r => (string)r["alert"]!, StringComparer.Ordinal);
        Assert.Equal(ExpectedAlerts.Select(a => a.Alert).Order(StringComparer.Ordinal), alerts.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, severity, @for, burn, budget) in ExpectedAlerts)
        {
            var rule = alerts[name];
            var expr = (string)rule["expr"]!;
            Assert.Equal(severity, (string)rule["labels"]!["severity"]!);
            Assert.Equal(@for, (string?)rule["for"]);
            var pairs = BurnPattern().Matches(expr).Select(m => (Window: m.Groups[1].Value, Factor: m.Groups[2].Value, Budget: m.Groups[3].Value)).ToList();
            Assert.Equal(burn, pairs.Select(p => $"{p.Window} {p.Factor}"));
            Assert.All(pairs, p => Assert.Equal(budget, p.Budget));
            if (burn.Length > 0)
            {
                // (long and short) or (long and short), each over the ratio the objective counts: 5xx, or slower than 2 s
                Assert.Equal(2, Regex.Count(expr, " and "));
                Assert.Single(Regex.Matches(expr, "\\) or \\("));
                Assert.All(PromQl.Selectors(expr), s => Assert.Contains(budget == "0.001" ? ":bruno_http_errors:ratio_rate" : ":bruno_http_slow_requests:ratio_rate", s.Metric, StringComparison.Ordinal));
                Assert.All(PromQl.Selectors(expr), s => Assert.StartsWith(name.StartsWith("BrunoTenant", StringComparison.Ordinal) ? "tenant_id:" : "platform:", s.Metric, StringComparison.Ordinal));
            }
        }

        Assert.EndsWith("> 0.001", (string)alerts["BrunoTenantHighErrorRate"]["expr"]!, StringComparison.Ordinal);
        Assert.StartsWith("histogram_quantile(0.95, sum by (tenant_id, le) (rate(http_server_request_duration_seconds_bucket{tenant_id!=\"\"}[5m])))", (string)alerts["BrunoTenantHighLatencyP95"]["expr"]!, StringComparison.Ordinal);
        Assert.EndsWith("> 2", (string)alerts["BrunoTenantHighLatencyP95"]["expr"]!, StringComparison.Ordinal);
        Assert.Contains("increase(bruno_quota_refusals_total{tenant_id!=\"\"}[15m])) > 0", (string)alerts["BrunoTenantQuotaExhausted"]["expr"]!, StringComparison.Ordinal);
        Assert.EndsWith("bruno_tenant_quota_usage_ratio{tenant_id!=\"\"}) > 0.9", (string)alerts["BrunoTenantQuotaNearlyExhausted"]["expr"]!, StringComparison.Ordinal);
        Assert.StartsWith("sum by (tenant_id) (rate(bruno_rate_limit_refusals_total", (string)alerts["BrunoTenantRateLimitStorm"]["expr"]!, StringComparison.Ordinal);

        // The slow share counts what is above the 2 s bucket; the error ratios count 5xx.
        var records = Rules().Where(r => r["record"] is not null).ToDictionary(r => (string)r["record"]!, r => (string)r["expr"]!, StringComparer.Ordinal);
        Assert.Contains(new PromMatcher("le", "=", "2"), PromQl.Selectors(records["tenant_id:bruno_http_slow_requests:ratio_rate1h"]).Single(s => s.Metric!.EndsWith("_bucket", StringComparison.Ordinal)).Matchers);
        Assert.StartsWith("1 - ", records["platform:bruno_http_slow_requests:ratio_rate3d"], StringComparison.Ordinal);
        Assert.Contains(new PromMatcher("http_response_status_code", "=~", "5.."), PromQl.Selectors(records["platform:bruno_http_errors:rate30m"]).Single().Matchers);
        Assert.Equal("tenant_id:bruno_http_errors:rate6h / tenant_id:bruno_http_requests:rate6h", records["tenant_id:bruno_http_errors:ratio_rate6h"]);
    }

    // ---- what the renderer writes ----

    [Fact]
    public void ThePlatform_CarriesTheDashboardAndTheRules_InLabelledConfigMaps()
    {
        var files = RenderingTests.Cases()["platform"].ToDictionary(f => f.Path, f => f.Content, StringComparer.Ordinal);
        var listed = Yaml.Documents(files["platform/kustomization.yaml"])[0]["resources"]!.AsArray().Select(r => (string)r!).ToList();
        foreach (var (file, label, key, content) in new[]
        {
            ("configmap-dashboard.yaml", "grafana_dashboard", "bruno-platform.json", ObservabilityArtifacts.PlatformDashboardJson()),
            ("configmap-prometheus-rules.yaml", "prometheus_rule", ObservabilityArtifacts.AlertRulesKey, ObservabilityArtifacts.AlertRulesYaml()),
        })
        {
            Assert.Contains(file, listed);
            var map = Yaml.Documents(files["platform/" + file]).Single();
            Assert.Equal("ConfigMap", (string)map["kind"]!);
            Assert.Equal(new KubernetesOptions().ManagementNamespace, (string)map["metadata"]!["namespace"]!);
            Assert.Equal("1", (string)map["metadata"]!["labels"]![label]!);
            Assert.Equal("management", (string)map["metadata"]!["labels"]!["app.kubernetes.io/component"]!);
            Assert.Equal("disabled", (string)map["metadata"]!["annotations"]!["kustomize.toolkit.fluxcd.io/substitute"]!);
            Assert.Equal(content, (string)map["data"]![key]!);
        }

        var tenant = Yaml.Documents(RenderingTests.Cases()["namespace"].Single(f => f.Path == "tenants/acme/configmap-dashboard.yaml").Content).Single();
        Assert.Equal(TenantJson, (string)tenant["data"]!["bruno-tenant-acme.json"]!);
        Assert.Equal("1", (string)tenant["metadata"]!["labels"]!["grafana_dashboard"]!);
    }

    // ---- helpers ----

    private static List<JsonObject> Rules() =>
        [.. Yaml.Documents(ObservabilityArtifacts.AlertRulesYaml()).Single()["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()).Select(r => r!.AsObject())];

    // Every "expr" in a dashboard, at any depth (rows nest panels).
    private static IEnumerable<string> Expressions(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => p.Key == "expr" ? [(string)p.Value!] : Expressions(p.Value)),
        JsonArray a => a.SelectMany(Expressions),
        _ => [],
    };

    // Series name → the labels it may be matched or grouped on.
    private static Dictionary<string, HashSet<string>> KnownSeries(bool external)
    {
        var known = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (name, kind, labels) in Exported)
        {
            if (kind == "histogram")
            {
                known[name + "_bucket"] = [.. labels, .. ScrapeLabels, "le"];
                known[name + "_sum"] = [.. labels, .. ScrapeLabels];
                known[name + "_count"] = [.. labels, .. ScrapeLabels];
            }
            else
            {
                known[name] = [.. labels, .. ScrapeLabels];
            }
        }

        if (external)
        {
            foreach (var (name, labels) in External)
            {
                known[name] = [.. labels, .. ScrapeLabels];
            }
        }

        return known;
    }

    // What is wrong with one expression: a series not known, a label it does not have, a value not among a label's.
    private static List<string> Problems(string expression, Dictionary<string, HashSet<string>> known)
    {
        var problems = new List<string>();
        var selectors = PromQl.Selectors(expression);
        var labels = new HashSet<string>(StringComparer.Ordinal);
        foreach (var selector in selectors)
        {
            if (selector.Metric is null || !known.TryGetValue(selector.Metric, out var has))
            {
                problems.Add($"{selector}: not a known series, in {expression}");
                continue;
            }

            labels.UnionWith(has);
            foreach (var m in selector.Matchers)
            {
                if (!has.Contains(m.Name))
                {
                    problems.Add($"{selector}: {selector.Metric} has no label {m.Name}, in {expression}");
                }
                else if (m.Op == "=" && Values.TryGetValue(m.Name, out var values) && !values.Contains(m.Value))
                {
                    problems.Add($"{selector}: {m.Name} is never \"{m.Value}\", in {expression}");
                }
            }
        }

        foreach (Match grouping in GroupingPattern().Matches(expression))
        {
            foreach (var label in grouping.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!labels.Contains(label))
                {
                    problems.Add($"{grouping.Value}: no series of {expression} has {label}");
                }
            }
        }

        return problems;
    }

    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")]
    private static partial Regex GroupingPattern();

    [GeneratedRegex(@"ratio_rate(\w+) > \(([\d.]+) \* ([\d.]+)\)")]
    private static partial Regex BurnPattern();
}
