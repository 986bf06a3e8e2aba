using System.Text.Json.Nodes;
using Bruno.Core;
using Bruno.Kubernetes.Resources;

namespace Bruno.Kubernetes.Tests;

/// <summary>
/// Worker nodes for a Kamaji tenant cluster (issue 24, item 4, decision 0043): the kubeadm join path (a control plane
/// reachable from outside the management cluster, konnectivity kept, the join steps) and the Cluster API path (Cluster,
/// KamajiControlPlane, MachineDeployment and their templates, valid against the CRDs and referring to one another).
/// </summary>
public sealed class WorkerNodesTests
{
    private const string Domain = "k8s.example.com";

    private static readonly Dictionary<string, string> Labels = Manifest.Labels("tenant", RenderingTests.Tenant("initech", "kamaji"));

    private static KubernetesOptions Gateway(Action<KubernetesOptions>? change = null) => RenderingTests.ExternalLlm(o =>
    {
        (o.Kamaji.ServiceType, o.Kamaji.Domain, o.Kamaji.Gateway.Name) = ("ClusterIP", Domain, "tenants");
        change?.Invoke(o);
    });

    internal static KubernetesOptions ClusterApiOptions(Action<KubernetesOptions>? change = null) => RenderingTests.ExternalLlm(o =>
    {
        o.Kamaji.Workers.Mode = "cluster-api";
        o.Kamaji.Workers.Replicas = 3;
        var capi = o.Kamaji.Workers.ClusterApi;
        (capi.ClusterKind, capi.MachineTemplateKind) = ("VSphereCluster", "VSphereMachineTemplate");
        capi.ClusterSpec = """{"server": "vcenter.example.com", "identityRef": {"kind": "Secret", "name": "vsphere-credentials"}}""";
        capi.MachineTemplateSpec = """{"template": {"spec": {"template": "ubuntu-2404-kube-v1.35.7", "numCPUs": 4, "memoryMiB": 16384}}}""";
        capi.BootstrapSpec = """{"joinConfiguration": {"nodeRegistration": {"name": "{{ ds.meta_data.hostname }}"}}}""";
        change?.Invoke(o);
    });

    private static Dictionary<string, JsonObject> Objects(KubernetesOptions options, string tenant = "initech") =>
        Kamaji.ForTenant(tenant, Labels, "bruno-postgres", options.Kamaji).Manifests.ToDictionary(m => m.FileName, m => m.Body, StringComparer.Ordinal);

    private static JsonObject Spec(JsonObject o) => o["spec"]!.AsObject();

    private static string Group(JsonObject o) => ((string)o["apiVersion"]!).Split('/')[0];

    [Fact]
    public void RenderTenant_InClusterApiMode_AppliesClusterApisObjects_InsteadOfATenantControlPlane_AfterTheDataStore()
    {
        var files = new ManifestRenderer(ClusterApiOptions(), RenderingTests.Plans).RenderTenant(RenderingTests.Tenant("initech", "kamaji", "premium"));
        var objects = files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal) && !f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal))
            .SelectMany(f => Yaml.Documents(f.Content).Select(d => (f.Path, Document: d))).ToList();
        Assert.DoesNotContain(objects, o => (string?)o.Document["kind"] == "TenantControlPlane"); // the provider makes it from the KamajiControlPlane
        var controlPlane = objects.Where(o => o.Path.StartsWith("tenants/initech/controlplane/", StringComparison.Ordinal)).Select(o => (string)o.Document["kind"]!).ToList();
        Assert.Contains("Cluster", controlPlane);
        Assert.Contains("KamajiControlPlane", controlPlane);
        Assert.Contains("MachineDeployment", controlPlane);

        // controlplane-<id> waits for the Cluster to be Available (30m) and runs after tenant-<id>, which applies the DataStore's part
        var kustomization = objects.Single(o => o.Path == "tenants/initech/kustomization-controlplane.yaml").Document["spec"]!;
        Assert.Equal("Cluster", (string?)kustomization["healthChecks"]![0]!["kind"]);
        Assert.Equal("cluster.x-k8s.io/v1beta2", (string?)kustomization["healthCheckExprs"]![0]!["apiVersion"]);
        Assert.Equal("30m", (string?)kustomization["timeout"]);
        Assert.Equal("tenant-initech", (string?)kustomization["dependsOn"]![0]!["name"]);

        // everything with a schema passes it (the provider's own kinds and the KubeadmConfigTemplate have none here)
        var failures = objects.Where(o => !((string)o.Document["apiVersion"]!).StartsWith("infrastructure.cluster.x-k8s.io/", StringComparison.Ordinal) && (string?)o.Document["kind"] != "KubeadmConfigTemplate")
            .SelectMany(o => Schemas.Errors(o.Document, "v1.35.0").Select(e => $"{o.Path}: {e}")).ToList();
        Assert.Empty(failures);
    }

    [Fact]
    public void Kubeadm_TheControlPlaneIsReachedByItsLoadBalancer_OrByItsGatewayHostName_WithKonnectivityKept()
    {
        var byDefault = Spec(Objects(RenderingTests.ExternalLlm())["tenantcontrolplane.yaml"]);
        Assert.Equal("LoadBalancer", (string?)byDefault["controlPlane"]!["service"]!["serviceType"]);
        Assert.Null(byDefault["controlPlane"]!["gateway"]);
        Assert.Null(byDefault["networkProfile"]!["certSANs"]); // no host name: Kamaji takes the LoadBalancer's address
        Assert.Null(byDefault["networkProfile"]!["address"]);
        Assert.Equal(8132, (int)byDefault["addons"]!["konnectivity"]!["server"]!["port"]!);

        var named = Spec(Objects(RenderingTests.ExternalLlm(o => o.Kamaji.Domain = Domain))["tenantcontrolplane.yaml"]);
        Assert.Equal(["bruno-initech.k8s.example.com"], named["networkProfile"]!["certSANs"]!.AsArray().Select(s => (string)s!));

        var tcp = Objects(Gateway())["tenantcontrolplane.yaml"];
        var spec = Spec(tcp);
        Assert.Equal("ClusterIP", (string?)spec["controlPlane"]!["service"]!["serviceType"]);
        var gateway = spec["controlPlane"]!["gateway"]!;
        Assert.Equal("bruno-initech.k8s.example.com", (string?)gateway["hostname"]);
        var parent = gateway["parentRefs"]!.AsArray().Single()!;
        Assert.Equal(("tenants", "kamaji-system", "kube-apiserver"), ((string?)parent["name"], (string?)parent["namespace"], (string?)parent["sectionName"])); // Kamaji refuses a parent without sectionName
        Assert.Equal(["bruno-initech.k8s.example.com"], spec["networkProfile"]!["certSANs"]!.AsArray().Select(s => (string)s!));
        Assert.Equal(6443, (int)spec["networkProfile"]!["port"]!); // the endpoint is the host name on this port
        Assert.NotNull(spec["addons"]!["konnectivity"]);
        Assert.Contains("NodeRestriction", spec["kubernetes"]!["admissionControllers"]!.AsArray().Select(a => (string)a!));
        foreach (var version in Schemas.KubernetesVersions)
        {
            Assert.Empty(Schemas.Errors(tcp, version));
        }
    }

    [Fact]
    public void Options_RefuseAControlPlaneWorkersCannotReach_AndIncompleteClusterApiSettings()
    {
        foreach (var (change, setting) in new (Action<KubernetesOptions>, string)[]
        {
            (o => o.Kamaji.ServiceType = "ClusterIP", "Kamaji:ServiceType"),
            (o => o.Kamaji.ServiceType = "NodePort", "Kamaji:ServiceType"),
            (o => o.Kamaji.Gateway.Name = "tenants", "Kamaji:Gateway needs Bruno:Kubernetes:Kamaji:Domain"),
            (o => (o.Kamaji.Domain, o.Kamaji.Gateway.Name, o.Kamaji.Gateway.SectionName) = (Domain, "tenants", "Not_A_Name"), "Kamaji:Gateway needs Name and SectionName"),
            (o => o.Kamaji.Domain = "-bad-", "Kamaji:Domain"),
            (o => o.Kamaji.Domain = string.Join(".", Enumerable.Repeat(new string('a', 47), 4)), "Kamaji:Domain"), // 191: no room for bruno-<id>.
            (o => o.Kamaji.Workers.Mode = "manual", "Kamaji:Workers:Mode"),
        })
        {
            var refused = Assert.Throws<RenderException>(() => new ManifestRenderer(RenderingTests.ExternalLlm(change), new BrunoOptions().PlanResources()));
            Assert.Contains(setting, refused.Message, StringComparison.Ordinal);
        }

        foreach (var (change, setting) in new (Action<KubernetesOptions>, string)[]
        {
            (o => o.Kamaji.Workers.ClusterApi.ClusterKind = null, "ClusterKind and MachineTemplateKind"),
            (o => o.Kamaji.Workers.ClusterApi.MachineTemplateKind = "vsphere machine", "ClusterKind and MachineTemplateKind"),
            (o => o.Kamaji.Workers.ClusterApi.InfrastructureApiVersion = "v1beta1", "InfrastructureApiVersion"),
            (o => o.Kamaji.Workers.ClusterApi.ClusterKind = "ExampleCluster", "DynamicInfrastructureClusterPatch"),
            (o => (o.Kamaji.Workers.ClusterApi.ClusterKind, o.Kamaji.Workers.ClusterApi.MachineTemplateKind) = ("Metal3Cluster", "Metal3MachineTemplate"), "only a Gateway host name gives"),
            (o => o.Kamaji.Workers.ClusterApi.ClusterSpec = """{"controlPlaneEndpoint": {"host": "10.0.0.1", "port": 6443}}""", "ClusterSpec"),
            (o => o.Kamaji.Workers.ClusterApi.ClusterSpec = "not json", "ClusterSpec"),
            (o => o.Kamaji.Workers.ClusterApi.MachineTemplateSpec = """{"spec": {}}""", "MachineTemplateSpec"),
            (o => o.Kamaji.Workers.ClusterApi.BootstrapSpec = "[]", "BootstrapSpec"),
            (o => o.Kamaji.Workers.Replicas = -1, "Workers:Replicas"),
        })
        {
            Assert.True(ClusterApiOptions(change).Validate().Any(), setting);
            var refused = Assert.Throws<RenderException>(() => new ManifestRenderer(ClusterApiOptions(change), new BrunoOptions().PlanResources()));
            Assert.Contains(setting, refused.Message, StringComparison.Ordinal);
        }

        // Accepted: KubeVirt workers run inside the management cluster and reach a ClusterIP; a kind outside the provider's
        // list when its dynamic patching is on; Metal3 behind a Gateway.
        Assert.Empty(ClusterApiOptions(o => (o.Kamaji.ServiceType, o.Kamaji.Workers.ClusterApi.ClusterKind, o.Kamaji.Workers.ClusterApi.MachineTemplateKind) = ("ClusterIP", "KubevirtCluster", "KubevirtMachineTemplate")).Validate());
        Assert.Empty(ClusterApiOptions(o => (o.Kamaji.Workers.ClusterApi.ClusterKind, o.Kamaji.Workers.ClusterApi.DynamicInfrastructureCluster) = ("ExampleCluster", true)).Validate());
        Assert.Empty(ClusterApiOptions(o => (o.Kamaji.ServiceType, o.Kamaji.Domain, o.Kamaji.Gateway.Name, o.Kamaji.Workers.ClusterApi.ClusterKind) = ("ClusterIP", Domain, "tenants", "Metal3Cluster")).Validate());
        Assert.Contains("ServiceType must be LoadBalancer, or ClusterIP with a Gateway", Assert.Single(RenderingTests.ExternalLlm(o => o.Kamaji.ServiceType = "ClusterIP").Validate()), StringComparison.Ordinal);
    }

    [Fact]
    public void ClusterApi_ObjectsAreValidAgainstTheCrds_AndReferToOneAnother()
    {
        var options = ClusterApiOptions();
        var objects = Objects(options);
        Assert.Equal(
            ["cluster.yaml", "infrastructurecluster.yaml", "kamajicontrolplane.yaml", "kubeadmconfigtemplate.yaml", "machinedeployment.yaml", "machinetemplate.yaml"],
            objects.Keys.Order(StringComparer.Ordinal));
        foreach (var file in new[] { "cluster.yaml", "kamajicontrolplane.yaml", "machinedeployment.yaml" })
        {
            foreach (var version in Schemas.KubernetesVersions)
            {
                Assert.True(Schemas.Errors(objects[file], version) is { Count: 0 } errors, $"{file}: {string.Join("; ", Schemas.Errors(objects[file], version))}");
            }
        }

        var (cluster, kcp, infra, md, machines, bootstrap) = (objects["cluster.yaml"], objects["kamajicontrolplane.yaml"], objects["infrastructurecluster.yaml"], objects["machinedeployment.yaml"], objects["machinetemplate.yaml"], objects["kubeadmconfigtemplate.yaml"]);
        Assert.Equal("cluster.x-k8s.io/v1beta2", (string?)cluster["apiVersion"]);
        Assert.Equal("controlplane.cluster.x-k8s.io/v1alpha2", (string?)kcp["apiVersion"]);
        Assert.Equal("bootstrap.cluster.x-k8s.io/v1beta2", (string?)bootstrap["apiVersion"]);
        Assert.All(objects.Values, o => Assert.Equal("kamaji-initech", (string?)o["metadata"]!["namespace"])); // v1beta2 references have no namespace: everything beside the Cluster
        Assert.All(objects.Values, o => Assert.Equal("bruno-initech", (string?)o["metadata"]!["labels"]![ClusterApi.ClusterNameLabel]));

        // Cluster → KamajiControlPlane and infrastructure cluster, by apiGroup, kind and name.
        AssertRefersTo(Spec(cluster)["controlPlaneRef"]!, kcp);
        AssertRefersTo(Spec(cluster)["infrastructureRef"]!, infra);
        Assert.Equal(("infrastructure.cluster.x-k8s.io/v1beta1", "VSphereCluster"), ((string?)infra["apiVersion"], (string?)infra["kind"]));
        Assert.Equal("vcenter.example.com", (string?)Spec(infra)["server"]); // the operator's spec as given
        Assert.Null(Spec(infra)["controlPlaneEndpoint"]); // the provider writes it (VSphereCluster: check, else patch)

        // The KamajiControlPlane has the TenantControlPlane's name (the provider names the TCP after it, so the kubeconfig
        // Secret Flux reads keeps its name) and carries what the TenantControlPlane of the kubeadm path carries.
        var tcp = Spec(Objects(RenderingTests.ExternalLlm())["tenantcontrolplane.yaml"]);
        var k = Spec(kcp);
        Assert.Equal("bruno-initech", (string?)kcp["metadata"]!["name"]);
        Assert.True(Names.IsDns1035Label((string?)kcp["metadata"]!["name"]));
        Assert.Equal(("bruno-postgres", "v1.35.7", 2), ((string?)k["dataStoreName"], (string?)k["version"], (int)k["replicas"]!));
        Assert.Equal("LoadBalancer", (string?)k["network"]!["serviceType"]);
        Assert.True(JsonNode.DeepEquals(tcp["kubernetes"]!["admissionControllers"], k["admissionControllers"]));
        Assert.True(JsonNode.DeepEquals(tcp["kubernetes"]!["kubelet"], k["kubelet"]));
        Assert.True(JsonNode.DeepEquals(tcp["addons"], k["addons"])); // konnectivity included
        foreach (var component in new[] { "apiServer", "controllerManager", "scheduler", "kine" })
        {
            Assert.True(JsonNode.DeepEquals(tcp["controlPlane"]!["deployment"]!["resources"]![component], k[component]!["resources"]), component);
        }

        // The network the provider copies from the Cluster into the TenantControlPlane.
        var network = Spec(cluster)["clusterNetwork"]!;
        Assert.Equal(6443, (int)network["apiServerPort"]!);
        Assert.Equal(options.Kamaji.PodCidr, (string?)network["pods"]!["cidrBlocks"]![0]);
        Assert.Equal(options.Kamaji.ServiceCidr, (string?)network["services"]!["cidrBlocks"]![0]);

        // MachineDeployment: of this cluster, selecting its own template's labels, booting from the two templates.
        var m = Spec(md);
        Assert.Equal("bruno-initech", (string?)m["clusterName"]);
        Assert.Equal("bruno-initech", (string?)m["template"]!["spec"]!["clusterName"]);
        Assert.Equal(3, (int)m["replicas"]!);
        Assert.Equal("v1.35.7", (string?)m["template"]!["spec"]!["version"]);
        var templateLabels = m["template"]!["metadata"]!["labels"]!.AsObject();
        Assert.All(m["selector"]!["matchLabels"]!.AsObject(), l => Assert.Equal((string?)l.Value, (string?)templateLabels[l.Key]));
        Assert.Equal("bruno-initech", (string?)templateLabels[ClusterApi.ClusterNameLabel]);
        AssertRefersTo(m["template"]!["spec"]!["bootstrap"]!["configRef"]!, bootstrap);
        AssertRefersTo(m["template"]!["spec"]!["infrastructureRef"]!, machines);
        Assert.Equal("VSphereMachineTemplate", (string?)machines["kind"]);
        Assert.Equal(4, (int)Spec(machines)["template"]!["spec"]!["numCPUs"]!);
        Assert.Equal("{{ ds.meta_data.hostname }}", (string?)Spec(bootstrap)["template"]!["spec"]!["joinConfiguration"]!["nodeRegistration"]!["name"]);

        // The checks bite: a TenantControlPlane field on the KamajiControlPlane, a v1beta1 reference on the Cluster.
        var wrongField = kcp.DeepClone().AsObject();
        wrongField["spec"]!["networkProfile"] = new JsonObject { ["podCidrs"] = new JsonArray("10.244.0.0/16") };
        Assert.NotEmpty(Schemas.Errors(wrongField, Schemas.KubernetesVersions[0]));
        var v1beta1Reference = cluster.DeepClone().AsObject();
        v1beta1Reference["spec"]!["controlPlaneRef"]!["apiVersion"] = "controlplane.cluster.x-k8s.io/v1alpha2";
        Assert.NotEmpty(Schemas.Errors(v1beta1Reference, Schemas.KubernetesVersions[0]));

        // The provider's kinds and the bootstrap template have no CRD among the pinned schemas: the checker says so.
        Assert.Contains(Schemas.Errors(infra, Schemas.KubernetesVersions[0]), e => e.StartsWith("no schema", StringComparison.Ordinal));
    }

    private static void AssertRefersTo(JsonNode reference, JsonObject target)
    {
        Assert.Equal(Group(target), (string?)reference["apiGroup"]);
        Assert.Equal((string?)target["kind"], (string?)reference["kind"]);
        Assert.Equal((string?)target["metadata"]!["name"], (string?)reference["name"]);
        Assert.Null(reference["apiVersion"]); // v1beta1's field; v1beta2 refuses it
        Assert.Null(reference["namespace"]);
    }

    [Fact]
    public void ClusterApi_TheControlPlaneNamespacesQuota_HasRoomForEachMachinesBootstrapSecret()
    {
        string Secrets(KubernetesOptions o) => Kamaji.Quota("kamaji-initech", Labels, o.Kamaji).Spec.Hard["count/secrets"].ToString();
        Assert.Equal("64", Secrets(RenderingTests.ExternalLlm()));
        Assert.Equal("70", Secrets(ClusterApiOptions())); // 3 workers, each rolled over once
        Assert.Equal("264", Secrets(ClusterApiOptions(o => o.Kamaji.Workers.Replicas = 100)));
    }

    [Fact]
    public void ClusterApi_NamesFitTheirLimits_ForTheLongestTenantId()
    {
        var longest = new string('a', 30) + "-" + new string('b', 32);
        Assert.Equal(63, longest.Length);
        var objects = Objects(ClusterApiOptions(), longest);
        var cluster = (string)objects["cluster.yaml"]["metadata"]!["name"]!;
        Assert.True(Names.IsDns1035Label(cluster)); // a label value (Cluster API's webhook) and a TenantControlPlane name (Kamaji's)
        Assert.True(Names.IsDns1123Label((string?)objects["kubeadmconfigtemplate.yaml"]["metadata"]!["name"]));
        Assert.True(Names.IsDns1123Label((string?)objects["machinetemplate.yaml"]["metadata"]!["name"]));
        foreach (var version in Schemas.KubernetesVersions)
        {
            Assert.Empty(Schemas.Errors(objects["machinedeployment.yaml"], version)); // clusterName at most 63
            Assert.Empty(Schemas.Errors(objects["cluster.yaml"], version));
        }
    }

    [Fact]
    public void ClusterApi_ATemplateChange_RenamesTheTemplate_SoTheMachinesRollOut()
    {
        var before = Objects(ClusterApiOptions());
        var same = Objects(ClusterApiOptions());
        var bigger = Objects(ClusterApiOptions(o => o.Kamaji.Workers.ClusterApi.MachineTemplateSpec = """{"template": {"spec": {"template": "ubuntu-2404-kube-v1.35.7", "numCPUs": 8, "memoryMiB": 32768}}}"""));
        string Name(Dictionary<string, JsonObject> o, string file) => (string)o[file]["metadata"]!["name"]!;
        string Ref(Dictionary<string, JsonObject> o) => (string)o["machinedeployment.yaml"]["spec"]!["template"]!["spec"]!["infrastructureRef"]!["name"]!;
        Assert.Equal(Name(before, "machinetemplate.yaml"), Name(same, "machinetemplate.yaml"));
        Assert.NotEqual(Name(before, "machinetemplate.yaml"), Name(bigger, "machinetemplate.yaml"));
        Assert.Equal(Name(bigger, "machinetemplate.yaml"), Ref(bigger));
        Assert.Equal(Name(before, "kubeadmconfigtemplate.yaml"), Name(bigger, "kubeadmconfigtemplate.yaml"));
        Assert.StartsWith("workers-", Name(before, "machinetemplate.yaml"), StringComparison.Ordinal);
    }

    [Fact]
    public void ClusterApi_Metal3BehindAGateway_GetsTheEndpointUpFront_AndTheProviderReportsTheApiServersPort()
    {
        var objects = Objects(ClusterApiOptions(o =>
        {
            (o.Kamaji.ServiceType, o.Kamaji.Domain, o.Kamaji.Gateway.Name) = ("ClusterIP", Domain, "tenants");
            var capi = o.Kamaji.Workers.ClusterApi;
            (capi.ClusterKind, capi.MachineTemplateKind, capi.ClusterSpec) = ("Metal3Cluster", "Metal3MachineTemplate", """{"noCloudProvider": true}""");
        }));
        var endpoint = Spec(objects["infrastructurecluster.yaml"])["controlPlaneEndpoint"]!;
        Assert.Equal(("bruno-initech.k8s.example.com", 6443), ((string?)endpoint["host"], (int)endpoint["port"]!));
        Assert.True((bool)Spec(objects["infrastructurecluster.yaml"])["noCloudProvider"]!);
        var network = Spec(objects["kamajicontrolplane.yaml"])["network"]!;
        Assert.Equal("bruno-initech.k8s.example.com:6443", (string?)network["gateway"]!["hostname"]); // without a port the provider would report 443
        Assert.Equal(("tenants", "kamaji-system", "kube-apiserver"), ((string?)network["gateway"]!["name"], (string?)network["gateway"]!["namespace"], (string?)network["gateway"]!["sectionName"]));
        Assert.Null(network["certSANs"]); // the provider adds the gateway's host itself
        Assert.Equal("ClusterIP", (string?)network["serviceType"]);
        foreach (var version in Schemas.KubernetesVersions)
        {
            Assert.Empty(Schemas.Errors(objects["kamajicontrolplane.yaml"], version));
        }

        var lb = Spec(Objects(ClusterApiOptions(o => o.Kamaji.Domain = Domain))["kamajicontrolplane.yaml"])["network"]!;
        Assert.Equal(["bruno-initech.k8s.example.com"], lb["certSANs"]!.AsArray().Select(s => (string)s!));
        Assert.Null(lb["gateway"]);
    }

    [Fact]
    public void ForTenant_PicksTheObjectsByMode_WithTheHealthCheckFluxNeeds_AndTheInClusterKubeconfig()
    {
        var kubeadm = Kamaji.ForTenant("initech", Labels, "bruno-postgres", RenderingTests.ExternalLlm().Kamaji);
        Assert.Equal(["tenantcontrolplane.yaml"], kubeadm.Manifests.Select(m => m.FileName));
        Assert.Equal(new Flux.HealthCheck("kamaji.clastix.io/v1alpha1", "TenantControlPlane", "bruno-initech", "kamaji-initech"), kubeadm.HealthCheck);
        Assert.Same(Kamaji.ReadyExpression, kubeadm.Expression);

        var capi = Kamaji.ForTenant("initech", Labels, "bruno-postgres", ClusterApiOptions().Kamaji);
        Assert.DoesNotContain(capi.Manifests, m => m.Kind == "TenantControlPlane"); // the provider creates it
        Assert.Equal(new Flux.HealthCheck("cluster.x-k8s.io/v1beta2", "Cluster", "bruno-initech", "kamaji-initech"), capi.HealthCheck);
        Assert.Equal(("cluster.x-k8s.io/v1beta2", "Cluster"), (capi.Expression.ApiVersion, capi.Expression.Kind));
        Assert.Contains("c.type == 'Available' && c.status == 'True'", capi.Expression.Current, StringComparison.Ordinal); // v1beta2 has no Ready condition
        Assert.Contains("has(status.conditions)", capi.Expression.Current, StringComparison.Ordinal);
        Assert.Equal("30m", capi.Timeout);

        // The kubeadm file is, byte for byte, the one RenderTenant writes today (so it can take ForTenant's files as they are).
        var rendered = RenderingTests.Cases()["kamaji"].Single(f => f.Path == "tenants/initech/controlplane/tenantcontrolplane.yaml").Content;
        Assert.Equal(rendered, Bruno.Kubernetes.Yaml.YamlWriter.Write(Kamaji.ForTenant("initech", Manifest.Labels("tenant", RenderingTests.Tenant("initech", "kamaji", "premium", "soc2", "hipaa")), "bruno-postgres", RenderingTests.ExternalLlm().Kamaji).Manifests.Single().Body));

        // Both paths apply the workloads through Kamaji's admin kubeconfig, in-cluster key.
        Assert.Equal(("bruno-initech-admin-kubeconfig", "admin.svc"), kubeadm.Kubeconfig);
        Assert.Equal(kubeadm.Kubeconfig, capi.Kubeconfig);

        // The entry a Flux Kustomization would get is valid against its CRD.
        var flux = RenderingTests.ExternalLlm().Flux;
        var entry = Flux.Kustomization(new Flux.Spec("tenant-initech", flux.Namespace, "tenants/initech", Labels, [capi.HealthCheck], [], Timeout: capi.Timeout, HealthCheckExpressions: [capi.Expression]), flux);
        foreach (var version in Schemas.KubernetesVersions)
        {
            Assert.Empty(Schemas.Errors(entry, version));
        }
    }

    [Fact]
    public void JoinInstructions_MintAShortLivedTokenOffTheCommandLine_AndNameWhatKubeadmJoinReads()
    {
        var tenant = RenderingTests.Tenant("initech", "kamaji");
        var lines = JoinInstructions.For(tenant, Gateway());
        var text = string.Join('\n', lines);
        Assert.Contains("kubectl -n kamaji-initech get secret bruno-initech-admin-kubeconfig -o jsonpath='{.data.admin\\.conf}' | base64 -d > initech.kubeconfig", lines);
        Assert.Contains("kubeadm token create --kubeconfig initech.kubeconfig --ttl 1h --print-join-command > initech.join", lines);
        Assert.Contains("ssh root@\"$NODE\" sh < initech.join", lines); // the token travels on standard input
        Assert.Contains("-n kube-public get configmap cluster-info", text, StringComparison.Ordinal);
        Assert.Contains("get configmap kubeadm-config kubelet-config", text, StringComparison.Ordinal);
        Assert.Contains("bruno-initech.k8s.example.com:6443", text, StringComparison.Ordinal);
        Assert.Contains("8132", text, StringComparison.Ordinal);
        Assert.True(lines.ToList().IndexOf("umask 077") is >= 0 and var umask && umask < lines.ToList().FindIndex(l => l.Contains("> initech.kubeconfig", StringComparison.Ordinal)));
        Assert.DoesNotContain("--token", text, StringComparison.Ordinal);

        var loadBalancer = string.Join('\n', JoinInstructions.For(tenant, RenderingTests.ExternalLlm()));
        Assert.Contains("get tenantcontrolplane bruno-initech -o jsonpath='{.status.controlPlaneEndpoint}'", loadBalancer, StringComparison.Ordinal);

        var capi = JoinInstructions.For(tenant, ClusterApiOptions());
        Assert.Contains("kubectl -n kamaji-initech get cluster,kamajicontrolplane,machinedeployment,machines", capi);
        Assert.DoesNotContain(capi, l => l.Contains("kubeadm token", StringComparison.Ordinal));

        Assert.Throws<RenderException>(() => JoinInstructions.For(RenderingTests.Tenant("acme", "namespace"), RenderingTests.ExternalLlm()));
        Assert.Contains("ServiceType", Assert.Throws<RenderException>(() => JoinInstructions.For(tenant, RenderingTests.ExternalLlm(o => o.Kamaji.ServiceType = "ClusterIP"))).Message, StringComparison.Ordinal);
    }
}
