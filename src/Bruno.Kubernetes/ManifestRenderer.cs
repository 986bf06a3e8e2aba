using System.Text.Json.Nodes;
using Bruno.Contracts;
using Bruno.Kubernetes.Resources;
using Bruno.Kubernetes.Yaml;
using k8s.Models;

namespace Bruno.Kubernetes;

/// <summary>A tenant or setting that cannot be rendered; the message says which and why (nothing is written).</summary>
public sealed class RenderException(string message) : Exception(message);

/// <summary>
/// Renders the GitOps manifests: the shared parts (<see cref="RenderPlatform"/>) and each tenant at its isolation level
/// (<see cref="RenderTenant"/>). Pure: the same options and tenant give the same files, byte for byte, sorted by path,
/// one Kubernetes object per file, each folder a kustomization that <c>kubectl kustomize</c> builds. No secret value
/// is ever rendered: objects name Secrets that are created out of band (<see cref="SecretInstructions"/>) or by an
/// ExternalSecret. Throws <see cref="RenderException"/> for invalid options, an unknown plan, a deleted tenant or a
/// tenant id that is not a DNS-1123 label. Its inputs are <c>Bruno.Contracts</c> records: <see cref="TenantDeployment"/>
/// and each plan's <see cref="PlanResources"/>.
/// </summary>
public sealed class ManifestRenderer
{
    /// <summary>The Flux Kustomization that applies the shared parts.</summary>
    public const string PlatformKustomization = "bruno-platform";

    /// <summary>The Flux Kustomization that applies every tenant's entry in <c>flux-tenants/</c>.</summary>
    public const string TenantsKustomization = "bruno-tenants";

    private const string Workload = "agent-bruno";

    // The two tiers' names: the gateways' Deployment, Service, autoscaler and budget; the store nodes' StatefulSet,
    // headless Service and budget.
    private const string GatewayWorkload = Workload + "-gateway";
    internal const string StoreWorkload = Workload + "-store";

    private readonly KubernetesOptions _options;
    private readonly IReadOnlyDictionary<string, PlanResources> _plans;

    /// <summary>A renderer with <paramref name="options"/> (checked here) and the service's plans.</summary>
    public ManifestRenderer(KubernetesOptions options, IReadOnlyDictionary<string, PlanResources> plans)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(plans);
        var errors = options.Validate().ToList();
        if (errors.Count > 0)
        {
            throw new RenderException(string.Join(" ", errors));
        }

        (_options, _plans) = (options, plans);
    }

    /// <summary>The Flux Kustomization that installs the infrastructure layer's controllers (Helm charts with their CRDs).</summary>
    public const string InfrastructureControllers = "infrastructure-controllers";

    /// <summary>The Flux Kustomization that applies what needs those controllers: PostgreSQL clusters and the shared DataStore.</summary>
    public const string InfrastructureConfigs = "infrastructure-configs";

    /// <summary>
    /// The whole management side of one cluster, applied by one <c>flux bootstrap --path=&lt;Flux:Path&gt;/clusters/&lt;Flux:Cluster&gt;</c>:
    /// <list type="bullet">
    /// <item><c>clusters/&lt;name&gt;/</c>, the entry point: four Flux Kustomizations chained by <c>dependsOn</c>
    /// (<see cref="InfrastructureControllers"/>, <see cref="InfrastructureConfigs"/>, <see cref="PlatformKustomization"/>,
    /// <see cref="TenantsKustomization"/>), each impersonating kustomize-controller's own account, with no
    /// kustomization.yaml (Flux generates one that takes in bootstrap's <c>flux-system/</c> beside them);</item>
    /// <item><c>infrastructure/controllers/</c>: per component a Namespace, its chart source and a HelmRelease
    /// (cert-manager and Kamaji when <see cref="KamajiOptions.Enabled"/>, External Secrets Operator with the
    /// external-secrets provider, the CloudNativePG operator when a cluster of it is rendered, prometheus-adapter with two
    /// tiers);</item>
    /// <item><c>infrastructure/configs/</c>: the catalog's CloudNativePG cluster and the shared Kamaji DataStore on a
    /// CloudNativePG cluster of its own;</item>
    /// <item><c>platform/</c>: the management namespace and Bruno's management plane (one process with its volume, or,
    /// with <see cref="KubernetesOptions.TwoTier"/>, autoscaled gateways and StatefulSets of store nodes), the dashboard
    /// and rule ConfigMaps, ExternalSecrets for its keys with the external-secrets provider, and a Dockerfile for the
    /// image; with the SOPS provider it takes in <c>secrets/platform/</c>, the operator's encrypted Secrets.</item>
    /// </list>
    /// Throws <see cref="RenderException"/> only from the constructor (options are checked there).
    /// </summary>
    public IReadOnlyList<RenderedFile> RenderPlatform()
    {
        var ns = _options.ManagementNamespace;
        var labels = Manifest.Labels("management");
        var manifests = new List<Manifest>
        {
            Manifest.Of("namespace.yaml", TenantNamespace.Namespace(ns, labels)),
            Manifest.Of("configmap-dashboard.yaml", Dashboards.PlatformConfigMap(ns, labels)),
            Manifest.Of("configmap-prometheus-rules.yaml", AlertRules.ConfigMap(ns, labels)),
        };
        var (plane, healthChecks) = _options.TwoTier.Enabled ? TwoTierPlane(ns, labels) : OneProcessPlane(ns, labels);
        manifests.AddRange(plane);
        if (_options.SecretsProvider == "external-secrets")
        {
            manifests.AddRange(ExternalSecrets.Platform(ns, labels, _options, _options.ExternalSecretStore!).Select(e => new Manifest(e.FileName, e.Body)));
        }

        var sops = _options.SecretsProvider == "sops";
        var files = Folder("platform", manifests, sops ? ["../" + SopsPlatformFolder] : []);
        files.Add(new RenderedFile("platform/image/Dockerfile", Dockerfile.Text(_options.Port)));
        if (sops)
        {
            files.Add(Single(SopsPlatformFolder + "/kustomization.yaml", SopsKustomization(SecretInstructions.PlatformSecretFiles(_options))));
        }

        var infra = Manifest.Labels("infrastructure");
        files.AddRange(Folder("infrastructure/controllers", InfrastructureControllerManifests(infra)));
        files.AddRange(Folder("infrastructure/configs", InfrastructureConfigManifests(infra)));

        var flux = _options.Flux;
        var entry = $"clusters/{flux.Cluster}/";
        var account = Infrastructure.KustomizeControllerAccount;
        files.Add(Single(entry + InfrastructureControllers + ".yaml", Flux.Kustomization(new Flux.Spec(InfrastructureControllers, flux.Namespace, "infrastructure/controllers", infra, [], [], Timeout: "15m", ServiceAccount: account), flux)));
        files.Add(Single(entry + InfrastructureConfigs + ".yaml", Flux.Kustomization(new Flux.Spec(InfrastructureConfigs, flux.Namespace, "infrastructure/configs", infra, [], [(InfrastructureControllers, flux.Namespace)], Timeout: "15m", ServiceAccount: account), flux)));
        files.Add(Single(entry + PlatformKustomization + ".yaml", Flux.Kustomization(new Flux.Spec(PlatformKustomization, flux.Namespace, "platform", labels, healthChecks, [(InfrastructureConfigs, flux.Namespace)], ServiceAccount: account, DecryptionSecret: sops ? _options.Secrets.SopsAgeSecret : null), flux)));
        files.Add(Single(entry + TenantsKustomization + ".yaml", Flux.Kustomization(new Flux.Spec(TenantsKustomization, flux.Namespace, "flux-tenants", labels, [], [(PlatformKustomization, flux.Namespace)], ServiceAccount: account), flux)));
        return Sorted(files);
    }

    // A remote tenant's keys reach its cluster as Flux variables when a management-side Secret holds them: filled by an
    // ExternalSecret, or decrypted by Flux from the operator's SOPS file.
    private bool KeysAsVariables => _options.SecretsProvider is "external-secrets" or "sops";

    // The age key Secret Flux decrypts a tenant's SOPS files with (in its namespace), with the SOPS provider.
    private string? SopsAgeSecret() => _options.SecretsProvider == "sops" ? _options.Secrets.SopsAgeSecret : null;

    // With the SOPS provider: the tenant's folder of encrypted Secrets (secrets/tenants/<id>/, its kustomization listing
    // the file the --secrets lines write) added to files, and the reference tenants/<id>/ lists it by.
    private List<string> SopsTenant(TenantDeployment tenant, List<RenderedFile> files)
    {
        if (_options.SecretsProvider != "sops")
        {
            return [];
        }

        files.Add(Single(SopsTenantFolder(tenant.Id) + "/kustomization.yaml", SopsKustomization([SecretInstructions.TenantSecretFile(tenant)])));
        return ["../../" + SopsTenantFolder(tenant.Id)];
    }

    /// <summary>Where the operator's SOPS-encrypted Secrets of tenant <paramref name="id"/> go (with <c>Secrets:Provider</c> sops).</summary>
    public static string SopsTenantFolder(string id) => "secrets/tenants/" + id;

    /// <summary>
    /// Where the operator's SOPS-encrypted Secrets of the management namespace go (with <c>Secrets:Provider</c> sops);
    /// a tenant's follow the same convention under <c>secrets/tenants/&lt;id&gt;/</c>.
    /// </summary>
    public const string SopsPlatformFolder = "secrets/platform";

    // The folder of encrypted Secrets: its kustomization lists the files `--secrets` tells the operator to write.
    private static JsonObject SopsKustomization(IEnumerable<string> files) => new()
    {
        ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
        ["kind"] = "Kustomization",
        ["resources"] = new JsonArray([.. files.Order(StringComparer.Ordinal).Select(f => (JsonNode)JsonValue.Create(f))]),
    };

    /// <summary>The infrastructure components this installation needs and renders, by HelmRelease name, in install order.</summary>
    internal IReadOnlyList<(string Name, ChartOptions Chart)> InfrastructureComponents()
    {
        var i = _options.Infrastructure;
        var wanted = new Dictionary<string, bool>(StringComparer.Ordinal)
        {
            ["cert-manager"] = _options.Kamaji.Enabled, // Kamaji's webhook certificate
            ["kamaji"] = _options.Kamaji.Enabled,
            ["external-secrets"] = _options.SecretsProvider == "external-secrets",
            ["cloudnative-pg"] = PostgresClusters().Count > 0,
            ["prometheus-adapter"] = _options.TwoTier.Enabled,
        };
        return [.. i.All().Where(c => c.Chart.Enabled && wanted[c.Name])];
    }

    private List<Manifest> InfrastructureControllerManifests(Dictionary<string, string> labels)
    {
        var flux = _options.Flux;
        var components = InfrastructureComponents();
        var manifests = new List<Manifest>();
        foreach (var ns in components.Select(c => c.Chart.Namespace).Distinct(StringComparer.Ordinal))
        {
            manifests.Add(Manifest.Of($"namespace-{ns}.yaml", TenantNamespace.Namespace(ns, labels, podSecurity: "baseline")));
        }

        foreach (var (name, chart) in components)
        {
            // Kamaji's chart has a cert-manager Issuer and Certificate: cert-manager (and its CRDs) first
            List<string> after = name == "kamaji" && components.Any(c => c.Name == "cert-manager") ? ["cert-manager"] : [];
            manifests.Add(new Manifest($"{(chart.IsOci ? "ocirepository" : "helmrepository")}-{name}.yaml", Infrastructure.Source(name, flux.Namespace, labels, chart, "1h")));
            manifests.Add(new Manifest($"helmrelease-{name}.yaml", Infrastructure.Release(name, flux.Namespace, labels, chart, flux.Interval, Infrastructure.Values(name, _options), after)));
        }

        return manifests;
    }

    // The CloudNativePG clusters the configs render: the catalog's, and the shared DataStore's.
    private List<(string Name, string Namespace, JsonObject Body)> PostgresClusters()
    {
        var labels = Manifest.Labels("infrastructure");
        var clusters = new List<(string, string, JsonObject)>();
        var c = _options.Catalog;
        if (c.OnCloudNativePg)
        {
            clusters.Add((c.ClusterName, _options.CatalogNamespace, Infrastructure.PostgresCluster(c.ClusterName, _options.CatalogNamespace, labels, c.Instances, c.StorageGiB, string.IsNullOrEmpty(c.StorageClass) ? _options.StorageClass : c.StorageClass, c.Database, superuser: false)));
        }

        if (SharedDataStoreOnCloudNativePg)
        {
            var k = _options.Kamaji;
            // Kamaji's PostgreSQL driver creates a database and a role per control plane: it needs the superuser
            clusters.Add((k.SharedDataStore!, k.DataStoreSecretNamespace, Infrastructure.PostgresCluster(k.SharedDataStore!, k.DataStoreSecretNamespace, labels, k.SharedDataStoreInstances, k.SharedDataStoreStorageGiB, _options.StorageClass, "kamaji", superuser: true)));
        }

        return clusters;
    }

    private bool SharedDataStoreOnCloudNativePg =>
        _options.Kamaji.Enabled && !string.IsNullOrEmpty(_options.Kamaji.SharedDataStore) && _options.Kamaji.SharedDataStoreProvider == "cloudnative-pg";

    private List<Manifest> InfrastructureConfigManifests(Dictionary<string, string> labels)
    {
        var clusters = PostgresClusters();
        var manifests = new List<Manifest>();
        foreach (var ns in clusters.Select(c => c.Namespace).Distinct(StringComparer.Ordinal))
        {
            manifests.Add(Manifest.Of($"namespace-{ns}.yaml", TenantNamespace.Namespace(ns, labels, podSecurity: "baseline")));
        }

        manifests.AddRange(clusters.Select(c => new Manifest($"cluster-{c.Name}.yaml", c.Body)));
        var k = _options.Kamaji;
        if (SharedDataStoreOnCloudNativePg)
        {
            var name = k.SharedDataStore!;
            manifests.Add(new Manifest("datastore.yaml", Kamaji.DataStore(name, labels, [Infrastructure.ReadWriteEndpoint(name, k.DataStoreSecretNamespace)], k.DataStoreSecretNamespace, Infrastructure.SuperuserSecret(name), Infrastructure.CaSecret(name))));
        }
        else if (k.Enabled && !string.IsNullOrEmpty(k.SharedDataStore))
        {
            manifests.Add(new Manifest("datastore.yaml", Kamaji.DataStore(k.SharedDataStore, labels, k.DataStoreEndpoints, k.DataStoreSecretNamespace)));
        }

        return manifests;
    }

    // The management plane as one process: a Deployment of one replica with its volume.
    private (List<Manifest> Manifests, List<Flux.HealthCheck> HealthChecks) OneProcessPlane(string ns, Dictionary<string, string> labels)
    {
        var selector = Selector("management");
        var shape = new WorkloadShape(Workload, ns, labels, selector, 2, 4, _options.PlatformVolumeGiB, BrunoWorkload.Environment(
            [("BRUNO_CATALOG__PROVIDER", "postgres"), .. Chat(), .. Telemetry($"k8s.namespace.name={ns}")]));
        var deployment = BrunoWorkload.Deployment(shape, _options);
        deployment.Spec.Template.Spec.Containers[0].Env.Add(CatalogConnection());
        deployment.Spec.Template.Spec.Containers[0].Env = [.. deployment.Spec.Template.Spec.Containers[0].Env.OrderBy(e => e.Name, StringComparer.Ordinal)];

        var manifests = new List<Manifest>
        {
            Manifest.Of("serviceaccount.yaml", BrunoWorkload.ServiceAccount(shape)),
            Manifest.Of("persistentvolumeclaim.yaml", BrunoWorkload.Volume(shape, _options.StorageClass)),
            Manifest.Of("deployment.yaml", deployment),
            Manifest.Of("service.yaml", BrunoWorkload.Service(shape, _options)),
            Manifest.Of("poddisruptionbudget.yaml", BrunoWorkload.DisruptionBudget(shape)),
        };
        manifests.AddRange(NetworkPolicies.ForNamespace(ns, labels, _options, selector, fromNamespace: null).Select(p => Manifest.Of($"networkpolicy-{p.Metadata.Name}.yaml", p)));
        manifests.AddRange(NetworkPolicies.ForManagement(ns, labels, _options, selector).Select(p => Manifest.Of($"networkpolicy-{p.Metadata.Name}.yaml", p)));
        return (manifests, [new("apps/v1", "Deployment", Workload, ns)]);
    }

    // The management plane as two tiers: stateless gateways under an autoscaler, and store nodes that own the tenants.
    private (List<Manifest> Manifests, List<Flux.HealthCheck> HealthChecks) TwoTierPlane(string ns, Dictionary<string, string> labels)
    {
        var t = _options.TwoTier;
        var clusterToken = BrunoWorkload.FromSecret("BRUNO_CLUSTER__TOKEN", BrunoWorkload.KeysSecret, BrunoWorkload.ClusterToken);
        (string, string)[] shared = [("BRUNO_CATALOG__PROVIDER", "postgres"), .. Gateways.ClusterTlsSettings(), .. Telemetry($"k8s.namespace.name={ns}")];

        // Gateways: no master key, as they hold no tenant data; the shared platform keys from their Secret.
        var gatewaySelector = Selector("gateway");
        (string, string)[] gatewayValues = [.. shared, .. Chat(), ("BRUNO_CLUSTER__ROLE", "gateway"), ("BRUNO_DATAROOT", "/data"), ("BRUNO_SECRETSFOLDER", Gateways.PlatformKeysPath)];
        var gateway = new WorkloadShape(GatewayWorkload, ns, Manifest.Labels("gateway"), gatewaySelector, t.GatewayCores, t.GatewayMemoryGiB, t.GatewayScratchGiB, Sorted(
            [CatalogConnection(), clusterToken, BrunoWorkload.FromSecret("BRUNO_CHAT__APIKEY", BrunoWorkload.KeysSecret, BrunoWorkload.LlmApiKey, optional: true)],
            gatewayValues));

        // Store nodes: the shared master key (a tenant moved between nodes keeps its wrapped key ring), their own address.
        var storeSelector = Selector("store");
        (string, string)[] storeValues =
        [
            .. shared,
            ("BRUNO_CLUSTER__ADVERTISEURL", StoreNodes.AdvertiseUrl(StoreWorkload, ns, t)),
            ("BRUNO_CLUSTER__NODENAME", $"$({StoreNodes.PodNameVariable})"),
            ("BRUNO_CLUSTER__ROLE", "store"),
            ("BRUNO_CLUSTER__STOREPORT", t.StorePort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("BRUNO_DATAROOT", "/data"),
            ("BRUNO_SECRETSFOLDER", Gateways.PlatformKeysPath), // the keys that check the scraper's token on /metrics
        ];
        var store = new WorkloadShape(StoreWorkload, ns, Manifest.Labels("store"), storeSelector, t.StoreCores, t.StoreMemoryGiB, t.StoreVolumeGiB,
            [StoreNodes.PodName(), .. Sorted([CatalogConnection(), clusterToken, BrunoWorkload.FromSecret("BRUNO_MASTERKEY", BrunoWorkload.KeysSecret, BrunoWorkload.MasterKey)], storeValues)]); // POD_NAME first: $(POD_NAME) refers back only

        var manifests = new List<Manifest>
        {
            Manifest.Of("serviceaccount-gateway.yaml", BrunoWorkload.ServiceAccount(gateway)),
            Manifest.Of("deployment-gateway.yaml", Gateways.Deployment(gateway, _options)),
            Manifest.Of("service-gateway.yaml", BrunoWorkload.Service(gateway, _options)),
            Manifest.Of("poddisruptionbudget-gateway.yaml", Gateways.DisruptionBudget(gateway)),
            Manifest.Of("horizontalpodautoscaler-gateway.yaml", Gateways.Autoscaler(gateway, t)),
            Manifest.Of("serviceaccount-store.yaml", BrunoWorkload.ServiceAccount(store)),
            Manifest.Of("service-store.yaml", StoreNodes.HeadlessService(store, _options)),
            Manifest.Of("poddisruptionbudget-store.yaml", BrunoWorkload.DisruptionBudget(store)), // one store node down at a time, whatever its zone: a tenant's two copies are in two zones
        };
        var zones = t.StoreNodesByZone();
        manifests.AddRange(zones.Count == 0
            ? [Manifest.Of("statefulset-store.yaml", StoreNodes.StatefulSet(store, _options, StoreWorkload))]
            : zones.Select(z => Manifest.Of($"statefulset-store-{z.Zone}.yaml", StoreNodes.StatefulSet(store, _options, StoreWorkload, z))));
        manifests.AddRange(NetworkPolicies.ForTwoTier(ns, labels, _options, gatewaySelector, storeSelector).Select(p => Manifest.Of($"networkpolicy-{p.Metadata.Name}.yaml", p)));
        if (!InfrastructureComponents().Any(c => c.Name == "prometheus-adapter"))
        {
            manifests.Add(Manifest.Of("configmap-prometheus-adapter-rules.yaml", Gateways.AdapterConfigMap(ns, labels))); // for the operator's own adapter
        }

        List<Flux.HealthCheck> checks = [new("apps/v1", "Deployment", GatewayWorkload, ns)];
        checks.AddRange(zones.Count == 0 ? [new("apps/v1", "StatefulSet", StoreWorkload, ns)] : zones.Select(z => new Flux.HealthCheck("apps/v1", "StatefulSet", $"{StoreWorkload}-{z.Zone}", ns)));
        return (manifests, checks);
    }

    // Variables from Secrets and variables with values, sorted by name.
    private static List<V1EnvVar> Sorted(List<V1EnvVar> fromSecrets, (string Name, string Value)[] values) =>
        [.. fromSecrets.Concat(values.Select(v => new V1EnvVar { Name = v.Name, Value = v.Value })).OrderBy(e => e.Name, StringComparer.Ordinal)];

    private static V1EnvVar CatalogConnection() =>
        BrunoWorkload.FromSecret("BRUNO_CATALOG__CONNECTIONSTRING", BrunoWorkload.CatalogSecret, "connection-string");

    /// <summary>
    /// The tenant's folder <c>tenants/&lt;id&gt;/</c> for its isolation level and its Flux Kustomization
    /// <c>flux-tenants/tenant-&lt;id&gt;.yaml</c>.
    /// </summary>
    public IReadOnlyList<RenderedFile> RenderTenant(TenantDeployment tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        if (!Names.IsDns1123Label(tenant.Id))
        {
            throw new RenderException("A tenant id must be a DNS-1123 label: 1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit.");
        }

        if (tenant.Compliance.FirstOrDefault(f => !Names.IsDns1123Label(f)) is not null)
        {
            throw new RenderException($"Tenant '{tenant.Id}' has a compliance flag that is not a DNS-1123 label (each becomes a label compliance.bruno.dev/<flag>).");
        }

        if (tenant.Status is "deleting" or "deleted")
        {
            throw new RenderException($"Tenant '{tenant.Id}' is {tenant.Status}: it has no manifests (remove its folder and Flux entry).");
        }

        var plan = _plans.GetValueOrDefault(tenant.Plan) ?? throw new RenderException($"Tenant '{tenant.Id}' has plan '{tenant.Plan}', which is not configured.");
        var q = plan.Namespace;
        if (plan.CpuCores > q.ContainerMaxCpu || plan.MemoryGiB > q.ContainerMaxMemoryGiB || plan.CpuCores > q.RequestsCpu || plan.MemoryGiB > q.RequestsMemoryGiB || plan.VolumeGiB > q.StorageGiB)
        {
            throw new RenderException($"Plan '{tenant.Plan}': its CpuCores, MemoryGiB and VolumeGiB (the tenant's Bruno container and volume) must fit in Bruno:Plans:{tenant.Plan}:Namespace (one container's maximum and the namespace quota).");
        }

        if (q.EphemeralStorageGiB < TenantNamespace.ContainerEphemeralStorageGiB)
        {
            throw new RenderException($"Plan '{tenant.Plan}': Bruno:Plans:{tenant.Plan}:Namespace:EphemeralStorageGiB must be at least {TenantNamespace.ContainerEphemeralStorageGiB} (the tenant's Bruno container's own).");
        }

        var id = tenant.Id;
        var root = $"tenants/{id}";
        var labels = Manifest.Labels("tenant", tenant);
        var tenantNs = Names.Namespace(tenant.Id);
        var flux = _options.Flux;
        var files = new List<RenderedFile>();
        var store = _options.ExternalSecretStore;
        var deployment = new Flux.HealthCheck("apps/v1", "Deployment", Workload, tenantNs);
        var entryName = Names.FluxKustomization(id);
        var workloadsName = Names.Label("workloads-", id);
        Flux.Spec entry;
        switch (tenant.Isolation)
        {
            case "namespace":
                {
                    // The platform's part (tenant-<id>, as the platform admin): the namespace, its quota, limits and policies,
                    // the keys' ExternalSecret, the reconciler's identity and rights, and the child that applies the workloads
                    // as that identity.
                    var workloads = TenantWorkloads(tenant, plan, labels, remote: false);
                    var platform = TenantPlatform(tenant, plan, labels, fromNamespace: _options.ManagementNamespace, remote: false);
                    platform.Add(Manifest.Of("configmap-dashboard.yaml", Dashboards.TenantConfigMap(tenantNs, labels, id, tenantNs)));
                    platform.Add(ToTenant(tenant, labels));
                    if (!string.IsNullOrEmpty(store))
                    {
                        platform.Add(new Manifest("externalsecret.yaml", ExternalSecrets.Keys(tenantNs, labels, store, id)));
                    }

                    platform.Add(new Manifest("serviceaccount-reconciler.yaml", Reconcilers.ServiceAccount(workloadsName, flux.Namespace, labels)));
                    platform.Add(new Manifest("role-reconciler.yaml", Reconcilers.Role(tenantNs, labels, workloads.Select(m => m.Kind))));
                    platform.Add(new Manifest("rolebinding-reconciler.yaml", Reconcilers.RoleBinding(tenantNs, labels, workloadsName, flux.Namespace)));
                    platform.Add(new Manifest("kustomization-workloads.yaml", Flux.Kustomization(
                        new Flux.Spec(workloadsName, flux.Namespace, root + "/workloads", labels, [deployment], [(entryName, flux.Namespace)], ServiceAccount: workloadsName), flux)));
                    files.AddRange(Folder(root, platform, SopsTenant(tenant, files)));
                    files.AddRange(Folder(root + "/workloads", workloads));
                    entry = new Flux.Spec(entryName, flux.Namespace, root, labels, [new("v1", "Namespace", tenantNs, null)], [(PlatformKustomization, flux.Namespace)], ServiceAccount: PlatformAccount, DecryptionSecret: SopsAgeSecret());
                    break;
                }

            case "kamaji":
                {
                    RequireKamaji(tenant);
                    RequireRemote(tenant);
                    var cpNs = Names.ControlPlaneNamespace(id);
                    var cp = Names.ControlPlane(id);
                    var own = plan.OwnDataStore;
                    if (own is not null && _options.Kamaji.ApiServerCidrs.Count == 0)
                    {
                        throw new RenderException($"Tenant '{id}' has a PostgreSQL of its own (plan '{tenant.Plan}'), whose instances must reach the management cluster's API server: set Bruno:Kubernetes:Kamaji:ApiServerCidrs.");
                    }

                    var postgres = Names.Postgres(id);
                    var dataStore = own is not null || string.IsNullOrEmpty(_options.Kamaji.SharedDataStore) ? cp : _options.Kamaji.SharedDataStore;
                    var controlPlane = Kamaji.ForTenant(id, labels, dataStore, _options.Kamaji); // a TenantControlPlane, or Cluster API's objects
                    var management = new List<Manifest>
                {
                    Manifest.Of("namespace.yaml", TenantNamespace.Namespace(cpNs, labels, podSecurity: "baseline")), // Kamaji's control-plane pods are not "restricted"
                    Manifest.Of("resourcequota.yaml", Kamaji.Quota(cpNs, labels, _options.Kamaji, own)),
                    Manifest.Of("limitrange.yaml", Kamaji.Limits(cpNs, labels)),
                    Manifest.Of("configmap-dashboard.yaml", Dashboards.TenantConfigMap(cpNs, labels, id, tenantNs)),
                    new("kustomization-controlplane.yaml", Flux.Kustomization(new Flux.Spec(
                        Names.Label("controlplane-", id), flux.Namespace, root + "/controlplane", labels, [controlPlane.HealthCheck], [(entryName, flux.Namespace)],
                        Timeout: controlPlane.Timeout, HealthCheckExpressions: [controlPlane.Expression], ServiceAccount: PlatformAccount), flux)),
                };
                    management.AddRange(NetworkPolicies.ForControlPlane(cpNs, labels, Kamaji.ApiServerPort, Kamaji.KonnectivityPort, _options.Kamaji.DataStoreEndpoints, own is null ? null : postgres).Select(p => Manifest.Of($"networkpolicy-{p.Metadata.Name}.yaml", p)));
                    List<Flux.HealthCheck> checks = [new("v1", "Namespace", cpNs, null)];
                    if (own is not null)
                    {
                        management.Add(new Manifest("postgres-cluster.yaml", CloudNativePg.Cluster(postgres, cpNs, labels, own, _options.StorageClass)));
                        management.Add(new Manifest("datastore.yaml", CloudNativePg.DataStore(cp, labels, postgres, cpNs)));
                        management.AddRange(NetworkPolicies.ForOwnPostgres(cpNs, labels, postgres, cp, _options.Kamaji).Select(p => Manifest.Of($"networkpolicy-{p.Metadata.Name}.yaml", p)));
                        checks.Add(new(CloudNativePg.ApiVersion, "Cluster", postgres, cpNs)); // the control plane's Kustomization waits for it through this one
                    }
                    else if (string.IsNullOrEmpty(_options.Kamaji.SharedDataStore))
                    {
                        management.Add(new Manifest("datastore.yaml", Kamaji.DataStore(cp, labels, _options.Kamaji.DataStoreEndpoints, _options.Kamaji.DataStoreSecretNamespace)));
                    }

                    management.AddRange(RemoteReconcilers(tenant, plan, labels, cpNs, controlPlane.Kubeconfig, files));
                    files.AddRange(Folder(root, management, SopsTenant(tenant, files)));
                    files.AddRange(Folder(root + "/controlplane", controlPlane.Manifests));
                    entry = new Flux.Spec(entryName, flux.Namespace, root, labels, checks, [(PlatformKustomization, flux.Namespace)], ServiceAccount: PlatformAccount, DecryptionSecret: SopsAgeSecret());
                    break;
                }

            case "dedicated-cluster":
                {
                    RequireRemote(tenant);
                    var remoteNs = Names.DedicatedNamespace(id);
                    var management = new List<Manifest> { Manifest.Of("namespace.yaml", TenantNamespace.Namespace(remoteNs, labels)) };
                    management.AddRange(RemoteReconcilers(tenant, plan, labels, remoteNs, (ClusterKubeconfigSecret(tenant), "value"), files));
                    files.AddRange(Folder(root, management, SopsTenant(tenant, files)));
                    entry = new Flux.Spec(entryName, flux.Namespace, root, labels, [new("v1", "Namespace", remoteNs, null)], [(PlatformKustomization, flux.Namespace)], ServiceAccount: PlatformAccount, DecryptionSecret: SopsAgeSecret());
                    break;
                }

            default:
                throw new RenderException($"Tenant '{id}' has isolation level '{tenant.Isolation}', which Bruno cannot render.");
        }

        files.Add(Single($"flux-tenants/{entryName}.yaml", Flux.Kustomization(entry, flux)));
        return Sorted(files);
    }

    /// <summary>
    /// The service account the platform's Kustomizations impersonate (in Flux's namespace): kustomize-controller's own,
    /// which Flux's install binds to cluster-admin, named explicitly so that <c>--default-service-account</c> does not
    /// apply to them.
    /// </summary>
    public const string PlatformAccount = "kustomize-controller";

    /// <summary>The Secret (in the tenant's management-side namespace <c>dedicated-&lt;id&gt;</c>) holding the kubeconfig of a dedicated-cluster tenant's cluster.</summary>
    public static string ClusterKubeconfigSecret(TenantDeployment tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return Names.Label("cluster-", tenant.Id) + "-kubeconfig"; // a Secret's name is a DNS subdomain: up to 253
    }

    /// <summary>
    /// The management-side objects of a tenant in a cluster of its own, in <paramref name="ns"/> next to its cluster's
    /// kubeconfig Secret: a copy of the Flux source (and its auth Secret's ExternalSecret), the keys as Flux variables
    /// (with External Secrets), the service accounts the two remote Kustomizations are named after, and those
    /// Kustomizations: <c>platform-&lt;id&gt;</c> applies the tenant namespace, its quota, limits, policies and the
    /// workloads reconciler's rights into the tenant's cluster as <see cref="Reconcilers.PlatformAccount"/>;
    /// <c>workloads-&lt;id&gt;</c>, after it, applies the workloads as <see cref="Reconcilers.WorkloadsAccount"/>. Adds
    /// the folders <c>cluster/</c> and <c>workloads/</c> to <paramref name="files"/>.
    /// </summary>
    private List<Manifest> RemoteReconcilers(TenantDeployment tenant, PlanResources plan, Dictionary<string, string> labels, string ns, (string Secret, string Key) kubeconfig, List<RenderedFile> files)
    {
        var id = tenant.Id;
        var root = $"tenants/{id}";
        var flux = _options.Flux;
        var store = _options.ExternalSecretStore;
        var tenantNs = Names.Namespace(id);
        var source = Reconcilers.Source(ns, labels, flux, id);
        var platformName = Names.Label("platform-", id);
        var workloads = TenantWorkloads(tenant, plan, labels, remote: true);

        // In the tenant's cluster: the platform's part, and the namespace named like this one holding the workloads
        // reconciler's service account (Flux impersonates system:serviceaccount:<ns>:<name> there).
        var cluster = TenantPlatform(tenant, plan, labels, fromNamespace: null, remote: true);
        cluster.Add(Manifest.Of("namespace-reconcilers.yaml", TenantNamespace.Namespace(ns, labels)));
        cluster.Add(new Manifest("serviceaccount-reconciler.yaml", Reconcilers.ServiceAccount(Reconcilers.WorkloadsAccount, ns, labels)));
        cluster.Add(new Manifest("role-reconciler.yaml", Reconcilers.Role(tenantNs, labels, workloads.Select(m => m.Kind))));
        cluster.Add(new Manifest("rolebinding-reconciler.yaml", Reconcilers.RoleBinding(tenantNs, labels, Reconcilers.WorkloadsAccount, ns)));
        files.AddRange(Folder(root + "/cluster", cluster));
        files.AddRange(Folder(root + "/workloads", workloads));

        var sourceRef = ((string)source["kind"]!, flux.SourceName);
        var manifests = new List<Manifest>
        {
            new("source.yaml", source),
            new("serviceaccount-platform.yaml", Reconcilers.ServiceAccount(Reconcilers.PlatformAccount, ns, labels)),
            new("serviceaccount-workloads.yaml", Reconcilers.ServiceAccount(Reconcilers.WorkloadsAccount, ns, labels)),
            new("kustomization-platform.yaml", Flux.Kustomization(new Flux.Spec(platformName, ns, root + "/cluster", labels, [], [], kubeconfig, ServiceAccount: Reconcilers.PlatformAccount, Source: sourceRef), flux)),
            new("kustomization-workloads.yaml", Flux.Kustomization(new Flux.Spec(
                Names.Label("workloads-", id), ns, root + "/workloads", labels, [new("apps/v1", "Deployment", Workload, tenantNs)], [(platformName, ns)], kubeconfig,
                ServiceAccount: Reconcilers.WorkloadsAccount, Source: sourceRef, SubstituteFrom: KeysAsVariables ? [Reconcilers.KeysVariablesSecret] : null), flux)),
        };
        if (!string.IsNullOrEmpty(store))
        {
            manifests.Add(new Manifest("externalsecret-keys-variables.yaml", Reconcilers.KeysVariables(ns, labels, store, id)));
            if (!string.IsNullOrEmpty(flux.SourceSecret))
            {
                manifests.Add(new Manifest("externalsecret-source.yaml", Reconcilers.SourceSecret(ns, labels, flux, store)));
            }
        }

        if (_options.RemoteTenants.TenantCidrs.Count > 0)
        {
            var policy = NetworkPolicies.ToRemoteTenant(_options.ManagementNamespace, Names.Label("allow-to-tenant-", id), labels, _options.RemoteTenants, ManagementPods());
            manifests.Add(Manifest.Of("networkpolicy-management-allow-to-tenant.yaml", policy));
        }

        return manifests;
    }

    // The platform's part of a tenant's namespace: the namespace, its quota, limits and network policies.
    private List<Manifest> TenantPlatform(TenantDeployment tenant, PlanResources plan, Dictionary<string, string> labels, string? fromNamespace, bool remote)
    {
        var ns = Names.Namespace(tenant.Id);
        var manifests = new List<Manifest>
        {
            Manifest.Of("namespace.yaml", TenantNamespace.Namespace(ns, labels)),
            Manifest.Of("resourcequota.yaml", TenantNamespace.Quota(ns, labels, plan.Namespace)),
            Manifest.Of("limitrange.yaml", TenantNamespace.Limits(ns, labels, plan.Namespace)),
        };
        manifests.AddRange(NetworkPolicies.ForNamespace(ns, labels, _options, TenantSelector(tenant), fromNamespace, remote).Select(p => Manifest.Of($"networkpolicy-{p.Metadata.Name}.yaml", p)));
        return manifests;
    }

    // The tenant's own Bruno, which its reconciler applies: account, volume, workload, Service and budget; in a cluster of
    // its own with External Secrets, the keys Secret whose values Flux substitutes.
    private List<Manifest> TenantWorkloads(TenantDeployment tenant, PlanResources plan, Dictionary<string, string> labels, bool remote)
    {
        var ns = Names.Namespace(tenant.Id);
        var otlp = remote ? _options.RemoteTenants.OtlpEndpoint : _options.Monitoring.OtlpEndpoint;
        var shape = new WorkloadShape(Workload, ns, labels, TenantSelector(tenant), plan.CpuCores, plan.MemoryGiB, plan.VolumeGiB, BrunoWorkload.Environment(
            [.. Chat(), .. Telemetry($"tenant_id={tenant.Id},k8s.namespace.name={ns}", otlp)]), TenantNamespace.ContainerEphemeralStorageGiB); // the quota counts ephemeral storage
        var manifests = new List<Manifest>
        {
            Manifest.Of("serviceaccount.yaml", BrunoWorkload.ServiceAccount(shape)),
            Manifest.Of("persistentvolumeclaim.yaml", BrunoWorkload.Volume(shape, _options.StorageClass)),
            Manifest.Of("deployment.yaml", BrunoWorkload.Deployment(shape, _options)),
            Manifest.Of("service.yaml", BrunoWorkload.Service(shape, _options)),
            Manifest.Of("poddisruptionbudget.yaml", BrunoWorkload.DisruptionBudget(shape)),
        };
        if (remote && KeysAsVariables)
        {
            manifests.Add(new Manifest("secret-keys.yaml", Reconcilers.KeysSecret(ns, labels)));
        }

        return manifests;
    }

    private static Dictionary<string, string> TenantSelector(TenantDeployment tenant)
    {
        var selector = Selector("tenant");
        selector["bruno.dev/tenant"] = tenant.Id;
        return selector;
    }

    // The management plane's pods: the one process's or the gateways (whichever shape the platform has).
    private static V1LabelSelector ManagementPods() => new()
    {
        MatchLabels = new Dictionary<string, string>(StringComparer.Ordinal) { ["app.kubernetes.io/name"] = Workload },
        MatchExpressions = [new V1LabelSelectorRequirement { Key = "app.kubernetes.io/component", OperatorProperty = "In", Values = ["gateway", "management"] }],
    };

    // The management plane's way out to a namespace-level tenant's Bruno pods, in the management namespace: the one
    // process's pod or the gateways (whichever shape the platform has), to the tenant's namespace by its name.
    private Manifest ToTenant(TenantDeployment tenant, Dictionary<string, string> labels)
    {
        var policy = NetworkPolicies.ToTenant(_options.ManagementNamespace, Names.Label("allow-to-tenant-", tenant.Id), labels, _options, ManagementPods(), Names.Namespace(tenant.Id), TenantSelector(tenant));
        return Manifest.Of("networkpolicy-management-allow-to-tenant.yaml", policy);
    }

    // The chat model the pods use, the one the network policies let them reach.
    private (string Name, string Value)[] Chat() => _options.Llm.Provider == "none"
        ? []
        : [("BRUNO_CHAT__ENDPOINT", _options.Llm.Endpoint!), ("BRUNO_CHAT__MODEL", _options.Llm.Model!), ("BRUNO_CHAT__PROVIDER", _options.Llm.Provider)];

    /// <summary>Telemetry settings: the service's name and <paramref name="resource"/> attributes (a tenant's own pods say
    /// which tenant they serve), and the OTLP collector when one is configured.</summary>
    private (string Name, string Value)[] Telemetry(string resource) => Telemetry(resource, _options.Monitoring.OtlpEndpoint);

    private static (string Name, string Value)[] Telemetry(string resource, string? otlpEndpoint) =>
    [
        ("OTEL_RESOURCE_ATTRIBUTES", resource),
        ("OTEL_SERVICE_NAME", "agent-bruno"),
        .. string.IsNullOrEmpty(otlpEndpoint) ? Array.Empty<(string, string)>() : [("BRUNO_TELEMETRY__OTLPENDPOINT", otlpEndpoint)],
    ];

    /// <summary>Throws <see cref="RenderException"/> for a kamaji tenant when this installation runs no Kamaji.</summary>
    internal void RequireKamaji(TenantDeployment tenant)
    {
        if (!_options.Kamaji.Enabled)
        {
            throw new RenderException($"Tenant '{tenant.Id}' has isolation level kamaji, but Bruno:Kubernetes:Kamaji:Enabled is false: this installation renders no Kamaji (enable it, or move the tenant to another level).");
        }
    }

    private void RequireRemote(TenantDeployment tenant)
    {
        if (!_options.Llm.External)
        {
            throw new RenderException($"Tenant '{tenant.Id}' runs in a cluster of its own ({tenant.Isolation}), where the LLM endpoint's pods cannot be selected: set Bruno:Kubernetes:Llm:Cidrs.");
        }

        if (_options.RemoteTenants.ManagementCidrs.Count == 0 && string.IsNullOrEmpty(_options.RemoteTenants.IngressNamespace))
        {
            throw new RenderException($"Tenant '{tenant.Id}' runs in a cluster of its own ({tenant.Isolation}), which the management plane reaches from another cluster: set Bruno:Kubernetes:RemoteTenants:ManagementCidrs or IngressNamespace.");
        }
    }

    private static Dictionary<string, string> Selector(string component) => new(StringComparer.Ordinal)
    {
        ["app.kubernetes.io/component"] = component,
        ["app.kubernetes.io/name"] = Workload,
    };

    // The folder's files and its kustomization.yaml listing them.
    private static List<RenderedFile> Folder(string folder, IEnumerable<Manifest> manifests, IReadOnlyList<string>? more = null)
    {
        var files = manifests.Select(m => Single($"{folder}/{m.FileName}", m.Body)).ToList();
        var duplicate = files.GroupBy(f => f.Path, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two objects render to {duplicate.Key}.");
        }

        var kustomization = new JsonObject
        {
            ["apiVersion"] = "kustomize.config.k8s.io/v1beta1",
            ["kind"] = "Kustomization",
            ["resources"] = new JsonArray([.. files.Select(f => f.Path[(folder.Length + 1)..]).Concat(more ?? []).Order(StringComparer.Ordinal).Select(p => (JsonNode)JsonValue.Create(p))]),
        };
        files.Add(Single($"{folder}/kustomization.yaml", kustomization));
        return files;
    }

    private static RenderedFile Single(string path, JsonObject body) => new(path, YamlWriter.Write(body));

    private static List<RenderedFile> Sorted(IEnumerable<RenderedFile> files) => [.. files.OrderBy(f => f.Path, StringComparer.Ordinal)];
}
