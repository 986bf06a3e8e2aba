using System.Text.Json.Nodes;
using Bruno.Kubernetes.Yaml;
using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// The gateway tier of the two-tier management plane: a Deployment of stateless Bruno processes (<c>serve --role
/// gateway</c>) behind a ClusterIP Service that the ingress targets, scaled by a HorizontalPodAutoscaler (autoscaling/v2)
/// on CPU, memory and requests per second, with a PodDisruptionBudget that keeps one up. A gateway keeps no tenant
/// data: its <c>/data</c> is an emptyDir for uploads in progress, and the two platform keys every gateway must share
/// (token signing, audit and receipt signing) come from a Secret mounted read-only.
/// </summary>
internal static class Gateways
{
    /// <summary>
    /// The Secret with the keys every gateway shares: <c>token-signing.key</c> (32 random bytes, base64) and
    /// <c>platform-signing.pem</c> (an EC P-256 private key, PKCS#8 PEM). Created out of band or by an ExternalSecret.
    /// </summary>
    public const string PlatformKeysSecret = "agent-bruno-platform-keys";

    /// <summary>Where the platform keys are mounted; <c>BRUNO_SECRETSFOLDER</c> names it.</summary>
    public const string PlatformKeysPath = "/var/run/bruno/platform-keys";

    /// <summary>The keys of <see cref="PlatformKeysSecret"/>, which are also the file names under <see cref="PlatformKeysPath"/>.</summary>
    public static readonly string[] PlatformKeys = ["token-signing.key", "platform-signing.pem"];

    /// <summary>The custom pods metric the autoscaler reads, served by prometheus-adapter (<see cref="AdapterRules"/>).</summary>
    public const string RequestsMetric = "http_requests_per_second";

    /// <summary>The key of the adapter's rule file in <see cref="AdapterConfigMap"/>.</summary>
    public const string AdapterRulesKey = "bruno-adapter-rules.yaml";

    // 0400, owner read only; with the pod's fsGroup the kubelet adds group read, so the files are 0440, root:10001.
    private const int KeyFileMode = 256;

    /// <summary>The mount of <see cref="PlatformKeysSecret"/> at <see cref="PlatformKeysPath"/>, read-only.</summary>
    public static V1VolumeMount PlatformKeysMount() => new() { Name = "platform-keys", MountPath = PlatformKeysPath, ReadOnlyProperty = true };

    /// <summary>
    /// The volume of <see cref="PlatformKeysSecret"/>: gateways sign and check tokens with these keys, and store nodes
    /// check the scraper's token on <c>/metrics</c> with them.
    /// </summary>
    public static V1Volume PlatformKeysVolume() => new()
    {
        Name = "platform-keys",
        Secret = new V1SecretVolumeSource
        {
            SecretName = PlatformKeysSecret,
            DefaultMode = KeyFileMode,
            Items = [.. PlatformKeys.Select(k => new V1KeyToPath { Key = k, Path = k })], // a missing key keeps the pod from starting
        },
    };

    /// <summary>Where the cluster TLS Secret (<see cref="TwoTierOptions.TlsSecret"/>) is mounted in both tiers.</summary>
    public const string ClusterTlsPath = "/var/run/bruno/cluster-tls";

    /// <summary>The keys of the cluster TLS Secret, which are also the file names under <see cref="ClusterTlsPath"/>.</summary>
    public static readonly string[] ClusterTlsKeys = ["tls.crt", "tls.key", "ca.crt"];

    /// <summary>The mount of the cluster TLS Secret at <see cref="ClusterTlsPath"/>, read-only and never by subPath (whose files the kubelet does not renew).</summary>
    public static V1VolumeMount ClusterTlsMount() => new() { Name = "cluster-tls", MountPath = ClusterTlsPath, ReadOnlyProperty = true };

    /// <summary>
    /// The volume of the cluster TLS Secret: the certificate both tiers present to each other, its key and the authority
    /// each checks the other's against. The kubelet replaces the files when the Secret changes; Bruno reads them again.
    /// </summary>
    public static V1Volume ClusterTlsVolume(TwoTierOptions t) => new()
    {
        Name = "cluster-tls",
        Secret = new V1SecretVolumeSource
        {
            SecretName = t.TlsSecret,
            DefaultMode = KeyFileMode,
            Items = [.. ClusterTlsKeys.Select(k => new V1KeyToPath { Key = k, Path = k })], // a missing key keeps the pod from starting
        },
    };

    /// <summary>The settings naming the mounted files (<c>Bruno:Cluster:Tls:*</c>), for both tiers.</summary>
    public static (string Name, string Value)[] ClusterTlsSettings() =>
    [
        ("BRUNO_CLUSTER__TLS__AUTHORITYFILE", $"{ClusterTlsPath}/ca.crt"),
        ("BRUNO_CLUSTER__TLS__CERTIFICATEFILE", $"{ClusterTlsPath}/tls.crt"),
        ("BRUNO_CLUSTER__TLS__KEYFILE", $"{ClusterTlsPath}/tls.key"),
    ];

    public static V1Deployment Deployment(WorkloadShape w, KubernetesOptions options)
    {
        var template = BrunoWorkload.Pod(
            w,
            options,
            ["serve", "--role", "gateway", "--urls", $"http://0.0.0.0:{options.Port}"],
            [BrunoWorkload.Http(options)],
            [
                new V1VolumeMount { Name = "data", MountPath = "/data" },
                PlatformKeysMount(),
                ClusterTlsMount(),
            ],
            [
                // Scratch for uploads being processed, nothing durable: tenants' data lives on the store nodes.
                new V1Volume { Name = "data", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = Quantities.GiB(options.TwoTier.GatewayScratchGiB) } },
                PlatformKeysVolume(),
                ClusterTlsVolume(options.TwoTier),
            ]);
        BrunoWorkload.Spread(template, w.Selector);
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
            Spec = new V1DeploymentSpec
            {
                // No replicas: the autoscaler owns the count, and a rendered one would reset it on every reconcile.
                Strategy = new V1DeploymentStrategy
                {
                    Type = "RollingUpdate",
                    RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = "25%", MaxUnavailable = 0 }, // never below the current count
                },
                Selector = new V1LabelSelector { MatchLabels = w.Selector },
                Template = template,
            },
        };
    }

    /// <summary>At least one gateway up through voluntary disruptions; the autoscaler keeps two or more, so a drain proceeds.</summary>
    public static V1PodDisruptionBudget DisruptionBudget(WorkloadShape w) => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
        Spec = new V1PodDisruptionBudgetSpec { MinAvailable = 1, Selector = new V1LabelSelector { MatchLabels = w.Selector } },
    };

    /// <summary>
    /// The design's autoscaler: between the configured bounds, on CPU at 70% and memory at 80% of the requests, and on
    /// requests per second per pod. It scales up fast (double, or two pods more, every 30 s, whichever is more, after a
    /// minute's stabilization) and down slowly (half at most per minute, after five minutes).
    /// </summary>
    public static V2HorizontalPodAutoscaler Autoscaler(WorkloadShape w, TwoTierOptions t) => new()
    {
        ApiVersion = "autoscaling/v2",
        Kind = "HorizontalPodAutoscaler",
        Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
        Spec = new V2HorizontalPodAutoscalerSpec
        {
            ScaleTargetRef = new V2CrossVersionObjectReference { ApiVersion = "apps/v1", Kind = "Deployment", Name = w.Name },
            MinReplicas = t.GatewayMinReplicas,
            MaxReplicas = t.GatewayMaxReplicas,
            Metrics =
            [
                Utilization("cpu", 70),
                Utilization("memory", 80),
                new V2MetricSpec
                {
                    Type = "Pods",
                    Pods = new V2PodsMetricSource
                    {
                        Metric = new V2MetricIdentifier { Name = RequestsMetric },
                        Target = new V2MetricTarget { Type = "AverageValue", AverageValue = Quantities.Count(t.GatewayRequestsPerSecond) },
                    },
                },
            ],
            Behavior = new V2HorizontalPodAutoscalerBehavior
            {
                ScaleDown = new V2HPAScalingRules
                {
                    StabilizationWindowSeconds = 300,
                    Policies = [new V2HPAScalingPolicy { Type = "Percent", Value = 50, PeriodSeconds = 60 }],
                },
                ScaleUp = new V2HPAScalingRules
                {
                    StabilizationWindowSeconds = 60,
                    Policies =
                    [
                        new V2HPAScalingPolicy { Type = "Percent", Value = 100, PeriodSeconds = 30 },
                        new V2HPAScalingPolicy { Type = "Pods", Value = 2, PeriodSeconds = 30 },
                    ],
                    SelectPolicy = "Max",
                },
            },
        },
    };

    /// <summary>
    /// The prometheus-adapter rule that serves <see cref="RequestsMetric"/> for the pods of <paramref name="ns"/>: the
    /// per-pod rate over 2 minutes of ASP.NET Core's request counter, probes and scrapes left out (as the SLO rules
    /// do). The infrastructure layer's prometheus-adapter release takes it as its chart's <c>rules.custom</c>; for an
    /// adapter the operator runs, it is rendered as <see cref="AdapterConfigMap"/> to merge.
    /// </summary>
    public static string AdapterRules(string ns) => YamlWriter.Write(new JsonObject { ["rules"] = new JsonArray(AdapterRule(ns)) });

    /// <summary>The rule of <see cref="AdapterRules"/> itself, as the adapter chart's <c>rules.custom</c> takes it.</summary>
    public static JsonObject AdapterRule(string ns) => new()
    {
        ["seriesQuery"] = $"{Observability.Requests}{{namespace=\"{ns}\",pod!=\"\"}}",
        ["resources"] = new JsonObject
        {
            ["overrides"] = new JsonObject
            {
                ["namespace"] = new JsonObject { ["resource"] = "namespace" },
                ["pod"] = new JsonObject { ["resource"] = "pod" },
            },
        },
        ["name"] = new JsonObject { ["matches"] = $"^{Observability.Requests}$", ["as"] = RequestsMetric },
        ["metricsQuery"] = $"sum(rate(<<.Series>>{{<<.LabelMatchers>>,{Observability.NotProbes}}}[2m])) by (<<.GroupBy>>)",
    };

    /// <summary>The adapter rule (<see cref="AdapterRules"/>) as a ConfigMap next to the gateways, for the operator to merge.</summary>
    public static V1ConfigMap AdapterConfigMap(string ns, Dictionary<string, string> labels) => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new V1ObjectMeta
        {
            Name = "bruno-prometheus-adapter-rules",
            NamespaceProperty = ns,
            Labels = labels,
            Annotations = new Dictionary<string, string>(StringComparer.Ordinal) { ["kustomize.toolkit.fluxcd.io/substitute"] = "disabled" },
        },
        Data = new Dictionary<string, string>(StringComparer.Ordinal) { [AdapterRulesKey] = AdapterRules(ns) },
    };

    private static V2MetricSpec Utilization(string resource, int percent) => new()
    {
        Type = "Resource",
        Resource = new V2ResourceMetricSource { Name = resource, Target = new V2MetricTarget { Type = "Utilization", AverageUtilization = percent } },
    };
}
