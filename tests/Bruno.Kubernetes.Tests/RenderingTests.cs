using System.Diagnostics;
using System.Text.Json.Nodes;
using Bruno.Contracts;
using Bruno.Core;

namespace Bruno.Kubernetes.Tests;

/// <summary>What Bruno renders for the shared parts and for a tenant at each isolation level, checked against the real schemas.</summary>
public sealed class RenderingTests
{
    // The service's default plans, as Core maps them: the snapshots are what `bruno render` gives with no plan configured.
    internal static readonly IReadOnlyDictionary<string, PlanResources> Plans = new BrunoOptions().PlanResources();

    internal static TenantDeployment Tenant(string id, string isolation, string plan = "default", params string[] flags) =>
        new(id, $"{id} Corp", plan, isolation, flags);

    internal static KubernetesOptions ExternalLlm(Action<KubernetesOptions>? change = null)
    {
        var options = new KubernetesOptions { StorageClass = "fast-ssd" };
        options.Llm.Cidrs = ["10.40.0.0/24"];
        (options.Llm.Provider, options.Llm.Endpoint, options.Llm.Model) = ("ollama", "http://10.40.0.10:11434", "llama3.1:8b");
        options.RemoteTenants.ManagementCidrs = ["198.51.100.0/28"]; // the management cluster's egress, as tenant clusters see it
        options.RemoteTenants.IngressNamespace = "ingress-nginx";
        options.RemoteTenants.TenantCidrs = ["203.0.113.0/24"];
        options.RemoteTenants.OtlpEndpoint = "https://otlp.example.com:4317";
        options.RemoteTenants.OtlpCidrs = ["192.0.2.10/32"];
        options.Flux.SourceUrl = "ssh://git@git.example.com/platform/bruno-gitops.git";
        options.Flux.SourceSecret = "flux-system";
        change?.Invoke(options);
        return options;
    }

    /// <summary>The default plans, with premium giving each Kamaji tenant a PostgreSQL of its own.</summary>
    internal static readonly IReadOnlyDictionary<string, PlanResources> OwnPostgresPlans = new Dictionary<string, PlanResources>(Plans, StringComparer.Ordinal)
    {
        ["premium"] = Plans["premium"] with { OwnDataStore = new DataStorePlan(3, 20, 1, 2) },
    };

    /// <summary>Two tiers, with an in-cluster chat model, an OTLP collector and ExternalSecrets: every optional part rendered.</summary>
    internal static KubernetesOptions TwoTier(Action<KubernetesOptions>? change = null)
    {
        var options = new KubernetesOptions { StorageClass = "fast-ssd", ExternalSecretStore = "vault" };
        options.TwoTier.Enabled = true;
        (options.Llm.Provider, options.Llm.Endpoint, options.Llm.Model) = ("ollama", "http://ollama.ollama.svc:11434", "llama3.1:8b");
        options.Monitoring.OtlpEndpoint = "http://alloy.monitoring.svc:4317";
        change?.Invoke(options);
        return options;
    }

    /// <summary>Two tiers whose five store nodes run in three zones (decision 0037).</summary>
    internal static KubernetesOptions Zoned(Action<KubernetesOptions>? change = null) => TwoTier(o =>
    {
        o.TwoTier.StoreNodes = 5;
        o.TwoTier.StoreZones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
        change?.Invoke(o);
    });

    /// <summary>Two tiers whose Secrets arrive as SOPS-encrypted files Flux decrypts.</summary>
    internal static KubernetesOptions Sops(Action<KubernetesOptions>? change = null) => TwoTier(o =>
    {
        (o.ExternalSecretStore, o.Secrets.Provider) = (null, "sops");
        change?.Invoke(o);
    });

    /// <summary>One process, namespace tenants only: no Kamaji, an external catalog server, ExternalSecrets for its keys.</summary>
    internal static KubernetesOptions NamespacesOnly(Action<KubernetesOptions>? change = null)
    {
        var options = new KubernetesOptions { ExternalSecretStore = "vault" };
        (options.Kamaji.Enabled, options.Catalog.Provider) = (false, "external");
        change?.Invoke(options);
        return options;
    }

    /// <summary>Every case the snapshots and schema checks cover: name → files.</summary>
    internal static Dictionary<string, IReadOnlyList<RenderedFile>> Cases() => new(StringComparer.Ordinal)
    {
        ["platform"] = new ManifestRenderer(new KubernetesOptions(), Plans).RenderPlatform(),
        ["platform-two-tier"] = new ManifestRenderer(TwoTier(), Plans).RenderPlatform(),
        ["platform-two-tier-zones"] = new ManifestRenderer(Zoned(), Plans).RenderPlatform(),
        ["platform-sops"] = new ManifestRenderer(Sops(), Plans).RenderPlatform(),
        ["platform-namespaces-only"] = new ManifestRenderer(NamespacesOnly(), Plans).RenderPlatform(),
        ["namespace"] = new ManifestRenderer(new KubernetesOptions(), Plans).RenderTenant(Tenant("acme", "namespace", "default", "gdpr")),
        ["namespace-external-llm"] = new ManifestRenderer(ExternalLlm(o => o.ExternalSecretStore = "vault"), Plans).RenderTenant(Tenant("beta", "namespace", "premium")),
        ["kamaji"] = new ManifestRenderer(ExternalLlm(o => o.ExternalSecretStore = "vault"), Plans).RenderTenant(Tenant("initech", "kamaji", "premium", "soc2", "hipaa")),
        ["kamaji-own-postgres"] = new ManifestRenderer(ExternalLlm(o => o.Kamaji.ApiServerCidrs = ["10.0.0.10/32"]), OwnPostgresPlans).RenderTenant(Tenant("umbrella", "kamaji", "premium")),
        ["kamaji-own-datastore"] = new ManifestRenderer(ExternalLlm(o => o.Kamaji.SharedDataStore = null), Plans).RenderTenant(Tenant("foobar", "kamaji")),
        ["dedicated-cluster"] = new ManifestRenderer(ExternalLlm(), Plans).RenderTenant(Tenant("bigbank", "dedicated-cluster", "premium", "soc2")),
    };

    internal static IEnumerable<(string Case, string Path, JsonObject Document)> Objects() =>
        Cases().SelectMany(c => c.Value.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal) && !f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal))
            .SelectMany(f => Yaml.Documents(f.Content).Select(d => (c.Key, f.Path, d))));

    [Fact]
    public void EveryRenderedObject_PassesTheRealSchemas_OfBothKubernetesVersions()
    {
        var checkedKinds = new HashSet<string>(StringComparer.Ordinal);
        var failures = new List<string>();
        foreach (var (name, path, document) in Objects())
        {
            foreach (var version in Schemas.KubernetesVersions)
            {
                failures.AddRange(Schemas.Errors(document, version).Select(e => $"{name} {path} ({version}): {e}"));
            }

            checkedKinds.Add((string)document["kind"]!);
        }

        Assert.Empty(failures);
        Assert.Superset(
            new HashSet<string>(["Namespace", "ResourceQuota", "LimitRange", "NetworkPolicy", "PersistentVolumeClaim", "ServiceAccount", "Deployment", "StatefulSet", "HorizontalPodAutoscaler", "Service", "PodDisruptionBudget", "ConfigMap", "TenantControlPlane", "DataStore", "Kustomization", "ExternalSecret", "HelmRelease", "HelmRepository", "OCIRepository", "Cluster", "Role", "RoleBinding", "GitRepository", "Secret"], StringComparer.Ordinal),
            checkedKinds);
    }

    [Fact]
    public void TheDesignsControlPlaneSketch_IsRejected_SoTheValidatorCanFail()
    {
        var sketch = Yaml.Documents("""
            apiVersion: kamaji.clastix.io/v1alpha1
            kind: TenantControlPlane
            metadata: {name: tenant-bruno-enterprise-acme, namespace: kamaji-system}
            spec:
              controlPlane:
                deployment: {replicas: 2}
                service: {type: LoadBalancer, serviceType: LoadBalancer}
                ingress: {enabled: true, hostname: acme-k8s.agent-bruno.com, className: nginx}
              dataStore: {type: PostgreSQL}
              kubernetes: {version: v1.28.0, kubelet: {}}
              network: {serviceClusterIPRange: 10.100.1.0/24}
              addons: {coreDNS: {enabled: true}}
            """)[0];
        var errors = string.Join("\n", Schemas.Errors(sketch, "v1.35.0"));
        foreach (var expected in new[] { "/spec/dataStore", "/spec/controlPlane/ingress", "/spec/addons/coreDNS", "/spec/controlPlane/service" })
        {
            Assert.Contains(expected, errors, StringComparison.Ordinal);
        }

        Assert.Contains("network", errors, StringComparison.Ordinal);
        var badDeployment = Yaml.Documents("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {selector: {}, template: {spec: {containers: [{name: a, image: b, colour: red}]}}}\n")[0];
        Assert.NotEmpty(Schemas.Errors(badDeployment, "v1.33.0")); // an unknown container field
    }

    /// <summary>A custom resource, valid and then broken in one place, as YAML; the broken one must be rejected for that place.</summary>
    [Theory]
    [InlineData( // Flux HelmRelease: spec.interval is required, and values sits under spec, not spec.chart
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: kamaji, namespace: kamaji-system}\nspec: {interval: 10m, chart: {spec: {chart: kamaji, sourceRef: {kind: HelmRepository, name: clastix}}}, values: {a: 1}}\n",
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: kamaji, namespace: kamaji-system}\nspec: {interval: 10m, chart: {spec: {chart: kamaji, sourceRef: {kind: HelmRepository, name: clastix}}, values: {a: 1}}}\n",
        "/spec/chart")]
    [InlineData( // CloudNativePG Cluster: instances is an integer, no field "replicas"
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: kamaji-db, namespace: kamaji-system}\nspec: {instances: 3, storage: {size: 10Gi}}\n",
        "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: kamaji-db, namespace: kamaji-system}\nspec: {instances: 3, replicas: 3, storage: {size: 10Gi}}\n",
        "/spec")]
    [InlineData( // Cluster API Cluster v1beta2: controlPlaneRef has apiGroup (v1beta1's apiVersion is gone), and no field instances (CNPG's)
        "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: acme, namespace: kamaji-acme}\nspec: {controlPlaneRef: {apiGroup: controlplane.cluster.x-k8s.io, kind: KamajiControlPlane, name: acme}}\n",
        "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: acme, namespace: kamaji-acme}\nspec: {instances: 3, controlPlaneRef: {apiVersion: controlplane.cluster.x-k8s.io/v1alpha2, kind: KamajiControlPlane, name: acme}}\n",
        "/spec")]
    [InlineData( // ExternalSecret: v1beta1 is still in the CRD but not served
        "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: k, namespace: n}\nspec: {secretStoreRef: {kind: ClusterSecretStore, name: vault}, target: {name: k}, data: [{secretKey: a, remoteRef: {key: b}}]}\n",
        "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata: {name: k, namespace: n}\nspec: {secretStoreRef: {kind: ClusterSecretStore, name: vault}, target: {name: k}, data: [{secretKey: a, remoteRef: {key: b}}]}\n",
        "does not serve v1beta1")]
    public void TheGenericCrdLookup_AcceptsAValidCustomResource_AndRejectsABrokenOne(string valid, string broken, string expected)
    {
        foreach (var version in Schemas.KubernetesVersions)
        {
            Assert.Empty(Schemas.Errors(Yaml.Documents(valid)[0], version));
            Assert.Contains(expected, string.Join("\n", Schemas.Errors(Yaml.Documents(broken)[0], version)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TheGenericCrdLookup_TellsTheTwoClusterKinds_Apart_AndTakesTheServedVersionNamed_NotTheFirst()
    {
        // a CNPG Cluster's spec under the CAPI group is refused, and the reverse
        var cnpgSpec = "spec: {instances: 1, storage: {size: 1Gi}}\n";
        var capiSpec = "spec: {paused: true}\n";
        Assert.Empty(Schemas.Errors(Yaml.Documents("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: a}\n" + cnpgSpec)[0], "v1.35.0"));
        Assert.NotEmpty(Schemas.Errors(Yaml.Documents("apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: a}\n" + cnpgSpec)[0], "v1.35.0"));
        Assert.NotEmpty(Schemas.Errors(Yaml.Documents("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: a}\n" + capiSpec)[0], "v1.35.0"));

        // CAPI's versions[0] is the deprecated v1beta1, where a control plane reference still has apiVersion: v1beta2 takes apiGroup
        var v1beta1Ref = "spec: {controlPlaneRef: {apiVersion: controlplane.cluster.x-k8s.io/v1alpha2, kind: KamajiControlPlane, name: a}}\n";
        Assert.Empty(Schemas.Errors(Yaml.Documents("apiVersion: cluster.x-k8s.io/v1beta1\nkind: Cluster\nmetadata: {name: a}\n" + v1beta1Ref)[0], "v1.35.0"));
        Assert.NotEmpty(Schemas.Errors(Yaml.Documents("apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: a}\n" + v1beta1Ref)[0], "v1.35.0"));

        // every kind a CRD here defines is known, and an unknown kind is reported, not passed
        Assert.Contains(("postgresql.cnpg.io", "Cluster"), Schemas.CustomResourceKinds);
        Assert.Contains(("cluster.x-k8s.io", "Cluster"), Schemas.CustomResourceKinds);
        Assert.Contains("no schema", string.Join("\n", Schemas.Errors(Yaml.Documents("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\n")[0], "v1.35.0")), StringComparison.Ordinal);
    }

    [Fact]
    public void Output_IsDeterministic_Sorted_OneObjectPerFile_AndEachFolderListsItsFiles()
    {
        var first = Cases();
        var second = Cases();
        foreach (var (name, files) in first)
        {
            Assert.Equal(files, second[name]);
            Assert.Equal(files.Select(f => f.Path).Order(StringComparer.Ordinal), files.Select(f => f.Path));
            foreach (var file in files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal)))
            {
                Assert.Single(Yaml.Documents(file.Content));
                Assert.EndsWith("\n", file.Content, StringComparison.Ordinal);
                Assert.DoesNotContain("\r", file.Content, StringComparison.Ordinal);
            }

            foreach (var kustomization in files.Where(f => f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal) && !f.Path.StartsWith("secrets/", StringComparison.Ordinal))) // secrets/: the operator's encrypted files
            {
                var folder = kustomization.Path[..kustomization.Path.LastIndexOf('/')];
                var listed = Yaml.Documents(kustomization.Content)[0]["resources"]!.AsArray().Select(r => (string)r!).Where(r => !r.StartsWith("../", StringComparison.Ordinal)).ToList();
                var siblings = files.Where(f => f.Path.StartsWith(folder + "/", StringComparison.Ordinal) && !f.Path[(folder.Length + 1)..].Contains('/', StringComparison.Ordinal)
                    && f.Path.EndsWith(".yaml", StringComparison.Ordinal) && f != kustomization).Select(f => f.Path[(folder.Length + 1)..]).ToList();
                Assert.Equal(siblings, listed);
            }
        }
    }

    [Fact]
    public void Names_AreValidLabels_AndALongTenantIdIsCutWithADigest()
    {
        var longId = new string('a', 30) + "-" + new string('b', 32); // 63 characters, the longest id
        var tenant = Tenant(longId, "kamaji");
        var files = new ManifestRenderer(ExternalLlm(), Plans).RenderTenant(tenant);
        var other = new ManifestRenderer(ExternalLlm(), Plans).RenderTenant(Tenant(new string('a', 30) + "-" + new string('b', 31) + "c", "kamaji"));
        Assert.True(Names.IsDns1123Label(Names.Namespace(tenant.Id)));
        Assert.NotEqual(Names.Namespace(tenant.Id), Names.Namespace(new string('a', 30) + "-" + new string('b', 31) + "c"));
        Assert.All(new[] { "", "-acme", "Acme", "../acme", new string('a', 64) }, bad => Assert.Throws<ArgumentException>(() => Names.Namespace(bad)));
        Assert.NotEqual(files.Select(f => f.Content), other.Select(f => f.Content));

        foreach (var (_, path, document) in Objects().Concat(files.Where(f => !f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal)).SelectMany(f => Yaml.Documents(f.Content).Select(d => ("long", f.Path, d)))))
        {
            var meta = document["metadata"]!;
            var kind = (string)document["kind"]!;
            var name = (string)meta["name"]!;
            Assert.True(kind switch
            {
                "TenantControlPlane" => Names.IsDns1035Label(name),
                "Namespace" or "Service" => Names.IsDns1123Label(name),
                _ => KubernetesOptions.IsDns1123Subdomain(name),
            }, $"{path}: {kind} name '{name}'");
            Assert.True(meta["namespace"] is null || Names.IsDns1123Label((string)meta["namespace"]!), path);
            foreach (var (key, value) in meta["labels"]?.AsObject() ?? [])
            {
                Assert.True(LabelKey(key) && LabelValue((string?)value), $"{path}: label {key}={value}");
            }
        }
    }

    [Fact]
    public void NoSecretValue_IsRendered_AndDataLivesOnClaimsNeverHostPathOrEmptyDir()
    {
        var checkedGateway = false;
        foreach (var (name, path, document) in Objects())
        {
            if ((string?)document["kind"] == "Secret")
            {
                // the one Secret rendered: a remote tenant's keys, every value a Flux variable substituted on apply (issue 24)
                Assert.All(document["data"]!.AsObject(), p => Assert.Matches(@"^\$\{[A-Z_][A-Z0-9_]*\}$", (string)p.Value!));
                Assert.Null(document["stringData"]);
            }

            var text = document.ToJsonString();
            Assert.DoesNotContain("hostPath", text, StringComparison.Ordinal);
            Assert.DoesNotContain("stringData", text, StringComparison.Ordinal);
            if ((string?)document["kind"] is not ("Deployment" or "StatefulSet"))
            {
                continue;
            }

            var pod = document["spec"]!["template"]!["spec"]!;
            var env = pod["containers"]![0]!["env"]!.AsArray();
            var mounts = pod["containers"]![0]!["volumeMounts"]!.AsArray().ToDictionary(m => (string)m!["mountPath"]!, m => (string)m!["name"]!);
            var volumes = pod["volumes"]!.AsArray().ToDictionary(v => (string)v!["name"]!, v => v!.AsObject());
            var claims = (document["spec"]!["volumeClaimTemplates"] as JsonArray ?? []).Select(c => (string)c!["metadata"]!["name"]!).ToList();
            if ((string?)document["metadata"]!["labels"]!["app.kubernetes.io/component"] == "gateway")
            {
                // A gateway keeps no tenant data: /data is bounded scratch, and it is given no master key to unwrap one with.
                Assert.NotNull(volumes[mounts["/data"]]["emptyDir"]!["sizeLimit"]);
                Assert.DoesNotContain(env, e => (string?)e!["name"] == "BRUNO_MASTERKEY");
                checkedGateway = true;
            }
            else
            {
                Assert.True(claims.Contains(mounts["/data"]) || volumes.GetValueOrDefault(mounts["/data"])?["persistentVolumeClaim"] is not null, $"{name} {path}: /data is not a claim"); // the data: a claim
                Assert.All(volumes.Values.Where(v => v["emptyDir"] is not null), v => Assert.Equal("tmp", (string)v["name"]!)); // scratch only
            }

            // a variable naming a file (the cluster TLS key's path) holds no secret when the file is in a mounted Secret
            bool InASecret(JsonNode e) => ((string)e["name"]!).EndsWith("FILE", StringComparison.Ordinal) && e["value"] is JsonValue v
                && mounts.Any(m => ((string)v!).StartsWith(m.Key + "/", StringComparison.Ordinal) && volumes.GetValueOrDefault(m.Value)?["secret"] is not null);
            Assert.All(env, e => Assert.True(e!["valueFrom"] is not null || InASecret(e) || (!((string)e["name"]!).Contains("KEY", StringComparison.Ordinal) && !((string)e["name"]!).Contains("TOKEN", StringComparison.Ordinal)), $"{name} {path}: {e}"));
        }

        Assert.True(checkedGateway);
    }

    [Fact]
    public void Kamaji_FollowsTheRulesBeyondTheSchema_AndOrdersTheTenantClusterAfterItsControlPlane()
    {
        var files = Cases()["kamaji"];
        var all = files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal)).ToDictionary(f => f.Path, f => Yaml.Documents(f.Content)[0], StringComparer.Ordinal);
        var tcp = all["tenants/initech/controlplane/tenantcontrolplane.yaml"];
        Assert.True(Names.IsDns1035Label((string)tcp["metadata"]!["name"]!));
        Assert.Equal("bruno-postgres", (string)tcp["spec"]!["dataStore"]!); // a name, not an inline object
        Assert.Equal("LoadBalancer", (string)tcp["spec"]!["controlPlane"]!["service"]!["serviceType"]!); // worker nodes join at its address (decision 0043)
        Assert.Equal("v1.35.7", (string)tcp["spec"]!["kubernetes"]!["version"]!);
        Assert.Empty(tcp["spec"]!["addons"]!["coreDNS"]!.AsObject()); // on by presence

        var entry = all["flux-tenants/tenant-initech.yaml"];
        Assert.Null(entry["spec"]!["postBuild"]); // nothing under the tenant's folder refers to a variable (issue 24)
        var controlPlane = all["tenants/initech/kustomization-controlplane.yaml"];
        Assert.Equal("TenantControlPlane", (string)controlPlane["spec"]!["healthChecks"]![0]!["kind"]!);
        Assert.Equal("tenant-initech", (string)controlPlane["spec"]!["dependsOn"]![0]!["name"]!); // after the DataStore, which the entry applies
        Assert.Equal("./tenants/initech/controlplane", (string)controlPlane["spec"]!["path"]!);

        // Into the tenant's cluster, through Kamaji's kubeconfig Secret: first the platform's part, then the workloads.
        var platform = all["tenants/initech/kustomization-platform.yaml"];
        var workloads = all["tenants/initech/kustomization-workloads.yaml"];
        foreach (var remote in new[] { platform, workloads })
        {
            Assert.Equal((string?)tcp["metadata"]!["namespace"], (string?)remote["metadata"]!["namespace"]); // Flux reads the kubeconfig Secret from its own namespace
            Assert.Equal((string?)tcp["metadata"]!["name"] + "-admin-kubeconfig", (string)remote["spec"]!["kubeConfig"]!["secretRef"]!["name"]!);
        }

        Assert.Equal("platform-initech", (string)workloads["spec"]!["dependsOn"]![0]!["name"]!);
        Assert.Equal("./tenants/initech/workloads", (string)workloads["spec"]!["path"]!);
        Assert.Equal("./tenants/initech/cluster", (string)platform["spec"]!["path"]!);
        Assert.Contains("tenants/initech/workloads/deployment.yaml", all.Keys);
        var env = all["tenants/initech/workloads/deployment.yaml"]["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray();
        Assert.Contains(env, e => (string?)e!["name"] == "BRUNO_CHAT__ENDPOINT" && (string?)e["value"] == "http://10.40.0.10:11434"); // the model its policy lets it reach

        var own = Cases()["kamaji-own-datastore"].Single(f => f.Path == "tenants/foobar/datastore.yaml");
        var store = Yaml.Documents(own.Content)[0];
        Assert.Null(store["metadata"]!["namespace"]); // cluster-scoped
        Assert.Equal("bruno-foobar", (string)Yaml.Documents(Cases()["kamaji-own-datastore"].Single(f => f.Path == "tenants/foobar/controlplane/tenantcontrolplane.yaml").Content)[0]["spec"]!["dataStore"]!);
    }

    [Fact]
    public void BadInput_IsRefusedWithAMessageNamingIt()
    {
        var renderer = new ManifestRenderer(new KubernetesOptions(), Plans);
        Assert.Contains("deleted", Assert.Throws<RenderException>(() => renderer.RenderTenant(Tenant("gone", "namespace") with { Status = "deleted" })).Message, StringComparison.Ordinal);
        Assert.Contains("DNS-1123", Assert.Throws<RenderException>(() => renderer.RenderTenant(Tenant("../acme", "namespace"))).Message, StringComparison.Ordinal);
        Assert.Contains("compliance", Assert.Throws<RenderException>(() => renderer.RenderTenant(Tenant("acme", "namespace", "default", "Bad Flag"))).Message, StringComparison.Ordinal);
        Assert.Contains("'gold'", Assert.Throws<RenderException>(() => renderer.RenderTenant(Tenant("acme", "namespace", "gold"))).Message, StringComparison.Ordinal);
        Assert.Contains("Llm:Cidrs", Assert.Throws<RenderException>(() => renderer.RenderTenant(Tenant("acme", "kamaji"))).Message, StringComparison.Ordinal);
        Assert.Contains("Image", Assert.Throws<RenderException>(() => new ManifestRenderer(new KubernetesOptions { Image = "bruno:latest" }, Plans)).Message, StringComparison.Ordinal);
        var big = new Dictionary<string, PlanResources>(Plans, StringComparer.Ordinal) { ["default"] = Plans["default"] with { CpuCores = 6 } }; // more than one container may have (4)
        Assert.Contains("Namespace", Assert.Throws<RenderException>(() => new ManifestRenderer(new KubernetesOptions(), big).RenderTenant(Tenant("acme", "namespace"))).Message, StringComparison.Ordinal);
        var bad = new KubernetesOptions();
        bad.Kamaji.KubernetesVersion = "v1.37.0";
        bad.Flux.Interval = "often";
        bad.Llm.Provider = "ollama"; // without an endpoint
        var message = Assert.Throws<RenderException>(() => new ManifestRenderer(bad, Plans)).Message;
        Assert.Contains("KubernetesVersion", message, StringComparison.Ordinal);
        Assert.Contains("Interval", message, StringComparison.Ordinal);
        Assert.Contains("Llm:Provider", message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecretInstructions_CreateEverySecretTheManifestsName()
    {
        foreach (var (options, tenant, plans) in new[]
        {
            (new KubernetesOptions(), Tenant("acme", "namespace"), Plans),
            (ExternalLlm(o => o.Kamaji.SharedDataStore = null), Tenant("foobar", "kamaji"), Plans),
            (ExternalLlm(o => o.Kamaji.ApiServerCidrs = ["10.0.0.10/32"]), Tenant("umbrella", "kamaji", "premium"), OwnPostgresPlans),
            (ExternalLlm(), Tenant("bigbank", "dedicated-cluster"), Plans),
        })
        {
            var text = string.Join("\n", SecretInstructions.For(tenant, options, plans[tenant.Plan]));
            var files = new ManifestRenderer(options, plans).RenderTenant(tenant);
            var documents = files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal)).SelectMany(f => Yaml.Documents(f.Content)).ToList();
            var named = documents.SelectMany(d => SecretNames(d)).Distinct(StringComparer.Ordinal).ToList();

            // what operators make: CloudNativePG a cluster's superuser and CA Secrets, Kamaji the admin kubeconfig
            var generated = documents.Where(d => (string?)d["kind"] == "Cluster" && ((string)d["apiVersion"]!).StartsWith("postgresql.cnpg.io/", StringComparison.Ordinal))
                .SelectMany(d => new[] { (string)d["metadata"]!["name"]! + "-superuser", (string)d["metadata"]!["name"]! + "-ca" }).ToHashSet(StringComparer.Ordinal);
            Assert.NotEmpty(named);
            foreach (var secret in named.Where(n => !generated.Contains(n)))
            {
                Assert.True(text.Contains($"secret generic {secret} ", StringComparison.Ordinal) || text.Contains($"get secret {secret} ", StringComparison.Ordinal), $"{tenant.Id}: {secret} is not created by:\n{text}");
            }

            if (tenant.Isolation != "namespace")
            {
                Assert.Contains("create clusterrolebinding bruno-platform-", text, StringComparison.Ordinal); // the remote platform reconciler's one-time binding
            }
        }
    }

    [Fact]
    public void Snapshots_MatchTheGoldenFiles()
    {
        var folder = Path.Combine(SourceFolder(), "Snapshots");
        var update = Environment.GetEnvironmentVariable("BRUNO_UPDATE_SNAPSHOTS") == "1";
        foreach (var (name, files) in Cases())
        {
            var dir = Path.Combine(folder, name);
            if (update)
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }

                ManifestWriter.Write(dir, files);
            }

            var onDisk = Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(files.Select(f => f.Path), onDisk);
            foreach (var file in files)
            {
                Assert.Equal(File.ReadAllText(Path.Combine(dir, file.Path)), file.Content);
            }
        }
    }

    [Fact]
    public void Writing_ReplacesATenantsFolderWhole_AndABadPathChangesNothing()
    {
        var root = Directory.CreateTempSubdirectory("bruno-write-").FullName;
        try
        {
            var files = Cases()["namespace"];
            ManifestWriter.Write(root, files);
            var stale = Path.Combine(root, "tenants", "acme", "networkpolicy-old.yaml");
            File.WriteAllText(stale, "left over from an older render\n");
            File.WriteAllText(Path.Combine(root, "README.md"), "the operator's own file\n");
            ManifestWriter.Write(root, files);
            Assert.False(File.Exists(stale)); // the folder is the render, nothing else
            Assert.True(File.Exists(Path.Combine(root, "README.md"))); // what is not Bruno's is left alone
            Assert.Equal(files.Single(f => f.Path == "tenants/acme/workloads/deployment.yaml").Content, File.ReadAllText(Path.Combine(root, "tenants", "acme", "workloads", "deployment.yaml")));

            var before = Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
            Assert.Throws<ArgumentException>(() => ManifestWriter.Write(root, [new RenderedFile("tenants/acme/workloads/deployment.yaml", "changed\n"), new RenderedFile("../escape.yaml", "x\n")]));
            Assert.Equal(before, Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList());
            Assert.Equal(files.Single(f => f.Path == "tenants/acme/workloads/deployment.yaml").Content, File.ReadAllText(Path.Combine(root, "tenants", "acme", "workloads", "deployment.yaml")));
            Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(root)!, "escape.yaml")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task KubectlKustomize_BuildsEveryRenderedFolder()
    {
        var root = Directory.CreateTempSubdirectory("bruno-render-").FullName;
        try
        {
            foreach (var (name, files) in Cases())
            {
                var dir = Path.Combine(root, name);
                ManifestWriter.Write(dir, files);
                var operatorFiles = OperatorsSecretFiles(dir, files);
                foreach (var kustomization in files.Where(f => f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal)))
                {
                    var folder = Path.Combine(dir, Path.GetDirectoryName(kustomization.Path)!);
                    var (code, output, error) = await RunAsync("kubectl", "kustomize", folder);
                    Assert.True(code == 0, $"kubectl kustomize {name}/{kustomization.Path}: {error}");
                    var resources = Yaml.Documents(kustomization.Content)[0]["resources"]!.AsArray().Select(r => (string)r!).ToList();
                    var expected = resources.Count(r => !r.StartsWith("../", StringComparison.Ordinal)) + (resources.Any(r => r.StartsWith("../secrets/", StringComparison.Ordinal)) ? operatorFiles : 0);
                    Assert.Equal(expected, Yaml.Documents(output).Count);
                }

                // The entry point has no kustomization.yaml: Flux generates one listing its files and every subfolder that
                // has one (fluxcd/pkg kustomize.Generator), such as the flux-system/ that flux bootstrap writes there.
                foreach (var entry in files.Select(f => f.Path).Where(p => p.StartsWith("clusters/", StringComparison.Ordinal)).Select(p => p[..p.LastIndexOf('/')]).Distinct(StringComparer.Ordinal))
                {
                    var folder = Path.Combine(dir, entry);
                    Assert.False(File.Exists(Path.Combine(folder, "kustomization.yaml")));
                    Directory.CreateDirectory(Path.Combine(folder, "flux-system"));
                    await File.WriteAllTextAsync(Path.Combine(folder, "flux-system", "gotk-sync.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n", TestContext.Current.CancellationToken);
                    await File.WriteAllTextAsync(Path.Combine(folder, "flux-system", "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [gotk-sync.yaml]\n", TestContext.Current.CancellationToken);
                    var own = Directory.GetFiles(folder, "*.yaml").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
                    await File.WriteAllTextAsync(Path.Combine(folder, "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" + string.Concat(own.Append("flux-system").Select(r => $"- ./{r}\n")), TestContext.Current.CancellationToken);
                    var (code, output, error) = await RunAsync("kubectl", "kustomize", folder);
                    Assert.True(code == 0, $"kubectl kustomize {name}/{entry} as Flux generates it: {error}");
                    Assert.Equal(own.Count + 1, Yaml.Documents(output).Count);
                }
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    // With SOPS, the files the operator writes (encrypted) into secrets/platform/: plain Secrets stand in for them here.
    private static int OperatorsSecretFiles(string dir, IReadOnlyList<RenderedFile> files)
    {
        var count = 0;
        foreach (var kustomization in files.Where(f => f.Path.StartsWith("secrets/", StringComparison.Ordinal) && f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal)))
        {
            foreach (var file in Yaml.Documents(kustomization.Content)[0]["resources"]!.AsArray().Select(r => (string)r!))
            {
                var name = file["secret-".Length..^".yaml".Length];
                File.WriteAllText(Path.Combine(dir, Path.GetDirectoryName(kustomization.Path)!, file), $"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: bruno-system\ndata: {{}}\n");
                count++;
            }
        }

        return count;
    }

    internal static IEnumerable<string> SecretNames(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    if (key is "secretKeyRef" && value?["optional"] is null)
                    {
                        yield return (string)value!["name"]!;
                    }
                    else if (key is "secretRef" or "secretReference")
                    {
                        yield return (string)value!["name"]!;
                    }
                    else if (key is "secret" && value?["secretName"] is JsonValue volume && value["optional"] is null)
                    {
                        yield return (string)volume!; // a Secret volume
                    }
                    else
                    {
                        foreach (var name in SecretNames(value))
                        {
                            yield return name;
                        }
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    foreach (var name in SecretNames(item))
                    {
                        yield return name;
                    }
                }

                break;
        }
    }

    private static bool LabelKey(string key)
    {
        var parts = key.Split('/');
        var name = parts[^1];
        return parts.Length <= 2 && (parts.Length == 1 || KubernetesOptions.IsDns1123Subdomain(parts[0])) && LabelValue(name) && name.Length > 0;
    }

    private static bool LabelValue(string? value) =>
        value is not null && value.Length <= 63 && (value.Length == 0 || (char.IsAsciiLetterOrDigit(value[0]) && char.IsAsciiLetterOrDigit(value[^1]) && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')));

    internal static string SourceFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Bruno.Kubernetes.Tests.csproj")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("The test project's folder was not found.");
    }

    internal static async Task<(int Code, string Output, string Error)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start (is it installed?)");
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await output, await error);
    }
}
