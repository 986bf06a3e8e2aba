using System.Globalization;
using System.Text.Json.Nodes;
using Bruno.Contracts;
using Bruno.Core;

namespace Bruno.Kubernetes.Tests;

/// <summary>
/// What a real cluster would need beyond the schemas (issue 24): quotas that close LoadBalancer and NodePort Services and
/// count ephemeral storage and objects, Pod Security labels pinned to a version, a fenced Kamaji control-plane
/// namespace, images the kubelet cannot serve stale, Flux substitution only where something refers to it, and a control
/// plane Flux waits for.
/// </summary>
public sealed class HardeningTests
{
    private static readonly IReadOnlyDictionary<string, PlanResources> Plans = new BrunoOptions().PlanResources();

    private static Dictionary<string, JsonObject> Documents(IReadOnlyList<RenderedFile> files) =>
        files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal) && !f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal))
            .ToDictionary(f => f.Path, f => Yaml.Documents(f.Content).Single(), StringComparer.Ordinal);

    [Fact]
    public void Issue24_ATenantsQuota_ClosesLoadBalancersAndNodePorts_AndCountsEphemeralStorageAndObjects()
    {
        foreach (var (name, quotaPath, plan) in new[]
        {
            ("namespace", "tenants/acme/resourcequota.yaml", "default"),
            ("namespace-external-llm", "tenants/beta/resourcequota.yaml", "premium"),
            ("kamaji", "tenants/initech/cluster/resourcequota.yaml", "premium"),
            ("dedicated-cluster", "tenants/bigbank/cluster/resourcequota.yaml", "premium"),
        })
        {
            var q = Plans[plan].Namespace;
            var hard = Documents(RenderingTests.Cases()[name])[quotaPath]["spec"]!["hard"]!.AsObject();
            var expected = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["services.loadbalancers"] = "0",
                ["services.nodeports"] = "0",
                ["requests.ephemeral-storage"] = $"{q.EphemeralStorageGiB}Gi",
                ["limits.ephemeral-storage"] = $"{q.EphemeralStorageGiB}Gi",
                ["count/jobs.batch"] = Count(q.Jobs),
                ["count/cronjobs.batch"] = Count(q.CronJobs),
                ["count/secrets"] = Count(q.Secrets),
                ["count/configmaps"] = Count(q.ConfigMaps),
                ["count/persistentvolumeclaims"] = Count(q.PersistentVolumeClaims),
                ["count/services"] = Count(q.Services),
                ["pods"] = Count(q.Pods),
            };
            foreach (var (key, value) in expected)
            {
                Assert.True(hard[key] is not null, $"{name}: {key} missing from the quota");
                Assert.Equal(value, Text(hard[key]));
            }
        }

        Assert.Equal(10, Plans["default"].Namespace.EphemeralStorageGiB);
        Assert.Equal(20, Plans["premium"].Namespace.EphemeralStorageGiB);
        var tiny = new Dictionary<string, PlanResources>(Plans, StringComparer.Ordinal) { ["default"] = Plans["default"] with { Namespace = Plans["default"].Namespace with { EphemeralStorageGiB = 0 } } };
        var refused = Assert.Throws<RenderException>(() => new ManifestRenderer(new KubernetesOptions(), tiny).RenderTenant(RenderingTests.Tenant("acme", "namespace")));
        Assert.Contains("EphemeralStorageGiB", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue24_EveryContainer_NamesWhatItsNamespacesQuotaCounts_OrItsLimitRangeFillsItIn_AndFits()
    {
        var checkedContainers = 0;
        foreach (var (name, files) in RenderingTests.Cases())
        {
            var documents = Documents(files).Values.ToList();
            foreach (var quota in documents.Where(d => (string?)d["kind"] == "ResourceQuota"))
            {
                var ns = (string)quota["metadata"]!["namespace"]!;
                var hard = quota["spec"]!["hard"]!.AsObject();
                var limitRange = documents.SingleOrDefault(d => (string?)d["kind"] == "LimitRange" && (string?)d["metadata"]!["namespace"] == ns)?["spec"]!["limits"]![0];
                foreach (var workload in documents.Where(d => (string?)d["kind"] is "Deployment" or "StatefulSet" && (string?)d["metadata"]!["namespace"] == ns))
                {
                    var total = new Dictionary<string, double>(StringComparer.Ordinal);
                    foreach (var container in workload["spec"]!["template"]!["spec"]!["containers"]!.AsArray())
                    {
                        checkedContainers++;
                        foreach (var (key, _) in hard.Where(h => h.Key.StartsWith("requests.", StringComparison.Ordinal) || h.Key.StartsWith("limits.", StringComparison.Ordinal)))
                        {
                            var (kind, resource) = (key[..key.IndexOf('.', StringComparison.Ordinal)], key[(key.IndexOf('.', StringComparison.Ordinal) + 1)..]);
                            if (resource == "storage")
                            {
                                continue; // volume claims, not containers
                            }

                            var own = container!["resources"]?[kind]?[resource];
                            var filled = kind == "requests" ? limitRange?["defaultRequest"]?[resource] ?? limitRange?["default"]?[resource] : limitRange?["default"]?[resource];
                            Assert.True(own is not null || filled is not null, $"{name}: a container in {ns} names no {key}, which the quota counts, and no LimitRange fills it in");
                            total[key] = total.GetValueOrDefault(key) + Quantity(Text(own ?? filled));
                        }
                    }

                    foreach (var (key, used) in total)
                    {
                        Assert.True(used <= Quantity(Text(hard[key])), $"{name}: {workload["metadata"]!["name"]} needs {used} of {key}, more than {ns}'s quota");
                    }
                }
            }
        }

        Assert.True(checkedContainers >= 4);
        var deployment = Documents(RenderingTests.Cases()["namespace"])["tenants/acme/workloads/deployment.yaml"];
        var resources = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["resources"]!;
        Assert.Equal("1Gi", Text(resources["requests"]!["ephemeral-storage"]));
        Assert.Equal("1Gi", Text(resources["limits"]!["ephemeral-storage"]));
    }

    [Fact]
    public void Issue24_EveryNamespace_PinsItsPodSecurityVersion_ToTheNewestValidatedKubernetes()
    {
        var newest = Schemas.KubernetesVersions.Max(v => Version.Parse(v.TrimStart('v')))!;
        var pinned = $"v{newest.Major}.{newest.Minor}";
        var namespaces = RenderingTests.Objects().Where(o => (string?)o.Document["kind"] == "Namespace").ToList();
        Assert.NotEmpty(namespaces);
        foreach (var (name, path, document) in namespaces)
        {
            var labels = document["metadata"]!["labels"]!;
            foreach (var mode in new[] { "enforce", "audit", "warn" })
            {
                Assert.True(labels[$"pod-security.kubernetes.io/{mode}"] is not null, $"{name} {path}: no {mode} level");
                Assert.Equal(pinned, (string?)labels[$"pod-security.kubernetes.io/{mode}-version"]);
            }
        }
    }

    [Fact]
    public void Issue24_AKamajiControlPlanesNamespace_HasDefaultDeny_AQuotaForItsPods_AndLimits()
    {
        var documents = Documents(RenderingTests.Cases()["kamaji"]);
        var inNamespace = documents.Where(d => (string?)d.Value["metadata"]!["namespace"] == "kamaji-initech").ToDictionary(d => d.Key, d => d.Value, StringComparer.Ordinal);
        var deny = inNamespace["tenants/initech/networkpolicy-default-deny.yaml"]["spec"]!;
        Assert.Empty(deny["podSelector"]!.AsObject());
        Assert.Equal(["Ingress", "Egress"], deny["policyTypes"]!.AsArray().Select(t => (string)t!));
        Assert.Contains("tenants/initech/limitrange.yaml", inNamespace.Keys);
        var hard = inNamespace["tenants/initech/resourcequota.yaml"]["spec"]!["hard"]!.AsObject();
        Assert.Equal("1", Text(hard["services.loadbalancers"])); // LoadBalancer, the default: worker nodes join at its address
        Assert.Equal("2", Text(hard["services.nodeports"])); // the API server's and the konnectivity server's
        Assert.Equal("0", Text(hard["count/persistentvolumeclaims"]));

        // Room for the control plane rolled out blue/green: twice its replicas, each pod with every container sized.
        var tcp = inNamespace["tenants/initech/controlplane/tenantcontrolplane.yaml"]["spec"]!;
        var replicas = (long)tcp["controlPlane"]!["deployment"]!["replicas"]!;
        var containers = tcp["controlPlane"]!["deployment"]!["resources"]!.AsObject().Select(c => c.Value!).Append(tcp["addons"]!["konnectivity"]!["server"]!["resources"]!).ToList();
        Assert.Equal(5, containers.Count); // API server, controller manager, scheduler, kine, konnectivity server
        foreach (var (kind, resource) in new[] { ("requests", "cpu"), ("requests", "memory"), ("limits", "cpu"), ("limits", "memory") })
        {
            var pod = containers.Sum(c => Quantity(Text(c[kind]![resource])));
            Assert.True(2 * replicas * pod <= Quantity(Text(hard[$"{kind}.{resource}"])), $"{kind}.{resource}");
        }

        Assert.True(int.Parse(Text(hard["pods"]), CultureInfo.InvariantCulture) >= 2 * replicas);

        var behindGateway = Documents(new ManifestRenderer(RenderingTests.ExternalLlm(o => (o.Kamaji.ServiceType, o.Kamaji.Domain, o.Kamaji.Gateway.Name) = ("ClusterIP", "k8s.example.com", "tenants")), Plans).RenderTenant(RenderingTests.Tenant("initech", "kamaji")));
        var gatewayHard = behindGateway["tenants/initech/resourcequota.yaml"]["spec"]!["hard"]!;
        Assert.Equal("0", Text(gatewayHard["services.loadbalancers"])); // ClusterIP behind the shared Gateway
        Assert.Equal("0", Text(gatewayHard["services.nodeports"]));
    }

    [Fact]
    public void Issue24_AnImageByTag_IsPulledAlways_AndOneByDigest_IfNotPresent()
    {
        var workloads = RenderingTests.Objects().Where(o => (string?)o.Document["kind"] is "Deployment" or "StatefulSet").ToList();
        Assert.NotEmpty(workloads);
        foreach (var (name, path, document) in workloads)
        {
            Assert.All(document["spec"]!["template"]!["spec"]!["containers"]!.AsArray(), c => Assert.True((string?)c!["imagePullPolicy"] == "Always", $"{name} {path}"));
        }

        const string digest = "registry.example.com/bruno/bruno@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var pinned = Documents(new ManifestRenderer(new KubernetesOptions { Image = digest }, Plans).RenderTenant(RenderingTests.Tenant("acme", "namespace")));
        var container = pinned["tenants/acme/workloads/deployment.yaml"]["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(digest, (string?)container["image"]);
        Assert.Equal("IfNotPresent", (string?)container["imagePullPolicy"]);
    }

    [Fact]
    public void Issue24_EveryVariableAFluxKustomizationSubstitutes_IsReferencedByAFileItApplies()
    {
        var kustomizations = 0;
        foreach (var (name, files) in RenderingTests.Cases())
        {
            foreach (var (path, document) in Documents(files).Where(d => (string?)d.Value["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"))
            {
                kustomizations++;
                var folder = ((string)document["spec"]!["path"]!).TrimStart('.', '/');
                var applied = files.Where(f => f.Path.StartsWith(folder + "/", StringComparison.Ordinal) && !f.Path[(folder.Length + 1)..].Contains('/', StringComparison.Ordinal)
                    && f.Path.EndsWith(".yaml", StringComparison.Ordinal)
                    && !f.Content.Contains("kustomize.toolkit.fluxcd.io/substitute: disabled", StringComparison.Ordinal)).ToList();
                foreach (var (variable, _) in document["spec"]!["postBuild"]?["substitute"]?.AsObject() ?? [])
                {
                    Assert.True(applied.Any(f => f.Content.Contains("${" + variable, StringComparison.Ordinal)), $"{name} {path}: {variable} is substituted but no file under {folder} refers to it");
                }
            }
        }

        Assert.True(kustomizations >= 8);
    }

    [Fact]
    public void Issue24_AKamajiControlPlane_AdmitsNodeRestriction_AndFluxWaitsForItsVersionStatus()
    {
        var documents = Documents(RenderingTests.Cases()["kamaji"]);
        var plugins = documents["tenants/initech/controlplane/tenantcontrolplane.yaml"]["spec"]!["kubernetes"]!["admissionControllers"]!.AsArray().Select(p => (string)p!).ToList();
        Assert.Contains("NodeRestriction", plugins);
        Assert.Contains("ResourceQuota", plugins);
        Assert.Contains("LimitRanger", plugins);

        var entry = documents["tenants/initech/kustomization-controlplane.yaml"]["spec"]!; // the Kustomization that applies it
        Assert.Contains(entry["healthChecks"]!.AsArray(), h => (string?)h!["kind"] == "TenantControlPlane"); // expressions are evaluated for the objects checked
        var expression = Assert.Single(entry["healthCheckExprs"]!.AsArray())!;
        Assert.Equal("kamaji.clastix.io/v1alpha1", (string?)expression["apiVersion"]);
        Assert.Equal("TenantControlPlane", (string?)expression["kind"]);
        var current = (string)expression["current"]!;
        Assert.Contains("status.kubernetesResources.version.status == 'Ready'", current, StringComparison.Ordinal);
        Assert.Contains("has(status.kubernetesResources.version.status)", current, StringComparison.Ordinal); // no error while Kamaji has not reported yet
    }

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);

    // A quantity as YAML gives it back: a string, or a number for a plain count.
    private static string Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : node!.ToJsonString();

    private static double Quantity(string text)
    {
        foreach (var (suffix, factor) in new[] { ("Ki", 1024d), ("Mi", 1024d * 1024), ("Gi", 1024d * 1024 * 1024), ("Ti", 1024d * 1024 * 1024 * 1024), ("m", 0.001) })
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                return double.Parse(text[..^suffix.Length], CultureInfo.InvariantCulture) * factor;
            }
        }

        return double.Parse(text, CultureInfo.InvariantCulture);
    }
}
