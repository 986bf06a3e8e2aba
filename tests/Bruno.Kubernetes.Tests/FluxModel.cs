using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Bruno.Kubernetes.Tests;

/// <summary>One thing Flux or the API server would refuse or never finish: the Kustomization, the object and why.</summary>
internal sealed record Finding(string Kustomization, string Object, string Reason)
{
    public override string ToString() => $"{Kustomization}: {Object}: {Reason}";
}

/// <summary>
/// An object that exists before Flux applies anything of the installation, in a cluster (see <see cref="FluxModel.Management"/>),
/// with its body when the model reads it (a binding's roleRef and subjects).
/// </summary>
internal sealed record Prerequisite(string Cluster, string Group, string Kind, string? Namespace, string Name, JsonObject? Body = null)
{
    /// <summary>Equal by what names the object; the body is not compared.</summary>
    public bool Equals(Prerequisite? other) => other is not null && (Cluster, Group, Kind, Namespace, Name) == (other.Cluster, other.Group, other.Kind, other.Namespace, other.Name);

    public override int GetHashCode() => HashCode.Combine(Cluster, Group, Kind, Namespace, Name);
}

/// <summary>
/// What the checker assumes exists without being rendered, in one place (docs/kubernetes.md, "What the tests check",
/// lists the same): what a Flux bootstrap provides, what every cluster has, the charts and provider objects known to
/// install custom resource kinds, and the out-of-band Secrets parsed from <see cref="SecretInstructions"/>.
/// </summary>
internal static class Prerequisites
{
    /// <summary>The namespaces every cluster starts with.</summary>
    public static readonly string[] DefaultNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];

    /// <summary>The API groups of Flux's own CRDs, installed by the bootstrap in the management cluster.</summary>
    public static readonly string[] FluxGroups = ["kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io", "image.toolkit.fluxcd.io"];

    /// <summary>The controllers' own service accounts in Flux's namespace, bound to cluster-admin by the bootstrap.</summary>
    public static readonly string[] ControllerAccounts = ["kustomize-controller", "helm-controller"];

    /// <summary>
    /// What installs custom resource kinds: a HelmRelease of the chart named (<c>spec.chart.spec.chart</c>, or the last
    /// path segment of the OCIRepository a <c>chartRef</c> names), or a Cluster API operator provider object of the kind
    /// (and, when given, name). A kind of "*" is every kind of the group. Those kinds exist once the HelmRelease (or
    /// provider object) is Ready, which a later Kustomization can rely on only through <c>dependsOn</c> on a
    /// Kustomization that waits for it.
    /// </summary>
    public static readonly (string Installer, (string Group, string Kind)[] Kinds)[] Installers =
    [
        ("chart:kamaji", [("kamaji.clastix.io", "*")]),
        ("chart:kamaji-crds", [("kamaji.clastix.io", "*")]),
        ("chart:external-secrets", [("external-secrets.io", "*"), ("generators.external-secrets.io", "*")]),
        ("chart:cloudnative-pg", [("postgresql.cnpg.io", "*")]),
        ("chart:kube-prometheus-stack", [("monitoring.coreos.com", "*")]),
        ("chart:prometheus-operator-crds", [("monitoring.coreos.com", "*")]),
        ("chart:cert-manager", [("cert-manager.io", "*"), ("acme.cert-manager.io", "*")]),
        ("chart:capsule", [("capsule.clastix.io", "*")]),
        ("chart:cluster-api-operator", [("operator.cluster.x-k8s.io", "*")]),
        ("chart:cluster-api", [("cluster.x-k8s.io", "*"), ("addons.cluster.x-k8s.io", "*"), ("ipam.cluster.x-k8s.io", "*"), ("runtime.cluster.x-k8s.io", "*")]),
        ("chart:cluster-api-control-plane-provider-kamaji", [("controlplane.cluster.x-k8s.io", "KamajiControlPlane"), ("controlplane.cluster.x-k8s.io", "KamajiControlPlaneTemplate")]),
        ("provider:CoreProvider", [("cluster.x-k8s.io", "*"), ("addons.cluster.x-k8s.io", "*"), ("ipam.cluster.x-k8s.io", "*"), ("runtime.cluster.x-k8s.io", "*")]),
        ("provider:ControlPlaneProvider/kamaji", [("controlplane.cluster.x-k8s.io", "KamajiControlPlane"), ("controlplane.cluster.x-k8s.io", "KamajiControlPlaneTemplate")]),
        ("provider:ControlPlaneProvider/kubeadm", [("controlplane.cluster.x-k8s.io", "KubeadmControlPlane"), ("controlplane.cluster.x-k8s.io", "KubeadmControlPlaneTemplate")]),
        ("provider:BootstrapProvider", [("bootstrap.cluster.x-k8s.io", "*")]),
        ("provider:InfrastructureProvider", [("infrastructure.cluster.x-k8s.io", "*")]),
    ];

    /// <summary>
    /// What the bootstrap provides in the management cluster: Flux's namespace, the source every Kustomization reads
    /// (<see cref="FluxOptions.SourceKind"/>/<see cref="FluxOptions.SourceName"/>) and its Secret of the same name, and
    /// the controllers' service accounts (with cluster-admin, see <see cref="ControllerAccounts"/>).
    /// </summary>
    public static IEnumerable<Prerequisite> Bootstrap(FluxOptions flux)
    {
        var group = "source.toolkit.fluxcd.io";
        yield return new(FluxModel.Management, "", "Namespace", null, flux.Namespace);
        yield return new(FluxModel.Management, group, flux.SourceKind, flux.Namespace, flux.SourceName);
        yield return new(FluxModel.Management, "", "Secret", flux.Namespace, flux.SourceName);
        foreach (var account in ControllerAccounts)
        {
            yield return new(FluxModel.Management, "", "ServiceAccount", flux.Namespace, account);
        }
    }

    /// <summary>
    /// The objects the operator creates by hand, read from <see cref="SecretInstructions"/> lines: <c>kubectl create
    /// namespace</c>, <c>kubectl create secret</c> and <c>kubectl create (cluster)rolebinding</c> (with its role and
    /// service accounts), and files written into the repository (<c>&gt; path.yaml</c>, cluster
    /// <see cref="FluxModel.Repository"/>); in the management cluster or, with <c>--kubeconfig</c>, in the
    /// cluster that kubeconfig names (a file written from <c>get secret S</c>, or a variable stored into a Secret S with
    /// <c>--from-file=value=</c>: the cluster is the one <see cref="FluxModel.RemoteCluster"/> names for S).
    /// </summary>
    public static IEnumerable<Prerequisite> FromInstructions(IEnumerable<string> lines)
    {
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        var result = new List<Prerequisite>();
        foreach (var line in lines.Where(l => !l.TrimStart().StartsWith('#')))
        {
            foreach (var segment in line.Split(["|", "&&", "(", ")"], StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var tokens = Regex.Matches(segment, "\"[^\"]*\"|'[^']*'|\\S+").Select(m => m.Value).ToList();
                var isKubectl = tokens.Count > 0 && tokens[0] == "kubectl";

                // ... > path.yaml: a file the operator writes into the repository (an encrypted Secret for SOPS)
                var redirect = segment.LastIndexOf('>');
                if (redirect >= 0 && segment[(redirect + 1)..].Trim().TrimEnd(')').Trim().Trim('"') is var written && (written.EndsWith(".yaml", StringComparison.Ordinal) || written.EndsWith(".yml", StringComparison.Ordinal)))
                {
                    result.Add(new(FluxModel.Repository, "", "File", null, written.StartsWith("./", StringComparison.Ordinal) ? written[2..] : written));
                }

                if (!isKubectl)
                {
                    continue;
                }

                var ns = Option(tokens, "-n", "--namespace");
                var kubeconfig = Option(tokens, "--kubeconfig");
                var cluster = kubeconfig is null ? FluxModel.Management : aliases.GetValueOrDefault(kubeconfig.Trim('"'), "kubeconfig file " + kubeconfig);
                var words = tokens.Where((t, i) => !t.StartsWith('-') && (i == 0 || tokens[i - 1] is not ("-n" or "--namespace" or "--kubeconfig" or "-o"))).ToList();
                if (words.Count >= 4 && words[1] == "create" && words[2] == "namespace")
                {
                    result.Add(new(cluster, "", "Namespace", null, words[3]));
                }
                else if (words.Count >= 5 && words[1] == "create" && words[2] == "secret")
                {
                    var name = words[4];
                    result.Add(new(cluster, "", "Secret", ns ?? "default", name));
                    if (tokens.FirstOrDefault(t => t.StartsWith("--from-file=value=", StringComparison.Ordinal)) is { } file)
                    {
                        aliases[file["--from-file=value=".Length..].Trim('"')] = FluxModel.RemoteCluster(ns ?? "default", name);
                    }
                }
                else if (words.Count >= 4 && words[1] == "create" && words[2] is "clusterrolebinding" or "rolebinding")
                {
                    // kubectl create (cluster)rolebinding NAME --clusterrole=R|--role=R --serviceaccount=NS:SA
                    var role = Option(tokens, "--clusterrole") is { } clusterRole ? ("ClusterRole", clusterRole) : ("Role", Option(tokens, "--role") ?? "");
                    var subjects = new JsonArray([.. tokens.Where(t => t.StartsWith("--serviceaccount=", StringComparison.Ordinal)).Select(t => t["--serviceaccount=".Length..].Split(':'))
                        .Select(a => (JsonNode)new JsonObject { ["kind"] = "ServiceAccount", ["namespace"] = a[0], ["name"] = a[^1] })]);
                    var kind = words[2] == "clusterrolebinding" ? "ClusterRoleBinding" : "RoleBinding";
                    var bindingNs = kind == "RoleBinding" ? ns ?? "default" : null;
                    result.Add(new(cluster, "rbac.authorization.k8s.io", kind, bindingNs, words[3], new JsonObject
                    {
                        ["roleRef"] = new JsonObject { ["apiGroup"] = "rbac.authorization.k8s.io", ["kind"] = role.Item1, ["name"] = role.Item2 },
                        ["subjects"] = subjects,
                    }));
                }
                else if (words.Count >= 4 && words[1] == "get" && words[2] == "secret" && line.Contains('>', StringComparison.Ordinal))
                {
                    // kubectl get secret S ... | base64 -d > FILE: FILE is the kubeconfig of the cluster S names
                    aliases[line[(line.LastIndexOf('>') + 1)..].Trim().TrimEnd(')').Trim().Trim('"')] = FluxModel.RemoteCluster(ns ?? "default", words[3]);
                }
            }
        }

        return result;
    }

    private static string? Option(List<string> tokens, params string[] names)
    {
        for (var i = 0; i < tokens.Count; i++)
        {
            foreach (var name in names)
            {
                if (tokens[i] == name && i + 1 < tokens.Count)
                {
                    return tokens[i + 1];
                }

                if (tokens[i].StartsWith(name + "=", StringComparison.Ordinal))
                {
                    return tokens[i][(name.Length + 1)..];
                }
            }
        }

        return null;
    }
}

/// <summary>
/// A model of what Flux (kustomize-controller and helm-controller under the flux2-multi-tenancy lockdown,
/// <c>--no-cross-namespace-refs=true</c> and <c>--default-service-account=default</c>) and the API server would do with
/// one installation as rendered into a repository, since no cluster runs where Bruno is built. It never throws for a bad
/// installation: everything it finds is a <see cref="Finding"/>; it throws only for input it cannot read (a YAML file
/// that does not parse).
/// <para>
/// The model: the Flux Kustomizations that no rendered Kustomization applies are the roots, applied by the bootstrap.
/// Each Kustomization's <c>spec.path</c> (relative to the source root; the rendered files sit under
/// <see cref="FluxOptions.Path"/>) is built as kustomize-controller builds it: the folder's kustomization.yaml
/// <c>resources</c>, recursively, or, without one, every .yaml/.yml file below it (a sub-folder with a kustomization.yaml
/// as one resource), as fluxcd/pkg's generator does. Its objects go to the management cluster, or, with
/// <c>spec.kubeConfig</c>, to the cluster that kubeconfig Secret names (one remote cluster per Secret), which starts
/// with nothing but its default namespaces and built-in kinds. A Kustomization runs once its parent has applied it and
/// everything in its <c>dependsOn</c> is Ready; a Kustomization is Ready once applied and, with <c>wait: true</c> (or a
/// health check naming it), once what it waits for is Ready. Flux dry-runs every object of a Kustomization before
/// applying any (CRDs and Namespaces first, in their own stage), so what an admission webhook looks up, and the RBAC an
/// impersonated account needs, must come from a strictly earlier Kustomization; a HelmRelease's chart installs its
/// kinds only once the HelmRelease is Ready.
/// </para>
/// <para>
/// Findings: (1) a kind whose CRD is not installed in that cluster before (a CustomResourceDefinition, a chart or
/// provider of <see cref="Prerequisites.Installers"/>, or Flux's own); a namespace that does not exist; (2) a
/// TenantControlPlane's or KamajiControlPlane's DataStore not applied by a strictly earlier Kustomization; an
/// ExternalSecret's store that exists nowhere in the cluster; (3) a Secret or ConfigMap referenced (pods, Flux objects,
/// DataStores, CloudNativePG clusters) that nothing produces in that cluster and namespace; a Flux source that does not
/// exist; (4) a <c>dependsOn</c> that names no Kustomization, and Readiness that waits on itself (a cycle of
/// <c>dependsOn</c>, or a parent that waits for a child that depends on it); (5) under the lockdown, a source in
/// another namespace, a Kustomization or HelmRelease that names no service account, and an object the impersonated
/// account may not create, patch, get, list, watch and delete by the RBAC applied earlier in that cluster. The same
/// object applied by two Kustomizations is reported too. Not modelled: CEL rules, the rest of admission, RBAC
/// escalation checks, the contents of charts, Secrets' keys, and two kubeconfig Secrets naming one cluster.
/// </para>
/// </summary>
internal static class FluxModel
{
    /// <summary>The cluster Flux runs in.</summary>
    public const string Management = "management";

    /// <summary>The account a Kustomization or HelmRelease without <c>serviceAccountName</c> runs as (<c>--default-service-account</c>).</summary>
    public const string DefaultServiceAccount = "default";

    /// <summary>The verbs server-side apply with pruning and health checks needs on every object it applies.</summary>
    public static readonly string[] ApplyVerbs = ["create", "patch", "get", "list", "watch", "delete"];

    private const string KustomizeGroup = "kustomize.toolkit.fluxcd.io";
    private const string HelmGroup = "helm.toolkit.fluxcd.io";
    private const string SourceGroup = "source.toolkit.fluxcd.io";

    /// <summary>The "cluster" of a <see cref="Prerequisite"/> of kind File: a file the operator writes into the repository.</summary>
    public const string Repository = "repository";

    /// <summary>The cluster a kubeconfig Secret names.</summary>
    public static string RemoteCluster(string ns, string secret) => $"cluster of kubeconfig {ns}/{secret}";

    private static readonly HashSet<string> BuiltInGroups = new(StringComparer.Ordinal)
    {
        "", "apps", "batch", "policy", "autoscaling", "rbac.authorization.k8s.io", "networking.k8s.io", "storage.k8s.io",
        "apiextensions.k8s.io", "admissionregistration.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io",
        "discovery.k8s.io", "certificates.k8s.io", "flowcontrol.apiserver.k8s.io", "events.k8s.io", "resource.k8s.io",
    };

    private static readonly HashSet<string> ClusterScopedKinds = new(StringComparer.Ordinal)
    {
        "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass", "PersistentVolume",
        "PriorityClass", "IngressClass", "RuntimeClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService", "Node", "CSIDriver", "VolumeAttachment",
        "DataStore", "ClusterSecretStore", "ClusterExternalSecret", "ClusterIssuer", "ClusterImageCatalog", "Tenant",
    };

    /// <summary>An object as applied: the cluster, the Kustomization that applies it (null for a prerequisite) and the document.</summary>
    private sealed record Obj(string Cluster, string Group, string Kind, string? Namespace, string Name, JsonObject Doc, Ks? By)
    {
        public string Id => $"{Kind}{(Group.Length > 0 ? "." + Group : "")} {(Namespace is null ? "" : Namespace + "/")}{Name}";
    }

    /// <summary>A Flux Kustomization: its document, the Kustomization that applies it (null for a root) and what it applies.</summary>
    private sealed class Ks(JsonObject doc, string file)
    {
        public JsonObject Doc { get; } = doc;
        public string File { get; } = file;
        public string Namespace => (string?)Doc["metadata"]?["namespace"] ?? "default";
        public string Name => (string)Doc["metadata"]!["name"]!;
        public string Id => $"Kustomization {Namespace}/{Name}";
        public JsonObject Spec => Doc["spec"] as JsonObject ?? [];
        public Ks? Parent { get; set; }
        public List<Obj> Objects { get; } = [];
        public string Target => Spec["kubeConfig"]?["secretRef"]?["name"] is JsonValue s ? RemoteCluster(Namespace, (string)s!) : Management;
        public bool Waits => Spec["wait"] is JsonValue w && w.GetValue<bool>();
    }

    /// <summary>The findings for <paramref name="files"/> (every file of one installation) with <paramref name="prerequisites"/>.</summary>
    public static IReadOnlyList<Finding> Check(IEnumerable<RenderedFile> files, FluxOptions flux, IEnumerable<Prerequisite> prerequisites)
    {
        var byPath = new Dictionary<string, string>(StringComparer.Ordinal);
        var findings = new List<Finding>();
        foreach (var file in files)
        {
            if (byPath.TryGetValue(file.Path, out var existing) && existing != file.Content)
            {
                findings.Add(new("render", file.Path, "two renders write this file with different contents"));
            }

            byPath[file.Path] = file.Content;
        }

        var documents = byPath.Where(p => IsYaml(p.Key) && !IsKustomizeFile(p.Key)).ToDictionary(p => p.Key, p => Yaml.Documents(p.Value), StringComparer.Ordinal);
        prerequisites = [.. prerequisites];
        var operatorFiles = prerequisites.Where(p => p.Cluster == Repository && p.Kind == "File").Select(p => p.Name).ToList();
        var root = Normalize(flux.Path);

        // Every Kustomization rendered anywhere, and what each applies.
        var all = documents.SelectMany(d => d.Value.Where(o => Gvk(o) == (KustomizeGroup, "Kustomization")).Select(o => new Ks(o, d.Key))).ToList();
        foreach (var ks in all)
        {
            var path = Normalize((string?)ks.Spec["path"] ?? ".");
            var relative = path == root ? "" : root.Length == 0 ? path : path.StartsWith(root + "/", StringComparison.Ordinal) ? path[(root.Length + 1)..] : null;
            if (relative is null)
            {
                findings.Add(new(ks.Id, $"path {ks.Spec["path"]}", $"is not under the rendered root {flux.Path}"));
                continue;
            }

            var built = Build(relative, byPath, documents, operatorFiles, findings, ks.Id);
            if (built is null)
            {
                findings.Add(new(ks.Id, $"path {ks.Spec["path"]}", "no such folder in the rendered files: kustomize-controller fails with \"kustomization path not found\""));
                continue;
            }

            var target = (string?)ks.Spec["targetNamespace"];
            foreach (var doc in built)
            {
                var (group, kind) = Gvk(doc);
                var ns = ClusterScoped(group, kind, documents) ? null : target ?? (string?)doc["metadata"]?["namespace"] ?? "default";
                ks.Objects.Add(new Obj(ks.Target, group, kind, ns, (string?)doc["metadata"]?["name"] ?? "", doc, ks));
            }
        }

        // Parents: the Kustomization that applies each one (to the management cluster, where Flux runs).
        var byKey = new Dictionary<(string, string), Ks>();
        foreach (var ks in all)
        {
            if (!byKey.TryAdd((ks.Namespace, ks.Name), ks))
            {
                findings.Add(new(ks.Id, ks.File, $"a second Kustomization of this name (also in {byKey[(ks.Namespace, ks.Name)].File})"));
            }
        }

        foreach (var parent in all)
        {
            foreach (var o in parent.Objects.Where(o => (o.Group, o.Kind) == (KustomizeGroup, "Kustomization")))
            {
                if (o.Cluster != Management)
                {
                    findings.Add(new(parent.Id, o.Id, $"a Flux Kustomization applied to {o.Cluster}, where no Flux runs"));
                    continue;
                }

                var child = all.FirstOrDefault(k => ReferenceEquals(k.Doc, o.Doc));
                if (child is not null && child != parent) // a Kustomization that applies itself (Flux's own) stays a root
                {
                    child.Parent ??= parent;
                }
            }
        }

        var reconciled = byKey.Values.ToList();
        var pre = prerequisites.Concat(Prerequisites.Bootstrap(flux)).Select(p => new Obj(p.Cluster, p.Group, p.Kind, p.Namespace, p.Name, p.Body ?? [], null)).ToList();
        var order = new Order(reconciled, byKey, findings);
        var applied = reconciled.SelectMany(k => k.Objects).ToList();

        // The same object applied twice: the Kustomizations fight over it (and each prunes it when the other moves it).
        foreach (var same in applied.GroupBy(o => (o.Cluster, o.Group, o.Kind, o.Namespace, o.Name)).Where(g => g.Select(o => o.By).Distinct().Count() > 1))
        {
            findings.Add(new(same.First().By!.Id, same.First().Id, $"also applied by {string.Join(", ", same.Skip(1).Select(o => o.By!.Id).Distinct())}: two owners of one object"));
        }

        foreach (var ks in reconciled)
        {
            var earlier = order.AppliedBefore(ks);
            var ready = order.ReadyBefore(ks);
            bool Before(Obj o) => o.By is null || earlier.Contains(o.By);
            var cluster = ks.Target;
            var visible = applied.Where(o => o.Cluster == cluster && Before(o)).Concat(pre.Where(p => p.Cluster == cluster)).ToList();

            CheckFluxObject(ks, ks.Doc, ks.Namespace, "Kustomization", flux.Namespace, findings, applied, pre, byKey);

            var account = (string?)ks.Spec["serviceAccountName"];
            var rbac = cluster == Management && account is not null && ks.Namespace == flux.Namespace && Prerequisites.ControllerAccounts.Contains(account)
                ? null
                : new Rbac(visible, ks.Namespace, account ?? DefaultServiceAccount);
            foreach (var o in ks.Objects)
            {
                // (1) the kind and the namespace exist
                if (!BuiltInGroups.Contains(o.Group) && !KindInstalled(o, ks, applied, pre, ready, earlier, out var why))
                {
                    findings.Add(new(ks.Id, o.Id, why));
                }

                if (o.Namespace is { } ns && !Prerequisites.DefaultNamespaces.Contains(ns)
                    && !ks.Objects.Concat(visible).Any(n => n.Cluster == cluster && n.Kind == "Namespace" && n.Group.Length == 0 && n.Name == ns))
                {
                    findings.Add(new(ks.Id, o.Id, $"namespace {ns} does not exist in {cluster} (no earlier Kustomization, this one or a prerequisite creates it)"));
                }

                // (2) what admission webhooks look up, from a strictly earlier Kustomization
                foreach (var store in DataStoresNamed(o))
                {
                    if (!visible.Any(d => (d.Group, d.Kind, d.Name) == ("kamaji.clastix.io", "DataStore", store)))
                    {
                        var same = ks.Objects.Any(d => (d.Group, d.Kind, d.Name) == ("kamaji.clastix.io", "DataStore", store));
                        findings.Add(new(ks.Id, o.Id, same
                            ? $"DataStore {store} is applied by the same Kustomization: Kamaji's webhook rejects the dry-run with \"DataStore does not exist\""
                            : $"DataStore {store} is not applied by a strictly earlier Kustomization in {cluster}: Kamaji's webhook rejects it"));
                    }
                }

                if ((o.Group, o.Kind) == ("external-secrets.io", "ExternalSecret") && o.Doc["spec"]?["secretStoreRef"] is JsonObject storeRef)
                {
                    var storeKind = (string?)storeRef["kind"] ?? "SecretStore";
                    var storeName = (string?)storeRef["name"];
                    var inCluster = applied.Where(a => a.Cluster == cluster).Concat(pre.Where(p => p.Cluster == cluster));
                    if (!inCluster.Any(s => s.Group == "external-secrets.io" && s.Kind == storeKind && s.Name == storeName && (storeKind == "ClusterSecretStore" || s.Namespace == o.Namespace)))
                    {
                        findings.Add(new(ks.Id, o.Id, $"{storeKind} {storeName} exists nowhere in {cluster} (nor as a prerequisite): the ExternalSecret never syncs"));
                    }
                }

                // (3) every Secret and ConfigMap it reads is produced in that cluster and namespace
                foreach (var (kind, refNs, name, what) in References(o))
                {
                    if (!Produced(cluster, kind, refNs, name, applied, pre))
                    {
                        findings.Add(new(ks.Id, o.Id, $"{what} names {kind} {refNs}/{name}, which nothing produces in {cluster} (no object, ExternalSecret, controller or out-of-band instruction)"));
                    }
                }

                if (o.Group == HelmGroup && o.Kind == "HelmRelease")
                {
                    CheckFluxObject(ks, o.Doc, o.Namespace ?? "default", "HelmRelease", flux.Namespace, findings, applied, pre, byKey);
                }
                else if (o.Group == SourceGroup && o.Doc["spec"] is JsonObject sourceSpec)
                {
                    foreach (var key in new[] { "secretRef", "certSecretRef", "proxySecretRef", "verify" })
                    {
                        var secret = key == "verify" ? sourceSpec["verify"]?["secretRef"]?["name"] : sourceSpec[key]?["name"];
                        if (secret is JsonValue s && !Produced(cluster, "Secret", o.Namespace!, (string)s!, applied, pre))
                        {
                            findings.Add(new(ks.Id, o.Id, $"spec.{key} names Secret {o.Namespace}/{s}, which nothing produces in {cluster}"));
                        }
                    }
                }

                // (5) the impersonated account may apply it
                if (rbac is not null && rbac.HasRules && rbac.Denied(o, ClusterScoped(o.Group, o.Kind, documents)) is { } denied)
                {
                    findings.Add(new(ks.Id, o.Id, $"runs as system:serviceaccount:{ks.Namespace}:{account ?? DefaultServiceAccount} in {cluster}, which may not {denied} it (RBAC applied by earlier Kustomizations)"));
                }
            }

            if (rbac is not null && !rbac.HasRules && ks.Objects.Count > 0)
            {
                findings.Add(new(ks.Id, $"{ks.Objects.Count} objects", $"runs as system:serviceaccount:{ks.Namespace}:{account ?? DefaultServiceAccount} in {cluster}, which no RBAC applied by an earlier Kustomization (or the bootstrap) binds: it may create none of them"));
            }
        }

        return [.. findings.Distinct()];
    }

    // The lockdown and the references of a Flux Kustomization or HelmRelease (in the management cluster).
    private static void CheckFluxObject(Ks ks, JsonObject doc, string ns, string kind, string flux, List<Finding> findings, List<Obj> applied, List<Obj> pre, Dictionary<(string, string), Ks> byKey)
    {
        var spec = doc["spec"] as JsonObject ?? [];
        var id = $"{kind} {ns}/{doc["metadata"]?["name"]}";
        if (spec["serviceAccountName"] is null)
        {
            findings.Add(new(ks.Id, id, $"names no serviceAccountName: under --default-service-account it runs as system:serviceaccount:{ns}:{DefaultServiceAccount}"));
        }
        else if (kind == "HelmRelease" && (string?)spec["serviceAccountName"] is { } account && Prerequisites.ControllerAccounts.Contains(account) && ns != flux)
        {
            // the chart's objects are not modelled, so only this: a controller's account exists in Flux's namespace alone
            findings.Add(new(ks.Id, id, $"runs as system:serviceaccount:{ns}:{account}, which is not the controller's own account (that one is in {flux}) and no binding gives rights"));
        }

        if (kind == "HelmRelease")
        {
            foreach (var dependency in spec["dependsOn"] as JsonArray ?? [])
            {
                var (depNs, depName) = ((string?)dependency?["namespace"] ?? ns, (string?)dependency?["name"]);
                if (!applied.Any(h => h.Cluster == Management && (h.Group, h.Kind) == (HelmGroup, "HelmRelease") && h.Namespace == depNs && h.Name == depName))
                {
                    findings.Add(new(ks.Id, id, $"dependsOn HelmRelease {depNs}/{depName}, which is not rendered: it never installs"));
                }
            }
        }

        var sources = kind == "Kustomization"
            ? [spec["sourceRef"] as JsonObject]
            : new[] { spec["chart"]?["spec"]?["sourceRef"] as JsonObject, spec["chartRef"] as JsonObject };
        foreach (var source in sources.OfType<JsonObject>())
        {
            var sourceNs = (string?)source["namespace"] ?? ns;
            if (sourceNs != ns)
            {
                findings.Add(new(ks.Id, id, $"its source {source["kind"]} {sourceNs}/{source["name"]} is in another namespace: refused under --no-cross-namespace-refs=true"));
            }

            var sourceKind = (string?)source["kind"];
            if (!applied.Concat(pre).Any(s => s.Cluster == Management && s.Group == SourceGroup && s.Kind == sourceKind && s.Namespace == sourceNs && s.Name == (string?)source["name"]))
            {
                findings.Add(new(ks.Id, id, $"its source {sourceKind} {sourceNs}/{source["name"]} exists nowhere in the management cluster"));
            }
        }

        if (spec["kubeConfig"]?["secretRef"]?["name"] is JsonValue kubeconfig && !Produced(Management, "Secret", ns, (string)kubeconfig!, applied, pre))
        {
            findings.Add(new(ks.Id, id, $"spec.kubeConfig names Secret {ns}/{kubeconfig}, which nothing produces in the management cluster"));
        }

        if (spec["decryption"]?["secretRef"]?["name"] is JsonValue decryption && !Produced(Management, "Secret", ns, (string)decryption!, applied, pre))
        {
            findings.Add(new(ks.Id, id, $"spec.decryption names Secret {ns}/{decryption}, which nothing produces in the management cluster"));
        }

        foreach (var from in (spec["postBuild"]?["substituteFrom"] as JsonArray ?? []).Concat(spec["valuesFrom"] as JsonArray ?? []).OfType<JsonObject>())
        {
            if (from["optional"] is JsonValue o && o.GetValue<bool>())
            {
                continue;
            }

            var fromKind = (string?)from["kind"] ?? "ConfigMap";
            if (!Produced(Management, fromKind, ns, (string)from["name"]!, applied, pre))
            {
                findings.Add(new(ks.Id, id, $"{(kind == "Kustomization" ? "spec.postBuild.substituteFrom" : "spec.valuesFrom")} names {fromKind} {ns}/{from["name"]}, which nothing produces in the management cluster"));
            }
        }

        if (kind == "Kustomization")
        {
            foreach (var dependency in spec["dependsOn"] as JsonArray ?? [])
            {
                var key = ((string?)dependency?["namespace"] ?? ns, (string)dependency!["name"]!);
                if (!byKey.ContainsKey(key))
                {
                    findings.Add(new(ks.Id, id, $"dependsOn {key.Item1}/{key.Item2}, which no rendered Kustomization is: it never becomes Ready"));
                }
            }
        }
    }

    // Whether a custom resource's kind is installed in its cluster before its Kustomization runs.
    private static bool KindInstalled(Obj o, Ks ks, List<Obj> applied, List<Obj> pre, HashSet<Ks> ready, HashSet<Ks> earlier, out string why)
    {
        why = "";
        bool Defines(Obj crd) => crd.Cluster == o.Cluster && crd.Kind == "CustomResourceDefinition" && crd.Group == "apiextensions.k8s.io"
            && (string?)crd.Doc["spec"]?["group"] == o.Group && (string?)crd.Doc["spec"]?["names"]?["kind"] == o.Kind;
        if ((o.Cluster == Management && Prerequisites.FluxGroups.Contains(o.Group))
            || pre.Any(p => p.Cluster == o.Cluster && p.Kind == "CustomResourceDefinition" && (p.Name == $"{o.Kind}.{o.Group}" || p.Name == $"*.{o.Group}")))
        {
            return true; // Flux's own, or a kind documented as installed by the operator (Prerequisite name "Kind.group" or "*.group")
        }

        if (ks.Objects.Any(Defines) || applied.Any(c => Defines(c) && earlier.Contains(c.By!)))
        {
            return true; // kustomize-controller applies CRDs in a stage of their own, before the rest
        }

        var installers = applied.Where(i => Installs(i, o, applied)).ToList();
        if (installers.Any(i => ready.Contains(i.By!) && WaitsFor(i.By!, i)))
        {
            return true;
        }

        why = installers.Count == 0
            ? $"no CRD for {o.Kind}.{o.Group} is installed in {o.Cluster} (no CustomResourceDefinition, chart or provider applied there, and not a prerequisite): \"no matches for kind\""
            : $"{o.Kind}.{o.Group} is installed by {string.Join(", ", installers.Select(i => $"{i.Id} (in {i.By!.Id})"))}, which is not known Ready before this Kustomization runs (dependsOn a Kustomization that waits for it)";
        return false;
    }

    // Whether an applied HelmRelease or provider object installs the kind of o, in o's cluster.
    private static bool Installs(Obj installer, Obj o, List<Obj> applied)
    {
        string? key = null;
        var cluster = installer.Cluster;
        if ((installer.Group, installer.Kind) == (HelmGroup, "HelmRelease"))
        {
            var spec = installer.Doc["spec"];
            var chartRef = spec?["chartRef"];
            var oci = chartRef is null ? null : applied.FirstOrDefault(r => r.Group == SourceGroup && r.Kind == (string?)chartRef["kind"] && r.Name == (string?)chartRef["name"] && r.Namespace == ((string?)chartRef["namespace"] ?? installer.Namespace));
            var chart = (string?)spec?["chart"]?["spec"]?["chart"] ?? ((string?)oci?.Doc["spec"]?["url"])?.TrimEnd('/').Split('/')[^1] ?? (string?)chartRef?["name"];
            key = chart is null ? null : "chart:" + chart.Split('/')[^1];
            if (spec?["kubeConfig"]?["secretRef"]?["name"] is JsonValue remote)
            {
                cluster = RemoteCluster(installer.Namespace ?? "default", (string)remote!);
            }
        }
        else if (installer.Group == "operator.cluster.x-k8s.io")
        {
            key = Prerequisites.Installers.Any(i => i.Installer == $"provider:{installer.Kind}/{installer.Name}") ? $"provider:{installer.Kind}/{installer.Name}" : $"provider:{installer.Kind}";
        }

        return key is not null && cluster == o.Cluster
            && Prerequisites.Installers.Any(i => (i.Installer == key || (key.StartsWith("chart:", StringComparison.Ordinal) && i.Installer.StartsWith("chart:", StringComparison.Ordinal) && key.EndsWith("/" + i.Installer[6..], StringComparison.Ordinal)))
                && i.Kinds.Any(k => k.Group == o.Group && (k.Kind == "*" || k.Kind == o.Kind)));
    }

    // Whether a Kustomization's Readiness includes the object's: wait: true, or a health check naming it.
    private static bool WaitsFor(Ks ks, Obj o) => ks.Waits
        || (ks.Spec["healthChecks"] as JsonArray ?? []).Any(h => (string?)h?["kind"] == o.Kind && (string?)h?["name"] == o.Name && ((string?)h?["namespace"] ?? o.Namespace) == o.Namespace);

    // The DataStores a Kamaji control plane names (looked up by Kamaji's admission webhook).
    private static IEnumerable<string> DataStoresNamed(Obj o)
    {
        if ((o.Group, o.Kind) == ("kamaji.clastix.io", "TenantControlPlane"))
        {
            if (o.Doc["spec"]?["dataStore"] is JsonValue store && ((string?)store)?.Length > 0)
            {
                yield return (string)store!;
            }

            foreach (var over in o.Doc["spec"]?["dataStoreOverrides"] as JsonArray ?? [])
            {
                if (over?["dataStore"] is JsonValue s)
                {
                    yield return (string)s!;
                }
            }
        }
        else if ((o.Group, o.Kind) == ("controlplane.cluster.x-k8s.io", "KamajiControlPlane") && o.Doc["spec"]?["dataStoreName"] is JsonValue name && ((string?)name)?.Length > 0)
        {
            yield return (string)name!;
        }
    }

    // The Secrets and ConfigMaps an object reads, each with the namespace it is read from and where it is named.
    private static IEnumerable<(string Kind, string Namespace, string Name, string Where)> References(Obj o)
    {
        var ns = o.Namespace ?? "default";
        var spec = o.Doc["spec"] as JsonObject;
        if (spec is null)
        {
            yield break;
        }

        var pod = (o.Group, o.Kind) switch
        {
            ("", "Pod") => spec,
            ("batch", "CronJob") => spec["jobTemplate"]?["spec"]?["template"]?["spec"] as JsonObject,
            ("apps" or "batch", _) => spec["template"]?["spec"] as JsonObject,
            _ => null,
        };
        if (pod is not null)
        {
            foreach (var r in PodReferences(pod))
            {
                yield return (r.Kind, ns, r.Name, r.Where);
            }
        }

        if ((o.Group, o.Kind) == ("kamaji.clastix.io", "DataStore"))
        {
            foreach (var (path, _, reference) in Walk(spec, "spec").Where(w => w.Key == "secretReference"))
            {
                if (reference is JsonObject r && r["name"] is JsonValue name)
                {
                    yield return ("Secret", (string?)r["namespace"] ?? "default", (string)name!, path);
                }
            }
        }

        if ((o.Group, o.Kind) == ("postgresql.cnpg.io", "Cluster"))
        {
            foreach (var (path, node) in new[]
            {
                ("spec.bootstrap.initdb.secret", spec["bootstrap"]?["initdb"]?["secret"]?["name"]),
                ("spec.superuserSecret", spec["superuserSecret"]?["name"]),
                ("spec.certificates.serverCASecret", spec["certificates"]?["serverCASecret"]),
                ("spec.certificates.serverTLSSecret", spec["certificates"]?["serverTLSSecret"]),
                ("spec.certificates.replicationTLSSecret", spec["certificates"]?["replicationTLSSecret"]),
                ("spec.certificates.clientCASecret", spec["certificates"]?["clientCASecret"]),
            })
            {
                if (node is JsonValue name)
                {
                    yield return ("Secret", ns, (string)name!, path);
                }
            }

            foreach (var role in spec["managed"]?["roles"] as JsonArray ?? [])
            {
                if (role?["passwordSecret"]?["name"] is JsonValue name)
                {
                    yield return ("Secret", ns, (string)name!, "spec.managed.roles[].passwordSecret");
                }
            }

            foreach (var secret in spec["imagePullSecrets"] as JsonArray ?? [])
            {
                yield return ("Secret", ns, (string)secret!["name"]!, "spec.imagePullSecrets");
            }
        }
    }

    private static IEnumerable<(string Kind, string Name, string Where)> PodReferences(JsonObject pod)
    {
        static bool Optional(JsonNode? n) => n?["optional"] is JsonValue v && v.GetValue<bool>();
        foreach (var secret in pod["imagePullSecrets"] as JsonArray ?? [])
        {
            yield return ("Secret", (string)secret!["name"]!, "imagePullSecrets");
        }

        foreach (var container in (pod["containers"] as JsonArray ?? []).Concat(pod["initContainers"] as JsonArray ?? []))
        {
            foreach (var env in container?["env"] as JsonArray ?? [])
            {
                foreach (var (key, kind) in new[] { ("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap") })
                {
                    if (env?["valueFrom"]?[key] is JsonObject r && !Optional(r))
                    {
                        yield return (kind, (string)r["name"]!, $"container {container!["name"]} env {env["name"]}");
                    }
                }
            }

            foreach (var from in container?["envFrom"] as JsonArray ?? [])
            {
                foreach (var (key, kind) in new[] { ("secretRef", "Secret"), ("configMapRef", "ConfigMap") })
                {
                    if (from?[key] is JsonObject r && !Optional(r))
                    {
                        yield return (kind, (string)r["name"]!, $"container {container!["name"]} envFrom");
                    }
                }
            }
        }

        foreach (var volume in pod["volumes"] as JsonArray ?? [])
        {
            if (volume?["secret"] is JsonObject s && !Optional(s))
            {
                yield return ("Secret", (string)s["secretName"]!, $"volume {volume["name"]}");
            }

            if (volume?["configMap"] is JsonObject c && !Optional(c))
            {
                yield return ("ConfigMap", (string)c["name"]!, $"volume {volume["name"]}");
            }

            foreach (var source in volume?["projected"]?["sources"] as JsonArray ?? [])
            {
                if (source?["secret"] is JsonObject ps && !Optional(ps))
                {
                    yield return ("Secret", (string)ps["name"]!, $"projected volume {volume!["name"]}");
                }

                if (source?["configMap"] is JsonObject pc && !Optional(pc))
                {
                    yield return ("ConfigMap", (string)pc["name"]!, $"projected volume {volume!["name"]}");
                }
            }
        }
    }

    // Whether a Secret or ConfigMap is produced in a cluster and namespace, by anything in the installation.
    private static bool Produced(string cluster, string kind, string ns, string name, List<Obj> applied, List<Obj> pre)
    {
        if (pre.Concat(applied).Any(o => o.Cluster == cluster && o.Group.Length == 0 && o.Kind == kind && o.Namespace == ns && o.Name == name))
        {
            return true;
        }

        if (kind != "Secret")
        {
            return false;
        }

        foreach (var o in applied.Where(o => o.Cluster == cluster && o.Namespace == ns))
        {
            var generated = (o.Group, o.Kind) switch
            {
                ("external-secrets.io", "ExternalSecret") when (string?)o.Doc["spec"]?["target"]?["creationPolicy"] is null or "Owner" or "Orphan" => [(string?)o.Doc["spec"]?["target"]?["name"] ?? o.Name],
                ("kamaji.clastix.io", "TenantControlPlane") => [o.Name + "-admin-kubeconfig"],
                ("controlplane.cluster.x-k8s.io", "KamajiControlPlane") => [o.Name + "-admin-kubeconfig"], // the provider's TenantControlPlane keeps its name (decision 0043)
                ("cluster.x-k8s.io", "Cluster") => [o.Name + "-kubeconfig"],
                ("postgresql.cnpg.io", "Cluster") => CloudNativePgSecrets(o),
                _ => Array.Empty<string>(),
            };
            if (generated.Contains(name))
            {
                return true;
            }
        }

        return false;
    }

    // The Secrets CloudNativePG generates for a Cluster (api/v1 suffixes): the application user's unless the bootstrap
    // names one, the superuser's only with enableSuperuserAccess, the CA, server and replication certificates unless given.
    private static string[] CloudNativePgSecrets(Obj cluster)
    {
        var spec = cluster.Doc["spec"];
        var names = new List<string> { cluster.Name + "-ca", cluster.Name + "-server", cluster.Name + "-replication" };
        if (spec?["bootstrap"]?["initdb"]?["secret"] is null)
        {
            names.Add(cluster.Name + "-app");
        }

        if (spec?["enableSuperuserAccess"] is JsonValue v && v.GetValue<bool>() && spec["superuserSecret"] is null)
        {
            names.Add(cluster.Name + "-superuser");
        }

        return [.. names];
    }

    private static IEnumerable<(string Path, string Key, JsonNode? Value)> Walk(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    yield return (path + "." + key, key, value);
                    foreach (var inner in Walk(value, path + "." + key))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    foreach (var inner in Walk(item, path + "[]"))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    /// <summary>The documents a folder builds to, as kustomize-controller builds it; null when the folder does not exist.</summary>
    private static List<JsonObject>? Build(string folder, Dictionary<string, string> files, Dictionary<string, List<JsonObject>> documents, List<string> operatorFiles, List<Finding> findings, string by)
    {
        var prefix = folder.Length == 0 ? "" : folder + "/";
        if (!files.Keys.Any(p => p.StartsWith(prefix, StringComparison.Ordinal)))
        {
            return null;
        }

        var kustomization = KustomizeFiles.Select(n => prefix + n).FirstOrDefault(files.ContainsKey);
        var result = new List<JsonObject>();
        if (kustomization is not null)
        {
            var k = Yaml.Documents(files[kustomization]).FirstOrDefault() ?? [];
            foreach (var entry in (k["resources"] as JsonArray ?? []).Select(r => (string)r!))
            {
                var path = Normalize(prefix + entry);
                if (documents.TryGetValue(path, out var docs))
                {
                    result.AddRange(docs);
                }
                else if (Build(path, files, documents, operatorFiles, findings, by) is { } inner)
                {
                    result.AddRange(inner);
                }
                else if (!operatorFiles.Any(f => f == path || f.EndsWith("/" + path, StringComparison.Ordinal))) // else written by the operator: its objects are prerequisites of their own
                {
                    findings.Add(new(by, kustomization, $"lists {entry}, which is not rendered: kustomize build fails"));
                }
            }

            if ((string?)k["namespace"] is { } ns)
            {
                result = [.. result.Select(d =>
                {
                    var copy = d.DeepClone().AsObject();
                    if (copy["metadata"] is JsonObject meta && (string?)d["kind"] != "Namespace")
                    {
                        meta["namespace"] = ns;
                    }

                    return copy;
                })];
            }

            return result;
        }

        // No kustomization.yaml: every manifest below, a sub-folder with one as a whole (fluxcd/pkg kustomize generator).
        var nested = files.Keys.Where(p => p.StartsWith(prefix, StringComparison.Ordinal) && IsKustomizeFile(p) && p.Count(c => c == '/') > prefix.Count(c => c == '/'))
            .Select(p => p[..p.LastIndexOf('/')]).Distinct(StringComparer.Ordinal).ToList();
        foreach (var (path, docs) in documents.Where(d => d.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            if (!nested.Any(n => path.StartsWith(n + "/", StringComparison.Ordinal)))
            {
                result.AddRange(docs);
            }
        }

        foreach (var n in nested.Where(n => !nested.Any(m => m != n && n.StartsWith(m + "/", StringComparison.Ordinal))))
        {
            result.AddRange(Build(n, files, documents, operatorFiles, findings, by) ?? []);
        }

        return result;
    }

    private static bool IsYaml(string path) => path.EndsWith(".yaml", StringComparison.Ordinal) || path.EndsWith(".yml", StringComparison.Ordinal);

    private static readonly string[] KustomizeFiles = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

    private static bool IsKustomizeFile(string path) => KustomizeFiles.Contains(Path.GetFileName(path));

    private static string Normalize(string path)
    {
        var parts = new List<string>();
        foreach (var part in path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count > 0)
                {
                    parts.RemoveAt(parts.Count - 1);
                }
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        return string.Join('/', parts);
    }

    private static (string Group, string Kind) Gvk(JsonObject doc)
    {
        var apiVersion = (string?)doc["apiVersion"] ?? "";
        return (apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)] : "", (string?)doc["kind"] ?? "");
    }

    // Whether a kind is cluster-scoped: the built-in list, a rendered CRD's scope, or a kept CRD's.
    private static bool ClusterScoped(string group, string kind, Dictionary<string, List<JsonObject>> documents)
    {
        var rendered = documents.Values.SelectMany(d => d).FirstOrDefault(d => (string?)d["kind"] == "CustomResourceDefinition" && (string?)d["spec"]?["group"] == group && (string?)d["spec"]?["names"]?["kind"] == kind);
        if (rendered is not null)
        {
            return (string?)rendered["spec"]?["scope"] == "Cluster";
        }

        return Schemas.CustomResourceScope(group, kind) is { } scope ? scope == "Cluster" : ClusterScopedKinds.Contains(kind);
    }

    /// <summary>
    /// When each Kustomization runs: after its parent applied it and its <c>dependsOn</c> are Ready. Reports
    /// dependencies on themselves (cycles of "Ready needs Ready": dependsOn, and a parent that waits for its children).
    /// </summary>
    private sealed class Order
    {
        private readonly Dictionary<Ks, HashSet<Ks>> _applied = [];
        private readonly Dictionary<Ks, HashSet<Ks>> _ready = [];
        private readonly Dictionary<(string, string), Ks> _byKey;
        private readonly HashSet<Ks> _cyclic = [];
        private readonly List<Ks> _all;

        public Order(List<Ks> all, Dictionary<(string, string), Ks> byKey, List<Finding> findings)
        {
            (_byKey, _all) = (byKey, all);

            // Ready needs Ready: a Kustomization's dependsOn, and, when it waits, its children.
            var needs = all.ToDictionary(k => k, k => DependsOn(k).Concat(WaitedChildren(k)).Distinct().ToList());
            var state = new Dictionary<Ks, int>();
            var stack = new List<Ks>();
            void Visit(Ks k)
            {
                state[k] = 1;
                stack.Add(k);
                foreach (var n in needs[k])
                {
                    if (state.GetValueOrDefault(n) == 1)
                    {
                        var cycle = stack.Skip(stack.IndexOf(n)).Append(n).ToList();
                        _cyclic.UnionWith(cycle);
                        var waits = cycle.Zip(cycle.Skip(1)).Any(p => p.Second.Parent == p.First && p.First.Waits);
                        findings.Add(new(k.Id, string.Join(" -> ", cycle.Select(c => c.Id)), waits
                            ? "a parent with wait: true waits for a child that depends on it: neither becomes Ready"
                            : "a dependsOn cycle: none of them ever runs"));
                    }
                    else if (state.GetValueOrDefault(n) == 0)
                    {
                        Visit(n);
                    }
                }

                stack.RemoveAt(stack.Count - 1);
                state[k] = 2;
            }

            foreach (var k in all.Where(k => !state.ContainsKey(k)))
            {
                Visit(k);
            }
        }

        private IEnumerable<Ks> DependsOn(Ks k) => (k.Spec["dependsOn"] as JsonArray ?? [])
            .Select(d => _byKey.GetValueOrDefault(((string?)d?["namespace"] ?? k.Namespace, (string)d!["name"]!))).OfType<Ks>();

        /// <summary>The Kustomizations whose objects are all applied before <paramref name="k"/> dry-runs its own.</summary>
        public HashSet<Ks> AppliedBefore(Ks k)
        {
            if (_applied.TryGetValue(k, out var known))
            {
                return known;
            }

            var result = new HashSet<Ks>();
            _applied[k] = result; // a cycle ends here (and is reported)
            if (k.Parent is { } parent)
            {
                result.Add(parent);
                result.UnionWith(AppliedBefore(parent));
            }

            foreach (var ready in ReadyBefore(k))
            {
                result.Add(ready);
                result.UnionWith(AppliedBefore(ready));
            }

            return result;
        }

        /// <summary>The Kustomizations known Ready before <paramref name="k"/> runs.</summary>
        public HashSet<Ks> ReadyBefore(Ks k)
        {
            if (_ready.TryGetValue(k, out var known))
            {
                return known;
            }

            var result = new HashSet<Ks>();
            _ready[k] = result;
            if (k.Parent is { } parent)
            {
                result.UnionWith(ReadyBefore(parent));
            }

            foreach (var d in DependsOn(k).Where(d => !_cyclic.Contains(d)))
            {
                result.UnionWith(ReadyClosure(d, []));
                result.UnionWith(ReadyBefore(d));
            }

            return result;
        }

        // The children a Kustomization's Readiness includes: all with wait: true, else those its health checks name.
        private IEnumerable<Ks> WaitedChildren(Ks k) => _all.Where(c => c.Parent == k && WaitsFor(k, new Obj(Management, KustomizeGroup, "Kustomization", c.Namespace, c.Name, c.Doc, k)));

        // A Ready Kustomization and the children it waited for, recursively.
        private IEnumerable<Ks> ReadyClosure(Ks k, HashSet<Ks> seen)
        {
            if (!seen.Add(k))
            {
                return [];
            }

            return [k, .. WaitedChildren(k).SelectMany(c => ReadyClosure(c, seen))];
        }
    }

    /// <summary>
    /// A small RBAC evaluator: the rules bound to one service account by RoleBindings and ClusterRoleBindings (subjects
    /// by ServiceAccount, or the groups system:serviceaccounts and system:serviceaccounts:&lt;ns&gt;), with Roles,
    /// ClusterRoles, cluster-admin and a simplified admin/edit/view (plus the ClusterRoles aggregated to them); apiGroups,
    /// resources (the plural of the kind), verbs and resourceNames; a RoleBinding grants in its namespace only.
    /// </summary>
    private sealed class Rbac(List<Obj> visible, string ns, string account)
    {
        /// <summary>Whether any binding gives the account any rule in this cluster.</summary>
        public bool HasRules => Bindings().Any(b => b.Rules.Count > 0);

        /// <summary>The first verb of <see cref="ApplyVerbs"/> the account lacks on <paramref name="o"/>, or null.</summary>
        public string? Denied(Obj o, bool clusterScoped)
        {
            var resource = Plural(o.Kind);
            var rules = Bindings().Where(b => clusterScoped ? b.Namespace is null : b.Namespace is null || b.Namespace == o.Namespace).SelectMany(b => b.Rules).ToList();
            return ApplyVerbs.FirstOrDefault(verb => !rules.Any(r => Allows(r, o.Group, resource, verb, o.Name)));
        }

        private IEnumerable<(string? Namespace, List<JsonObject> Rules)> Bindings()
        {
            foreach (var binding in visible.Where(b => b.Group == "rbac.authorization.k8s.io" && b.Kind is "RoleBinding" or "ClusterRoleBinding"))
            {
                var subjects = binding.Doc["subjects"] as JsonArray ?? [];
                var matches = subjects.Any(s => ((string?)s?["kind"], (string?)s?["name"]) switch
                {
                    ("ServiceAccount", var name) => name == account && ((string?)s!["namespace"] ?? binding.Namespace) == ns,
                    ("Group", "system:serviceaccounts") => true,
                    ("Group", var group) => group == "system:serviceaccounts:" + ns,
                    ("User", var user) => user == $"system:serviceaccount:{ns}:{account}",
                    _ => false,
                });
                if (!matches)
                {
                    continue;
                }

                var roleKind = (string?)binding.Doc["roleRef"]?["kind"];
                var roleName = (string?)binding.Doc["roleRef"]?["name"];
                var scope = binding.Kind == "RoleBinding" ? binding.Namespace : null;
                var rules = new List<JsonObject>();
                if (roleKind == "ClusterRole" && BuiltIn(roleName) is { } builtIn)
                {
                    rules.AddRange(builtIn);
                    rules.AddRange(visible.Where(r => r.Group == "rbac.authorization.k8s.io" && r.Kind == "ClusterRole" && (string?)r.Doc["metadata"]?["labels"]?[$"rbac.authorization.k8s.io/aggregate-to-{roleName}"] == "true")
                        .SelectMany(r => (r.Doc["rules"] as JsonArray ?? []).OfType<JsonObject>()));
                }

                var role = visible.FirstOrDefault(r => r.Group == "rbac.authorization.k8s.io" && r.Kind == roleKind && r.Name == roleName && (roleKind == "ClusterRole" || r.Namespace == binding.Namespace));
                rules.AddRange((role?.Doc["rules"] as JsonArray ?? []).OfType<JsonObject>());
                yield return (scope, rules);
            }
        }

        private static readonly string[] AllVerbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

        private static readonly string[] ReadVerbs = ["get", "list", "watch"];

        // The built-in ClusterRoles, as Kubernetes' bootstrap policy has them for the kinds Flux applies (simplified:
        // admin and edit write the workload, configuration and network kinds of a namespace and read its quota, limits and
        // the namespace itself; admin also writes Roles and RoleBindings; view reads), plus what aggregates to them.
        private static List<JsonObject>? BuiltIn(string? name)
        {
            static JsonObject Rule(string[] groups, string[] resources, string[] verbs) =>
                new() { ["apiGroups"] = new JsonArray([.. groups.Select(g => (JsonNode)g)]), ["resources"] = new JsonArray([.. resources.Select(r => (JsonNode)r)]), ["verbs"] = new JsonArray([.. verbs.Select(v => (JsonNode)v)]) };
            List<JsonObject> workloads(string[] verbs) =>
            [
                Rule([""], ["pods", "services", "endpoints", "persistentvolumeclaims", "configmaps", "secrets", "serviceaccounts", "replicationcontrollers"], verbs),
                Rule(["apps"], ["deployments", "statefulsets", "daemonsets", "replicasets"], verbs),
                Rule(["batch"], ["jobs", "cronjobs"], verbs),
                Rule(["autoscaling"], ["horizontalpodautoscalers"], verbs),
                Rule(["policy"], ["poddisruptionbudgets"], verbs),
                Rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], verbs),
                Rule([""], ["resourcequotas", "limitranges", "namespaces", "events"], ReadVerbs),
            ];
            return name switch
            {
                "cluster-admin" => [Rule(["*"], ["*"], ["*"])],
                "admin" => [.. workloads(AllVerbs), Rule(["rbac.authorization.k8s.io"], ["roles", "rolebindings"], AllVerbs)],
                "edit" => workloads(AllVerbs),
                "view" => workloads(ReadVerbs),
                _ => null,
            };
        }

        private static bool Allows(JsonObject rule, string group, string resource, string verb, string name)
        {
            static bool Has(JsonNode? list, string value) => (list as JsonArray ?? []).Any(v => (string?)v is "*" || (string?)v == value);
            var names = rule["resourceNames"] as JsonArray ?? [];
            return Has(rule["apiGroups"], group) && Has(rule["resources"], resource) && Has(rule["verbs"], verb)
                && (names.Count == 0 || (verb is not ("create" or "list" or "watch") && names.Any(n => (string?)n == name)));
        }

        private static string Plural(string kind)
        {
            var lower = kind.ToLowerInvariant();
            return lower switch
            {
                "endpoints" => lower,
                _ when lower.EndsWith('s') || lower.EndsWith('x') || lower.EndsWith("ch", StringComparison.Ordinal) || lower.EndsWith("sh", StringComparison.Ordinal) => lower + "es",
                _ when lower.EndsWith('y') && !"aeiou".Contains(lower[^2], StringComparison.Ordinal) => lower[..^1] + "ies",
                _ => lower + "s",
            };
        }
    }
}
