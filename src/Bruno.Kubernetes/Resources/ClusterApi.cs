using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// A Kamaji tenant cluster with worker nodes made by Cluster API (cluster.x-k8s.io/v1beta2, the Kamaji control-plane
/// provider's controlplane.cluster.x-k8s.io/v1alpha2): a <c>Cluster</c> that refers to a <c>KamajiControlPlane</c> and to
/// the infrastructure provider's cluster, and a <c>MachineDeployment</c> whose machines boot from a
/// <c>KubeadmConfigTemplate</c> and the provider's machine template. The provider creates the TenantControlPlane itself
/// (same name and namespace as the KamajiControlPlane) from the KamajiControlPlane and from the Cluster's
/// <c>clusterNetwork</c> (port, CIDRs, DNS domain). Every object lives in the tenant's control-plane namespace; v1beta2
/// references are <c>{apiGroup, kind, name}</c> in the referrer's namespace. Pure: the options were validated before
/// (<see cref="KamajiOptions"/>), so nothing here fails on good options; an unparsable provider spec throws
/// <see cref="InvalidOperationException"/>.
/// </summary>
internal static class ClusterApi
{
    public const string ApiVersion = "cluster.x-k8s.io/v1beta2";

    public const string ControlPlaneApiVersion = "controlplane.cluster.x-k8s.io/v1alpha2";

    public const string BootstrapApiVersion = "bootstrap.cluster.x-k8s.io/v1beta2";

    /// <summary>The label Cluster API gives every object of a cluster, and selects a MachineDeployment's machines by.</summary>
    public const string ClusterNameLabel = "cluster.x-k8s.io/cluster-name";

    /// <summary>The MachineDeployment's name (one pool per tenant cluster, in the tenant's own namespace).</summary>
    public const string Workers = "workers";

    /// <summary>
    /// Flux's health check of the Cluster. Its v1beta2 status has no <c>Ready</c> condition, and kstatus reads only
    /// <c>Reconciling</c>/<c>Stalled</c> and <c>observedGeneration</c>, so without an expression Flux would call it ready
    /// as soon as Cluster API has seen it. <c>Available</c> is Cluster API's summary: infrastructure ready, the
    /// control plane available (the KamajiControlPlane's own <c>Available</c>), the workers available (every
    /// MachineDeployment's) and the workload cluster answering.
    /// </summary>
    public static readonly Flux.HealthCheckExpression AvailableExpression = new(
        ApiVersion,
        "Cluster",
        "has(status.conditions) && status.conditions.exists(c, c.type == 'Available' && c.status == 'True')");

    /// <summary>
    /// How long Flux should wait for the Cluster: machines are provisioned (on bare metal, installed) before it is
    /// available, which takes longer than the 10 minutes a control plane needs.
    /// </summary>
    public const string HealthTimeout = "30m";

    /// <summary>The Cluster Flux checks, by name and namespace.</summary>
    public static Flux.HealthCheck HealthCheck(string name, string ns) => new(ApiVersion, "Cluster", name, ns);

    /// <summary>
    /// Every object of the tenant cluster <paramref name="name"/> in <paramref name="ns"/>, file name and body: the
    /// Cluster, the KamajiControlPlane (the same name: the provider names the TenantControlPlane after it, so Kamaji's
    /// <c>&lt;name&gt;-admin-kubeconfig</c> Secret keeps its name), the infrastructure cluster, the MachineDeployment, and the
    /// two templates it refers to, named after a digest of their specs so that a change makes new templates and a
    /// rollout (Cluster API treats templates as immutable).
    /// </summary>
    public static IReadOnlyList<Manifest> Objects(string name, string ns, Dictionary<string, string> labels, string dataStore, KamajiOptions k)
    {
        var capi = k.Workers.ClusterApi;
        var infraGroup = capi.InfrastructureApiVersion[..capi.InfrastructureApiVersion.IndexOf('/', StringComparison.Ordinal)];
        var clusterLabels = new Dictionary<string, string>(labels, StringComparer.Ordinal) { [ClusterNameLabel] = name };

        var infraSpec = Parse(capi.ClusterSpec, nameof(capi.ClusterSpec));
        if (ClusterApiOptions.EndpointCheckedKinds.Contains(capi.ClusterKind!) && Kamaji.KnownEndpoint(name, k) is { } endpoint)
        {
            // The provider checks that this endpoint is the control plane's and never writes it.
            infraSpec["controlPlaneEndpoint"] = new JsonObject { ["host"] = endpoint.Host, ["port"] = endpoint.Port };
        }

        var machineSpec = Parse(capi.MachineTemplateSpec, nameof(capi.MachineTemplateSpec));
        var bootstrapSpec = new JsonObject { ["template"] = new JsonObject { ["spec"] = Parse(capi.BootstrapSpec, nameof(capi.BootstrapSpec)) } };
        var machineTemplate = $"{Workers}-{Digest(machineSpec)}";
        var bootstrapTemplate = $"{Workers}-{Digest(bootstrapSpec)}";
        var selector = new Dictionary<string, string>(StringComparer.Ordinal) { [ClusterNameLabel] = name, ["cluster.x-k8s.io/deployment-name"] = Workers };

        return
        [
            new("cluster.yaml", new JsonObject
            {
                ["apiVersion"] = ApiVersion,
                ["kind"] = "Cluster",
                ["metadata"] = Kamaji.Meta(name, ns, clusterLabels),
                ["spec"] = new JsonObject
                {
                    ["clusterNetwork"] = new JsonObject
                    {
                        ["apiServerPort"] = Kamaji.ApiServerPort,
                        ["pods"] = new JsonObject { ["cidrBlocks"] = new JsonArray(k.PodCidr) },
                        ["serviceDomain"] = "cluster.local",
                        ["services"] = new JsonObject { ["cidrBlocks"] = new JsonArray(k.ServiceCidr) },
                    },
                    ["controlPlaneRef"] = Reference("controlplane.cluster.x-k8s.io", "KamajiControlPlane", name),
                    ["infrastructureRef"] = Reference(infraGroup, capi.ClusterKind!, name),
                },
            }),
            new("kamajicontrolplane.yaml", ControlPlane(name, ns, clusterLabels, dataStore, k)),
            new("infrastructurecluster.yaml", new JsonObject
            {
                ["apiVersion"] = capi.InfrastructureApiVersion,
                ["kind"] = capi.ClusterKind,
                ["metadata"] = Kamaji.Meta(name, ns, clusterLabels),
                ["spec"] = infraSpec,
            }),
            new("machinedeployment.yaml", new JsonObject
            {
                ["apiVersion"] = ApiVersion,
                ["kind"] = "MachineDeployment",
                ["metadata"] = Kamaji.Meta(Workers, ns, clusterLabels),
                ["spec"] = new JsonObject
                {
                    ["clusterName"] = name,
                    ["replicas"] = k.Workers.Replicas,
                    ["selector"] = new JsonObject { ["matchLabels"] = Labels(selector) },
                    ["template"] = new JsonObject
                    {
                        ["metadata"] = new JsonObject { ["labels"] = Labels(selector) },
                        ["spec"] = new JsonObject
                        {
                            ["bootstrap"] = new JsonObject { ["configRef"] = Reference("bootstrap.cluster.x-k8s.io", "KubeadmConfigTemplate", bootstrapTemplate) },
                            ["clusterName"] = name,
                            ["infrastructureRef"] = Reference(infraGroup, capi.MachineTemplateKind!, machineTemplate),
                            ["version"] = k.KubernetesVersion,
                        },
                    },
                },
            }),
            new("machinetemplate.yaml", new JsonObject
            {
                ["apiVersion"] = capi.InfrastructureApiVersion,
                ["kind"] = capi.MachineTemplateKind,
                ["metadata"] = Kamaji.Meta(machineTemplate, ns, clusterLabels),
                ["spec"] = machineSpec,
            }),
            new("kubeadmconfigtemplate.yaml", new JsonObject
            {
                ["apiVersion"] = BootstrapApiVersion,
                ["kind"] = "KubeadmConfigTemplate",
                ["metadata"] = Kamaji.Meta(bootstrapTemplate, ns, clusterLabels),
                ["spec"] = bootstrapSpec,
            }),
        ];
    }

    /// <summary>
    /// The KamajiControlPlane: what the TenantControlPlane of the kubeadm path carries, in the provider's fields
    /// (components' resources at the top level, <c>network</c> for the Service and Gateway, <c>dataStoreName</c>,
    /// <c>version</c>); the CIDRs and the port come from the Cluster. With a Gateway, its host name carries the API
    /// server's port: the provider reports the endpoint as that host and port (port 443 when none is given), while Kamaji's
    /// kubeadm configuration uses the host on <c>networkProfile.port</c>; the provider adds the host to the SANs itself.
    /// </summary>
    private static JsonObject ControlPlane(string name, string ns, Dictionary<string, string> labels, string dataStore, KamajiOptions k)
    {
        var resources = Kamaji.ComponentResources().ToDictionary(c => c.Component, c => c.Resources, StringComparer.Ordinal);
        var host = Kamaji.Hostname(name, k);
        var network = new JsonObject();
        if (host is not null && !k.Gateway.Enabled)
        {
            network["certSANs"] = new JsonArray(host);
        }

        if (k.Gateway.Enabled)
        {
            network["gateway"] = new JsonObject
            {
                ["hostname"] = $"{host}:{Kamaji.ApiServerPort}",
                ["name"] = k.Gateway.Name,
                ["namespace"] = k.Gateway.Namespace,
                ["sectionName"] = k.Gateway.SectionName,
            };
        }

        network["serviceType"] = k.ServiceType;
        return new JsonObject
        {
            ["apiVersion"] = ControlPlaneApiVersion,
            ["kind"] = "KamajiControlPlane",
            ["metadata"] = Kamaji.Meta(name, ns, labels),
            ["spec"] = new JsonObject
            {
                ["addons"] = Kamaji.Addons(),
                ["admissionControllers"] = Kamaji.AdmissionControllers(),
                ["apiServer"] = new JsonObject { ["resources"] = resources["apiServer"] },
                ["controllerManager"] = new JsonObject { ["resources"] = resources["controllerManager"] },
                ["dataStoreName"] = dataStore,
                ["kine"] = new JsonObject { ["resources"] = resources["kine"] },
                ["kubelet"] = Kamaji.Kubelet(),
                ["network"] = network,
                ["replicas"] = k.Replicas,
                ["scheduler"] = new JsonObject { ["resources"] = resources["scheduler"] },
                ["version"] = k.KubernetesVersion,
            },
        };
    }

    // A v1beta2 contract reference: same namespace as the referrer, no apiVersion (Cluster API resolves the served one).
    private static JsonObject Reference(string apiGroup, string kind, string name) => new() { ["apiGroup"] = apiGroup, ["kind"] = kind, ["name"] = name };

    private static JsonObject Labels(Dictionary<string, string> labels) =>
        new([.. labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => new KeyValuePair<string, JsonNode?>(l.Key, l.Value))]);

    private static JsonObject Parse(string? json, string setting) =>
        ClusterApiOptions.Object(json) ?? throw new InvalidOperationException($"Bruno:Kubernetes:Kamaji:Workers:ClusterApi:{setting} is not a JSON object (validate the options first).");

    // Eight hex digits of the spec's SHA-256 (System.Text.Json keeps the properties' order, so the same text gives the same digest).
    private static string Digest(JsonObject spec) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(spec.ToJsonString())))[..8];
}
