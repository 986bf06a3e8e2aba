using Bruno.Contracts;
using Bruno.Core;

namespace Bruno.Kubernetes.Tests;

/// <summary>
/// The checker that models Flux and the API server (<see cref="FluxModel"/>): one small installation per class of
/// finding shows it reports that class (and stops reporting it once fixed), and the real rendered installation, every
/// isolation level under one options set, has no finding.
/// </summary>
public sealed class FluxModelTests
{
    private static readonly IReadOnlyDictionary<string, PlanResources> Plans = new BrunoOptions().PlanResources();

    private static readonly FluxOptions Flux = new();

    // A Flux Kustomization in flux-system that runs as kustomize-controller (cluster-admin), with extra spec fields.
    private static RenderedFile Ks(string name, string path, string extra = "", string ns = "flux-system", string account = "serviceAccountName: kustomize-controller, ") =>
        new($"flux-system/{name}.yaml", $"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{{account}interval: 5m, path: ./{path}, prune: true, sourceRef: {{kind: GitRepository, name: flux-system}}{(extra.Length > 0 ? ", " + extra : "")}}}\n");

    private static RenderedFile File(string path, string yaml) => new(path, yaml);

    private static List<Finding> Check(params RenderedFile[] files) => [.. FluxModel.Check(files, Flux, [])];

    private static void Reports(IReadOnlyList<Finding> findings, params string[] expected)
    {
        var text = string.Join("\n", findings);
        foreach (var e in expected)
        {
            Assert.Contains(e, text, StringComparison.Ordinal);
        }
    }

    private const string Namespace = "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n";

    private const string ExternalSecret = "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: keys, namespace: apps}\nspec: {secretStoreRef: {kind: ClusterSecretStore, name: vault}, target: {name: keys}, data: [{secretKey: a, remoteRef: {key: b}}]}\n";

    private const string ExternalSecretsRelease = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: external-secrets, namespace: flux-system}\nspec: {interval: 1h, serviceAccountName: helm-controller, chart: {spec: {chart: external-secrets, sourceRef: {kind: HelmRepository, name: external-secrets}}}}\n";

    private const string ExternalSecretsRepository = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: external-secrets, namespace: flux-system}\nspec: {url: https://charts.external-secrets.io}\n";

    private const string Store = "apiVersion: external-secrets.io/v1\nkind: ClusterSecretStore\nmetadata: {name: vault}\nspec: {provider: {fake: {data: []}}}\n";

    [Fact]
    public void AKindWhoseCrdNoEarlierKustomizationInstalls_IsReported_UntilAChartInAWaitedDependencyInstallsIt()
    {
        Reports(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), File("apps/externalsecret.yaml", ExternalSecret)),
            "ExternalSecret.external-secrets.io apps/keys: no CRD for ExternalSecret.external-secrets.io");

        // a chart that installs the kind, in a Kustomization the apps do not wait for: not known installed
        var infra = new[] { File("infrastructure/helmrelease.yaml", ExternalSecretsRelease), File("infrastructure/helmrepository.yaml", ExternalSecretsRepository), File("infrastructure/clustersecretstore.yaml", Store) };
        Reports(Check([Ks("infrastructure", "infrastructure", "wait: true"), Ks("apps", "apps"), .. infra, File("apps/namespace.yaml", Namespace), File("apps/externalsecret.yaml", ExternalSecret)]),
            "is installed by HelmRelease.helm.toolkit.fluxcd.io flux-system/external-secrets", "not known Ready");

        // a HelmRelease in another namespace cannot run as helm-controller, nor depend on a release that is not rendered
        var elsewhere = ExternalSecretsRelease.Replace("namespace: flux-system}", "namespace: apps}", StringComparison.Ordinal).Replace("interval: 1h,", "interval: 1h, dependsOn: [{name: cert-manager}],", StringComparison.Ordinal);
        Reports(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), File("apps/helmrelease.yaml", elsewhere), File("apps/helmrepository.yaml", ExternalSecretsRepository.Replace("flux-system", "apps", StringComparison.Ordinal))),
            "runs as system:serviceaccount:apps:helm-controller, which is not the controller's own account", "dependsOn HelmRelease apps/cert-manager, which is not rendered");

        // dependsOn a Kustomization that waits for the HelmRelease: installed (the store is then in the same
        // Kustomization as the release, which is wrong in turn: its own CRD comes from that release)
        var findings = Check([Ks("infrastructure", "infrastructure", "wait: true"), Ks("apps", "apps", "dependsOn: [{name: infrastructure}]"), .. infra, File("apps/namespace.yaml", Namespace), File("apps/externalsecret.yaml", ExternalSecret)]);
        Assert.DoesNotContain(findings, f => f.Object.StartsWith("ExternalSecret", StringComparison.Ordinal));
        Reports(findings, "ClusterSecretStore.external-secrets.io vault: ");

        // a CustomResourceDefinition in the same Kustomization is fine: Flux applies CRDs in a stage of their own
        var crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}, versions: []}\n";
        var widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: apps}\n";
        Assert.Empty(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), File("apps/crd.yaml", crd), File("apps/widget.yaml", widget)));
    }

    [Fact]
    public void ADataStoreAppliedByTheSameKustomizationAsItsControlPlane_IsTheDryRunFailure_AndAnEarlierOneIsFine()
    {
        var kamaji = new[]
        {
            File("infrastructure/helmrelease.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: kamaji, namespace: flux-system}\nspec: {interval: 1h, serviceAccountName: helm-controller, chart: {spec: {chart: kamaji, sourceRef: {kind: HelmRepository, name: clastix}}}}\n"),
            File("infrastructure/helmrepository.yaml", "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: clastix, namespace: flux-system}\nspec: {url: https://clastix.github.io/charts}\n"),
        };
        var store = File("datastore/datastore.yaml", "apiVersion: kamaji.clastix.io/v1alpha1\nkind: DataStore\nmetadata: {name: pg}\nspec: {driver: PostgreSQL, endpoints: ['pg:5432']}\n");
        var tcp = "apiVersion: kamaji.clastix.io/v1alpha1\nkind: TenantControlPlane\nmetadata: {name: t1, namespace: apps}\nspec: {dataStore: pg, controlPlane: {service: {serviceType: ClusterIP}}, kubernetes: {version: v1.35.0}}\n";

        var same = Check([Ks("infrastructure", "infrastructure", "wait: true"), Ks("apps", "apps", "dependsOn: [{name: infrastructure}]"), .. kamaji,
            File("apps/namespace.yaml", Namespace), File("apps/datastore.yaml", store.Content), File("apps/tcp.yaml", tcp)]);
        Reports(same, "TenantControlPlane.kamaji.clastix.io apps/t1: DataStore pg is applied by the same Kustomization", "DataStore does not exist");

        var nowhere = Check([Ks("infrastructure", "infrastructure", "wait: true"), Ks("apps", "apps", "dependsOn: [{name: infrastructure}]"), .. kamaji, File("apps/namespace.yaml", Namespace), File("apps/tcp.yaml", tcp)]);
        Reports(nowhere, "DataStore pg is not applied by a strictly earlier Kustomization");

        var earlier = Check([Ks("infrastructure", "infrastructure", "wait: true"), Ks("datastore", "datastore", "dependsOn: [{name: infrastructure}]"), Ks("apps", "apps", "dependsOn: [{name: datastore}]"), .. kamaji, store,
            File("apps/namespace.yaml", Namespace), File("apps/tcp.yaml", tcp)]);
        Assert.Empty(earlier);
    }

    [Fact]
    public void ASecretOrConfigMapNothingProduces_IsReported_AndEachProducerOrOptionalMarkSatisfiesIt()
    {
        static RenderedFile Deployment(string env) => File("apps/deployment.yaml",
            $"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: apps}}\nspec: {{selector: {{}}, template: {{spec: {{containers: [{{name: web, image: web, env: [{env}]}}], volumes: [{{name: cfg, configMap: {{name: web-config, optional: true}}}}]}}}}}}\n");
        var missing = Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), Deployment("{name: K, valueFrom: {secretKeyRef: {name: keys, key: a}}}"));
        Reports(missing, "Deployment.apps apps/web: container web env K names Secret apps/keys, which nothing produces");
        Assert.DoesNotContain(missing, f => f.Reason.Contains("web-config", StringComparison.Ordinal)); // optional

        Assert.Empty(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), Deployment("{name: K, valueFrom: {secretKeyRef: {name: keys, key: a, optional: true}}}")));
        var secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: keys, namespace: apps}\n";
        Assert.Empty(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), File("apps/secret.yaml", secret), Deployment("{name: K, valueFrom: {secretKeyRef: {name: keys, key: a}}}")));

        // out of band, but in another namespace or cluster: still missing
        Assert.Empty(FluxModel.Check([Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), Deployment("{name: K, valueFrom: {secretKeyRef: {name: keys, key: a}}}")], Flux, [new(FluxModel.Management, "", "Secret", "apps", "keys")]));
        Assert.NotEmpty(FluxModel.Check([Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), Deployment("{name: K, valueFrom: {secretKeyRef: {name: keys, key: a}}}")], Flux, [new(FluxModel.Management, "", "Secret", "other", "keys")]));

        // a Kustomization's kubeConfig Secret: Kamaji writes <tcp>-admin-kubeconfig beside the TenantControlPlane
        var remote = Ks("remote", "remote", "kubeConfig: {secretRef: {name: t1-admin-kubeconfig, key: admin.svc}}", ns: "apps");
        Reports(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), remote), "spec.kubeConfig names Secret apps/t1-admin-kubeconfig");

        // a DataStore's credentials in another namespace, and a CloudNativePG Cluster's generated application Secret
        var dataStore = "apiVersion: kamaji.clastix.io/v1alpha1\nkind: DataStore\nmetadata: {name: pg}\nspec: {driver: PostgreSQL, endpoints: ['pg:5432'], basicAuth: {username: {secretReference: {name: pg-app, namespace: db, keyPath: username}}, password: {secretReference: {name: pg-app, namespace: db, keyPath: password}}}}\n";
        Reports(Check(Ks("apps", "apps"), File("apps/datastore.yaml", dataStore)), "DataStore.kamaji.clastix.io pg: spec.basicAuth.username.secretReference names Secret db/pg-app");
        var cnpg = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: pg, namespace: db}\nspec: {instances: 1, storage: {size: 1Gi}}\n";
        Assert.DoesNotContain(Check(Ks("apps", "apps"), File("apps/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: db}\n"), File("apps/cluster.yaml", cnpg), File("apps/datastore.yaml", dataStore)), f => f.Reason.Contains("db/pg-app", StringComparison.Ordinal));
    }

    [Fact]
    public void DependsOnMissingTargetsAndCycles_AndAParentWaitingForAChildThatDependsOnIt_AreReported()
    {
        Reports(Check(Ks("apps", "apps", "dependsOn: [{name: nothing}]"), File("apps/namespace.yaml", Namespace)), "dependsOn flux-system/nothing, which no rendered Kustomization is");
        Reports(Check(Ks("a", "a", "dependsOn: [{name: b}]"), Ks("b", "b", "dependsOn: [{name: a}]"), File("a/namespace.yaml", Namespace), File("b/x.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n")),
            "a dependsOn cycle");

        // the parent waits for everything it applies, the child waits for the parent
        var child = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: child, namespace: flux-system}\nspec: {serviceAccountName: kustomize-controller, interval: 5m, path: ./child, prune: true, sourceRef: {kind: GitRepository, name: flux-system}, dependsOn: [{name: parent}]}\n";
        var files = new[] { Ks("parent", "parent", "wait: true"), File("parent/child.yaml", child), File("child/namespace.yaml", Namespace) };
        Reports(Check(files), "a parent with wait: true waits for a child that depends on it");
        Assert.Empty(Check(Ks("parent", "parent", "wait: false"), File("parent/child.yaml", child), File("child/namespace.yaml", Namespace)));

        // a Kustomization that applies its own file (as Flux's bootstrap one does) is a root, not its own parent
        Assert.Empty(Check(Ks("cluster", "flux-system", "wait: true"), Ks("apps", "apps"), File("apps/namespace.yaml", Namespace)));
    }

    [Fact]
    public void UnderTheLockdown_CrossNamespaceSourcesMissingAccountsAndRightsNotGrantedEarlier_AreReported()
    {
        // a Kustomization in a tenant namespace reading flux-system's source, with no account of its own
        var tenant = File("flux-system/tenant.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: tenant, namespace: apps}\nspec: {interval: 5m, path: ./tenant, prune: true, sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}}\n");
        var configMap = File("tenant/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: apps}\n");
        var findings = Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), tenant, configMap);
        Reports(findings, "its source GitRepository flux-system/flux-system is in another namespace", "names no serviceAccountName", "runs as system:serviceaccount:apps:default in management, which no RBAC");

        // its own source and account, with a Role that allows ConfigMaps only, bound by an earlier Kustomization
        var source = File("apps/gitrepository.yaml", "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: apps, namespace: apps}\nspec: {interval: 5m, url: https://example.com/repo.git}\n");
        var account = File("apps/serviceaccount.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: reconciler, namespace: apps}\n");
        var role = File("apps/role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: config, namespace: apps}\nrules: [{apiGroups: [''], resources: [configmaps], verbs: [create, patch, get, list, watch, delete]}]\n");
        var binding = "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: reconciler, namespace: apps}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: config}\nsubjects: [{kind: ServiceAccount, name: reconciler, namespace: apps}]\n";
        var locked = File("flux-system/tenant.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: tenant, namespace: apps}\nspec: {serviceAccountName: reconciler, interval: 5m, path: ./tenant, prune: true, dependsOn: [{name: apps, namespace: flux-system}], sourceRef: {kind: GitRepository, name: apps}}\n");
        Assert.Empty(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), source, account, role, File("apps/rolebinding.yaml", binding), locked, configMap));

        // a Secret is not allowed by that Role; a Role bound in the same Kustomization grants nothing yet
        var secret = File("tenant/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: apps}\n");
        Reports(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), source, account, role, File("apps/rolebinding.yaml", binding), locked, configMap, secret),
            "Secret apps/s: runs as system:serviceaccount:apps:reconciler in management, which may not create it");
        var late = Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), source, account, role, File("tenant/rolebinding.yaml", binding), locked, configMap);
        Reports(late, "runs as system:serviceaccount:apps:reconciler in management, which no RBAC applied by an earlier Kustomization");

        // bound to the built-in admin ClusterRole in its namespace: it may apply a Deployment but not its own quota
        var admin = File("apps/rolebinding.yaml", binding.Replace("kind: Role, name: config", "kind: ClusterRole, name: admin", StringComparison.Ordinal));
        var deployment = File("tenant/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: apps}\nspec: {selector: {}, template: {spec: {containers: []}}}\n");
        var quota = File("tenant/resourcequota.yaml", "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: apps}\nspec: {}\n");
        var adminFindings = Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), source, account, admin, locked, deployment, quota);
        Assert.Equal(["ResourceQuota apps/q"], adminFindings.Select(f => f.Object));

        // with a kubeConfig, the account is impersonated in the remote cluster, where nothing binds it
        var remote = Ks("remote", "remote", "kubeConfig: {secretRef: {name: t1-kubeconfig}}", ns: "apps", account: "serviceAccountName: reconciler, ");
        var cluster = File("apps/cluster.yaml", "apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: t1, namespace: apps}\nspec: {}\n");
        Reports(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), source, remote, File("remote/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n")),
            "runs as system:serviceaccount:apps:reconciler in cluster of kubeconfig apps/t1-kubeconfig, which no RBAC", "spec.kubeConfig names Secret apps/t1-kubeconfig");
        Assert.DoesNotContain(Check(Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), source, remote, cluster), f => f.Reason.Contains("spec.kubeConfig", StringComparison.Ordinal)); // Cluster API writes <cluster>-kubeconfig
    }

    [Fact]
    public void TheSecretInstructions_AreReadAsPrerequisites_InTheClusterTheirKubeconfigNames()
    {
        var options = RenderingTests.ExternalLlm(o => o.Kamaji.SharedDataStore = null);
        var kamaji = Prerequisites.FromInstructions(SecretInstructions.For(RenderingTests.Tenant("foobar", "kamaji"), options)).ToList();
        Assert.Contains(new Prerequisite(FluxModel.Management, "", "Secret", "postgres-system", "bruno-foobar-credentials"), kamaji);
        Assert.Contains(new Prerequisite(FluxModel.RemoteCluster("kamaji-foobar", "bruno-foobar-admin-kubeconfig"), "", "Secret", "agent-bruno-foobar", "agent-bruno-keys"), kamaji);
        Assert.Contains(new Prerequisite(FluxModel.RemoteCluster("kamaji-foobar", "bruno-foobar-admin-kubeconfig"), "", "Namespace", null, "agent-bruno-foobar"), kamaji);

        // quoted private files, sub-shells and --namespace=: the same objects
        var quoted = Prerequisites.FromInstructions(
        [
            "(umask 077 && kubectl -n kamaji-x get secret bruno-x-admin-kubeconfig -o jsonpath='{.data.admin\\.conf}' | base64 -d > \"$D/x.kubeconfig\")",
            "kubectl --kubeconfig \"$D/x.kubeconfig\" -n agent-bruno-x create secret generic agent-bruno-keys --from-file=master-key=\"$D/master-key\"",
            "kubectl create secret generic sops-age --namespace=flux-system --from-file=age.agekey=\"$D/age.agekey\"",
            "kubectl -n bruno-system create secret generic bruno-catalog --from-file=a=\"$D/a\" --dry-run=client -o yaml > \"$D/s.yaml\" && sops --encrypt \"$D/s.yaml\" > secrets/platform/secret-bruno-catalog.yaml",
            "# kubectl -n ignored create secret generic commented-out",
        ]).ToList();
        Assert.Equal(
            [
                new(FluxModel.RemoteCluster("kamaji-x", "bruno-x-admin-kubeconfig"), "", "Secret", "agent-bruno-x", "agent-bruno-keys"),
                new(FluxModel.Management, "", "Secret", "flux-system", "sops-age"),
                new(FluxModel.Repository, "", "File", null, "$D/s.yaml"),
                new(FluxModel.Management, "", "Secret", "bruno-system", "bruno-catalog"),
                new(FluxModel.Repository, "", "File", null, "secrets/platform/secret-bruno-catalog.yaml"),
            ],
            quoted);

        // a kustomization.yaml listing a file the operator writes is not a broken build; one nobody writes is
        var listing = File("apps/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [namespace.yaml, ../secrets/apps/secret.yaml]\n");
        RenderedFile[] sops = [Ks("apps", "apps"), listing, File("apps/namespace.yaml", Namespace)];
        Reports(Check(sops), "lists ../secrets/apps/secret.yaml, which is not rendered");
        Assert.Empty(FluxModel.Check(sops, Flux, Prerequisites.FromInstructions(["sops --encrypt \"$D/s.yaml\" > secrets/apps/secret.yaml"])));

        // the dedicated cluster's kubeconfig Secret, wherever the instructions put it, names the cluster the keys go to
        var bigbank = RenderingTests.Tenant("bigbank", "dedicated-cluster");
        var dedicated = Prerequisites.FromInstructions(SecretInstructions.For(bigbank, options)).ToList();
        var kubeconfig = Assert.Single(dedicated, p => p.Cluster == FluxModel.Management && p.Kind == "Secret" && p.Name == ManifestRenderer.ClusterKubeconfigSecret(bigbank));
        Assert.Contains(new Prerequisite(FluxModel.RemoteCluster(kubeconfig.Namespace!, kubeconfig.Name), "", "Secret", "agent-bruno-bigbank", "agent-bruno-keys"), dedicated);

        // a binding made by hand grants what it names to the impersonated account, in the cluster its kubeconfig names
        var bound = Prerequisites.FromInstructions(["kubectl -n apps create secret generic k --from-file=value=\"$K\"", "kubectl --kubeconfig \"$K\" create clusterrolebinding flux-apps --clusterrole=cluster-admin --serviceaccount=apps:reconciler --dry-run=client -o yaml | kubectl --kubeconfig \"$K\" apply -f -"]).ToList();
        var remote = Ks("remote", "remote", "kubeConfig: {secretRef: {name: k}}", ns: "apps", account: "serviceAccountName: reconciler, ");
        var source = File("apps/gitrepository.yaml", "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: apps}\nspec: {interval: 5m, url: https://example.com/repo.git}\n");
        RenderedFile[] files = [Ks("apps", "apps"), File("apps/namespace.yaml", Namespace), source, remote, File("remote/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n")];
        Assert.Contains(FluxModel.Check(files, Flux, []), f => f.Reason.Contains("which no RBAC", StringComparison.Ordinal));
        Assert.DoesNotContain(FluxModel.Check(files, Flux, bound), f => f.Reason.Contains("RBAC", StringComparison.Ordinal) || f.Reason.Contains("may not", StringComparison.Ordinal));
    }

    /// <summary>One options set for a whole installation: with External Secrets (vault), with SOPS files, or with Secrets made by hand (and each Kamaji tenant's own DataStore).</summary>
    private static readonly string[] ClusterApiGroups = ["cluster.x-k8s.io", "controlplane.cluster.x-k8s.io", "bootstrap.cluster.x-k8s.io", "infrastructure.cluster.x-k8s.io"];

    public static TheoryData<string> Installations() => ["external-secrets", "sops", "by-hand", "cluster-api"];

    [Theory]
    [MemberData(nameof(Installations))]
    public void TheRenderedInstallation_AtEveryIsolationLevel_HasNoFinding(string name)
    {
        var options = name switch
        {
            "external-secrets" => RenderingTests.ExternalLlm(o => o.ExternalSecretStore = "vault"),
            "sops" => RenderingTests.ExternalLlm(o => o.Secrets.Provider = "sops"),
            "cluster-api" => WorkerNodesTests.ClusterApiOptions(),
            _ => RenderingTests.ExternalLlm(o => o.Kamaji.SharedDataStore = null),
        };
        var files = Installation(options, out var prerequisites);
        if (name == "cluster-api")
        {
            // Cluster API's controllers are prerequisites of that mode (docs/kubernetes.md, "Worker nodes"): their CRDs exist
            prerequisites.AddRange(ClusterApiGroups.Select(g => new Prerequisite(FluxModel.Management, "apiextensions.k8s.io", "CustomResourceDefinition", null, "*." + g)));
        }

        var findings = FluxModel.Check(files, options.Flux, prerequisites);
        Assert.True(findings.Count == 0, $"{findings.Count} findings:\n{string.Join("\n", findings)}");
    }

    /// <summary>Every file of one installation: the platform and a tenant at each isolation level, with the prerequisites the operator provides.</summary>
    internal static List<RenderedFile> Installation(KubernetesOptions options, out List<Prerequisite> prerequisites)
    {
        var renderer = new ManifestRenderer(options, Plans);
        TenantDeployment[] tenants = [RenderingTests.Tenant("acme", "namespace"), RenderingTests.Tenant("initech", "kamaji", "premium"), RenderingTests.Tenant("bigbank", "dedicated-cluster", "premium")];
        var files = renderer.RenderPlatform().Concat(tenants.SelectMany(renderer.RenderTenant)).ToList();
        prerequisites = [.. Prerequisites.FromInstructions(SecretInstructions.ForPlatform(options).Concat(tenants.SelectMany(t => SecretInstructions.For(t, options))))];
        if (!string.IsNullOrEmpty(options.ExternalSecretStore))
        {
            prerequisites.Add(new(FluxModel.Management, "external-secrets.io", "ClusterSecretStore", null, options.ExternalSecretStore)); // the operator's store (docs/kubernetes.md)
        }

        return files;
    }
}
