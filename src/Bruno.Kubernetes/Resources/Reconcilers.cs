using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// What lets a tenant's workloads be applied by a Flux Kustomization of limited rights (docs/decisions/0042): the
/// service account it impersonates, a Role in the tenant's namespace with only the kinds of the workloads folder (and
/// read access to the pods and ReplicaSets its health check follows) and the RoleBinding; a copy of the Flux source in
/// a tenant's management-side namespace; and, with External Secrets, the tenant's keys as Flux variables on the
/// management cluster and the keys Secret that takes them in the tenant's own cluster. Throws
/// <see cref="RenderException"/> for a workloads kind no rule is known for and a source kind that cannot be copied.
/// </summary>
internal static class Reconcilers
{
    /// <summary>The Role and RoleBinding name in a tenant's namespace.</summary>
    public const string RoleName = "bruno-workloads-reconciler";

    /// <summary>The service account a remote tenant's workloads Kustomization impersonates (in its management-side namespace's name).</summary>
    public const string WorkloadsAccount = "bruno-workloads";

    /// <summary>
    /// The service account a remote tenant's platform Kustomization impersonates in the tenant's cluster: bound to
    /// cluster-admin there once, out of band (<see cref="SecretInstructions"/>), since nothing in a new cluster can grant it.
    /// </summary>
    public const string PlatformAccount = "bruno-platform";

    /// <summary>The Secret (management side) whose keys are the Flux variables of a remote tenant's keys.</summary>
    public const string KeysVariablesSecret = "agent-bruno-keys-variables";

    /// <summary>The Flux variables of a remote tenant's keys, by key of the keys Secret: each the key's value, base64.</summary>
    public static readonly (string Key, string Variable, string Fetched)[] KeyVariables =
    [
        (BrunoWorkload.MasterKey, "BRUNO_MASTER_KEY_B64", "masterKey"), // Fetched: the name the ExternalSecret's template reads it by
        (BrunoWorkload.LlmApiKey, "BRUNO_LLM_API_KEY_B64", "llmApiKey"),
    ];

    // The kinds a workloads folder may hold, by API group and resource; anything else would need a new rule (and a look
    // at whether a tenant's reconciler should have it).
    private static readonly Dictionary<string, (string Group, string Resource)> Kinds = new(StringComparer.Ordinal)
    {
        ["ServiceAccount"] = (string.Empty, "serviceaccounts"),
        ["Service"] = (string.Empty, "services"),
        ["PersistentVolumeClaim"] = (string.Empty, "persistentvolumeclaims"),
        ["Secret"] = (string.Empty, "secrets"),
        ["Deployment"] = ("apps", "deployments"),
        ["PodDisruptionBudget"] = ("policy", "poddisruptionbudgets"),
    };

    /// <summary>
    /// The Role of a workloads reconciler in <paramref name="ns"/>: what server-side apply with pruning does to each
    /// kind of <paramref name="kinds"/> (get and list to diff, create and patch to apply, update, delete to prune, watch
    /// for the health check), and get, list and watch on pods and ReplicaSets, which Flux's health check of a Deployment
    /// reads. Nothing else: no quota, LimitRange, NetworkPolicy, RBAC or namespace.
    /// </summary>
    public static JsonObject Role(string ns, Dictionary<string, string> labels, IEnumerable<string> kinds)
    {
        var byGroup = kinds.Distinct(StringComparer.Ordinal).Select(k => Kinds.TryGetValue(k, out var r) ? r : throw new RenderException($"A tenant's workloads hold a {k}, which its reconciler's Role has no rule for."))
            .GroupBy(r => r.Group, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal);
        var rules = new JsonArray();
        foreach (var group in byGroup)
        {
            rules.Add(Rule(group.Key, group.Select(r => r.Resource), ["create", "delete", "get", "list", "patch", "update", "watch"]));
        }

        rules.Add(Rule(string.Empty, ["pods"], ["get", "list", "watch"]));
        rules.Add(Rule("apps", ["replicasets"], ["get", "list", "watch"]));
        return new JsonObject
        {
            ["apiVersion"] = "rbac.authorization.k8s.io/v1",
            ["kind"] = "Role",
            ["metadata"] = Kamaji.Meta(RoleName, ns, labels),
            ["rules"] = rules,
        };
    }

    private static JsonObject Rule(string group, IEnumerable<string> resources, string[] verbs) => new()
    {
        ["apiGroups"] = new JsonArray(group),
        ["resources"] = new JsonArray([.. resources.Order(StringComparer.Ordinal).Select(r => (JsonNode)JsonValue.Create(r))]),
        ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)JsonValue.Create(v))]),
    };

    /// <summary>The RoleBinding of <see cref="Role"/> to the service account <paramref name="account"/> of <paramref name="accountNamespace"/>.</summary>
    public static JsonObject RoleBinding(string ns, Dictionary<string, string> labels, string account, string accountNamespace) => new()
    {
        ["apiVersion"] = "rbac.authorization.k8s.io/v1",
        ["kind"] = "RoleBinding",
        ["metadata"] = Kamaji.Meta(RoleName, ns, labels),
        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = "Role", ["name"] = RoleName },
        ["subjects"] = new JsonArray(new JsonObject { ["kind"] = "ServiceAccount", ["name"] = account, ["namespace"] = accountNamespace }),
    };

    /// <summary>A service account that mounts no token: an identity Flux impersonates, never a pod's.</summary>
    public static JsonObject ServiceAccount(string name, string ns, Dictionary<string, string> labels) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "ServiceAccount",
        ["metadata"] = Kamaji.Meta(name, ns, labels),
        ["automountServiceAccountToken"] = false,
    };

    /// <summary>
    /// A copy of the Flux source in <paramref name="ns"/>: the same address and revision, authenticated by the Secret of
    /// the same name there. Only a GitRepository or an OCIRepository can be copied from settings; a Bucket or an
    /// ExternalArtifact is refused (<see cref="RenderException"/>), as is a missing <see cref="FluxOptions.SourceUrl"/>.
    /// </summary>
    public static JsonObject Source(string ns, Dictionary<string, string> labels, FluxOptions flux, string tenant)
    {
        if (flux.SourceKind is not ("GitRepository" or "OCIRepository"))
        {
            throw new RenderException($"Tenant '{tenant}' needs a copy of the Flux source next to its cluster's kubeconfig, and a {flux.SourceKind} cannot be copied from settings: use a GitRepository or an OCIRepository (Bruno:Kubernetes:Flux:SourceKind).");
        }

        if (string.IsNullOrEmpty(flux.SourceUrl) || flux.Ref() is not { } reference)
        {
            throw new RenderException($"Tenant '{tenant}' needs a copy of the Flux source next to its cluster's kubeconfig: set Bruno:Kubernetes:Flux:SourceUrl (and SourceRef, SourceSecret) to the source's.");
        }

        var spec = new JsonObject
        {
            ["interval"] = flux.Interval,
            ["ref"] = new JsonObject { [reference.Field] = reference.Value },
        };
        if (!string.IsNullOrEmpty(flux.SourceSecret))
        {
            spec["secretRef"] = new JsonObject { ["name"] = flux.SourceSecret };
        }

        spec["url"] = flux.SourceUrl;
        return new JsonObject
        {
            ["apiVersion"] = "source.toolkit.fluxcd.io/v1",
            ["kind"] = flux.SourceKind,
            ["metadata"] = Kamaji.Meta(flux.SourceName, ns, labels),
            ["spec"] = spec,
        };
    }

    /// <summary>
    /// The ExternalSecret of the source's auth Secret in <paramref name="ns"/>: every property of the remote key; for an
    /// OCIRepository a Secret of type <c>kubernetes.io/dockerconfigjson</c>, as source-controller reads it.
    /// </summary>
    public static JsonObject SourceSecret(string ns, Dictionary<string, string> labels, FluxOptions flux, string store)
    {
        var target = new JsonObject { ["name"] = flux.SourceSecret, ["creationPolicy"] = "Owner" };
        if (flux.SourceKind == "OCIRepository")
        {
            target["template"] = new JsonObject { ["type"] = "kubernetes.io/dockerconfigjson", ["mergePolicy"] = "Merge" };
        }

        return new JsonObject
        {
            ["apiVersion"] = "external-secrets.io/v1",
            ["kind"] = "ExternalSecret",
            ["metadata"] = Kamaji.Meta(flux.SourceSecret!, ns, labels),
            ["spec"] = new JsonObject
            {
                ["refreshInterval"] = "1h",
                ["secretStoreRef"] = new JsonObject { ["kind"] = "ClusterSecretStore", ["name"] = store },
                ["target"] = target,
                ["dataFrom"] = new JsonArray(new JsonObject { ["extract"] = new JsonObject { ["key"] = flux.SourceSecretRemoteKey } }),
            },
        };
    }

    /// <summary>
    /// The ExternalSecret of a remote tenant's keys on the management cluster (<paramref name="ns"/>, next to its workloads
    /// Kustomization): Secret <see cref="KeysVariablesSecret"/> with one key per Flux variable, each the value base64
    /// (a Secret's decoded value is what Flux substitutes, and base64 text stays one YAML string whatever the key holds).
    /// </summary>
    public static JsonObject KeysVariables(string ns, Dictionary<string, string> labels, string store, string tenant)
    {
        var remote = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [BrunoWorkload.MasterKey] = $"bruno/tenants/{tenant}/master-key",
            [BrunoWorkload.LlmApiKey] = $"bruno/tenants/{tenant}/llm-api-key",
        };
        return new JsonObject
        {
            ["apiVersion"] = "external-secrets.io/v1",
            ["kind"] = "ExternalSecret",
            ["metadata"] = Kamaji.Meta(KeysVariablesSecret, ns, labels),
            ["spec"] = new JsonObject
            {
                ["refreshInterval"] = "1h",
                ["secretStoreRef"] = new JsonObject { ["kind"] = "ClusterSecretStore", ["name"] = store },
                ["target"] = new JsonObject
                {
                    ["name"] = KeysVariablesSecret,
                    ["creationPolicy"] = "Owner",
                    ["template"] = new JsonObject
                    {
                        ["engineVersion"] = "v2",
                        ["data"] = new JsonObject([.. KeyVariables.Select(k => new KeyValuePair<string, JsonNode?>(k.Variable, $"{{{{ .{k.Fetched} | b64enc }}}}"))]),
                    },
                },
                ["data"] = new JsonArray([.. KeyVariables.Select(k => (JsonNode)new JsonObject { ["secretKey"] = k.Fetched, ["remoteRef"] = new JsonObject { ["key"] = remote[k.Key] } })]),
            },
        };
    }

    /// <summary>
    /// The keys Secret in a remote tenant's own cluster, whose values are Flux variables (<c>${…}</c>) the workloads
    /// Kustomization substitutes from <see cref="KeysVariablesSecret"/>: base64 already, so under <c>data</c>.
    /// </summary>
    public static JsonObject KeysSecret(string ns, Dictionary<string, string> labels) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Secret",
        ["metadata"] = Kamaji.Meta(BrunoWorkload.KeysSecret, ns, labels),
        ["type"] = "Opaque",
        ["data"] = new JsonObject([.. KeyVariables.Select(k => new KeyValuePair<string, JsonNode?>(k.Key, "${" + k.Variable + "}"))]),
    };
}
