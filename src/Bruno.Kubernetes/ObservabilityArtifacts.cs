using Bruno.Kubernetes.Resources;

namespace Bruno.Kubernetes;

/// <summary>
/// The observability files Bruno renders, as text, for other projects' tests (a check that every series and label they
/// query is one the service exports, say). The renderer puts the same text into ConfigMaps: the platform dashboard and
/// the rule file under <c>platform/</c>, each tenant's dashboard in its folder under <c>tenants/</c>.
/// </summary>
public static class ObservabilityArtifacts
{
    /// <summary>The ConfigMap key under which <see cref="AlertRulesYaml"/> is rendered.</summary>
    public const string AlertRulesKey = AlertRules.Key;

    /// <summary>The platform overview dashboard: Grafana JSON, schema version 39, uid <c>bruno-platform</c>.</summary>
    public static string PlatformDashboardJson() => Dashboards.PlatformJson();

    /// <summary>
    /// The dashboard of tenant <paramref name="tenant"/> (a tenant id), every query fixed to it, CPU and memory read in
    /// <paramref name="tenantNamespace"/>, where its pods run. Throws <see cref="ArgumentException"/> unless both are
    /// DNS-1123 labels (so neither can change a query).
    /// </summary>
    public static string TenantDashboardJson(string tenant, string tenantNamespace)
    {
        if (!Names.IsDns1123Label(tenant))
        {
            throw new ArgumentException("A tenant id is a DNS-1123 label.", nameof(tenant));
        }

        if (!Names.IsDns1123Label(tenantNamespace))
        {
            throw new ArgumentException("A namespace is a DNS-1123 label.", nameof(tenantNamespace));
        }

        return Dashboards.TenantJson(tenant, tenantNamespace);
    }

    /// <summary>The Prometheus rule file (recording rules and alerts): <c>groups: [{name, interval, rules}]</c>.</summary>
    public static string AlertRulesYaml() => AlertRules.Yaml();
}
