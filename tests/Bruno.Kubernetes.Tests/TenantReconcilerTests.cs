using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Bruno.Contracts;
using Bruno.Core;

namespace Bruno.Kubernetes.Tests;

/// <summary>
/// What a tenant's Flux Kustomizations do and may do (issue 24): which objects each applies, in which order, as which
/// identity, from which namespace's source; where the keys of a tenant in a cluster of its own come from; and a Kamaji
/// tenant's own PostgreSQL.
/// </summary>
public sealed partial class TenantReconcilerTests
{
    private static readonly IReadOnlyDictionary<string, PlanResources> Plans = new BrunoOptions().PlanResources();

    private static readonly string[] ApplyAndPrune = ["get", "list", "create", "patch", "delete"];

    private static readonly string[] PlatformOnlyResources = ["resourcequotas", "limitranges", "networkpolicies", "namespaces", "roles", "rolebindings", "clusterroles", "clusterrolebindings", "*"];

    // Flux's variable names (fluxcd/pkg kustomize: ^[_[:alpha:]][_[:alpha:][:digit:]]*$).
    [GeneratedRegex(@"^[_A-Za-z][_A-Za-z0-9]*$")]
    private static partial Regex FluxVariable();

    [GeneratedRegex(@"\$\{([^}]*)\}")]
    private static partial Regex Placeholder();

    private static Dictionary<string, JsonObject> Documents(IEnumerable<RenderedFile> files) =>
        files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal) && !f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal))
            .ToDictionary(f => f.Path, f => Yaml.Documents(f.Content)[0], StringComparer.Ordinal);

    private static IEnumerable<(string Path, JsonObject Document)> FluxKustomizations(Dictionary<string, JsonObject> documents) =>
        documents.Where(d => (string?)d.Value["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1").Select(d => (d.Key, d.Value));

    // The files a Flux Kustomization applies: those its path's kustomization.yaml lists.
    private static List<string> Applied(JsonObject kustomization, IReadOnlyList<RenderedFile> files)
    {
        var folder = ((string)kustomization["spec"]!["path"]!).TrimStart('.', '/');
        var list = files.Single(f => f.Path == folder + "/kustomization.yaml");
        return [.. Yaml.Documents(list.Content)[0]["resources"]!.AsArray().Select(r => folder + "/" + (string)r!)];
    }

    private static string Key(JsonObject document) => $"{(string?)document["metadata"]!["namespace"]}/{(string)document["metadata"]!["name"]!}";

    [Fact]
    public void Issue24_ADataStore_IsAppliedByAKustomizationThatTheControlPlanesKustomizationDependsOn()
    {
        foreach (var name in new[] { "kamaji-own-datastore", "kamaji-own-postgres" })
        {
            var files = RenderingTests.Cases()[name];
            var documents = Documents(files);
            var kustomizations = FluxKustomizations(documents).Select(k => k.Document).ToList();
            JsonObject ApplierOf(string kind) => kustomizations.Single(k => Applied(k, files).Any(p => (string?)documents[p]["kind"] == kind));
            var dataStore = ApplierOf("DataStore");
            var controlPlane = ApplierOf("TenantControlPlane");
            Assert.NotEqual(Key(dataStore), Key(controlPlane)); // never one dry-run for both: Kamaji's webhook looks the DataStore up
            Assert.Contains(controlPlane["spec"]!["dependsOn"]!.AsArray(), d => $"{(string?)d!["namespace"]}/{(string?)d["name"]}" == Key(dataStore));
        }

        // the Kustomization applying the DataStore waits for the PostgreSQL it points at
        var own = Documents(RenderingTests.Cases()["kamaji-own-postgres"]);
        Assert.Contains(own["flux-tenants/tenant-umbrella.yaml"]["spec"]!["healthChecks"]!.AsArray(), h => (string?)h!["kind"] == "Cluster" && (string?)h["name"] == "pg-umbrella");
    }

    [Fact]
    public void Issue24_NoKustomization_RunsAsKustomizeControllersDefault_OrReachesIntoAnotherNamespace()
    {
        var checkedRemote = 0;
        foreach (var (name, files) in RenderingTests.Cases().Where(c => !c.Key.StartsWith("platform", StringComparison.Ordinal)))
        {
            var documents = Documents(files);
            foreach (var (path, k) in FluxKustomizations(documents))
            {
                var spec = k["spec"]!;
                var ns = (string)k["metadata"]!["namespace"]!;
                Assert.False(string.IsNullOrEmpty((string?)spec["serviceAccountName"]), $"{name} {path}: no serviceAccountName (it would run as --default-service-account, or as cluster-admin)");
                Assert.True(spec["sourceRef"]!["namespace"] is null || (string?)spec["sourceRef"]!["namespace"] == ns, $"{name} {path}: a source in another namespace (--no-cross-namespace-refs)");
                Assert.All(spec["dependsOn"]?.AsArray() ?? [], d => Assert.Equal(ns, (string?)d!["namespace"] ?? ns));
                if (spec["kubeConfig"] is not null)
                {
                    checkedRemote++;

                    // its source is a copy in its own namespace, applied by the tenant's entry with the kubeconfig's namespace
                    var source = documents.Values.Single(d => (string?)d["kind"] == (string?)spec["sourceRef"]!["kind"] && (string?)d["metadata"]!["namespace"] == ns);
                    Assert.Equal((string?)spec["sourceRef"]!["name"], (string?)source["metadata"]!["name"]);
                    Assert.NotEqual("kustomize-controller", (string?)spec["serviceAccountName"]);
                }
            }
        }

        Assert.True(checkedRemote >= 6);
    }

    [Fact]
    public void Issue24_AWorkloadsReconciler_MayApplyAndPruneItsFolder_AndNotTouchQuotaPoliciesOrRights()
    {
        foreach (var name in new[] { "namespace", "namespace-external-llm", "kamaji", "kamaji-own-postgres", "dedicated-cluster" })
        {
            var files = RenderingTests.Cases()[name];
            var documents = Documents(files);
            var (_, workloads) = FluxKustomizations(documents).Single(k => ((string)k.Document["metadata"]!["name"]!).StartsWith("workloads-", StringComparison.Ordinal));
            var account = (string)workloads["spec"]!["serviceAccountName"]!;
            var accountNs = (string)workloads["metadata"]!["namespace"]!;
            var applied = Applied(workloads, files).Select(p => documents[p]).ToList();
            var binding = documents.Values.Single(d => (string?)d["kind"] == "RoleBinding" && d["subjects"]!.AsArray().Any(s => (string?)s!["name"] == account && (string?)s["namespace"] == accountNs));
            var role = documents.Values.Single(d => (string?)d["kind"] == "Role" && (string?)d["metadata"]!["name"] == (string?)binding["roleRef"]!["name"] && (string?)d["metadata"]!["namespace"] == (string?)binding["metadata"]!["namespace"]);
            var rules = role["rules"]!.AsArray().Select(r => (Resources: r!["resources"]!.AsArray().Select(x => (string)x!).ToList(), Verbs: r["verbs"]!.AsArray().Select(x => (string)x!).ToList())).ToList();

            // everything it applies is in the Role's namespace, and the Role lets it apply, diff and prune each kind
            foreach (var document in applied)
            {
                Assert.Equal((string?)role["metadata"]!["namespace"], (string?)document["metadata"]!["namespace"]);
                var resource = ((string)document["kind"]!).ToLowerInvariant() + (((string)document["kind"]!).EndsWith('s') ? "es" : "s");
                Assert.Contains(rules, r => r.Resources.Contains(resource) && ApplyAndPrune.All(r.Verbs.Contains));
            }

            // and nothing that is the platform's
            Assert.DoesNotContain(rules, r => r.Resources.Intersect(PlatformOnlyResources).Any() || r.Verbs.Contains("*") || r.Verbs.Contains("escalate") || r.Verbs.Contains("bind"));
            Assert.DoesNotContain(applied, d => (string?)d["kind"] is "Namespace" or "ResourceQuota" or "LimitRange" or "NetworkPolicy" or "Role" or "RoleBinding");
        }
    }

    [Fact]
    public void Issue24_ATenantInAClusterOfItsOwn_GetsNoExternalSecretThere_AndItsKeysAsFluxVariablesFromTheManagementCluster()
    {
        var files = RenderingTests.Cases()["kamaji"];
        var documents = Documents(files);
        var remoteFolders = new[] { "tenants/initech/cluster/", "tenants/initech/workloads/" };
        Assert.DoesNotContain(documents, d => remoteFolders.Any(f => d.Key.StartsWith(f, StringComparison.Ordinal)) && (string?)d.Value["kind"] == "ExternalSecret");

        var workloads = documents["tenants/initech/kustomization-workloads.yaml"];
        var from = Assert.Single(workloads["spec"]!["postBuild"]!["substituteFrom"]!.AsArray())!;
        Assert.Equal("Secret", (string?)from["kind"]);
        Assert.Null(from["optional"]); // Flux waits for the Secret rather than substituting nothing

        // an ExternalSecret next to the Kustomization (Flux reads substituteFrom from its own namespace) makes that Secret,
        // with only keys Flux accepts as variable names
        var external = documents.Values.Single(d => (string?)d["kind"] == "ExternalSecret" && (string?)d["spec"]!["target"]!["name"] == (string?)from["name"]);
        Assert.Equal((string?)workloads["metadata"]!["namespace"], (string?)external["metadata"]!["namespace"]);
        var variables = external["spec"]!["target"]!["template"]!["data"]!.AsObject().Select(p => p.Key).ToList();
        Assert.All(variables, v => Assert.Matches(FluxVariable(), v));

        // the workloads folder names those variables and no other: every ${…} in it is one of them
        var placeholders = Applied(workloads, files).SelectMany(p => Placeholder().Matches(files.Single(f => f.Path == p).Content).Select(m => m.Groups[1].Value)).ToList();
        Assert.NotEmpty(placeholders);
        Assert.All(placeholders, p => Assert.Contains(p, variables));
        var keys = documents["tenants/initech/workloads/secret-keys.yaml"];
        Assert.Equal(["llm-api-key", "master-key"], keys["data"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));

        // in every case, a Kustomization that substitutes applies no ${…} but the variables its Secrets provide (the
        // platform's dashboards hold Grafana's ${…}, and the Kustomization applying them substitutes nothing)
        foreach (var (name, caseFiles) in RenderingTests.Cases())
        {
            var all = Documents(caseFiles);
            foreach (var (path, k) in FluxKustomizations(all).Where(k => k.Document["spec"]!["postBuild"] is not null))
            {
                var provided = k["spec"]!["postBuild"]!["substituteFrom"]!.AsArray()
                    .SelectMany(f => all.Values.Where(d => (string?)d["kind"] == "ExternalSecret" && (string?)d["spec"]!["target"]!["name"] == (string?)f!["name"]))
                    .SelectMany(e => e["spec"]!["target"]!["template"]!["data"]!.AsObject().Select(p => p.Key)).ToList();
                Assert.All(Applied(k, caseFiles).SelectMany(p => Placeholder().Matches(caseFiles.Single(f => f.Path == p).Content).Select(m => m.Groups[1].Value)), v => Assert.Contains(v, provided));
            }
        }

        // without External Secrets the operator creates the keys Secret in the tenant's cluster, as before
        var plain = Documents(RenderingTests.Cases()["dedicated-cluster"]);
        Assert.DoesNotContain(plain.Values, d => (string?)d["kind"] is "ExternalSecret" or "Secret");
        Assert.Null(plain["tenants/bigbank/kustomization-workloads.yaml"]["spec"]!["postBuild"]);
    }

    [Fact]
    public void Issue24_ARemoteTenantsSource_IsACopyOfAGitOrOciSource_AndOtherKindsAreRefused()
    {
        var oci = Documents(new ManifestRenderer(RenderingTests.ExternalLlm(o =>
        {
            o.Flux.SourceKind = "OCIRepository";
            o.Flux.SourceUrl = "oci://registry.example.com/platform/bruno-manifests";
            o.Flux.SourceRef = "tag:production";
            o.ExternalSecretStore = "vault";
        }), Plans).RenderTenant(RenderingTests.Tenant("bigbank", "dedicated-cluster")));
        var source = oci["tenants/bigbank/source.yaml"];
        Assert.Equal("OCIRepository", (string?)source["kind"]);
        Assert.Equal("dedicated-bigbank", (string?)source["metadata"]!["namespace"]);
        Assert.Equal("production", (string?)source["spec"]!["ref"]!["tag"]);
        Assert.Equal("kubernetes.io/dockerconfigjson", (string?)oci["tenants/bigbank/externalsecret-source.yaml"]["spec"]!["target"]!["template"]!["type"]);
        foreach (var document in oci.Values)
        {
            Assert.Empty(Schemas.Errors(document, "v1.35.0"));
        }

        var bucket = RenderingTests.ExternalLlm(o => o.Flux.SourceKind = "Bucket");
        Assert.Contains("Flux:SourceKind", Assert.Throws<RenderException>(() => new ManifestRenderer(bucket, Plans).RenderTenant(RenderingTests.Tenant("initech", "kamaji"))).Message, StringComparison.Ordinal);
        Assert.NotEmpty(new ManifestRenderer(bucket, Plans).RenderTenant(RenderingTests.Tenant("acme", "namespace"))); // a namespace tenant reads the source in flux-system
        var noUrl = RenderingTests.ExternalLlm(o => o.Flux.SourceUrl = null);
        Assert.Contains("Flux:SourceUrl", Assert.Throws<RenderException>(() => new ManifestRenderer(noUrl, Plans).RenderTenant(RenderingTests.Tenant("bigbank", "dedicated-cluster"))).Message, StringComparison.Ordinal);
        var badRef = RenderingTests.ExternalLlm(o => o.Flux.SourceRef = "digest:sha256:00"); // a digest is an OCI reference
        Assert.Contains("Flux:SourceRef", Assert.Throws<RenderException>(() => new ManifestRenderer(badRef, Plans)).Message, StringComparison.Ordinal);
        var unreachable = RenderingTests.ExternalLlm(o => (o.RemoteTenants.ManagementCidrs, o.RemoteTenants.IngressNamespace) = ([], null));
        Assert.Contains("RemoteTenants:ManagementCidrs", Assert.Throws<RenderException>(() => new ManifestRenderer(unreachable, Plans).RenderTenant(RenderingTests.Tenant("initech", "kamaji"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue24_APlanWithItsOwnDataStore_GivesAKamajiTenantACloudNativePgClusterOfItsOwn()
    {
        var documents = Documents(RenderingTests.Cases()["kamaji-own-postgres"]);
        var cluster = documents["tenants/umbrella/postgres-cluster.yaml"];
        Assert.Equal("postgresql.cnpg.io/v1", (string?)cluster["apiVersion"]);
        Assert.Equal("kamaji-umbrella", (string?)cluster["metadata"]!["namespace"]);
        Assert.Equal(3L, (long)cluster["spec"]!["instances"]!);
        Assert.True((bool)cluster["spec"]!["enableSuperuserAccess"]!); // Kamaji creates a database and a role per control plane

        var store = documents["tenants/umbrella/datastore.yaml"]["spec"]!;
        Assert.Equal("pg-umbrella-rw.kamaji-umbrella.svc:5432", (string?)Assert.Single(store["endpoints"]!.AsArray()));
        Assert.Equal("pg-umbrella-superuser", (string?)store["basicAuth"]!["username"]!["secretReference"]!["name"]);
        Assert.Equal("password", (string?)store["basicAuth"]!["password"]!["secretReference"]!["keyPath"]);
        Assert.Equal("pg-umbrella-ca", (string?)store["tlsConfig"]!["certificateAuthority"]!["certificate"]!["secretReference"]!["name"]);
        Assert.All([store["basicAuth"]!["username"]!, store["tlsConfig"]!["certificateAuthority"]!["certificate"]!], r => Assert.Equal("kamaji-umbrella", (string?)r["secretReference"]!["namespace"]));
        Assert.Equal("bruno-umbrella", (string?)documents["tenants/umbrella/controlplane/tenantcontrolplane.yaml"]["spec"]!["dataStore"]);

        // the namespace's quota makes room for the instances, their claims and Services
        var hard = documents["tenants/umbrella/resourcequota.yaml"]["spec"]!["hard"]!;
        var shared = Documents(RenderingTests.Cases()["kamaji"])["tenants/initech/resourcequota.yaml"]["spec"]!["hard"]!;
        Assert.Equal("3", hard["count/persistentvolumeclaims"]!.ToString());
        Assert.Equal(int.Parse(shared["pods"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture) + 4, int.Parse(hard["pods"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("60Gi", hard["requests.storage"]!.ToString());

        // a plan without it keeps the shared DataStore; and the instances need the API server's address
        Assert.DoesNotContain(Documents(RenderingTests.Cases()["kamaji"]).Values, d => (string?)d["kind"] is "Cluster" or "DataStore");
        var noApi = RenderingTests.ExternalLlm();
        Assert.Contains("Kamaji:ApiServerCidrs", Assert.Throws<RenderException>(() => new ManifestRenderer(noApi, RenderingTests.OwnPostgresPlans).RenderTenant(RenderingTests.Tenant("umbrella", "kamaji", "premium"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Issue24_AConfiguredOwnDataStore_ReachesThePlansResources()
    {
        var options = new BrunoOptions();
        options.Plans["premium"].OwnDataStore = new Core.Tenants.OwnDataStoreOptions { Enabled = true, Instances = 3, StorageGiB = 20, CpuCores = 1, MemoryGiB = 2 };
        Assert.Equal(new DataStorePlan(3, 20, 1, 2), options.PlanResources()["premium"].OwnDataStore);
        Assert.Null(options.PlanResources()["default"].OwnDataStore);
        options.Plans["premium"].OwnDataStore.Instances = 9;
        Assert.Contains(Core.Tenants.PlanOptionsValidator.Errors(options.Plans), e => e.Contains("premium:OwnDataStore", StringComparison.Ordinal));
    }
}
