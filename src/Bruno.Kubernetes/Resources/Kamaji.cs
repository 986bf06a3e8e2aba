using System.Text.Json.Nodes;
using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// Kamaji's objects (kamaji.clastix.io/v1alpha1) as its CRD and admission webhook accept them: the TenantControlPlane
/// names its DataStore by string; networking is under <c>networkProfile</c> with the CIDR lists; add-ons are switched
/// on by being present (<c>{}</c>), never by an <c>enabled</c> field; <c>controlPlane.service.serviceType</c>,
/// <c>kubernetes.version</c> and <c>kubernetes.kubelet</c> are always set. A DataStore is cluster-scoped and reads its
/// credentials from Secrets by reference. The control plane's namespace gets a quota and container defaults sized from
/// its pods (<see cref="Quota"/>, <see cref="Limits"/>).
/// </summary>
internal static class Kamaji
{
    public const string ApiVersion = "kamaji.clastix.io/v1alpha1";

    /// <summary>The konnectivity server's port (the agents on the tenant's nodes dial it).</summary>
    public const int KonnectivityPort = 8132;

    /// <summary>The API server's port (<c>networkProfile.port</c>).</summary>
    public const int ApiServerPort = 6443;

    /// <summary>One container's requests and limits, in millicores and MiB.</summary>
    private sealed record Sizing(int RequestMilliCpu, int RequestMemoryMiB, int LimitMilliCpu, int LimitMemoryMiB)
    {
        public JsonObject Json() => new()
        {
            ["requests"] = new JsonObject { ["cpu"] = Cpu(RequestMilliCpu), ["memory"] = Memory(RequestMemoryMiB) },
            ["limits"] = new JsonObject { ["cpu"] = Cpu(LimitMilliCpu), ["memory"] = Memory(LimitMemoryMiB) },
        };
    }

    // The design's API server sizing; the others as Kamaji's adopters run them. Every container of the control-plane pod
    // is sized, so the namespace's quota is the sum.
    private static readonly (string Component, Sizing Sizing)[] Components =
    [
        ("apiServer", new(250, 512, 500, 1024)),
        ("controllerManager", new(100, 256, 250, 512)),
        ("kine", new(100, 128, 250, 256)), // the PostgreSQL DataStore's etcd shim, a sidecar
        ("scheduler", new(50, 128, 100, 256)),
    ];

    private static readonly Sizing Konnectivity = new(100, 128, 250, 256);

    /// <summary>
    /// Flux's health check of a TenantControlPlane: its status has no <c>Ready</c> condition, so Flux's default check
    /// would pass before the control plane serves; it is ready when Kamaji reports
    /// <c>status.kubernetesResources.version.status</c> <c>Ready</c>.
    /// </summary>
    public static readonly Flux.HealthCheckExpression ReadyExpression = new(
        ApiVersion,
        "TenantControlPlane",
        "has(status.kubernetesResources) && has(status.kubernetesResources.version) && has(status.kubernetesResources.version.status) && status.kubernetesResources.version.status == 'Ready'");

    /// <summary>The Secret Kamaji writes the tenant cluster's admin kubeconfig to, next to the TenantControlPlane.</summary>
    public static string KubeconfigSecret(string controlPlane) => controlPlane + "-admin-kubeconfig";

    /// <summary>
    /// A tenant's control plane as its Flux Kustomization applies it: the files (in the control-plane namespace), the
    /// object Flux checks with its CEL expression and timeout, and the kubeconfig (Secret, key) the tenant's workloads are
    /// applied through.
    /// </summary>
    internal sealed record ControlPlaneObjects(
        IReadOnlyList<Manifest> Manifests,
        Flux.HealthCheck HealthCheck,
        Flux.HealthCheckExpression Expression,
        string Timeout,
        (string Secret, string Key) Kubeconfig);

    /// <summary>
    /// The tenant's control plane for <see cref="KamajiWorkerOptions.Mode"/>: in kubeadm mode the TenantControlPlane
    /// (<c>tenantcontrolplane.yaml</c>), checked by <see cref="ReadyExpression"/>; in cluster-api mode the Cluster API
    /// objects instead (<see cref="ClusterApi.Objects"/>), checked on the Cluster's <c>Available</c> condition. Either
    /// way the workloads go through Kamaji's <c>&lt;name&gt;-admin-kubeconfig</c>, key <c>admin.svc</c> (the API server's
    /// Service, reached inside the management cluster): in cluster-api mode the provider names the TenantControlPlane
    /// after the KamajiControlPlane, and Cluster API's <c>&lt;cluster&gt;-kubeconfig</c> (key <c>value</c>) holds
    /// <c>admin.conf</c>, the external endpoint, which Flux would reach only through the LoadBalancer or Gateway.
    /// Throws <see cref="ArgumentException"/> for a tenant id that is not a DNS-1123 label.
    /// </summary>
    internal static ControlPlaneObjects ForTenant(string tenantId, Dictionary<string, string> labels, string dataStore, KamajiOptions k)
    {
        var name = Names.ControlPlane(tenantId);
        var ns = Names.ControlPlaneNamespace(tenantId);
        var kubeconfig = (KubeconfigSecret(name), "admin.svc");
        return k.Workers.Mode == "cluster-api"
            ? new(ClusterApi.Objects(name, ns, labels, dataStore, k), ClusterApi.HealthCheck(name, ns), ClusterApi.AvailableExpression, ClusterApi.HealthTimeout, kubeconfig)
            : new([new("tenantcontrolplane.yaml", ControlPlane(name, ns, labels, dataStore, k))], new(ApiVersion, "TenantControlPlane", name, ns), ReadyExpression, "10m", kubeconfig);
    }

    /// <summary>
    /// The host name worker nodes and users reach the control plane <paramref name="name"/> by: <c>&lt;name&gt;.&lt;Domain&gt;</c>,
    /// or null without <see cref="KamajiOptions.Domain"/> (then the LoadBalancer's address is the endpoint).
    /// </summary>
    public static string? Hostname(string name, KamajiOptions k) => string.IsNullOrEmpty(k.Domain) ? null : $"{name}.{k.Domain}";

    /// <summary>
    /// The control plane's endpoint as worker nodes see it, when it is known before the control plane exists: the
    /// Gateway host name on the API server's port (<see cref="KamajiGatewayOptions"/>); null for a LoadBalancer, whose
    /// address is assigned later.
    /// </summary>
    public static (string Host, int Port)? KnownEndpoint(string name, KamajiOptions k) =>
        k.Gateway.Enabled ? (Hostname(name, k)!, ApiServerPort) : null;

    /// <summary>
    /// A TenantControlPlane that machines outside the management cluster can join (the kubeadm join path): exposed by
    /// a LoadBalancer Service or through a Gateway (TLS passthrough, Kamaji writes the TLSRoutes of the API server and the
    /// konnectivity server), its host name, when there is one, among the certificate's SANs; the konnectivity add-on
    /// kept, since <c>kubectl logs</c> and <c>exec</c> reach the nodes only through it.
    /// </summary>
    public static JsonObject ControlPlane(string name, string ns, Dictionary<string, string> labels, string dataStore, KamajiOptions k)
    {
        var host = Hostname(name, k);
        var controlPlane = new JsonObject
        {
            ["deployment"] = new JsonObject
            {
                ["replicas"] = k.Replicas,
                ["resources"] = new JsonObject([.. Components.Select(c => new KeyValuePair<string, JsonNode?>(c.Component, c.Sizing.Json()))]),
            },
            ["service"] = new JsonObject { ["serviceType"] = k.ServiceType },
        };
        if (k.Gateway.Enabled)
        {
            // Kamaji routes the API server through the listener named here and konnectivity through the Gateway's
            // "konnectivity-server" listener (port 8132); the endpoint is the host name on networkProfile.port
            controlPlane["gateway"] = new JsonObject
            {
                ["hostname"] = host,
                ["parentRefs"] = new JsonArray(new JsonObject { ["name"] = k.Gateway.Name, ["namespace"] = k.Gateway.Namespace, ["sectionName"] = k.Gateway.SectionName }),
            };
        }

        var network = new JsonObject { ["port"] = ApiServerPort };
        if (host is not null)
        {
            network["certSANs"] = new JsonArray(host);
        }

        network["serviceCidrs"] = new JsonArray(k.ServiceCidr);
        network["podCidrs"] = new JsonArray(k.PodCidr);
        return new JsonObject
        {
            ["apiVersion"] = ApiVersion,
            ["kind"] = "TenantControlPlane",
            ["metadata"] = Meta(name, ns, labels),
            ["spec"] = new JsonObject
            {
                ["dataStore"] = dataStore,
                ["controlPlane"] = controlPlane,
                ["kubernetes"] = new JsonObject
                {
                    ["version"] = k.KubernetesVersion,
                    ["kubelet"] = Kubelet(),
                    ["admissionControllers"] = AdmissionControllers(),
                },
                ["networkProfile"] = network,
                ["addons"] = Addons(),
            },
        };
    }

    /// <summary>The kubelet settings: nodes are reached by their internal address first (konnectivity dials it).</summary>
    internal static JsonObject Kubelet() => new() { ["preferredAddressTypes"] = new JsonArray("InternalIP", "ExternalIP", "Hostname") };

    // NodeRestriction: a kubelet may change only its own Node and the pods bound to it (kubeadm's API server authorizes
    // with Node,RBAC)
    internal static JsonArray AdmissionControllers() =>
        new("LimitRanger", "MutatingAdmissionWebhook", "NamespaceLifecycle", "NodeRestriction", "ResourceQuota", "ServiceAccount", "ValidatingAdmissionWebhook");

    /// <summary>CoreDNS, kube-proxy and the konnectivity server (its agents run on the nodes and dial it), sized.</summary>
    internal static JsonObject Addons() => new()
    {
        ["coreDNS"] = new JsonObject(),
        ["konnectivity"] = new JsonObject { ["server"] = new JsonObject { ["port"] = KonnectivityPort, ["resources"] = Konnectivity.Json() } },
        ["kubeProxy"] = new JsonObject(),
    };

    /// <summary>Each control-plane component's requests and limits, by the name Kamaji gives it (apiServer, controllerManager, kine, scheduler).</summary>
    internal static IEnumerable<(string Component, JsonObject Resources)> ComponentResources() => Components.Select(c => (c.Component, c.Sizing.Json()));

    /// <summary>A PostgreSQL DataStore whose user, password and CA come from Secrets in <paramref name="secretNamespace"/>.</summary>
    public static JsonObject DataStore(string name, Dictionary<string, string> labels, IEnumerable<string> endpoints, string secretNamespace) =>
        DataStore(name, labels, endpoints, secretNamespace, name + "-credentials", name + "-ca");

    /// <summary>
    /// A PostgreSQL DataStore whose <c>username</c> and <c>password</c> are keys of <paramref name="credentials"/> and whose
    /// server CA is the key <c>ca.crt</c> of <paramref name="authority"/>, both in <paramref name="secretNamespace"/> (as
    /// CloudNativePG generates them: <c>&lt;cluster&gt;-superuser</c> and <c>&lt;cluster&gt;-ca</c>).
    /// </summary>
    public static JsonObject DataStore(string name, Dictionary<string, string> labels, IEnumerable<string> endpoints, string secretNamespace, string credentials, string authority) => new()
    {
        ["apiVersion"] = ApiVersion,
        ["kind"] = "DataStore",
        ["metadata"] = Meta(name, null, labels),
        ["spec"] = new JsonObject
        {
            ["driver"] = "PostgreSQL",
            ["endpoints"] = new JsonArray([.. endpoints.Select(e => (JsonNode)JsonValue.Create(e))]),
            ["basicAuth"] = new JsonObject
            {
                ["username"] = SecretReference(credentials, secretNamespace, "username"),
                ["password"] = SecretReference(credentials, secretNamespace, "password"),
            },
            ["tlsConfig"] = new JsonObject
            {
                ["certificateAuthority"] = new JsonObject { ["certificate"] = SecretReference(authority, secretNamespace, "ca.crt") },
            },
        },
    };

    private static JsonObject SecretReference(string name, string ns, string key) =>
        new() { ["secretReference"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["keyPath"] = key } };

    /// <summary>
    /// The control-plane namespace's ResourceQuota: room for twice <see cref="KamajiOptions.Replicas"/> pods (Kamaji
    /// rolls a control plane out blue/green, maxSurge 100%) and one more (a job Kamaji runs there, such as a DataStore
    /// migration), each with the containers sized above; two Services (the control plane's and one to spare), a
    /// LoadBalancer only with that service type and NodePorts (the API server's and the konnectivity server's) only with
    /// NodePort or LoadBalancer; no volume claims; Secrets for Kamaji's and, in cluster-api mode, for each machine's
    /// bootstrap data. With a PostgreSQL of the tenant's own (<paramref name="ownPostgres"/>),
    /// its instances and one more pod (CloudNativePG's initdb or join job, sized as an instance), a claim per
    /// instance and its three Services (<c>-rw</c>, <c>-ro</c>, <c>-r</c>).
    /// </summary>
    public static V1ResourceQuota Quota(string ns, Dictionary<string, string> labels, KamajiOptions k, Contracts.DataStorePlan? ownPostgres = null)
    {
        var pods = (2 * k.Replicas) + 1;
        var all = Components.Select(c => c.Sizing).Append(Konnectivity).ToList();
        var exposed = k.ServiceType is "NodePort" or "LoadBalancer";
        var pgPods = ownPostgres is null ? 0 : ownPostgres.Instances + 1;
        var pgMilliCpu = ownPostgres is null ? 0 : (int)Math.Round(pgPods * ownPostgres.CpuCores * 1000);
        var pgMemoryMiB = ownPostgres is null ? 0 : (int)Math.Round(pgPods * ownPostgres.MemoryGiB * 1024);
        var hard = new SortedDictionary<string, ResourceQuantity>(StringComparer.Ordinal)
        {
            ["requests.cpu"] = new(Cpu((pods * all.Sum(c => c.RequestMilliCpu)) + pgMilliCpu)),
            ["requests.memory"] = new(Memory((pods * all.Sum(c => c.RequestMemoryMiB)) + pgMemoryMiB)),
            ["limits.cpu"] = new(Cpu((pods * all.Sum(c => c.LimitMilliCpu)) + pgMilliCpu)),
            ["limits.memory"] = new(Memory((pods * all.Sum(c => c.LimitMemoryMiB)) + pgMemoryMiB)),
            ["pods"] = Quantities.Count(pods + pgPods),
            ["count/services"] = Quantities.Count(2 + (ownPostgres is null ? 0 : 3)), // the control plane's, and one to spare
            ["services.loadbalancers"] = Quantities.Count(k.ServiceType == "LoadBalancer" ? 1 : 0),
            ["services.nodeports"] = Quantities.Count(exposed ? 2 : 0),
            ["count/persistentvolumeclaims"] = Quantities.Count(ownPostgres?.Instances ?? 0),
            // Kamaji's certificates and kubeconfigs, about twenty; in cluster-api mode also a bootstrap-data Secret per
            // machine (twice the workers: a rollout makes the new machines before it deletes the old)
            ["count/secrets"] = Quantities.Count(64 + (k.Workers.Mode == "cluster-api" ? 2 * k.Workers.Replicas : 0)),
            ["count/configmaps"] = Quantities.Count(16),
        };
        if (ownPostgres is not null)
        {
            hard["requests.storage"] = Quantities.GiB(ownPostgres.Instances * ownPostgres.StorageGiB);
        }

        return TenantNamespace.Quota(ns, labels, hard);
    }

    /// <summary>
    /// The control-plane namespace's LimitRange: requests and limits for a container Kamaji adds without any (the quota
    /// above would refuse it otherwise), as small as the smallest component's.
    /// </summary>
    public static V1LimitRange Limits(string ns, Dictionary<string, string> labels) => TenantNamespace.Limits(ns, labels, new V1LimitRangeItem
    {
        Type = "Container",
        DefaultProperty = TenantNamespace.Pair(new(Cpu(250)), new(Memory(256))),
        DefaultRequest = TenantNamespace.Pair(new(Cpu(100)), new(Memory(128))),
    });

    private static string Cpu(int milli) => Quantities.Cores(milli / 1000.0).ToString();

    private static string Memory(int mib) => Quantities.GiB(mib / 1024.0).ToString();

    internal static JsonObject Meta(string name, string? ns, Dictionary<string, string> labels)
    {
        var meta = new JsonObject { ["name"] = name };
        if (ns is not null)
        {
            meta["namespace"] = ns;
        }

        meta["labels"] = new JsonObject([.. labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => new KeyValuePair<string, JsonNode?>(l.Key, l.Value))]);
        return meta;
    }
}
