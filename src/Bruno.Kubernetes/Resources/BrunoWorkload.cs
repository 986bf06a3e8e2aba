using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// What one Bruno process needs: its name, namespace, labels, resources, its volume's size (a gateway's scratch space),
/// its environment, in order, and the ephemeral storage it requests and is limited to (set where a namespace's quota
/// counts ephemeral storage; unset, the container names none).
/// </summary>
internal sealed record WorkloadShape(
    string Name,
    string Namespace,
    Dictionary<string, string> Labels,
    Dictionary<string, string> Selector,
    double Cores,
    double MemoryGiB,
    int VolumeGiB,
    IReadOnlyList<V1EnvVar> Environment,
    int? EphemeralStorageGiB = null);

/// <summary>
/// Bruno as a Deployment of one process with its data on a PersistentVolumeClaim (never an emptyDir or a hostPath: the
/// original agent lost its memory on every restart), a ServiceAccount that mounts no token, a ClusterIP Service and
/// probes on <c>/healthz</c> and <c>/readyz</c>. The pod satisfies Pod Security <c>restricted</c>: non-root, no privilege
/// escalation, every capability dropped, the runtime's seccomp profile, a read-only root file system. The two tiers
/// (<see cref="Gateways"/>, <see cref="StoreNodes"/>) run the same pod; only the gateways, which keep no tenant data,
/// have an emptyDir at <c>/data</c>.
/// </summary>
internal static class BrunoWorkload
{
    /// <summary>
    /// The Secret holding the master key (key <c>master-key</c>) and, when a chat model is used, its API key (key
    /// <c>llm-api-key</c>), and in the two-tier shape the cluster token (key <c>cluster-token</c>); created out of band or
    /// by an ExternalSecret, never rendered with a value. A single process creates the token and platform signing keys
    /// on its volume at first start, mode 0600; gateways, which must share them, read them from
    /// <see cref="Gateways.PlatformKeysSecret"/>.
    /// </summary>
    public const string KeysSecret = "agent-bruno-keys";

    /// <summary>The key of <see cref="KeysSecret"/> holding the master key (32 random bytes, base64).</summary>
    public const string MasterKey = "master-key";

    /// <summary>The key of <see cref="KeysSecret"/> holding the LLM endpoint's API key (optional).</summary>
    public const string LlmApiKey = "llm-api-key";

    /// <summary>
    /// The key of <see cref="KeysSecret"/> holding the token gateways and store nodes show each other (two tiers only;
    /// 32 random bytes, base64).
    /// </summary>
    public const string ClusterToken = "cluster-token";

    /// <summary>The Secret holding the platform catalog's PostgreSQL connection string (key <c>connection-string</c>).</summary>
    public const string CatalogSecret = "bruno-catalog";

    private const long User = 10001;

    public static V1ServiceAccount ServiceAccount(WorkloadShape w) => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
        AutomountServiceAccountToken = false,
    };

    public static V1PersistentVolumeClaim Volume(WorkloadShape w, string? storageClass) => new()
    {
        ApiVersion = "v1",
        Kind = "PersistentVolumeClaim",
        Metadata = new V1ObjectMeta { Name = w.Name + "-data", NamespaceProperty = w.Namespace, Labels = w.Labels },
        Spec = ClaimSpec(w.VolumeGiB, storageClass),
    };

    /// <summary>A claim of <paramref name="gib"/> GiB, mounted by one node at a time, of the class given or the cluster's default.</summary>
    public static V1PersistentVolumeClaimSpec ClaimSpec(int gib, string? storageClass) => new()
    {
        AccessModes = ["ReadWriteOnce"],
        StorageClassName = string.IsNullOrEmpty(storageClass) ? null : storageClass,
        Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal) { ["storage"] = Quantities.GiB(gib) } },
    };

    public static V1Deployment Deployment(WorkloadShape w, KubernetesOptions options) => new()
    {
        ApiVersion = "apps/v1",
        Kind = "Deployment",
        Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
        Spec = new V1DeploymentSpec
        {
            Replicas = 1, // one writer of the store on its volume
            Strategy = new V1DeploymentStrategy { Type = "Recreate" }, // the old pod lets go of the volume first
            Selector = new V1LabelSelector { MatchLabels = w.Selector },
            Template = Pod(
                w,
                options,
                ["serve", "--urls", $"http://0.0.0.0:{options.Port}"],
                [Http(options)],
                [new V1VolumeMount { Name = "data", MountPath = "/data" }],
                [new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = w.Name + "-data" } }]),
        },
    };

    /// <summary>
    /// The pod of one Bruno process: the restricted security context, the image, <paramref name="args"/>,
    /// <paramref name="ports"/>, resources (requests equal to limits), probes on the <c>http</c> port, the environment,
    /// <paramref name="mounts"/> and <paramref name="volumes"/> followed by the <c>/tmp</c> scratch emptyDir.
    /// </summary>
    public static V1PodTemplateSpec Pod(WorkloadShape w, KubernetesOptions options, List<string> args, List<V1ContainerPort> ports, List<V1VolumeMount> mounts, List<V1Volume> volumes)
    {
        var resources = TenantNamespace.Pair(Quantities.Cores(w.Cores), Quantities.GiB(w.MemoryGiB), w.EphemeralStorageGiB is { } ephemeral ? Quantities.GiB(ephemeral) : null);
        static V1Probe Probe(string path, int period, int failures) => new()
        {
            HttpGet = new V1HTTPGetAction { Path = path, Port = "http" },
            PeriodSeconds = period,
            FailureThreshold = failures,
            TimeoutSeconds = 2,
        };
        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = w.Labels },
            Spec = new V1PodSpec
            {
                ServiceAccountName = w.Name,
                AutomountServiceAccountToken = false,
                EnableServiceLinks = false,
                TerminationGracePeriodSeconds = 30,
                SecurityContext = new V1PodSecurityContext
                {
                    RunAsNonRoot = true,
                    RunAsUser = User,
                    RunAsGroup = User,
                    FsGroup = User,
                    FsGroupChangePolicy = "OnRootMismatch",
                    SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                },
                Containers =
                [
                    new V1Container
                    {
                        Name = "bruno",
                        Image = options.Image,
                        ImagePullPolicy = PullPolicy(options.Image),
                        Args = args,
                        Ports = ports,
                        Env = [.. w.Environment],
                        Resources = new V1ResourceRequirements { Requests = resources, Limits = new Dictionary<string, ResourceQuantity>(resources, StringComparer.Ordinal) },
                        StartupProbe = Probe("/healthz", 2, 60),
                        LivenessProbe = Probe("/healthz", 10, 3),
                        ReadinessProbe = Probe("/readyz", 5, 2),
                        SecurityContext = new V1SecurityContext
                        {
                            AllowPrivilegeEscalation = false,
                            ReadOnlyRootFilesystem = true,
                            RunAsNonRoot = true,
                            Capabilities = new V1Capabilities { Drop = ["ALL"] },
                            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                        },
                        VolumeMounts = [.. mounts, new V1VolumeMount { Name = "tmp", MountPath = "/tmp" }],
                    },
                ],
                Volumes = [.. volumes, new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource { SizeLimit = Quantities.MiB(256) } }], // scratch only, never data
            },
        };
    }

    /// <summary>
    /// <c>IfNotPresent</c> for an image pinned by digest, which cannot change; <c>Always</c> for one pinned by tag, which
    /// can be moved or planted on a node: the kubelet then checks the registry for the tag's current digest (and the
    /// pull credentials) on every start, and pulls only when the digest changed.
    /// </summary>
    public static string PullPolicy(string image) => image.Contains("@sha256:", StringComparison.Ordinal) ? "IfNotPresent" : "Always";

    /// <summary>
    /// Spreads the pods of <paramref name="selector"/> over the nodes, one more on a node than on another at most, as a
    /// preference: a cluster with fewer nodes than pods still schedules them all.
    /// </summary>
    public static void Spread(V1PodTemplateSpec template, Dictionary<string, string> selector) =>
        template.Spec.TopologySpreadConstraints =
        [
            new V1TopologySpreadConstraint
            {
                MaxSkew = 1,
                TopologyKey = "kubernetes.io/hostname",
                WhenUnsatisfiable = "ScheduleAnyway",
                LabelSelector = new V1LabelSelector { MatchLabels = selector },
            },
        ];

    /// <summary>The container port Bruno's HTTP API, probes and <c>/metrics</c> are on.</summary>
    public static V1ContainerPort Http(KubernetesOptions options) => new() { Name = "http", ContainerPort = options.Port, Protocol = "TCP" };

    public static V1Service Service(WorkloadShape w, KubernetesOptions options) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            Selector = w.Selector,
            Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = "http", Protocol = "TCP" }],
        },
    };

    /// <summary>
    /// At most one pod of the workload down by a voluntary disruption. With one replica this never blocks a node drain
    /// (a budget of zero would stall every upgrade); it matters once there are several.
    /// </summary>
    public static V1PodDisruptionBudget DisruptionBudget(WorkloadShape w) => new()
    {
        ApiVersion = "policy/v1",
        Kind = "PodDisruptionBudget",
        Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
        Spec = new V1PodDisruptionBudgetSpec { MaxUnavailable = 1, Selector = new V1LabelSelector { MatchLabels = w.Selector } },
    };

    /// <summary>An environment variable read from key <paramref name="key"/> of Secret <paramref name="secret"/>.</summary>
    public static V1EnvVar FromSecret(string name, string secret, string key, bool optional = false) =>
        new() { Name = name, ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secret, Key = key, Optional = optional ? true : null } } };

    /// <summary>The service's settings for a pod: the data folder, and the master key from the keys Secret.</summary>
    public static List<V1EnvVar> Environment(params (string Name, string Value)[] more)
    {
        List<V1EnvVar> env =
        [
            new V1EnvVar { Name = "BRUNO_DATAROOT", Value = "/data" },
            FromSecret("BRUNO_MASTERKEY", KeysSecret, MasterKey),
            FromSecret("BRUNO_CHAT__APIKEY", KeysSecret, LlmApiKey, optional: true),
        ];
        env.AddRange(more.Select(m => new V1EnvVar { Name = m.Name, Value = m.Value }));
        return [.. env.OrderBy(e => e.Name, StringComparer.Ordinal)];
    }
}
