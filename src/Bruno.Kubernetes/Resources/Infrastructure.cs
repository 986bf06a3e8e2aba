using System.Globalization;
using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// The infrastructure layer's objects: Flux Helm sources (an OCIRepository for a chart published as an OCI artifact,
/// else a HelmRepository), HelmReleases (helm.toolkit.fluxcd.io/v2) and CloudNativePG Clusters (postgresql.cnpg.io/v1).
/// A HelmRelease and its source are in Flux's namespace, so that the release can impersonate the helm-controller
/// service account (helm-controller looks the account up in the HelmRelease's own namespace) and refers to its source
/// without a cross-namespace reference; the chart is installed into the component's namespace
/// (<c>targetNamespace</c>, with Helm's release records there too). Only fields of the CRDs are written.
/// </summary>
internal static class Infrastructure
{
    public const string SourceApiVersion = "source.toolkit.fluxcd.io/v1";

    public const string HelmApiVersion = "helm.toolkit.fluxcd.io/v2";

    public const string CnpgApiVersion = "postgresql.cnpg.io/v1";

    /// <summary>The media type of a Helm chart's layer in an OCI artifact (what OCIRepository keeps as is).</summary>
    public const string HelmChartLayer = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

    /// <summary>The service account the platform-admin HelmReleases impersonate: helm-controller's own (in Flux's namespace).</summary>
    public const string HelmControllerAccount = "helm-controller";

    /// <summary>The service account the platform-admin Kustomizations impersonate: kustomize-controller's own (in Flux's namespace).</summary>
    public const string KustomizeControllerAccount = "kustomize-controller";

    /// <summary>How many times Flux retries a failed install or upgrade (after rolling back or uninstalling) before giving up.</summary>
    public const int RemediationRetries = 3;

    /// <summary>The chart's source: an OCIRepository pinned to the version's tag, or a HelmRepository.</summary>
    public static JsonObject Source(string name, string ns, Dictionary<string, string> labels, ChartOptions chart, string interval)
    {
        var spec = new JsonObject { ["interval"] = interval };
        if (chart.IsOci)
        {
            spec["layerSelector"] = new JsonObject { ["mediaType"] = HelmChartLayer, ["operation"] = "copy" };
            spec["ref"] = new JsonObject { ["tag"] = chart.Version };
        }

        spec["url"] = chart.Url;
        return new JsonObject
        {
            ["apiVersion"] = SourceApiVersion,
            ["kind"] = chart.IsOci ? "OCIRepository" : "HelmRepository",
            ["metadata"] = Kamaji.Meta(name, ns, labels),
            ["spec"] = spec,
        };
    }

    /// <summary>
    /// A HelmRelease of <paramref name="chart"/> from the source of the same name in <paramref name="ns"/>, into the
    /// chart's namespace: CRDs created and replaced on install and upgrade, a failed install or upgrade remediated
    /// <see cref="RemediationRetries"/> times, after the releases named in <paramref name="dependsOn"/>.
    /// </summary>
    public static JsonObject Release(string name, string ns, Dictionary<string, string> labels, ChartOptions chart, string interval, JsonObject values, IReadOnlyList<string> dependsOn)
    {
        var spec = new JsonObject();
        if (chart.IsOci)
        {
            spec["chartRef"] = new JsonObject { ["kind"] = "OCIRepository", ["name"] = name }; // its tag is the version
        }
        else
        {
            spec["chart"] = new JsonObject
            {
                ["spec"] = new JsonObject
                {
                    ["chart"] = chart.Chart,
                    ["sourceRef"] = new JsonObject { ["kind"] = "HelmRepository", ["name"] = name },
                    ["version"] = chart.Version,
                },
            };
        }

        if (dependsOn.Count > 0)
        {
            spec["dependsOn"] = new JsonArray([.. dependsOn.Select(d => (JsonNode)new JsonObject { ["name"] = d })]);
        }

        spec["install"] = new JsonObject { ["crds"] = "CreateReplace", ["remediation"] = new JsonObject { ["retries"] = RemediationRetries } };
        spec["interval"] = interval;
        spec["releaseName"] = name; // not <targetNamespace>-<name>
        spec["serviceAccountName"] = HelmControllerAccount;
        spec["storageNamespace"] = chart.Namespace;
        spec["targetNamespace"] = chart.Namespace;
        spec["timeout"] = "10m";
        spec["upgrade"] = new JsonObject
        {
            ["crds"] = "CreateReplace",
            ["remediation"] = new JsonObject { ["remediateLastFailure"] = true, ["retries"] = RemediationRetries },
        };
        spec["values"] = values;
        return new JsonObject
        {
            ["apiVersion"] = HelmApiVersion,
            ["kind"] = "HelmRelease",
            ["metadata"] = Kamaji.Meta(name, ns, labels),
            ["spec"] = spec,
        };
    }

    /// <summary>The chart values Bruno sets for a component, by HelmRelease name.</summary>
    public static JsonObject Values(string component, KubernetesOptions options) => component switch
    {
        // the chart's CRDs are templates behind crds.enabled
        "cert-manager" => new JsonObject { ["crds"] = new JsonObject { ["enabled"] = true } },

        // no etcd of the chart's own (Bruno's DataStores are PostgreSQL), no default DataStore (every control plane
        // names its own), the controller image pinned rather than the edge chart's "latest", no usage reports
        "kamaji" => new JsonObject
        {
            ["defaultDatastoreName"] = string.Empty,
            ["image"] = new JsonObject { ["tag"] = options.Infrastructure.KamajiImageTag },
            ["kamaji-etcd"] = new JsonObject { ["deploy"] = false },
            ["telemetry"] = new JsonObject { ["disabled"] = true },
        },
        "external-secrets" => new JsonObject { ["installCRDs"] = true },
        "cloudnative-pg" => new JsonObject { ["crds"] = new JsonObject { ["create"] = true } },
        "prometheus-adapter" => AdapterValues(options),
        _ => throw new ArgumentOutOfRangeException(nameof(component), component, "not an infrastructure component"),
    };

    // prometheus-adapter queries Prometheus and serves Bruno's rule (and no default rule: only what an autoscaler asks for).
    private static JsonObject AdapterValues(KubernetesOptions options)
    {
        var prometheus = new Uri(options.Infrastructure.PrometheusUrl);
        return new JsonObject
        {
            ["prometheus"] = new JsonObject
            {
                ["path"] = prometheus.AbsolutePath.TrimEnd('/'),
                ["port"] = prometheus.Port,
                ["url"] = $"{prometheus.Scheme}://{prometheus.Host}",
            },
            ["rules"] = new JsonObject { ["custom"] = new JsonArray(Gateways.AdapterRule(options.ManagementNamespace)), ["default"] = false },
        };
    }

    /// <summary>
    /// A CloudNativePG Cluster of <paramref name="instances"/> instances: initdb makes <paramref name="database"/> owned by a
    /// role of the same name (its credentials in the generated Secret <c>&lt;name&gt;-app</c>); with
    /// <paramref name="superuser"/>, CloudNativePG also generates <c>&lt;name&gt;-superuser</c> for the postgres role.
    /// </summary>
    public static JsonObject PostgresCluster(string name, string ns, Dictionary<string, string> labels, int instances, int storageGiB, string? storageClass, string database, bool superuser)
    {
        var storage = new JsonObject { ["size"] = storageGiB.ToString(CultureInfo.InvariantCulture) + "Gi" };
        if (!string.IsNullOrEmpty(storageClass))
        {
            storage["storageClass"] = storageClass;
        }

        return new JsonObject
        {
            ["apiVersion"] = CnpgApiVersion,
            ["kind"] = "Cluster",
            ["metadata"] = Kamaji.Meta(name, ns, labels),
            ["spec"] = new JsonObject
            {
                ["bootstrap"] = new JsonObject { ["initdb"] = new JsonObject { ["database"] = database, ["owner"] = database } },
                ["enableSuperuserAccess"] = superuser,
                ["instances"] = instances,
                ["storage"] = storage,
            },
        };
    }

    /// <summary>The Secret CloudNativePG generates with the application role's credentials (keys username, password, host, port, dbname, uri...).</summary>
    public static string AppSecret(string cluster) => cluster + "-app";

    /// <summary>The Secret CloudNativePG generates with the postgres superuser's credentials (only with enableSuperuserAccess).</summary>
    public static string SuperuserSecret(string cluster) => cluster + "-superuser";

    /// <summary>The Secret CloudNativePG generates with the server certificate authority (keys ca.crt and ca.key).</summary>
    public static string CaSecret(string cluster) => cluster + "-ca";

    /// <summary>The read-write Service of a CloudNativePG cluster, as a DataStore endpoint.</summary>
    public static string ReadWriteEndpoint(string cluster, string ns) => $"{cluster}-rw.{ns}.svc:5432";
}
