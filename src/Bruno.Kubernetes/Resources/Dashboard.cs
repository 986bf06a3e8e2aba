using System.Text.Json;
using System.Text.Json.Nodes;
using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// The design's per-tenant Grafana dashboard (request rate, error rate, resource usage, cost) as a ConfigMap the Grafana
/// sidecar picks up by its <c>grafana_dashboard</c> label. Every query is fixed to the tenant's id; Flux's variable
/// substitution is switched off for it, so PromQL is never rewritten.
/// </summary>
internal static class Dashboard
{
    public static V1ConfigMap ConfigMap(string ns, Dictionary<string, string> labels, string tenant, string tenantNamespace)
    {
        var all = new Dictionary<string, string>(labels, StringComparer.Ordinal) { ["grafana_dashboard"] = "1" };
        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta
            {
                Name = "agent-bruno-dashboard",
                NamespaceProperty = ns,
                Labels = new Dictionary<string, string>(new SortedDictionary<string, string>(all, StringComparer.Ordinal), StringComparer.Ordinal),
                Annotations = new Dictionary<string, string>(StringComparer.Ordinal) { ["kustomize.toolkit.fluxcd.io/substitute"] = "disabled" },
            },
            Data = new Dictionary<string, string>(StringComparer.Ordinal) { [$"bruno-tenant-{tenant}.json"] = Json(tenant, tenantNamespace) },
        };
    }

    /// <summary>The dashboard's JSON (indented, stable).</summary>
    public static string Json(string tenant, string tenantNamespace)
    {
        var t = $"tenant_id=\"{tenant}\"";
        var panels = new JsonArray
        {
            Panel(1, "Requests per second", $"sum(rate(http_server_request_duration_seconds_count{{{t}}}[5m]))", "reqps", 0, 0),
            Panel(2, "Error ratio (5xx)", $"sum(rate(http_server_request_duration_seconds_count{{{t},http_response_status_code=~\"5..\"}}[5m])) / clamp_min(sum(rate(http_server_request_duration_seconds_count{{{t}}}[5m])), 1e-9)", "percentunit", 12, 0),
            Panel(3, "Latency p95", $"histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket{{{t}}}[5m])))", "s", 0, 8),
            Panel(4, "CPU (cores)", $"sum(rate(container_cpu_usage_seconds_total{{namespace=\"{tenantNamespace}\",container!=\"\"}}[5m]))", "none", 12, 8),
            Panel(5, "Memory", $"sum(container_memory_working_set_bytes{{namespace=\"{tenantNamespace}\",container!=\"\"}})", "bytes", 0, 16),
            Panel(6, "Cost this month (USD)", $"sum(tenant_cost_dollars{{{t}}})", "currencyUSD", 12, 16),
        };
        var dashboard = new JsonObject
        {
            ["title"] = $"Bruno tenant {tenant}",
            ["uid"] = Uid(tenant),
            ["tags"] = new JsonArray("bruno", "tenant"),
            ["timezone"] = "utc",
            ["schemaVersion"] = 39,
            ["refresh"] = "1m",
            ["time"] = new JsonObject { ["from"] = "now-6h", ["to"] = "now" },
            ["panels"] = panels,
        };
        return dashboard.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    // Grafana's uid is at most 40 characters.
    private static string Uid(string tenant)
    {
        var name = Names.Label("bruno-", Storage.Identity.TenantId.Parse(tenant));
        return name.Length <= 40 ? name : name[..31].TrimEnd('-') + "-" + name[^8..];
    }

    private static JsonObject Panel(int id, string title, string expr, string unit, int x, int y) => new()
    {
        ["id"] = id,
        ["type"] = "timeseries",
        ["title"] = title,
        ["gridPos"] = new JsonObject { ["x"] = x, ["y"] = y, ["w"] = 12, ["h"] = 8 },
        ["fieldConfig"] = new JsonObject { ["defaults"] = new JsonObject { ["unit"] = unit } },
        ["targets"] = new JsonArray(new JsonObject { ["refId"] = "A", ["expr"] = expr }),
    };
}
