using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;
using static Bruno.Kubernetes.Resources.Observability;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// Bruno's Grafana dashboards (schema version 39), each in a ConfigMap that Grafana's sidecar picks up by its
/// <c>grafana_dashboard</c> label: the platform overview in the management namespace, and each tenant's own (the
/// design's template: request rate, error rate, resource usage, cost; with latency, RAG stages, LLM tokens, refusals,
/// store size and quota use) with every query fixed to the tenant's id. Panels read the Prometheus data source the
/// <c>datasource</c> variable selects. The JSON is indented and the same on every render.
/// </summary>
internal static class Dashboards
{
    /// <summary>The platform dashboard's uid.</summary>
    public const string PlatformUid = "bruno-platform";

    private const string PickUpLabel = "grafana_dashboard";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The tenant's dashboard ConfigMap, in <paramref name="ns"/> (where the management cluster's Grafana sees it).</summary>
    public static V1ConfigMap TenantConfigMap(string ns, Dictionary<string, string> labels, string tenant, string tenantNamespace) =>
        Observability.ConfigMap("agent-bruno-dashboard", ns, labels, PickUpLabel, $"bruno-tenant-{tenant}.json", TenantJson(tenant, tenantNamespace));

    /// <summary>The platform dashboard ConfigMap, in the management namespace.</summary>
    public static V1ConfigMap PlatformConfigMap(string ns, Dictionary<string, string> labels) =>
        Observability.ConfigMap("bruno-platform-dashboard", ns, labels, PickUpLabel, "bruno-platform.json", PlatformJson());

    /// <summary>The platform overview: traffic, errors and the error budget, latency, the busiest tenants, RAG, LLM, limits.</summary>
    public static string PlatformJson()
    {
        var all = $"{Requests}{{{NotProbes}}}";
        var errors = $"{Requests}{{{NotProbes},{ServerError}}}";
        var board = new Board();

        board.Add(Stat("Requests per second", "reqps", $"sum(rate({all}[5m]))"), 4, 4);
        board.Add(Stat("5xx error ratio", "percentunit", ErrorRatio(errors, all)), 4, 4);
        board.Add(Stat("Error budget remaining (99.9%, 30 days)", "percentunit", BudgetRemaining(errors, all), BudgetThresholds()), 4, 4);
        board.Add(Stat("Requests in flight", "short", "sum(http_server_active_requests)"), 4, 4);
        board.Add(Stat("Open tenant stores", "short", "sum(bruno_tenants_open)"), 4, 4);
        board.Add(Stat("Cost this month, all tenants (USD)", "currencyUSD", "sum(max by (tenant_id) (tenant_cost_dollars))"), 4, 4);

        board.Add(TimeSeries("Requests per second by status class", "reqps", ByStatusClass(NotProbes)), 12, 8);
        board.Add(TimeSeries("5xx error ratio", "percentunit", [new(ErrorRatio(errors, all), "5xx")]), 12, 8);
        board.Add(Heatmap("Request latency", $"sum by (le) (rate({Buckets}{{{NotProbes}}}[5m]))"), 12, 8);
        board.Add(TimeSeries("Request latency p50 / p95 / p99", "s",
        [
            new(Quantile("0.5", $"rate({Buckets}{{{NotProbes}}}[5m])", "le"), "p50"),
            new(Quantile("0.95", $"rate({Buckets}{{{NotProbes}}}[5m])", "le"), "p95"),
            new(Quantile("0.99", $"rate({Buckets}{{{NotProbes}}}[5m])", "le"), "p99"),
        ]), 12, 8);

        board.Add(TopTenants("Top 10 tenants: requests per second", "reqps", $"sum by (tenant_id) (rate({Requests}{{{AnyTenant}}}[5m]))"), 12, 8);
        board.Add(TopTenants("Top 10 tenants: 5xx errors per second", "reqps", $"sum by (tenant_id) (rate({Requests}{{{AnyTenant},{ServerError}}}[5m]))"), 12, 8);
        board.Add(TopTenants("Top 10 tenants: latency p95", "s", Quantile("0.95", $"rate({Buckets}{{{AnyTenant}}}[5m])", "tenant_id, le")), 12, 8);
        board.Add(TopTenants("Top 10 tenants: cost this month (USD)", "currencyUSD", "max by (tenant_id) (tenant_cost_dollars)"), 12, 8);

        board.Add(TimeSeries("RAG stage latency p95", "s", [new(Quantile("0.95", "rate(bruno_rag_stage_duration_seconds_bucket[5m])", "stage, le"), "{{stage}}")]), 12, 8);
        board.Add(TimeSeries("LLM time to first token p95", "s", [new(Quantile("0.95", "rate(bruno_llm_time_to_first_token_seconds_bucket[5m])", "model, le"), "{{model}}")]), 12, 8);
        board.Add(TimeSeries("LLM tokens per second by type", "short", [new("sum by (token_type) (rate(bruno_llm_tokens_total[5m]))", "{{token_type}}")]), 12, 8);
        board.Add(TimeSeries("Rate-limit refusals per second by level", "reqps", [new("sum by (level) (rate(bruno_rate_limit_refusals_total[5m]))", "{{level}}")]), 12, 8);
        board.Add(TimeSeries("Quota refusals per second by quota", "reqps", [new("sum by (quota) (rate(bruno_quota_refusals_total[5m]))", "{{quota}}")]), 12, 8);
        board.Add(TimeSeries("Open tenant stores by instance", "short", [new("sum by (instance) (bruno_tenants_open)", "{{instance}}")]), 12, 8);

        return Dashboard("Bruno platform overview", PlatformUid, "platform", board);
    }

    /// <summary>The tenant's dashboard, every query fixed to <paramref name="tenant"/> (and its pods' namespace).</summary>
    public static string TenantJson(string tenant, string tenantNamespace)
    {
        var t = $"tenant_id=\"{tenant}\"";
        var pods = $"namespace=\"{tenantNamespace}\",container!=\"\"";
        var all = $"{Requests}{{{t}}}";
        var errors = $"{Requests}{{{t},{ServerError}}}";
        var board = new Board();

        board.Add(Stat("Requests per second", "reqps", $"sum(rate({all}[5m]))"), 6, 4);
        board.Add(Stat("5xx error ratio", "percentunit", ErrorRatio(errors, all)), 6, 4);
        board.Add(Stat("Error budget remaining (99.9%, 30 days)", "percentunit", BudgetRemaining(errors, all), BudgetThresholds()), 6, 4);
        board.Add(Stat("Cost this month (USD)", "currencyUSD", $"max(tenant_cost_dollars{{{t}}})"), 6, 4);

        board.Add(TimeSeries("Requests per second", "reqps", ByStatusClass(t)), 12, 8);
        board.Add(TimeSeries("Error ratio (5xx)", "percentunit", [new(ErrorRatio(errors, all), "5xx")]), 12, 8);
        board.Add(TimeSeries("Latency p50 / p95", "s",
        [
            new(Quantile("0.5", $"rate({Buckets}{{{t}}}[5m])", "le"), "p50"),
            new(Quantile("0.95", $"rate({Buckets}{{{t}}}[5m])", "le"), "p95"),
        ]), 12, 8);
        board.Add(TimeSeries("RAG stage latency p95", "s", [new(Quantile("0.95", $"rate(bruno_rag_stage_duration_seconds_bucket{{{t}}}[5m])", "stage, le"), "{{stage}}")]), 12, 8);
        board.Add(TimeSeries("CPU (cores)", "short", [new($"sum(rate(container_cpu_usage_seconds_total{{{pods}}}[5m]))", "cores")]), 12, 8);
        board.Add(TimeSeries("Memory", "bytes", [new($"sum(container_memory_working_set_bytes{{{pods}}})", "working set")]), 12, 8);
        board.Add(TimeSeries("LLM tokens per second by type", "short", [new($"sum by (token_type) (rate(bruno_llm_tokens_total{{{t}}}[5m]))", "{{token_type}}")]), 12, 8);
        board.Add(TimeSeries("Refusals per second", "reqps",
        [
            new($"sum by (level) (rate(bruno_rate_limit_refusals_total{{{t}}}[5m]))", "rate limit: {{level}}"),
            new($"sum by (quota) (rate(bruno_quota_refusals_total{{{t}}}[5m]))", "quota: {{quota}}"),
        ]), 12, 8);
        board.Add(TimeSeries("Store size", "bytes", [new($"max(bruno_tenant_store_size_bytes{{{t}}})", "store")]), 12, 8);
        board.Add(TimeSeries("Quota use", "percentunit", [new($"max by (quota) (bruno_tenant_quota_usage_ratio{{{t}}})", "{{quota}}")]), 12, 8);
        board.Add(TimeSeries("Cost this month (USD)", "currencyUSD", [new($"max(tenant_cost_dollars{{{t}}})", "cost")]), 24, 8);

        return Dashboard($"Bruno tenant {tenant}", TenantUid(tenant), "tenant", board);
    }

    // Grafana's uid is at most 40 characters.
    private static string TenantUid(string tenant)
    {
        var name = Names.Label("bruno-", tenant);
        return name.Length <= 40 ? name : name[..31].TrimEnd('-') + "-" + name[^8..];
    }

    // The share of 5xx, 0 (not "no data") while there are none.
    private static string ErrorRatio(string errors, string all) => $"(sum(rate({errors}[5m])) or vector(0)) / sum(rate({all}[5m]))";

    // 1 at the start of the 30 days, 0 when the 0.1% are spent, below 0 beyond.
    private static string BudgetRemaining(string errors, string all) =>
        $"1 - ((sum(increase({errors}[30d])) or vector(0)) / sum(increase({all}[30d]))) / {ErrorBudget}";

    private static string Quantile(string q, string rate, string by) => $"histogram_quantile({q}, sum by ({by}) ({rate}))";

    private static List<Target> ByStatusClass(string matcher)
    {
        var targets = new List<Target> { new($"sum(rate({Requests}{{{matcher}}}[5m]))", "all") };
        targets.AddRange("2345".Select(c => new Target($"sum(rate({Requests}{{{matcher},http_response_status_code=~\"{c}..\"}}[5m]))", $"{c}xx")));
        return targets;
    }

    private static JsonObject BudgetThresholds() => new()
    {
        ["mode"] = "absolute",
        ["steps"] = new JsonArray(
            new JsonObject { ["color"] = "red", ["value"] = null },
            new JsonObject { ["color"] = "orange", ["value"] = 0 },
            new JsonObject { ["color"] = "green", ["value"] = 0.25 }),
    };

    private static string Dashboard(string title, string uid, string tag, Board board)
    {
        var dashboard = new JsonObject
        {
            ["title"] = title,
            ["uid"] = uid,
            ["tags"] = new JsonArray("bruno", tag),
            ["timezone"] = "utc",
            ["schemaVersion"] = 39,
            ["editable"] = false,
            ["graphTooltip"] = 1,
            ["refresh"] = "1m",
            ["time"] = new JsonObject { ["from"] = "now-6h", ["to"] = "now" },
            ["templating"] = new JsonObject
            {
                ["list"] = new JsonArray(new JsonObject
                {
                    ["name"] = "datasource",
                    ["label"] = "Data source",
                    ["type"] = "datasource",
                    ["query"] = "prometheus",
                    ["hide"] = 0,
                    ["current"] = new JsonObject(),
                }),
            },
            ["panels"] = board.Panels,
        };
        return dashboard.ToJsonString(Indented) + "\n";
    }

    /// <summary>One query of a panel; <paramref name="Legend"/> may use Grafana's <c>{{label}}</c>.</summary>
    private sealed record Target(string Expr, string Legend);

    private static JsonObject DataSource() => new() { ["type"] = "prometheus", ["uid"] = "${datasource}" };

    private static JsonObject Panel(string type, string title, string unit, IReadOnlyList<Target> targets, JsonObject options, bool instant = false, string? format = null, JsonObject? thresholds = null)
    {
        var defaults = new JsonObject { ["unit"] = unit };
        if (thresholds is not null)
        {
            defaults["thresholds"] = thresholds;
        }

        var queries = new JsonArray();
        for (var i = 0; i < targets.Count; i++)
        {
            var query = new JsonObject
            {
                ["refId"] = ((char)('A' + i)).ToString(),
                ["datasource"] = DataSource(),
                ["expr"] = targets[i].Expr,
                ["legendFormat"] = targets[i].Legend,
                ["instant"] = instant,
                ["range"] = !instant,
            };
            if (format is not null)
            {
                query["format"] = format;
            }

            queries.Add(query);
        }

        return new JsonObject
        {
            ["type"] = type,
            ["title"] = title,
            ["datasource"] = DataSource(),
            ["fieldConfig"] = new JsonObject { ["defaults"] = defaults, ["overrides"] = new JsonArray() },
            ["options"] = options,
            ["targets"] = queries,
        };
    }

    private static JsonObject LastValue() => new() { ["calcs"] = new JsonArray("lastNotNull"), ["fields"] = string.Empty, ["values"] = false };

    private static JsonObject Stat(string title, string unit, string expr, JsonObject? thresholds = null) =>
        Panel("stat", title, unit, [new(expr, string.Empty)], new JsonObject { ["reduceOptions"] = LastValue(), ["colorMode"] = "value", ["graphMode"] = "area" }, thresholds: thresholds);

    private static JsonObject TimeSeries(string title, string unit, IReadOnlyList<Target> targets) =>
        Panel("timeseries", title, unit, targets, new JsonObject
        {
            ["legend"] = new JsonObject { ["displayMode"] = "list", ["placement"] = "bottom", ["showLegend"] = true },
            ["tooltip"] = new JsonObject { ["mode"] = "multi", ["sort"] = "desc" },
        });

    // The ten largest now (an instant query: topk over a range would pick ten per step).
    private static JsonObject TopTenants(string title, string unit, string perTenant) =>
        Panel("bargauge", title, unit, [new($"topk(10, {perTenant})", "{{tenant_id}}")], new JsonObject
        {
            ["orientation"] = "horizontal",
            ["displayMode"] = "gradient",
            ["reduceOptions"] = LastValue(),
        }, instant: true);

    // Buckets as they are (format heatmap: one row per le), not re-bucketed by Grafana.
    private static JsonObject Heatmap(string title, string buckets) =>
        Panel("heatmap", title, "s", [new(buckets, "{{le}}")], new JsonObject
        {
            ["calculate"] = false,
            ["yAxis"] = new JsonObject { ["unit"] = "s" },
            ["color"] = new JsonObject { ["mode"] = "scheme", ["scheme"] = "Oranges" },
            ["cellGap"] = 1,
        }, format: "heatmap");

    // Panels laid out left to right in rows of 24 columns; ids from 1 in the order added.
    private sealed class Board
    {
        private int _x;
        private int _y;
        private int _rowHeight;

        public JsonArray Panels { get; } = [];

        public void Add(JsonObject panel, int width, int height)
        {
            if (_x + width > 24)
            {
                (_x, _y, _rowHeight) = (0, _y + _rowHeight, 0);
            }

            panel.Insert(0, "id", Panels.Count + 1); // id, type, title, gridPos, then the rest
            panel.Insert(3, "gridPos", new JsonObject { ["x"] = _x, ["y"] = _y, ["w"] = width, ["h"] = height });
            Panels.Add(panel);
            _x += width;
            _rowHeight = Math.Max(_rowHeight, height);
        }
    }
}
