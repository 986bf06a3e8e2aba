using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// The store tier of the two-tier management plane: a StatefulSet of Bruno processes (<c>serve --role store</c>), each
/// the one writer of the tenants it owns, on a PersistentVolumeClaim of its own from the claim template. A headless
/// Service gives each pod a stable DNS name (<c>&lt;pod&gt;.&lt;service&gt;.&lt;namespace&gt;.svc.&lt;domain&gt;</c>),
/// which the pod advertises to the gateways and to the other store nodes. Pods start and stop in parallel (no node
/// waits for another) and are updated one at a time; the PodDisruptionBudget lets one down at a time. With zones
/// (<see cref="TwoTierOptions.StoreZones"/>), one such StatefulSet per zone, all named through the same headless Service
/// and counted by the same budget.
/// </summary>
internal static class StoreNodes
{
    /// <summary>The name of the store port, on the container and the headless Service.</summary>
    public const string PortName = "grpc";

    /// <summary>The environment variable the pod's own name is put in, for the others to refer to as <c>$(POD_NAME)</c>.</summary>
    public const string PodNameVariable = "POD_NAME";

    /// <summary>The label that tells the pods of one zone's StatefulSet from the others' (decision 0037).</summary>
    public const string ZoneSelectorLabel = "bruno.dev/zone";

    /// <summary>
    /// The store nodes' StatefulSet: all of them (<paramref name="zone"/> null), or those of one zone. A zone's
    /// StatefulSet is named <c>&lt;name&gt;-&lt;zone&gt;</c> (so are its pods, each name unique and stable), selects its
    /// pods by <see cref="ZoneSelectorLabel"/> as well, runs them only on nodes of that zone (a required node affinity),
    /// and tells them their zone (<c>BRUNO_CLUSTER__ZONE</c>); the service account, the headless Service, the host
    /// anti-affinity and everything else selecting store nodes still select those of every zone.
    /// </summary>
    public static V1StatefulSet StatefulSet(WorkloadShape w, KubernetesOptions options, string headlessService, (string Name, int Nodes)? zone = null)
    {
        var t = options.TwoTier;
        if (zone is { } z)
        {
            var labels = WithZone(w.Labels, z.Name);
            List<V1EnvVar> env = [w.Environment[0], .. w.Environment.Skip(1).Append(new V1EnvVar { Name = "BRUNO_CLUSTER__ZONE", Value = z.Name }).OrderBy(e => e.Name, StringComparer.Ordinal)]; // POD_NAME stays first
            var set = StatefulSet(w with { Labels = labels, Environment = env }, options, headlessService);
            set.Metadata.Name = $"{w.Name}-{z.Name}";
            set.Spec.Replicas = z.Nodes;
            set.Spec.Selector = new V1LabelSelector { MatchLabels = WithZone(w.Selector, z.Name) };
            var pod = set.Spec.Template.Spec;
            pod.TopologySpreadConstraints = null; // the zone is fixed: nothing to spread over
            pod.Affinity.NodeAffinity = new V1NodeAffinity
            {
                RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
                {
                    NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = [new V1NodeSelectorRequirement { Key = ZoneLabel, OperatorProperty = "In", Values = [z.Name] }] }],
                },
            };
            return set;
        }

        var template = BrunoWorkload.Pod(
            w,
            options,
            ["serve", "--role", "store", "--urls", $"http://0.0.0.0:{options.Port}"],
            [BrunoWorkload.Http(options), new V1ContainerPort { Name = PortName, ContainerPort = t.StorePort, Protocol = "TCP" }],
            [new V1VolumeMount { Name = "data", MountPath = "/data" }, Gateways.PlatformKeysMount(), Gateways.ClusterTlsMount()], // data: the claim template's volume
            [Gateways.PlatformKeysVolume(), Gateways.ClusterTlsVolume(t)]);
        ApartByZoneAndHost(template, w.Selector);
        return new V1StatefulSet
        {
            ApiVersion = "apps/v1",
            Kind = "StatefulSet",
            Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
            Spec = new V1StatefulSetSpec
            {
                Replicas = t.StoreNodes,
                ServiceName = headlessService,
                PodManagementPolicy = "Parallel",
                UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "RollingUpdate" },
                Selector = new V1LabelSelector { MatchLabels = w.Selector },
                Template = template,
                VolumeClaimTemplates =
                [
                    new V1PersistentVolumeClaim
                    {
                        Metadata = new V1ObjectMeta { Name = "data", Labels = w.Labels },
                        Spec = BrunoWorkload.ClaimSpec(w.VolumeGiB, options.StorageClass),
                    },
                ],
                // A node's volume outlives the StatefulSet and a scale-down: the tenants on it are moved off, never dropped.
                PersistentVolumeClaimRetentionPolicy = new V1StatefulSetPersistentVolumeClaimRetentionPolicy { WhenDeleted = "Retain", WhenScaled = "Retain" },
            },
        };
    }

    // The labels and the zone's, sorted by name as every label set rendered is.
    private static Dictionary<string, string> WithZone(Dictionary<string, string> labels, string zone) =>
        new(new SortedDictionary<string, string>(labels, StringComparer.Ordinal) { [ZoneSelectorLabel] = zone }, StringComparer.Ordinal);

    /// <summary>
    /// The headless Service that names each store node in DNS, on the store port only. Only ready nodes are published:
    /// a gateway never sends a request to a node that cannot serve it.
    /// </summary>
    public static V1Service HeadlessService(WorkloadShape w, KubernetesOptions options) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = w.Name, NamespaceProperty = w.Namespace, Labels = w.Labels },
        Spec = new V1ServiceSpec
        {
            Type = "ClusterIP",
            ClusterIP = "None",
            PublishNotReadyAddresses = false,
            Selector = w.Selector,
            Ports = [new V1ServicePort { Name = PortName, Port = options.TwoTier.StorePort, TargetPort = PortName, Protocol = "TCP" }],
        },
    };

    /// <summary>
    /// Keeps store nodes apart, so that copies of a tenant on two of them (a primary and its replica) do not fail
    /// together: never two on one Kubernetes node (required: a host's loss takes one store node at most, and a cluster
    /// with fewer nodes than store nodes leaves the extra ones pending, which the health check reports), and spread
    /// over the zones (<c>topology.kubernetes.io/zone</c>) one more in a zone than in another at most, as a preference:
    /// a cluster of one zone, or a zone that is down, still schedules them. Nodes without the zone label count as
    /// one zone of their own.
    /// </summary>
    public static void ApartByZoneAndHost(V1PodTemplateSpec template, Dictionary<string, string> selector)
    {
        template.Spec.TopologySpreadConstraints =
        [
            new V1TopologySpreadConstraint
            {
                MaxSkew = 1,
                TopologyKey = ZoneLabel,
                WhenUnsatisfiable = "ScheduleAnyway",
                LabelSelector = new V1LabelSelector { MatchLabels = selector },
            },
        ];
        template.Spec.Affinity = new V1Affinity
        {
            PodAntiAffinity = new V1PodAntiAffinity
            {
                RequiredDuringSchedulingIgnoredDuringExecution =
                [
                    new V1PodAffinityTerm { TopologyKey = HostLabel, LabelSelector = new V1LabelSelector { MatchLabels = selector } },
                ],
            },
        };
    }

    /// <summary>The well-known label of a node's zone.</summary>
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    /// <summary>The well-known label of a node's host name.</summary>
    public const string HostLabel = "kubernetes.io/hostname";

    /// <summary>
    /// The address a store node advertises, with the pod's name left to the kubelet (<c>$(POD_NAME)</c>): https, as the
    /// tiers use mutual TLS, and the name the cluster TLS certificate must cover (<c>*.&lt;service&gt;.&lt;namespace&gt;.svc.&lt;domain&gt;</c>).
    /// </summary>
    public static string AdvertiseUrl(string headlessService, string ns, TwoTierOptions t) =>
        $"https://$({PodNameVariable}).{headlessService}.{ns}.svc.{t.ClusterDomain}:{t.StorePort}";

    /// <summary>The DNS names the cluster TLS certificate must cover: every store node's, by a wildcard.</summary>
    public static string CertificateName(string headlessService, string ns, TwoTierOptions t) => $"*.{headlessService}.{ns}.svc.{t.ClusterDomain}";

    /// <summary>The pod's own name from the downward API; it must come before every variable that refers to it.</summary>
    public static V1EnvVar PodName() => new()
    {
        Name = PodNameVariable,
        ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } },
    };
}
