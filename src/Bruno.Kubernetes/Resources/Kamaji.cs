using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// Kamaji's objects (kamaji.clastix.io/v1alpha1) as its CRD and admission webhook accept them: the TenantControlPlane
/// names its DataStore by string; networking is under <c>networkProfile</c> with the CIDR lists; add-ons are switched
/// on by being present (<c>{}</c>), never by an <c>enabled</c> field; <c>controlPlane.service.serviceType</c>,
/// <c>kubernetes.version</c> and <c>kubernetes.kubelet</c> are always set. A DataStore is cluster-scoped and reads its
/// credentials from Secrets by reference.
/// </summary>
internal static class Kamaji
{
    public const string ApiVersion = "kamaji.clastix.io/v1alpha1";

    /// <summary>The Secret Kamaji writes the tenant cluster's admin kubeconfig to, next to the TenantControlPlane.</summary>
    public static string KubeconfigSecret(string controlPlane) => controlPlane + "-admin-kubeconfig";

    public static JsonObject ControlPlane(string name, string ns, Dictionary<string, string> labels, string dataStore, KamajiOptions k) => new()
    {
        ["apiVersion"] = ApiVersion,
        ["kind"] = "TenantControlPlane",
        ["metadata"] = Meta(name, ns, labels),
        ["spec"] = new JsonObject
        {
            ["dataStore"] = dataStore,
            ["controlPlane"] = new JsonObject
            {
                ["deployment"] = new JsonObject
                {
                    ["replicas"] = k.Replicas,
                    ["resources"] = new JsonObject
                    {
                        // the design's API server sizing; the others as Kamaji's adopters run them
                        ["apiServer"] = Resources("250m", "512Mi", "500m", "1Gi"),
                        ["controllerManager"] = Resources("100m", "256Mi", "250m", "512Mi"),
                        ["scheduler"] = Resources("50m", "128Mi", "100m", "256Mi"),
                    },
                },
                ["service"] = new JsonObject { ["serviceType"] = k.ServiceType },
            },
            ["kubernetes"] = new JsonObject
            {
                ["version"] = k.KubernetesVersion,
                ["kubelet"] = new JsonObject { ["preferredAddressTypes"] = new JsonArray("InternalIP", "ExternalIP", "Hostname") },
                ["admissionControllers"] = new JsonArray("LimitRanger", "MutatingAdmissionWebhook", "NamespaceLifecycle", "ResourceQuota", "ServiceAccount", "ValidatingAdmissionWebhook"),
            },
            ["networkProfile"] = new JsonObject
            {
                ["port"] = 6443,
                ["serviceCidrs"] = new JsonArray(k.ServiceCidr),
                ["podCidrs"] = new JsonArray(k.PodCidr),
            },
            ["addons"] = new JsonObject
            {
                ["coreDNS"] = new JsonObject(),
                ["konnectivity"] = new JsonObject { ["server"] = new JsonObject { ["port"] = 8132 } },
                ["kubeProxy"] = new JsonObject(),
            },
        },
    };

    /// <summary>A PostgreSQL DataStore whose user, password and CA come from Secrets in <paramref name="secretNamespace"/>.</summary>
    public static JsonObject DataStore(string name, Dictionary<string, string> labels, IEnumerable<string> endpoints, string secretNamespace) => new()
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
                ["username"] = SecretReference(name + "-credentials", secretNamespace, "username"),
                ["password"] = SecretReference(name + "-credentials", secretNamespace, "password"),
            },
            ["tlsConfig"] = new JsonObject
            {
                ["certificateAuthority"] = new JsonObject { ["certificate"] = SecretReference(name + "-ca", secretNamespace, "ca.crt") },
            },
        },
    };

    private static JsonObject SecretReference(string name, string ns, string key) =>
        new() { ["secretReference"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["keyPath"] = key } };

    private static JsonObject Resources(string cpu, string memory, string cpuLimit, string memoryLimit) => new()
    {
        ["requests"] = new JsonObject { ["cpu"] = cpu, ["memory"] = memory },
        ["limits"] = new JsonObject { ["cpu"] = cpuLimit, ["memory"] = memoryLimit },
    };

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
