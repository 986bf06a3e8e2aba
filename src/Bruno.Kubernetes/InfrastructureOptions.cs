namespace Bruno.Kubernetes;

/// <summary>
/// The controllers Bruno's infrastructure layer installs through Flux HelmReleases (configuration section
/// <c>Bruno:Kubernetes:Infrastructure</c>): cert-manager (Kamaji's webhook certificates), Kamaji, External Secrets
/// Operator, the CloudNativePG operator and prometheus-adapter. Each is rendered only when the installation needs it
/// and its <see cref="ChartOptions.Enabled"/> is true; with it false the component is a prerequisite the operator
/// installs (docs/kubernetes.md, "Infrastructure"). Problems are reported by <see cref="Validate"/> as lines naming the
/// setting.
/// </summary>
public sealed class InfrastructureOptions
{
    /// <summary>cert-manager, which issues the Kamaji webhook's serving certificate (its chart has an Issuer and a Certificate).</summary>
    public ChartOptions CertManager { get; set; } = new()
    {
        Namespace = "cert-manager",
        Url = "oci://quay.io/jetstack/charts/cert-manager",
        Chart = "cert-manager",
        Version = "v1.19.2",
    };

    /// <summary>
    /// Kamaji. Clastix publishes only the edge chart <c>0.0.0+latest</c> (a Helm repository, no OCI artifact), rebuilt
    /// at every push; <see cref="KamajiImageTag"/> pins the controller image so that the chart's <c>latest</c> is not used.
    /// </summary>
    public ChartOptions Kamaji { get; set; } = new()
    {
        Namespace = "kamaji-system",
        Url = "https://clastix.github.io/charts",
        Chart = "kamaji",
        Version = "0.0.0+latest",
    };

    /// <summary>The Kamaji controller's image tag (an edge release such as <c>26.8.2-edge</c>, the CRDs Bruno is checked against).</summary>
    public string KamajiImageTag { get; set; } = "26.8.2-edge";

    /// <summary>External Secrets Operator, installed when <see cref="SecretsOptions.Provider"/> is <c>external-secrets</c>.</summary>
    public ChartOptions ExternalSecrets { get; set; } = new()
    {
        Namespace = "external-secrets",
        Url = "oci://ghcr.io/external-secrets/charts/external-secrets",
        Chart = "external-secrets",
        Version = "2.9.0",
    };

    /// <summary>The CloudNativePG operator (chart 0.29.0 is operator 1.30.0), for the catalog and the shared Kamaji DataStore.</summary>
    public ChartOptions CloudNativePg { get; set; } = new()
    {
        Namespace = "cnpg-system",
        Url = "oci://ghcr.io/cloudnative-pg/charts/cloudnative-pg",
        Chart = "cloudnative-pg",
        Version = "0.29.0",
    };

    /// <summary>prometheus-adapter, which serves the gateways' autoscaler its requests-per-second metric (two tiers only).</summary>
    public ChartOptions PrometheusAdapter { get; set; } = new()
    {
        Namespace = "prometheus-adapter",
        Url = "oci://ghcr.io/prometheus-community/charts/prometheus-adapter",
        Chart = "prometheus-adapter",
        Version = "5.3.0",
    };

    /// <summary>The Prometheus prometheus-adapter queries, an absolute http(s) address with its port.</summary>
    public string PrometheusUrl { get; set; } = "http://prometheus-operated.monitoring.svc:9090";

    /// <summary>Every component by the name of its HelmRelease.</summary>
    internal IEnumerable<(string Name, ChartOptions Chart)> All() =>
    [
        ("cert-manager", CertManager),
        ("kamaji", Kamaji),
        ("external-secrets", ExternalSecrets),
        ("cloudnative-pg", CloudNativePg),
        ("prometheus-adapter", PrometheusAdapter),
    ];

    internal IEnumerable<string> Validate()
    {
        foreach (var (name, chart) in All())
        {
            var setting = "Bruno:Kubernetes:Infrastructure:" + name switch
            {
                "cert-manager" => "CertManager",
                "kamaji" => "Kamaji",
                "external-secrets" => "ExternalSecrets",
                "cloudnative-pg" => "CloudNativePg",
                _ => "PrometheusAdapter",
            };
            foreach (var e in chart.Validate(setting))
            {
                yield return e;
            }
        }

        if (string.IsNullOrEmpty(KamajiImageTag) || KamajiImageTag == "latest" || !KamajiImageTag.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
        {
            yield return "Bruno:Kubernetes:Infrastructure:KamajiImageTag must be an image tag other than latest (such as 26.8.2-edge).";
        }

        if (!Uri.TryCreate(PrometheusUrl, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
        {
            yield return "Bruno:Kubernetes:Infrastructure:PrometheusUrl must be an absolute http(s) address such as http://prometheus-operated.monitoring.svc:9090.";
        }
    }
}

/// <summary>
/// One Helm chart of the infrastructure layer: the namespace it is installed in, where the chart comes from (an
/// <c>oci://</c> address renders an OCIRepository whose tag is <see cref="Version"/>; an <c>https://</c> address a
/// HelmRepository), and its exact version (never a range: every cluster installs the same chart).
/// </summary>
public sealed class ChartOptions
{
    /// <summary>Render this component when the installation needs it; false: the operator installs it (a prerequisite).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The namespace the chart is installed in (rendered as a Namespace).</summary>
    public string Namespace { get; set; } = string.Empty;

    /// <summary>The chart's OCI address (<c>oci://registry/path/chart</c>) or its Helm repository (<c>https://...</c>).</summary>
    public string Url { get; set; } = string.Empty;

    /// <summary>The chart's name in a Helm repository (unused with an OCI address, which names the chart itself).</summary>
    public string Chart { get; set; } = string.Empty;

    /// <summary>The exact chart version (an OCI tag), such as <c>0.29.0</c> or <c>v1.19.2</c>.</summary>
    public string Version { get; set; } = string.Empty;

    /// <summary>True when the chart comes from an OCI registry.</summary>
    public bool IsOci => Url.StartsWith("oci://", StringComparison.Ordinal);

    internal IEnumerable<string> Validate(string setting)
    {
        if (!Enabled)
        {
            yield break;
        }

        if (!Names.IsDns1123Label(Namespace))
        {
            yield return $"{setting}:Namespace must be a DNS-1123 label.";
        }

        if (!Uri.TryCreate(Url, UriKind.Absolute, out var u) || u.Scheme is not ("oci" or "https" or "http") || Url.Any(char.IsWhiteSpace)
            || (!IsOci && string.IsNullOrWhiteSpace(Chart)))
        {
            yield return $"{setting}:Url must be an oci:// chart address or an http(s) Helm repository (then with Chart set).";
        }

        // an exact version: a range (*, x, ^, ~, <, >, ||, a space) would let each cluster install a different chart
        if (string.IsNullOrEmpty(Version) || !char.IsAsciiDigit(Version.TrimStart('v').FirstOrDefault())
            || Version.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '+')) || Version.Split('.', '-', '+').Any(p => p is "x" or "X"))
        {
            yield return $"{setting}:Version must be one exact chart version such as 1.2.3 or v1.2.3, never a range or *.";
        }
    }
}

/// <summary>
/// Where the platform catalog's PostgreSQL comes from (configuration section <c>Bruno:Kubernetes:Catalog</c>): a
/// CloudNativePG cluster rendered in <see cref="KubernetesOptions.CatalogNamespace"/> (the default), or a server the
/// operator brings (<c>external</c>). Problems are reported by <see cref="Validate"/> as lines naming the setting.
/// </summary>
public sealed class CatalogOptions
{
    /// <summary><c>cloudnative-pg</c> (a Cluster rendered under <c>infrastructure/configs/</c>) or <c>external</c>.</summary>
    public string Provider { get; set; } = "cloudnative-pg";

    /// <summary>The CloudNativePG Cluster's name; its generated Secrets are <c>&lt;name&gt;-app</c> and <c>&lt;name&gt;-ca</c>.</summary>
    public string ClusterName { get; set; } = "bruno-catalog";

    /// <summary>PostgreSQL instances (one primary, the rest streaming replicas).</summary>
    public int Instances { get; set; } = 3;

    /// <summary>Each instance's volume, GiB.</summary>
    public int StorageGiB { get; set; } = 20;

    /// <summary>The instances' StorageClass; empty: <see cref="KubernetesOptions.StorageClass"/>.</summary>
    public string? StorageClass { get; set; }

    /// <summary>The catalog database (and its owner role), made by CloudNativePG's initdb.</summary>
    public string Database { get; set; } = "bruno";

    /// <summary>True when the catalog is rendered as a CloudNativePG cluster.</summary>
    public bool OnCloudNativePg => Provider == "cloudnative-pg";

    internal IEnumerable<string> Validate()
    {
        if (Provider is not ("cloudnative-pg" or "external"))
        {
            yield return "Bruno:Kubernetes:Catalog:Provider must be cloudnative-pg or external.";
        }

        if (!OnCloudNativePg)
        {
            yield break;
        }

        if (!Names.IsDns1123Label(ClusterName) || ClusterName.Length > 50 || Instances is < 1 or > 9 || StorageGiB < 1)
        {
            yield return "Bruno:Kubernetes:Catalog needs a ClusterName (a DNS-1123 label of at most 50 characters), Instances of 1-9 and StorageGiB of at least 1.";
        }

        if (!string.IsNullOrEmpty(StorageClass) && !KubernetesOptions.IsDns1123Subdomain(StorageClass))
        {
            yield return "Bruno:Kubernetes:Catalog:StorageClass must be a DNS-1123 subdomain (or empty).";
        }

        if (string.IsNullOrEmpty(Database) || Database.Length > 63 || !char.IsAsciiLetterLower(Database[0]) || !Database.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
        {
            yield return "Bruno:Kubernetes:Catalog:Database must be a PostgreSQL name of a-z, 0-9 and '_' starting with a letter.";
        }
    }
}

/// <summary>
/// How the Secrets Bruno's manifests name arrive (configuration section <c>Bruno:Kubernetes:Secrets</c>):
/// <c>external-secrets</c> (ExternalSecrets rendered, reading <see cref="KubernetesOptions.ExternalSecretStore"/>),
/// <c>sops</c> (the operator's encrypted files under <c>secrets/</c>, decrypted by Flux) or <c>manual</c> (kubectl
/// out of band). Empty: <c>external-secrets</c> when <see cref="KubernetesOptions.ExternalSecretStore"/> is set, else
/// <c>manual</c>, as before this setting existed. Problems are reported by <see cref="Validate"/>.
/// </summary>
public sealed class SecretsOptions
{
    /// <summary><c>external-secrets</c>, <c>sops</c>, <c>manual</c>, or empty (derived from ExternalSecretStore).</summary>
    public string? Provider { get; set; }

    /// <summary>The Secret in Flux's namespace holding the age private key (a key ending in <c>.agekey</c>) that decrypts SOPS files.</summary>
    public string SopsAgeSecret { get; set; } = "sops-age";

    internal IEnumerable<string> Validate(string? store)
    {
        if (Provider is not (null or "" or "external-secrets" or "sops" or "manual"))
        {
            yield return "Bruno:Kubernetes:Secrets:Provider must be external-secrets, sops or manual.";
        }

        if (Provider == "external-secrets" && string.IsNullOrEmpty(store))
        {
            yield return "Bruno:Kubernetes:Secrets:Provider external-secrets needs Bruno:Kubernetes:ExternalSecretStore (the ClusterSecretStore to read).";
        }

        if (Provider is "sops" or "manual" && !string.IsNullOrEmpty(store))
        {
            yield return $"Bruno:Kubernetes:Secrets:Provider {Provider} and Bruno:Kubernetes:ExternalSecretStore exclude each other: leave the store empty.";
        }

        if (!KubernetesOptions.IsDns1123Subdomain(SopsAgeSecret))
        {
            yield return "Bruno:Kubernetes:Secrets:SopsAgeSecret must be a Secret's name (a DNS-1123 subdomain).";
        }
    }
}
