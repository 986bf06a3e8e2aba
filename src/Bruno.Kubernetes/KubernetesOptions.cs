using System.Net;

namespace Bruno.Kubernetes;

/// <summary>
/// How Bruno's manifests are rendered (configuration section <c>Bruno:Kubernetes</c>). <see cref="Validate"/> lists every
/// bad value; the renderer refuses to render with any.
/// </summary>
public sealed class KubernetesOptions
{
    /// <summary>The server image, pinned by tag or digest (the rendered Dockerfile builds it).</summary>
    public string Image { get; set; } = "registry.example.com/bruno/bruno:0.1.0";

    /// <summary>The namespace of the shared parts (Bruno's management plane).</summary>
    public string ManagementNamespace { get; set; } = "bruno-system";

    /// <summary>The StorageClass of every volume claim; empty: the cluster's default class.</summary>
    public string? StorageClass { get; set; }

    /// <summary>The management plane's volume, GiB.</summary>
    public int PlatformVolumeGiB { get; set; } = 20;

    /// <summary>The port Bruno listens on in its container.</summary>
    public int Port { get; set; } = 8080;

    /// <summary>The namespace of the ingress controller that may send requests to the management plane.</summary>
    public string IngressNamespace { get; set; } = "ingress-nginx";

    /// <summary>The namespace of the PostgreSQL server holding the platform catalog (port 5432).</summary>
    public string CatalogNamespace { get; set; } = "postgres-system";

    /// <summary>Where the LLM endpoint is; Bruno's pods may reach it and nothing else outside their namespace.</summary>
    public LlmEndpointOptions Llm { get; set; } = new();

    /// <summary>The Flux source every rendered Kustomization reads.</summary>
    public FluxOptions Flux { get; set; } = new();

    /// <summary>Settings of Kamaji tenants.</summary>
    public KamajiOptions Kamaji { get; set; } = new();

    /// <summary>
    /// The name of an external-secrets ClusterSecretStore: when set, secrets are rendered as ExternalSecrets reading
    /// from it; when empty, they are created out of band (<c>bruno tenant secrets</c> prints how).
    /// </summary>
    public string? ExternalSecretStore { get; set; }

    /// <summary>Where Prometheus scrapes from and where traces and metrics are pushed (docs/observability.md).</summary>
    public MonitoringOptions Monitoring { get; set; } = new();

    /// <summary>
    /// The management plane as two tiers (stateless gateways and store nodes that own the tenants) instead of one
    /// process; off by default (docs/kubernetes.md, "Two tiers").
    /// </summary>
    public TwoTierOptions TwoTier { get; set; } = new();

    /// <summary>The infrastructure layer's controllers (Helm charts) and where prometheus-adapter finds Prometheus.</summary>
    public InfrastructureOptions Infrastructure { get; set; } = new();

    /// <summary>Where the platform catalog's PostgreSQL comes from (a CloudNativePG cluster by default).</summary>
    public CatalogOptions Catalog { get; set; } = new();

    /// <summary>How Secrets arrive: ExternalSecrets, SOPS-encrypted files Flux decrypts, or kubectl out of band.</summary>
    public SecretsOptions Secrets { get; set; } = new();

    /// <summary>
    /// The effective <see cref="SecretsOptions.Provider"/>: as set, or, when empty, <c>external-secrets</c> with an
    /// <see cref="ExternalSecretStore"/> and <c>manual</c> without.
    /// </summary>
    public string SecretsProvider => string.IsNullOrEmpty(Secrets.Provider)
        ? (string.IsNullOrEmpty(ExternalSecretStore) ? "manual" : "external-secrets")
        : Secrets.Provider;

    /// <summary>
    /// How tenants in clusters of their own (kamaji and dedicated-cluster) and the management plane reach each other,
    /// and where those tenants send telemetry (docs/kubernetes.md, "Network policies").
    /// </summary>
    public RemoteTenantOptions RemoteTenants { get; set; } = new();

    /// <summary>Every problem with these options, as lines naming the setting.</summary>
    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Image) || Image.Any(char.IsWhiteSpace) || !(Image.Contains('@', StringComparison.Ordinal) || Image[(Image.LastIndexOf('/') + 1)..].Contains(':', StringComparison.Ordinal)) || Image.EndsWith(":latest", StringComparison.Ordinal))
        {
            yield return "Bruno:Kubernetes:Image must be an image reference pinned by a tag other than latest, or by a digest.";
        }

        if (!Names.IsDns1123Label(ManagementNamespace))
        {
            yield return "Bruno:Kubernetes:ManagementNamespace must be a DNS-1123 label.";
        }

        if (!Names.IsDns1123Label(IngressNamespace) || !Names.IsDns1123Label(CatalogNamespace))
        {
            yield return "Bruno:Kubernetes:IngressNamespace and CatalogNamespace must be DNS-1123 labels.";
        }

        if (!string.IsNullOrEmpty(StorageClass) && !IsDns1123Subdomain(StorageClass))
        {
            yield return "Bruno:Kubernetes:StorageClass must be a DNS-1123 subdomain (or empty for the default class).";
        }

        if (PlatformVolumeGiB < 1 || Port is < 1024 or > 65535)
        {
            yield return "Bruno:Kubernetes:PlatformVolumeGiB must be at least 1 and Port between 1024 and 65535.";
        }

        if (!string.IsNullOrEmpty(ExternalSecretStore) && !IsDns1123Subdomain(ExternalSecretStore))
        {
            yield return "Bruno:Kubernetes:ExternalSecretStore must be a DNS-1123 subdomain.";
        }

        if (TwoTier.Enabled && TwoTier.StorePort == Port)
        {
            yield return "Bruno:Kubernetes:TwoTier:StorePort must differ from Port (the store nodes listen on both).";
        }

        if (Kamaji.Enabled && !string.IsNullOrEmpty(Kamaji.SharedDataStore) && Kamaji.SharedDataStoreProvider is not ("cloudnative-pg" or "external"))
        {
            yield return "Bruno:Kubernetes:Kamaji:SharedDataStoreProvider must be cloudnative-pg or external.";
        }

        if (Kamaji.Enabled && !string.IsNullOrEmpty(Kamaji.SharedDataStore) && Kamaji.SharedDataStoreProvider == "cloudnative-pg"
            && (!Names.IsDns1123Label(Kamaji.SharedDataStore) || Kamaji.SharedDataStore.Length > 50 || !Names.IsDns1123Label(Kamaji.DataStoreSecretNamespace)))
        {
            yield return "Bruno:Kubernetes:Kamaji:SharedDataStore must be a DNS-1123 label of at most 50 characters (it names its CloudNativePG cluster) and DataStoreSecretNamespace a DNS-1123 label.";
        }

        if (Kamaji.Enabled && Kamaji.SharedDataStoreProvider == "cloudnative-pg" && (Kamaji.SharedDataStoreInstances is < 1 or > 9 || Kamaji.SharedDataStoreStorageGiB < 1))
        {
            yield return "Bruno:Kubernetes:Kamaji:SharedDataStoreInstances must be 1-9 and SharedDataStoreStorageGiB at least 1.";
        }

        foreach (var e in Llm.Validate().Concat(Flux.Validate()).Concat(Kamaji.Validate()).Concat(Monitoring.Validate()).Concat(TwoTier.Validate()).Concat(RemoteTenants.Validate())
            .Concat(Infrastructure.Validate()).Concat(Catalog.Validate()).Concat(Secrets.Validate(ExternalSecretStore)))
        {
            yield return e;
        }
    }

    /// <summary>True for a DNS-1123 subdomain: dot-separated labels, 253 characters at most.</summary>
    public static bool IsDns1123Subdomain(string? value) =>
        value is { Length: > 0 and <= 253 } && value.Split('.').All(Names.IsDns1123Label);

    internal static bool IsCidr(string? value)
    {
        var parts = value?.Split('/') ?? [];
        return parts.Length == 2 && IPAddress.TryParse(parts[0], out var ip) && int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bits)
            && bits <= (ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32);
    }
}

/// <summary>
/// The monitoring stack: Prometheus's namespace and pod labels (its scrapes of <c>/metrics</c> are let in through the
/// default-deny policies), and an OTLP collector that pods push traces and metrics to (egress allowed to its port).
/// </summary>
public sealed class MonitoringOptions
{
    /// <summary>The namespace Prometheus and the collector run in.</summary>
    public string Namespace { get; set; } = "monitoring";

    /// <summary>Labels of the Prometheus pods allowed to scrape.</summary>
    public Dictionary<string, string> PrometheusPodLabels { get; set; } = new(StringComparer.Ordinal) { ["app.kubernetes.io/name"] = "prometheus" };

    /// <summary>The OTLP collector's address, for example <c>http://alloy.monitoring.svc:4317</c>; empty: no push, scrape only.</summary>
    public string? OtlpEndpoint { get; set; }

    internal int? OtlpPort => Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var u) ? u.Port : null;

    internal IEnumerable<string> Validate()
    {
        if (!Names.IsDns1123Label(Namespace) || PrometheusPodLabels.Count == 0)
        {
            yield return "Bruno:Kubernetes:Monitoring needs a Namespace (a DNS-1123 label) and PrometheusPodLabels.";
        }

        if (!string.IsNullOrEmpty(OtlpEndpoint) && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
        {
            yield return "Bruno:Kubernetes:Monitoring:OtlpEndpoint must be an absolute http(s) address.";
        }
    }
}

/// <summary>
/// The two-tier shape of the management plane: gateways, a Deployment scaled by a HorizontalPodAutoscaler, that keep no
/// tenant data; and store nodes, a StatefulSet whose pods each own a share of the tenants on a volume of their own.
/// When <see cref="Enabled"/> is false (the default), none of the other settings is used.
/// </summary>
public sealed class TwoTierOptions
{
    /// <summary>Render the two tiers instead of the one management process.</summary>
    public bool Enabled { get; set; }

    /// <summary>Store nodes (StatefulSet replicas), at least 2, and at least one per zone of <see cref="StoreZones"/>.</summary>
    public int StoreNodes { get; set; } = 3;

    /// <summary>
    /// The zones the store nodes run in (values of the node label <c>topology.kubernetes.io/zone</c>, e.g.
    /// <c>eu-west-1a</c>); empty (the default) renders one StatefulSet the scheduler spreads over zones as it can. With
    /// zones, each gets a StatefulSet of its own, <c>agent-bruno-store-&lt;zone&gt;</c>, whose pods must run in that
    /// zone and tell Bruno so (<c>Bruno:Cluster:Zone</c>), so that Bruno keeps a tenant's replica in another zone than
    /// its owner (decision 0037). <see cref="StoreNodes"/> is split over them as evenly as it goes, the zones listed
    /// first getting one more. Each is a DNS-1123 label of at most 34 characters (a StatefulSet's name is at most 52).
    /// </summary>
    public List<string> StoreZones { get; set; } = [];

    /// <summary>The longest zone name <see cref="StoreZones"/> takes: <c>agent-bruno-store-</c> and it make at most 52 characters.</summary>
    public const int MaxStoreZoneLength = 34;

    /// <summary>How many store nodes each of <see cref="StoreZones"/> runs, in their order: <see cref="StoreNodes"/> split as evenly as it goes.</summary>
    public IReadOnlyList<(string Zone, int Nodes)> StoreNodesByZone() =>
        [.. StoreZones.Select((zone, i) => (zone, (StoreNodes / StoreZones.Count) + (i < StoreNodes % StoreZones.Count ? 1 : 0)))];

    /// <summary>Each store node's volume, GiB.</summary>
    public int StoreVolumeGiB { get; set; } = 50;

    /// <summary>The port store nodes serve each other and the gateways on (named <c>grpc</c>).</summary>
    public int StorePort { get; set; } = 7070;

    /// <summary>CPU cores of a store node (requested and the limit).</summary>
    public double StoreCores { get; set; } = 2;

    /// <summary>Memory of a store node, GiB (requested and the limit).</summary>
    public double StoreMemoryGiB { get; set; } = 4;

    /// <summary>The fewest gateways the autoscaler keeps, at least 2 (so that one can always be drained).</summary>
    public int GatewayMinReplicas { get; set; } = 2;

    /// <summary>The most gateways the autoscaler starts.</summary>
    public int GatewayMaxReplicas { get; set; } = 10;

    /// <summary>Requests per second per gateway the autoscaler aims at (the <c>http_requests_per_second</c> metric).</summary>
    public int GatewayRequestsPerSecond { get; set; } = 100;

    /// <summary>CPU cores of a gateway (requested and the limit; the autoscaler's utilization is measured against it).</summary>
    public double GatewayCores { get; set; } = 1;

    /// <summary>Memory of a gateway, GiB (requested and the limit).</summary>
    public double GatewayMemoryGiB { get; set; } = 2;

    /// <summary>A gateway's scratch space for uploads in progress (an emptyDir at <c>/data</c>), GiB.</summary>
    public int GatewayScratchGiB { get; set; } = 4;

    /// <summary>The cluster's DNS domain, in the address each store node advertises.</summary>
    public string ClusterDomain { get; set; } = "cluster.local";

    /// <summary>
    /// The Secret with the certificate gateways and store nodes use for mutual TLS between the tiers (keys
    /// <c>tls.crt</c>, <c>tls.key</c>, <c>ca.crt</c>, as cert-manager writes them), mounted by both tiers. Created by the
    /// operator (cert-manager, or <c>bruno render platform --secrets</c>) or by an ExternalSecret; never rendered with a value.
    /// </summary>
    public string TlsSecret { get; set; } = "agent-bruno-cluster-tls";

    /// <summary>
    /// Whether the secrets provider fills <see cref="TlsSecret"/> (default): an ExternalSecret with external-secrets, an
    /// encrypted file of <c>secrets/platform/</c> with SOPS; false when cert-manager or anything else makes that Secret,
    /// so that two owners never fight over it.
    /// </summary>
    public bool TlsFromExternalSecret { get; set; } = true;

    internal IEnumerable<string> Validate()
    {
        if (!Enabled)
        {
            yield break;
        }

        if (StoreNodes < 2 || StoreVolumeGiB < 1 || StorePort is < 1024 or > 65535)
        {
            yield return "Bruno:Kubernetes:TwoTier needs StoreNodes of at least 2, StoreVolumeGiB of at least 1 and a StorePort between 1024 and 65535.";
        }

        if (StoreZones.Any(z => !Names.IsDns1123Label(z) || z.Length > MaxStoreZoneLength) || StoreZones.Distinct(StringComparer.Ordinal).Count() != StoreZones.Count || StoreNodes < StoreZones.Count)
        {
            yield return $"Bruno:Kubernetes:TwoTier:StoreZones must list distinct zones, each a DNS-1123 label of at most {MaxStoreZoneLength} characters (such as eu-west-1a), and StoreNodes must be at least their number.";
        }

        if (GatewayMinReplicas < 2 || GatewayMaxReplicas < GatewayMinReplicas || GatewayRequestsPerSecond < 1)
        {
            yield return "Bruno:Kubernetes:TwoTier needs GatewayMinReplicas of at least 2, GatewayMaxReplicas of at least GatewayMinReplicas and GatewayRequestsPerSecond of at least 1.";
        }

        if (!(GatewayCores > 0 && GatewayMemoryGiB > 0 && StoreCores > 0 && StoreMemoryGiB > 0) || GatewayScratchGiB < 1)
        {
            yield return "Bruno:Kubernetes:TwoTier:GatewayCores, GatewayMemoryGiB, StoreCores and StoreMemoryGiB must be above 0 and GatewayScratchGiB at least 1.";
        }

        if (!KubernetesOptions.IsDns1123Subdomain(ClusterDomain))
        {
            yield return "Bruno:Kubernetes:TwoTier:ClusterDomain must be a DNS-1123 subdomain such as cluster.local.";
        }

        if (!KubernetesOptions.IsDns1123Subdomain(TlsSecret))
        {
            yield return "Bruno:Kubernetes:TwoTier:TlsSecret must be a Secret's name (a DNS-1123 subdomain).";
        }
    }
}

/// <summary>
/// The LLM endpoint, either inside the cluster (a namespace and the labels of its pods) or outside it (CIDR blocks);
/// the egress rule is rendered for whichever is configured.
/// </summary>
public sealed class LlmEndpointOptions
{
    /// <summary>The namespace of the in-cluster endpoint (matched by its <c>kubernetes.io/metadata.name</c> label).</summary>
    public string? Namespace { get; set; } = "ollama";

    /// <summary>Labels of the endpoint's pods.</summary>
    public Dictionary<string, string> PodLabels { get; set; } = new(StringComparer.Ordinal) { ["app.kubernetes.io/name"] = "ollama" };

    /// <summary>CIDR blocks of an endpoint outside the cluster; when set, used instead of the namespace.</summary>
    public List<string> Cidrs { get; set; } = [];

    /// <summary>The endpoint's TCP port.</summary>
    public int Port { get; set; } = 11434;

    /// <summary>The chat provider Bruno's pods use: <c>none</c> (extractive answers), <c>ollama</c> or <c>openai</c>.</summary>
    public string Provider { get; set; } = "none";

    /// <summary>The endpoint's address as the pods call it (e.g. http://ollama.ollama.svc:11434); needed unless the provider is none.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The model's name (e.g. llama3.1:8b).</summary>
    public string? Model { get; set; }

    /// <summary>True when the endpoint is outside the cluster.</summary>
    public bool External => Cidrs.Count > 0;

    internal IEnumerable<string> Validate()
    {
        if (External ? Cidrs.Any(c => !KubernetesOptions.IsCidr(c)) : !Names.IsDns1123Label(Namespace) || PodLabels.Count == 0)
        {
            yield return "Bruno:Kubernetes:Llm needs either Cidrs (valid CIDR blocks) or a Namespace (a DNS-1123 label) with PodLabels.";
        }

        if (Port is < 1 or > 65535)
        {
            yield return "Bruno:Kubernetes:Llm:Port must be between 1 and 65535.";
        }

        if (Provider is not ("none" or "ollama" or "openai")
            || (Provider != "none" && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Port != Port || string.IsNullOrWhiteSpace(Model))))
        {
            yield return "Bruno:Kubernetes:Llm:Provider must be none, ollama or openai; with a provider, Endpoint must be an http(s) address on Llm:Port and Model set.";
        }
    }
}

/// <summary>The Flux source and reconciliation settings.</summary>
public sealed class FluxOptions
{
    /// <summary>The namespace of Flux and of the tenants' Kustomizations.</summary>
    public string Namespace { get; set; } = "flux-system";

    /// <summary>The kind of the source: GitRepository, OCIRepository, Bucket or ExternalArtifact.</summary>
    public string SourceKind { get; set; } = "GitRepository";

    /// <summary>The source's name (in <see cref="Namespace"/>).</summary>
    public string SourceName { get; set; } = "flux-system";

    /// <summary>Where the rendered folder sits in the source, e.g. <c>./deploy</c> (the root by default).</summary>
    public string Path { get; set; } = ".";

    /// <summary>
    /// The cluster's name, a DNS-1123 label: its entry point is <c>clusters/&lt;name&gt;/</c>, the path
    /// <c>flux bootstrap --path</c> syncs (docs/kubernetes.md, "Infrastructure").
    /// </summary>
    public string Cluster { get; set; } = "production";

    /// <summary>How often Flux reconciles, a Go duration.</summary>
    public string Interval { get; set; } = "5m";

    /// <summary>
    /// The source's address (<c>https://</c> or <c>ssh://</c> for a GitRepository, <c>oci://</c> for an
    /// OCIRepository): a tenant in a cluster of its own gets a copy of the source in its management-side namespace,
    /// because a Kustomization reads its kubeconfig Secret from its own namespace and, under
    /// <c>--no-cross-namespace-refs</c>, its source too. Needed for kamaji and dedicated-cluster tenants only.
    /// </summary>
    public string? SourceUrl { get; set; }

    /// <summary>
    /// What the copy follows, as <c>kind:value</c>: <c>branch:</c>, <c>tag:</c>, <c>semver:</c> or <c>commit:</c> for a
    /// GitRepository; <c>tag:</c>, <c>semver:</c> or <c>digest:</c> for an OCIRepository. Keep it the same as the
    /// source's, so that a tenant's parts apply one revision.
    /// </summary>
    public string SourceRef { get; set; } = "branch:main";

    /// <summary>
    /// The Secret the source authenticates with (its name, in every namespace that holds a copy); empty: a public
    /// source. Filled by an ExternalSecret from <see cref="SourceSecretRemoteKey"/> when
    /// <see cref="KubernetesOptions.ExternalSecretStore"/> is set, else copied by the operator (<c>--secrets</c>).
    /// </summary>
    public string? SourceSecret { get; set; }

    /// <summary>The remote key (every property of it becomes a key of <see cref="SourceSecret"/>) in the ClusterSecretStore.</summary>
    public string SourceSecretRemoteKey { get; set; } = "bruno/flux/source";

    /// <summary>The <see cref="SourceRef"/> field and value, or null when it is not <c>kind:value</c> for <see cref="SourceKind"/>.</summary>
    internal (string Field, string Value)? Ref()
    {
        var colon = SourceRef.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == SourceRef.Length - 1 || SourceRef.Any(char.IsWhiteSpace))
        {
            return null;
        }

        var (field, value) = (SourceRef[..colon], SourceRef[(colon + 1)..]);
        var allowed = SourceKind == "OCIRepository" ? new[] { "tag", "semver", "digest" } : ["branch", "tag", "semver", "commit"];
        return allowed.Contains(field, StringComparer.Ordinal) ? (field, value) : null;
    }

    internal IEnumerable<string> Validate()
    {
        if (!string.IsNullOrEmpty(SourceUrl) && (!Uri.TryCreate(SourceUrl, UriKind.Absolute, out var url)
            || (SourceKind == "OCIRepository" ? url.Scheme != "oci" : url.Scheme is not ("https" or "http" or "ssh"))))
        {
            yield return "Bruno:Kubernetes:Flux:SourceUrl must be an oci:// address for an OCIRepository, or an http(s):// or ssh:// address for a GitRepository.";
        }

        if (!string.IsNullOrEmpty(SourceUrl) && Ref() is null)
        {
            yield return "Bruno:Kubernetes:Flux:SourceRef must be kind:value: branch, tag, semver or commit for a GitRepository; tag, semver or digest for an OCIRepository.";
        }

        if ((!string.IsNullOrEmpty(SourceSecret) && !KubernetesOptions.IsDns1123Subdomain(SourceSecret)) || string.IsNullOrWhiteSpace(SourceSecretRemoteKey))
        {
            yield return "Bruno:Kubernetes:Flux:SourceSecret must be a Secret's name (a DNS-1123 subdomain) and SourceSecretRemoteKey set.";
        }

        if (!Names.IsDns1123Label(Namespace) || !KubernetesOptions.IsDns1123Subdomain(SourceName))
        {
            yield return "Bruno:Kubernetes:Flux:Namespace must be a DNS-1123 label and SourceName a DNS-1123 subdomain.";
        }

        if (!Names.IsDns1123Label(Cluster))
        {
            yield return "Bruno:Kubernetes:Flux:Cluster must be a DNS-1123 label (the folder clusters/<name>/).";
        }

        if (SourceKind is not ("GitRepository" or "OCIRepository" or "Bucket" or "ExternalArtifact"))
        {
            yield return "Bruno:Kubernetes:Flux:SourceKind must be GitRepository, OCIRepository, Bucket or ExternalArtifact.";
        }

        if (string.IsNullOrEmpty(Path) || !Path.StartsWith('.') || Path.Contains("..", StringComparison.Ordinal) || Path.Any(c => char.IsWhiteSpace(c) || c == '\\'))
        {
            yield return "Bruno:Kubernetes:Flux:Path must be a relative path in the source starting with '.', without '..'.";
        }

        if (!System.Text.RegularExpressions.Regex.IsMatch(Interval, @"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))
        {
            yield return "Bruno:Kubernetes:Flux:Interval must be a duration such as 5m or 1h30m.";
        }
    }
}

/// <summary>Settings of the tenant control planes.</summary>
public sealed class KamajiOptions
{
    /// <summary>
    /// Whether this installation runs Kamaji (the default, so that settings rendering kamaji tenants keep working):
    /// false renders no Kamaji, cert-manager or shared DataStore, and a kamaji tenant is refused at render.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Where the shared DataStore's PostgreSQL comes from: <c>cloudnative-pg</c> (the default: a CloudNativePG cluster of
    /// its own named <see cref="SharedDataStore"/> in <see cref="DataStoreSecretNamespace"/>, whose generated superuser
    /// and CA Secrets the DataStore reads) or <c>external</c> (a server at <see cref="DataStoreEndpoints"/> whose
    /// Secrets <c>&lt;name&gt;-credentials</c> and <c>&lt;name&gt;-ca</c> the operator creates).
    /// </summary>
    public string SharedDataStoreProvider { get; set; } = "cloudnative-pg";

    /// <summary>PostgreSQL instances of the shared DataStore's CloudNativePG cluster.</summary>
    public int SharedDataStoreInstances { get; set; } = 3;

    /// <summary>Each instance's volume in the shared DataStore's CloudNativePG cluster, GiB.</summary>
    public int SharedDataStoreStorageGiB { get; set; } = 20;

    /// <summary>The tenant clusters' Kubernetes version (at most the vendored kubeadm's minor, v1.36).</summary>
    public string KubernetesVersion { get; set; } = "v1.35.7";

    /// <summary>
    /// The shared DataStore the control planes keep their state in (it must exist before them). Empty: each tenant
    /// gets a DataStore of its own on <see cref="DataStoreEndpoints"/>.
    /// </summary>
    public string? SharedDataStore { get; set; } = "bruno-postgres";

    /// <summary>PostgreSQL endpoints (host:port) of a tenant's own DataStore.</summary>
    public List<string> DataStoreEndpoints { get; set; } = ["postgres-rw.postgres-system.svc:5432"];

    /// <summary>The namespace of the Secrets a tenant's own DataStore reads its credentials and CA from.</summary>
    public string DataStoreSecretNamespace { get; set; } = "postgres-system";

    /// <summary>
    /// The type of the control plane's Service: LoadBalancer (the default: worker nodes outside the management cluster
    /// join at its address), or ClusterIP behind a <see cref="Gateway"/>. NodePort is refused (it would need an address
    /// and port per tenant); ClusterIP alone only for KubeVirt workers, which run inside the management cluster.
    /// </summary>
    public string ServiceType { get; set; } = "LoadBalancer";

    /// <summary>
    /// The DNS domain of the control planes' host names, <c>bruno-&lt;id&gt;.&lt;Domain&gt;</c> (added to the API server
    /// certificate's SANs). Required with a <see cref="Gateway"/>; with a LoadBalancer, for a DNS record the operator points
    /// at its address. Empty: no host name.
    /// </summary>
    public string? Domain { get; set; }

    /// <summary>A Gateway (TLS passthrough) the control planes are exposed through instead of a LoadBalancer each.</summary>
    public KamajiGatewayOptions Gateway { get; set; } = new();

    /// <summary>How a tenant cluster gets its worker nodes (docs/kubernetes.md, "Worker nodes").</summary>
    public KamajiWorkerOptions Workers { get; set; } = new();

    /// <summary>Control-plane replicas.</summary>
    public int Replicas { get; set; } = 2;

    /// <summary>Service CIDR of the tenant clusters.</summary>
    public string ServiceCidr { get; set; } = "10.96.0.0/16";

    /// <summary>Pod CIDR of the tenant clusters.</summary>
    public string PodCidr { get; set; } = "10.244.0.0/16";

    /// <summary>The namespace Kamaji's operator runs in (it connects to a tenant's own PostgreSQL to create its database and user).</summary>
    public string OperatorNamespace { get; set; } = "kamaji-system";

    /// <summary>Labels of Kamaji's operator pods.</summary>
    public Dictionary<string, string> OperatorPodLabels { get; set; } = new(StringComparer.Ordinal) { ["app.kubernetes.io/name"] = "kamaji" };

    /// <summary>The namespace the CloudNativePG operator runs in (it reaches a tenant's own PostgreSQL instances on ports 8000 and 5432).</summary>
    public string CloudNativePgNamespace { get; set; } = "cnpg-system";

    /// <summary>Labels of the CloudNativePG operator's pods.</summary>
    public Dictionary<string, string> CloudNativePgPodLabels { get; set; } = new(StringComparer.Ordinal) { ["app.kubernetes.io/name"] = "cloudnative-pg" };

    /// <summary>
    /// The management cluster's API server addresses (CIDR blocks; the endpoints of the <c>kubernetes</c> Service) that
    /// a tenant's own PostgreSQL instances reach (CloudNativePG's instance manager reads and writes its Cluster there).
    /// Needed when a plan gives a Kamaji tenant a DataStore of its own.
    /// </summary>
    public List<string> ApiServerCidrs { get; set; } = [];

    /// <summary>The port of <see cref="ApiServerCidrs"/> (the API server's own port, which the <c>kubernetes</c> Service forwards to).</summary>
    public int ApiServerPort { get; set; } = 6443;

    /// <summary>The port of a <c>host:port</c> endpoint, or null when it has none in 1-65535.</summary>
    internal static int? EndpointPort(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return colon > 0 && int.TryParse(endpoint[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535 ? port : null;
    }

    internal IEnumerable<string> Validate()
    {
        var v = KubernetesVersion.TrimStart('v').Split('.');
        if (!KubernetesVersion.StartsWith('v') || v.Length != 3 || !v.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)) || v[0] != "1" || int.Parse(v[1], System.Globalization.CultureInfo.InvariantCulture) > 36)
        {
            yield return "Bruno:Kubernetes:Kamaji:KubernetesVersion must be vMAJOR.MINOR.PATCH, at most v1.36.x (Kamaji's kubeadm).";
        }

        if (!string.IsNullOrEmpty(SharedDataStore) ? !KubernetesOptions.IsDns1123Subdomain(SharedDataStore) : DataStoreEndpoints.Count == 0 || DataStoreEndpoints.Any(e => e.Contains("://", StringComparison.Ordinal) || !e.Contains(':', StringComparison.Ordinal)) || !Names.IsDns1123Label(DataStoreSecretNamespace))
        {
            yield return "Bruno:Kubernetes:Kamaji needs a SharedDataStore name, or DataStoreEndpoints (host:port, no scheme) and a DataStoreSecretNamespace.";
        }

        if (DataStoreEndpoints.Any(e => EndpointPort(e) is null))
        {
            yield return "Bruno:Kubernetes:Kamaji:DataStoreEndpoints must each end in :port (1-65535): the control planes' network policy lets them out to it.";
        }

        if (ServiceType is not ("ClusterIP" or "NodePort" or "LoadBalancer") || Replicas is < 1 or > 5)
        {
            yield return "Bruno:Kubernetes:Kamaji:ServiceType must be ClusterIP, NodePort or LoadBalancer, and Replicas 1-5.";
        }

        if (!string.IsNullOrEmpty(Domain) && (!KubernetesOptions.IsDns1123Subdomain(Domain) || Domain.Length > 253 - Names.MaxLabel - 1))
        {
            yield return $"Bruno:Kubernetes:Kamaji:Domain must be a DNS-1123 subdomain of at most {253 - Names.MaxLabel - 1} characters (a control plane's host name is <name>.<Domain>).";
        }

        foreach (var e in Gateway.Validate(Domain).Concat(Workers.Validate(this)))
        {
            yield return e;
        }

        // Worker nodes join at the control plane's endpoint: it must be reachable from where they run.
        if (Gateway.Enabled ? ServiceType == "NodePort" : ServiceType == "NodePort" || (ServiceType == "ClusterIP" && !(Workers.Mode == "cluster-api" && Workers.ClusterApi.ClusterKind == "KubevirtCluster")))
        {
            yield return "Bruno:Kubernetes:Kamaji:ServiceType must be LoadBalancer, or ClusterIP with a Gateway: worker nodes outside the management cluster cannot reach a ClusterIP, and a NodePort needs an address and port per tenant (ClusterIP alone suits KubeVirt workers only, Workers:ClusterApi:ClusterKind KubevirtCluster).";
        }

        if (!KubernetesOptions.IsCidr(ServiceCidr) || !KubernetesOptions.IsCidr(PodCidr))
        {
            yield return "Bruno:Kubernetes:Kamaji:ServiceCidr and PodCidr must be CIDR blocks.";
        }

        if (!Names.IsDns1123Label(OperatorNamespace) || OperatorPodLabels.Count == 0 || !Names.IsDns1123Label(CloudNativePgNamespace) || CloudNativePgPodLabels.Count == 0)
        {
            yield return "Bruno:Kubernetes:Kamaji:OperatorNamespace and CloudNativePgNamespace must be DNS-1123 labels, with OperatorPodLabels and CloudNativePgPodLabels.";
        }

        if (ApiServerCidrs.Any(c => !KubernetesOptions.IsCidr(c)) || ApiServerPort is < 1 or > 65535)
        {
            yield return "Bruno:Kubernetes:Kamaji:ApiServerCidrs must be CIDR blocks and ApiServerPort between 1 and 65535.";
        }
    }
}

/// <summary>
/// Tenants in clusters of their own (kamaji and dedicated-cluster): who may reach their Bruno there, where the management
/// plane reaches them, and where they send traces and metrics (a collector inside the management cluster is not
/// reachable from another cluster's pods).
/// </summary>
public sealed class RemoteTenantOptions
{
    /// <summary>
    /// The addresses the management plane's requests come from, as a tenant cluster sees them (CIDR blocks: the
    /// management cluster's egress or NAT addresses); admitted to Bruno's port. Set this or <see cref="IngressNamespace"/>.
    /// </summary>
    public List<string> ManagementCidrs { get; set; } = [];

    /// <summary>
    /// The namespace of the ingress controller inside each tenant cluster that forwards the management plane's requests
    /// to Bruno; empty: none. Set this or <see cref="ManagementCidrs"/>.
    /// </summary>
    public string? IngressNamespace { get; set; }

    /// <summary>
    /// The addresses where the management plane reaches remote tenants' Bruno (CIDR blocks: the tenant clusters' load
    /// balancers or ingress); the management plane's egress to them is rendered per tenant, on <see cref="TenantPort"/>.
    /// Empty: no such egress is rendered (the management namespace must allow it otherwise).
    /// </summary>
    public List<string> TenantCidrs { get; set; } = [];

    /// <summary>The port of <see cref="TenantCidrs"/> (443 for an ingress with TLS).</summary>
    public int TenantPort { get; set; } = 443;

    /// <summary>The OTLP collector remote tenants push to, an address their cluster can reach; empty: scrape only.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The CIDR blocks of <see cref="OtlpEndpoint"/>: the egress to it is opened to these only. Required with it.</summary>
    public List<string> OtlpCidrs { get; set; } = [];

    internal int? OtlpPort => Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var u) ? u.Port : null;

    internal IEnumerable<string> Validate()
    {
        if (ManagementCidrs.Any(c => !KubernetesOptions.IsCidr(c)) || TenantCidrs.Any(c => !KubernetesOptions.IsCidr(c)) || OtlpCidrs.Any(c => !KubernetesOptions.IsCidr(c)))
        {
            yield return "Bruno:Kubernetes:RemoteTenants:ManagementCidrs, TenantCidrs and OtlpCidrs must be CIDR blocks.";
        }

        if (!string.IsNullOrEmpty(IngressNamespace) && !Names.IsDns1123Label(IngressNamespace))
        {
            yield return "Bruno:Kubernetes:RemoteTenants:IngressNamespace must be a DNS-1123 label (or empty).";
        }

        if (TenantPort is < 1 or > 65535)
        {
            yield return "Bruno:Kubernetes:RemoteTenants:TenantPort must be between 1 and 65535.";
        }

        if (!string.IsNullOrEmpty(OtlpEndpoint) && (!Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || OtlpCidrs.Count == 0))
        {
            yield return "Bruno:Kubernetes:RemoteTenants:OtlpEndpoint must be an absolute http(s) address, with OtlpCidrs (the addresses it resolves to).";
        }
    }
}

/// <summary>
/// A Gateway (Gateway API, TLS passthrough) that exposes every control plane under its host name: Kamaji writes a
/// TLSRoute to the listener <see cref="SectionName"/> (the API server, port 6443) and one to the listener
/// <c>konnectivity-server</c> (port 8132), which the Gateway must have; the Gateway API and TLSRoute CRDs must be
/// installed. Off while <see cref="Name"/> is empty.
/// </summary>
public sealed class KamajiGatewayOptions
{
    /// <summary>The Gateway's name; empty: no Gateway.</summary>
    public string? Name { get; set; }

    /// <summary>The Gateway's namespace.</summary>
    public string Namespace { get; set; } = "kamaji-system";

    /// <summary>The Gateway's listener for the API servers (TLS passthrough on port 6443).</summary>
    public string SectionName { get; set; } = "kube-apiserver";

    /// <summary>True when a Gateway is configured.</summary>
    public bool Enabled => !string.IsNullOrEmpty(Name);

    internal IEnumerable<string> Validate(string? domain)
    {
        if (!Enabled)
        {
            yield break;
        }

        if (!KubernetesOptions.IsDns1123Subdomain(Name) || !Names.IsDns1123Label(Namespace) || !KubernetesOptions.IsDns1123Subdomain(SectionName))
        {
            yield return "Bruno:Kubernetes:Kamaji:Gateway needs Name and SectionName (DNS-1123 subdomains) and Namespace (a DNS-1123 label).";
        }

        if (string.IsNullOrEmpty(domain))
        {
            yield return "Bruno:Kubernetes:Kamaji:Gateway needs Bruno:Kubernetes:Kamaji:Domain: Kamaji routes each control plane by its host name.";
        }
    }
}

/// <summary>
/// How a Kamaji tenant cluster gets worker nodes: <c>kubeadm</c> (the default: machines the operator provides join with
/// <c>kubeadm join</c>, see <see cref="JoinInstructions"/>) or <c>cluster-api</c> (Cluster API creates them: a Cluster, a
/// KamajiControlPlane and a MachineDeployment are rendered instead of the TenantControlPlane).
/// </summary>
public sealed class KamajiWorkerOptions
{
    /// <summary><c>kubeadm</c> or <c>cluster-api</c>.</summary>
    public string Mode { get; set; } = "kubeadm";

    /// <summary>Worker machines per tenant cluster in cluster-api mode (the MachineDeployment's replicas).</summary>
    public int Replicas { get; set; } = 2;

    /// <summary>The Cluster API infrastructure provider, for cluster-api mode.</summary>
    public ClusterApiOptions ClusterApi { get; set; } = new();

    internal IEnumerable<string> Validate(KamajiOptions kamaji)
    {
        if (Mode is not ("kubeadm" or "cluster-api"))
        {
            yield return "Bruno:Kubernetes:Kamaji:Workers:Mode must be kubeadm or cluster-api.";
            yield break;
        }

        if (Mode == "cluster-api")
        {
            if (Replicas is < 0 or > 1000)
            {
                yield return "Bruno:Kubernetes:Kamaji:Workers:Replicas must be 0-1000.";
            }

            foreach (var e in ClusterApi.Validate(kamaji))
            {
                yield return e;
            }
        }
    }
}

/// <summary>
/// The infrastructure provider of cluster-api mode: the apiVersion and kinds of its cluster and machine template, and
/// the specs Bruno renders them with in each tenant's control-plane namespace (JSON objects, provider-specific; Bruno
/// adds only the control-plane endpoint where the provider needs it up front). Other objects the provider needs (identity
/// Secrets, IP pools, data templates) are prerequisites the operator creates.
/// </summary>
public sealed class ClusterApiOptions
{
    /// <summary>
    /// The infrastructure cluster kinds the Kamaji control-plane provider (v0.20.0) knows how to give the control plane's
    /// endpoint to. Metal3Cluster and MetalStackCluster are only checked: their endpoint must be written up front.
    /// </summary>
    public static readonly IReadOnlySet<string> KnownClusterKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        "AWSCluster", "AzureCluster", "HetznerCluster", "IonosCloudCluster", "KubevirtCluster", "Metal3Cluster", "MetalStackCluster",
        "NutanixCluster", "OpenStackCluster", "PacketCluster", "ProxmoxCluster", "TinkerbellCluster", "VSphereCluster",
    };

    /// <summary>The kinds whose endpoint the provider checks and never writes.</summary>
    public static readonly IReadOnlySet<string> EndpointCheckedKinds = new HashSet<string>(StringComparer.Ordinal) { "Metal3Cluster", "MetalStackCluster" };

    /// <summary>The provider's apiVersion, e.g. <c>infrastructure.cluster.x-k8s.io/v1beta1</c>.</summary>
    public string InfrastructureApiVersion { get; set; } = "infrastructure.cluster.x-k8s.io/v1beta1";

    /// <summary>The provider's cluster kind, e.g. Metal3Cluster, VSphereCluster, AWSCluster, ProxmoxCluster.</summary>
    public string? ClusterKind { get; set; }

    /// <summary>The provider's machine template kind, e.g. Metal3MachineTemplate.</summary>
    public string? MachineTemplateKind { get; set; }

    /// <summary>The infrastructure cluster's <c>spec</c> as a JSON object (without controlPlaneEndpoint).</summary>
    public string ClusterSpec { get; set; } = "{}";

    /// <summary>The machine template's <c>spec</c> as a JSON object: <c>{"template": {"spec": {...}}}</c>.</summary>
    public string? MachineTemplateSpec { get; set; }

    /// <summary>The workers' KubeadmConfig <c>spec</c> (files, preKubeadmCommands, users...) as a JSON object; empty: <c>{}</c>.</summary>
    public string BootstrapSpec { get; set; } = "{}";

    /// <summary>
    /// True when the provider runs with the DynamicInfrastructureClusterPatch feature gate and lists <see cref="ClusterKind"/>
    /// in <c>--dynamic-infrastructure-clusters</c>: a kind outside <see cref="KnownClusterKinds"/> is then accepted.
    /// </summary>
    public bool DynamicInfrastructureCluster { get; set; }

    /// <summary>The object <paramref name="json"/> holds, or null when it is not a JSON object.</summary>
    internal static System.Text.Json.Nodes.JsonObject? Object(string? json)
    {
        try
        {
            return System.Text.Json.Nodes.JsonNode.Parse(json ?? "") as System.Text.Json.Nodes.JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    internal IEnumerable<string> Validate(KamajiOptions kamaji)
    {
        const string prefix = "Bruno:Kubernetes:Kamaji:Workers:ClusterApi:";
        var slash = InfrastructureApiVersion.IndexOf('/', StringComparison.Ordinal);
        if (slash < 1 || !KubernetesOptions.IsDns1123Subdomain(InfrastructureApiVersion[..slash]) || !Names.IsDns1123Label(InfrastructureApiVersion[(slash + 1)..]))
        {
            yield return prefix + "InfrastructureApiVersion must be group/version, e.g. infrastructure.cluster.x-k8s.io/v1beta1.";
        }

        if (!IsKind(ClusterKind) || !IsKind(MachineTemplateKind))
        {
            yield return prefix + "ClusterKind and MachineTemplateKind must name the provider's kinds (a letter, then letters, digits or '-', at most 63), e.g. Metal3Cluster and Metal3MachineTemplate.";
        }
        else if (!KnownClusterKinds.Contains(ClusterKind!) && !DynamicInfrastructureCluster)
        {
            yield return prefix + $"ClusterKind {ClusterKind} is not one the Kamaji control-plane provider writes the endpoint to ({string.Join(", ", KnownClusterKinds.Order(StringComparer.Ordinal))}); run the provider with the DynamicInfrastructureClusterPatch feature gate and set DynamicInfrastructureCluster.";
        }
        else if (EndpointCheckedKinds.Contains(ClusterKind!) && !kamaji.Gateway.Enabled)
        {
            yield return prefix + $"ClusterKind {ClusterKind} needs the control plane's endpoint before it exists, which only a Gateway host name gives: set Bruno:Kubernetes:Kamaji:Gateway.";
        }

        var cluster = Object(ClusterSpec);
        if (cluster is null || cluster.ContainsKey("controlPlaneEndpoint"))
        {
            yield return prefix + "ClusterSpec must be a JSON object without controlPlaneEndpoint (the provider or Bruno sets it).";
        }

        if (Object(MachineTemplateSpec)?["template"] is not System.Text.Json.Nodes.JsonObject)
        {
            yield return prefix + "MachineTemplateSpec must be a JSON object with a template: {\"template\": {\"spec\": {...}}}.";
        }

        if (Object(BootstrapSpec) is null)
        {
            yield return prefix + "BootstrapSpec must be a JSON object (the workers' KubeadmConfig spec).";
        }
    }

    private static bool IsKind(string? kind) =>
        kind is { Length: > 0 and <= 63 } && char.IsAsciiLetter(kind[0]) && char.IsAsciiLetterOrDigit(kind[^1]) && kind.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');
}
