using System.Text.Json.Nodes;
using Bruno.Contracts;
using Bruno.Core;

namespace Bruno.Kubernetes.Tests;

/// <summary>The rendered network policies, asked "may X reach Y on port P?" by a small evaluator of their semantics.</summary>
public sealed class NetworkPolicyTests
{
    private static readonly IReadOnlyDictionary<string, PlanResources> Plans = new BrunoOptions().PlanResources();
    private static readonly (string, string)[] BrunoTenant = [("app.kubernetes.io/name", "agent-bruno"), ("app.kubernetes.io/component", "tenant")];
    private static readonly Endpoint Acme = Endpoint.Pod("agent-bruno-acme", [.. BrunoTenant, ("bruno.dev/tenant", "acme")]);
    private static readonly Endpoint AcmeOther = Endpoint.Pod("agent-bruno-acme", ("app", "sidecar"));
    private static readonly Endpoint Beta = Endpoint.Pod("agent-bruno-beta", [.. BrunoTenant, ("bruno.dev/tenant", "beta")]);
    private static readonly Endpoint Dns = Endpoint.Pod("kube-system", ("k8s-app", "kube-dns"));
    private static readonly Endpoint Ollama = Endpoint.Pod("ollama", ("app.kubernetes.io/name", "ollama"));
    private static readonly Endpoint OllamaOther = Endpoint.Pod("ollama", ("app.kubernetes.io/name", "webui"));
    private static readonly Endpoint Management = Endpoint.Pod("bruno-system", ("app.kubernetes.io/name", "agent-bruno"), ("app.kubernetes.io/component", "management"));
    private static readonly Endpoint Ingress = Endpoint.Pod("ingress-nginx", ("app", "controller"));
    private static readonly Endpoint Postgres = Endpoint.Pod("postgres-system", ("app", "postgres"));
    private static readonly Endpoint Stranger = Endpoint.Pod("default", ("app", "stranger"));
    private static readonly Endpoint Prometheus = Endpoint.Pod("monitoring", ("app.kubernetes.io/name", "prometheus"));
    private static readonly Endpoint Grafana = Endpoint.Pod("monitoring", ("app.kubernetes.io/name", "grafana"));
    private static readonly Endpoint Collector = Endpoint.Pod("monitoring", ("app.kubernetes.io/name", "alloy"));
    private static readonly Endpoint Gateway = Endpoint.Pod("bruno-system", ("app.kubernetes.io/name", "agent-bruno"), ("app.kubernetes.io/component", "gateway"));
    private static readonly Endpoint Store = Endpoint.Pod("bruno-system", ("app.kubernetes.io/name", "agent-bruno"), ("app.kubernetes.io/component", "store"));
    private static readonly Endpoint OtherStore = Endpoint.Pod("bruno-system", ("app.kubernetes.io/name", "agent-bruno"), ("app.kubernetes.io/component", "store"), ("apps.kubernetes.io/pod-index", "2"));
    private static readonly Endpoint ManagementOther = Endpoint.Pod("bruno-system", ("app", "debug"));

    /// <summary>
    /// The platform and the tenants acme and beta (namespace level), plus <paramref name="more"/> tenants; namespaces
    /// carry the labels rendered for them, and <paramref name="forged"/> namespaces the labels given.
    /// </summary>
    private static PolicyEvaluator Evaluate(KubernetesOptions options, TenantDeployment[]? more = null, Dictionary<string, IReadOnlyDictionary<string, string>>? forged = null)
    {
        var renderer = new ManifestRenderer(options, Plans);
        var files = renderer.RenderPlatform()
            .Concat(renderer.RenderTenant(RenderingTests.Tenant("acme", "namespace")))
            .Concat(renderer.RenderTenant(RenderingTests.Tenant("beta", "namespace")))
            .Concat((more ?? []).SelectMany(renderer.RenderTenant))
            .Where(f => !f.Path.Contains("/cluster/", StringComparison.Ordinal)); // what goes into remote tenants' own clusters (EvaluateRemote)
        return Evaluator(files, forged);
    }

    /// <summary>The tenant's own cluster (kamaji or dedicated-cluster): what its platform and workloads Kustomizations apply there.</summary>
    private static PolicyEvaluator EvaluateRemote(KubernetesOptions options, TenantDeployment tenant, IReadOnlyDictionary<string, PlanResources>? plans = null) =>
        Evaluator(new ManifestRenderer(options, plans ?? Plans).RenderTenant(tenant).Where(f => f.Path.StartsWith($"tenants/{tenant.Id}/cluster/", StringComparison.Ordinal) || f.Path.StartsWith($"tenants/{tenant.Id}/workloads/", StringComparison.Ordinal)), null);

    private static PolicyEvaluator Evaluator(IEnumerable<RenderedFile> files, Dictionary<string, IReadOnlyDictionary<string, string>>? forged)
    {
        var documents = files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal)).SelectMany(f => Yaml.Documents(f.Content)).ToList();
        var namespaces = documents.Where(d => (string?)d["kind"] == "Namespace").ToDictionary(
            d => (string)d["metadata"]!["name"]!,
            d => (IReadOnlyDictionary<string, string>)d["metadata"]!["labels"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal),
            StringComparer.Ordinal);
        foreach (var (name, labels) in forged ?? [])
        {
            namespaces[name] = labels;
        }

        return new PolicyEvaluator(documents, namespaces);
    }

    [Fact]
    public void ATenant_ReachesItsNamespaceDnsAndTheLlm_AndNothingElse()
    {
        var net = Evaluate(new KubernetesOptions());
        Assert.False(net.Allows(Acme, Beta, 8080)); // another tenant: no, either way
        Assert.False(net.Allows(Beta, Acme, 8080));
        Assert.True(net.Allows(Acme, AcmeOther, 9000)); // its own namespace
        Assert.True(net.Allows(Acme, Dns, 53, "UDP"));
        Assert.True(net.Allows(Acme, Dns, 53, "TCP"));
        Assert.False(net.Allows(Acme, Dns, 443));
        Assert.True(net.Allows(Acme, Ollama, 11434)); // the LLM endpoint, by selector across namespaces
        Assert.False(net.Allows(Acme, Ollama, 80));
        Assert.False(net.Allows(Acme, OllamaOther, 11434)); // other pods of that namespace
        Assert.False(net.Allows(AcmeOther, Ollama, 11434)); // only Bruno's pods may call the model
        Assert.False(net.Allows(Acme, Stranger, 80));
        Assert.False(net.Allows(Acme, Endpoint.External("93.184.216.34"), 443)); // the internet
        Assert.False(net.Allows(Acme, Postgres, 5432)); // the platform catalog is not the tenant's
    }

    [Fact]
    public void Prometheus_ScrapesEveryBrunoPod_AndTracesLeaveOnlyForAConfiguredCollector()
    {
        var scrapeOnly = Evaluate(new KubernetesOptions());
        foreach (var bruno in new[] { Acme, Beta, Management })
        {
            Assert.True(scrapeOnly.Allows(Prometheus, bruno, 8080));
            Assert.False(scrapeOnly.Allows(Prometheus, bruno, 9090));
            Assert.False(scrapeOnly.Allows(Grafana, bruno, 8080)); // other pods of the monitoring namespace: no
            Assert.False(scrapeOnly.Allows(bruno, Collector, 4317)); // no collector configured: nothing goes out
        }

        Assert.False(scrapeOnly.Allows(Prometheus, AcmeOther, 8080)); // Bruno's pods only

        var pushing = Evaluate(new KubernetesOptions { Monitoring = new MonitoringOptions { OtlpEndpoint = "http://alloy.monitoring.svc:4317" } });
        Assert.True(pushing.Allows(Acme, Collector, 4317));
        Assert.True(pushing.Allows(Management, Collector, 4317));
        Assert.False(pushing.Allows(Acme, Collector, 4318));
        Assert.False(pushing.Allows(Acme, Stranger, 4317));
    }

    [Fact]
    public void TheManagementPlane_ReachesTenantsOnBrunosPort_AndOnlyTheIngressReachesIt()
    {
        var net = Evaluate(new KubernetesOptions());
        Assert.True(net.Allows(Management, Acme, 8080));
        Assert.False(net.Allows(Management, Acme, 22));
        Assert.False(net.Allows(Management, AcmeOther, 8080)); // Bruno's pods only
        Assert.False(net.Allows(Stranger, Acme, 8080));
        Assert.True(net.Allows(Ingress, Management, 8080));
        Assert.False(net.Allows(Ingress, Acme, 8080)); // tenants are reached through the management plane
        Assert.False(net.Allows(Stranger, Management, 8080));
        Assert.True(net.Allows(Management, Postgres, 5432));
        Assert.True(net.Allows(Management, Dns, 53, "UDP"));
        Assert.False(net.Allows(Acme, Management, 8080)); // a tenant does not call the management plane
    }

    [Fact]
    public void TheStorePort_IsReachedByGatewaysAndOtherStoreNodesOnly()
    {
        var net = Evaluate(RenderingTests.TwoTier());
        Assert.True(net.Allows(Gateway, Store, 7070));
        Assert.True(net.Allows(Store, OtherStore, 7070)); // an owner replicates each write to the tenant's replica
        Assert.False(net.Allows(Store, OtherStore, 8080)); // and nothing else of another store node
        Assert.False(net.Allows(Gateway, Store, 8080)); // another port of a store node
        Assert.False(net.Allows(Gateway, Store, 7071));
        Assert.False(net.Allows(Ingress, Store, 7070)); // the ingress controller: gateways only
        Assert.False(net.Allows(Ingress, Store, 8080));
        Assert.False(net.Allows(Acme, Store, 7070)); // a tenant's pod
        Assert.False(net.Allows(AcmeOther, Store, 7070));
        Assert.False(net.Allows(Stranger, Store, 7070));
        Assert.False(net.Allows(ManagementOther, Store, 7070)); // nor any pod of the management namespace
        Assert.False(net.Allows(Prometheus, Store, 7070));
        Assert.False(net.Allows(Store, Gateway, 8080)); // store nodes do not call gateways
    }

    [Fact]
    public void WithZones_TheStoreNodesOfEveryZone_AreReachedAndReachEachOtherAsOneTier()
    {
        var options = RenderingTests.Zoned();
        var net = Evaluate(options);
        var stores = new ManifestRenderer(options, Plans).RenderPlatform().Where(f => f.Path.StartsWith("platform/statefulset-store-", StringComparison.Ordinal))
            .Select(f => Yaml.Documents(f.Content).Single()["spec"]!["template"]!["metadata"]!["labels"]!.AsObject())
            .Select(l => new Endpoint("bruno-system", l.ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal)))
            .ToList();
        Assert.Equal(3, stores.Count);
        foreach (var store in stores)
        {
            Assert.True(net.Allows(Gateway, store, 7070));
            Assert.True(net.Allows(Prometheus, store, 8080));
            Assert.True(net.Allows(store, Postgres, 5432));
            Assert.False(net.Allows(Stranger, store, 7070));
            Assert.False(net.Allows(Acme, store, 7070));
            Assert.All(stores.Where(s => s != store), other => Assert.True(net.Allows(store, other, 7070))); // an owner replicates to a replica in another zone
            Assert.All(stores.Where(s => s != store), other => Assert.False(net.Allows(store, other, 8080)));
        }
    }

    [Fact]
    public void TwoTiers_LetTheIngressReachGatewaysOnly_AndEachTierOutToWhatItNeeds()
    {
        var net = Evaluate(RenderingTests.TwoTier());
        Assert.True(net.Allows(Ingress, Gateway, 8080));
        Assert.False(net.Allows(Ingress, Gateway, 7070));
        Assert.False(net.Allows(Stranger, Gateway, 8080));
        Assert.False(net.Allows(Acme, Gateway, 8080));
        foreach (var bruno in new[] { Gateway, Store })
        {
            Assert.True(net.Allows(Prometheus, bruno, 8080)); // scraped on http
            Assert.False(net.Allows(Grafana, bruno, 8080));
            Assert.True(net.Allows(bruno, Postgres, 5432)); // the catalog
            Assert.True(net.Allows(bruno, Dns, 53, "UDP"));
            Assert.True(net.Allows(bruno, Collector, 4317)); // OTLP, configured
            Assert.False(net.Allows(bruno, Collector, 4318));
            Assert.False(net.Allows(bruno, Endpoint.External("93.184.216.34"), 443));
            Assert.False(net.Allows(bruno, Beta, 7070));
        }

        Assert.True(net.Allows(Gateway, Ollama, 11434)); // the gateways call the model
        Assert.False(net.Allows(Store, Ollama, 11434)); // store nodes do not
        Assert.True(net.Allows(Gateway, Acme, 8080)); // namespace-level tenants' own pods, as the one process reached them
        Assert.False(net.Allows(Store, Acme, 8080));
        Assert.False(net.Allows(ManagementOther, Postgres, 5432)); // no pod but Bruno's leaves for the catalog

        var quiet = Evaluate(RenderingTests.TwoTier(o => o.Monitoring.OtlpEndpoint = null));
        Assert.False(quiet.Allows(Store, Collector, 4317));
        Assert.False(quiet.Allows(Gateway, Collector, 4317));
    }

    [Fact]
    public void Issue24_TheManagementPlane_ReachesTenantsByNamespaceName_NotByLabelsANamespaceCouldCopy()
    {
        // A namespace that copies a namespace-level tenant's labels, with a pod that copies its Bruno pod's labels.
        var acmeLabels = Yaml.Documents(new ManifestRenderer(new KubernetesOptions(), Plans).RenderTenant(RenderingTests.Tenant("acme", "namespace"))
            .Single(f => f.Path == "tenants/acme/namespace.yaml").Content)[0]["metadata"]!["labels"]!.AsObject().ToDictionary(p => p.Key, p => (string)p.Value!, StringComparer.Ordinal);
        var forged = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal) { ["copycat"] = acmeLabels };
        var impostor = Endpoint.Pod("copycat", [.. BrunoTenant, ("bruno.dev/tenant", "acme")]);
        foreach (var (options, management) in new[] { (new KubernetesOptions(), Management), (RenderingTests.TwoTier(), Gateway) })
        {
            var net = Evaluate(options, forged: forged);
            Assert.True(net.Allows(management, Acme, 8080));
            Assert.True(net.Allows(management, Beta, 8080));
            Assert.False(net.Allows(management, impostor, 8080)); // the copied labels do not open the way out
        }

        // No rendered policy selects a namespace by anything but its name.
        foreach (var (name, path, document) in RenderingTests.Objects().Where(o => (string?)o.Document["kind"] == "NetworkPolicy"))
        {
            foreach (var peer in (document["spec"]!["ingress"] as JsonArray ?? []).SelectMany(r => r!["from"] as JsonArray ?? [])
                .Concat((document["spec"]!["egress"] as JsonArray ?? []).SelectMany(r => r!["to"] as JsonArray ?? [])))
            {
                if (peer!["namespaceSelector"] is JsonObject ns)
                {
                    Assert.True(ns["matchExpressions"] is null && ns["matchLabels"]!.AsObject().Count == 1 && ns["matchLabels"]!["kubernetes.io/metadata.name"] is not null, $"{name} {path}: {ns.ToJsonString()}");
                }
            }
        }
    }

    [Fact]
    public void Issue24_AKamajiControlPlane_IsReachedOnItsPortsOnly_AndReachesDnsAndItsDataStoreOnly()
    {
        var initech = RenderingTests.Tenant("initech", "kamaji");
        var controlPlane = Endpoint.Pod("kamaji-initech", ("kamaji.clastix.io/name", "bruno-initech"));
        var net = Evaluate(RenderingTests.ExternalLlm(), [initech]);
        Assert.True(net.Allows(Stranger, controlPlane, 6443)); // worker nodes, Kamaji, Flux, the tenant's users: the API server authenticates them
        Assert.True(net.Allows(Endpoint.External("192.0.2.10"), controlPlane, 8132)); // a konnectivity agent on a worker node
        Assert.False(net.Allows(Stranger, controlPlane, 10250));
        Assert.False(net.Allows(Acme, controlPlane, 2379));
        Assert.True(net.Allows(controlPlane, Dns, 53, "UDP"));
        Assert.True(net.Allows(controlPlane, Postgres, 5432)); // kine to the DataStore (postgres-rw.postgres-system.svc:5432)
        Assert.False(net.Allows(controlPlane, Postgres, 22));
        Assert.False(net.Allows(controlPlane, Acme, 8080)); // no tenant's pods
        Assert.False(net.Allows(controlPlane, Management, 8080));
        Assert.False(net.Allows(controlPlane, Endpoint.External("93.184.216.34"), 443)); // nor the internet

        // A DataStore by address: that address only.
        var byAddress = Evaluate(RenderingTests.ExternalLlm(o => o.Kamaji.DataStoreEndpoints = ["10.50.0.5:5432"]), [initech]);
        Assert.True(byAddress.Allows(controlPlane, Endpoint.External("10.50.0.5"), 5432));
        Assert.False(byAddress.Allows(controlPlane, Endpoint.External("10.50.0.6"), 5432));
        Assert.False(byAddress.Allows(controlPlane, Postgres, 5432));
    }

    [Fact]
    public void Issue24_ARemoteTenantsBruno_IsReachedFromTheManagementPlane_AndSendsTelemetryWhereItsClusterCanReach()
    {
        foreach (var tenant in new[] { RenderingTests.Tenant("initech", "kamaji"), RenderingTests.Tenant("bigbank", "dedicated-cluster") })
        {
            var bruno = Endpoint.Pod($"agent-bruno-{tenant.Id}", [.. BrunoTenant, ("bruno.dev/tenant", tenant.Id)]);
            var net = EvaluateRemote(RenderingTests.ExternalLlm(), tenant);
            Assert.True(net.Allows(Endpoint.External("198.51.100.5"), bruno, 8080)); // the management cluster's egress (ManagementCidrs)
            Assert.True(net.Allows(Endpoint.Pod("ingress-nginx", ("app", "controller")), bruno, 8080)); // the tenant cluster's ingress controller
            Assert.False(net.Allows(Endpoint.External("198.51.100.99"), bruno, 8080));
            Assert.False(net.Allows(Endpoint.Pod("default", ("app", "stranger")), bruno, 8080));
            Assert.False(net.Allows(Endpoint.External("198.51.100.5"), bruno, 22));

            // telemetry to the remote tenants' collector, not to a monitoring namespace of the tenant's cluster
            Assert.True(net.Allows(bruno, Endpoint.External("192.0.2.10"), 4317));
            Assert.False(net.Allows(bruno, Endpoint.External("192.0.2.11"), 4317));
            Assert.False(net.Allows(bruno, Collector, 4317));
            var deployment = Yaml.Documents(new ManifestRenderer(RenderingTests.ExternalLlm(), Plans).RenderTenant(tenant).Single(f => f.Path == $"tenants/{tenant.Id}/workloads/deployment.yaml").Content)[0];
            Assert.Contains(deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray(), e => (string?)e!["name"] == "BRUNO_TELEMETRY__OTLPENDPOINT" && (string?)e["value"] == "https://otlp.example.com:4317");
        }

        // in the management cluster, the management plane may reach where remote tenants are served, on that port only
        var management = Evaluate(RenderingTests.ExternalLlm(), [RenderingTests.Tenant("initech", "kamaji")]);
        Assert.True(management.Allows(Management, Endpoint.External("203.0.113.7"), 443));
        Assert.False(management.Allows(Management, Endpoint.External("203.0.113.7"), 22));
        Assert.False(management.Allows(ManagementOther, Endpoint.External("203.0.113.7"), 443));
    }

    [Fact]
    public void Issue24_AKamajiTenantsOwnPostgres_IsReachedByItsControlPlaneAndTheOperatorsOnly()
    {
        var umbrella = RenderingTests.Tenant("umbrella", "kamaji", "premium");
        var renderer = new ManifestRenderer(RenderingTests.ExternalLlm(o => o.Kamaji.ApiServerCidrs = ["10.0.0.10/32"]), RenderingTests.OwnPostgresPlans);
        var files = renderer.RenderPlatform().Concat(renderer.RenderTenant(umbrella)).Where(f => !f.Path.Contains("/cluster/", StringComparison.Ordinal));
        var documents = files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal)).SelectMany(f => Yaml.Documents(f.Content)).ToList();
        var net = new PolicyEvaluator(documents);
        var postgres = Endpoint.Pod("kamaji-umbrella", ("cnpg.io/cluster", "pg-umbrella"), ("cnpg.io/instanceRole", "primary"));
        var standby = Endpoint.Pod("kamaji-umbrella", ("cnpg.io/cluster", "pg-umbrella"), ("cnpg.io/instanceRole", "replica"));
        var controlPlane = Endpoint.Pod("kamaji-umbrella", ("kamaji.clastix.io/name", "bruno-umbrella"));
        var kamaji = Endpoint.Pod("kamaji-system", ("app.kubernetes.io/name", "kamaji"));
        var operatorPod = Endpoint.Pod("cnpg-system", ("app.kubernetes.io/name", "cloudnative-pg"));

        Assert.True(net.Allows(controlPlane, postgres, 5432)); // kine
        Assert.True(net.Allows(kamaji, postgres, 5432)); // Kamaji creates the control plane's database and role
        Assert.True(net.Allows(operatorPod, postgres, 8000));
        Assert.True(net.Allows(operatorPod, postgres, 5432));
        Assert.True(net.Allows(standby, postgres, 5432)); // replication
        Assert.True(net.Allows(postgres, Endpoint.External("10.0.0.10"), 6443)); // the instance manager to the API server
        Assert.True(net.Allows(postgres, Dns, 53, "UDP"));

        Assert.False(net.Allows(controlPlane, postgres, 8000));
        Assert.False(net.Allows(Endpoint.Pod("kamaji-system", ("app", "other")), postgres, 5432));
        Assert.False(net.Allows(Stranger, postgres, 5432));
        Assert.False(net.Allows(Management, postgres, 5432));
        Assert.False(net.Allows(postgres, Endpoint.External("93.184.216.34"), 443));
        Assert.False(net.Allows(postgres, Postgres, 5432)); // not the shared server
        Assert.False(net.Allows(controlPlane, Postgres, 5432)); // the control plane uses its own only
    }

    [Fact]
    public void AnLlmOutsideTheCluster_IsReachedByItsCidrOnly()
    {
        var net = Evaluate(RenderingTests.ExternalLlm());
        Assert.True(net.Allows(Acme, Endpoint.External("10.40.0.7"), 11434));
        Assert.False(net.Allows(Acme, Endpoint.External("10.41.0.7"), 11434));
        Assert.False(net.Allows(Acme, Endpoint.External("10.40.0.7"), 22));
        Assert.False(net.Allows(Acme, Ollama, 11434)); // no in-cluster selector now
        Assert.True(net.Allows(Acme, Dns, 53, "UDP"));
    }

    [Fact]
    public void TheDesignsPolicy_DoesNotAllowWhatItClaims()
    {
        // The design's "allow Ollama (external)" rule uses a lone podSelector (this namespace only), and its DNS rule a
        // namespace label ("name") that Kubernetes does not set.
        var design = Yaml.Documents("""
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata: {name: deny-cross-tenant, namespace: agent-bruno-acme}
            spec:
              podSelector: {}
              policyTypes: [Ingress, Egress]
              ingress:
              - from:
                - namespaceSelector: {matchLabels: {tenant: acme}}
              egress:
              - to:
                - namespaceSelector: {matchLabels: {name: kube-system}}
                ports: [{protocol: UDP, port: 53}]
              - to:
                - podSelector: {}
                ports: [{protocol: TCP, port: 11434}]
              - to:
                - namespaceSelector: {matchLabels: {tenant: acme}}
            """);
        var net = new PolicyEvaluator(design, new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal)
        {
            ["agent-bruno-acme"] = new Dictionary<string, string>(StringComparer.Ordinal) { ["tenant"] = "acme" },
        });
        Assert.False(net.Allows(Acme, Ollama, 11434)); // the model in its own namespace: unreachable
        Assert.False(net.Allows(Acme, Endpoint.External("10.40.0.7"), 11434)); // nor outside the cluster
        Assert.False(net.Allows(Acme, Dns, 53, "UDP")); // and no DNS
        Assert.True(net.Allows(Acme, AcmeOther, 11434)); // all the rule allows: its own pods
    }
}
