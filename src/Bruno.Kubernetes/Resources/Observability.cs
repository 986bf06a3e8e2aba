using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// What the dashboards and the alert rules share: the series they read, the selectors that pick a tenant's or the
/// platform's requests, the objectives, and the ConfigMap that carries a dashboard or a rule file.
/// </summary>
internal static class Observability
{
    /// <summary>ASP.NET Core's request-duration histogram: its count is the request counter.</summary>
    public const string Requests = "http_server_request_duration_seconds_count";

    /// <summary>The request-duration histogram's buckets (<c>le</c> in seconds).</summary>
    public const string Buckets = "http_server_request_duration_seconds_bucket";

    /// <summary>A server error: any 5xx status.</summary>
    public const string ServerError = "http_response_status_code=~\"5..\"";

    /// <summary>
    /// The platform's own requests, less the kubelet's probes and Prometheus' scrapes (which say nothing of what users
    /// get and would water the error ratio down).
    /// </summary>
    public const string NotProbes = "http_route!~\"/healthz|/readyz|/metrics\"";

    /// <summary>A request made with a verified tenant credential.</summary>
    public const string AnyTenant = "tenant_id!=\"\"";

    /// <summary>The availability objective's error budget: 99.9% of requests without a 5xx, so 0.1%.</summary>
    public const string ErrorBudget = "0.001";

    /// <summary>The latency objective's budget: 95% of requests within <see cref="SlowSeconds"/>, so 5% slower.</summary>
    public const string LatencyBudget = "0.05";

    /// <summary>The latency objective's bound in seconds, one of the histogram's bucket bounds (<c>le="2"</c>).</summary>
    public const string SlowSeconds = "2";

    /// <summary>The runbook the alerts link to; each alert names its section.</summary>
    public const string Runbook = "docs/observability.md";

    /// <summary>
    /// A ConfigMap holding one file (<paramref name="key"/>) for a sidecar that picks up ConfigMaps labelled
    /// <paramref name="pickUpLabel"/>=1. Flux's variable substitution is switched off for it: PromQL and Grafana's and
    /// Prometheus' own templates are never rewritten.
    /// </summary>
    public static V1ConfigMap ConfigMap(string name, string ns, Dictionary<string, string> labels, string pickUpLabel, string key, string content)
    {
        var all = new SortedDictionary<string, string>(labels, StringComparer.Ordinal) { [pickUpLabel] = "1" };
        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = ns,
                Labels = new Dictionary<string, string>(all, StringComparer.Ordinal),
                Annotations = new Dictionary<string, string>(StringComparer.Ordinal) { ["kustomize.toolkit.fluxcd.io/substitute"] = "disabled" },
            },
            Data = new Dictionary<string, string>(StringComparer.Ordinal) { [key] = content },
        };
    }
}
