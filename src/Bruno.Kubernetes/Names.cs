using System.Security.Cryptography;
using System.Text;

namespace Bruno.Kubernetes;

/// <summary>
/// The Kubernetes names Bruno gives a tenant's objects. A tenant id is a DNS-1123 label of up to 63 characters, so a
/// prefixed name could be too long: it is then cut and given eight hex digits of the id's SHA-256, which keeps it unique
/// and the same on every render. Each method throws <see cref="ArgumentException"/> for a tenant id that is not a
/// DNS-1123 label.
/// </summary>
public static class Names
{
    /// <summary>Longest DNS-1123 / DNS-1035 label.</summary>
    public const int MaxLabel = 63;

    /// <summary>The tenant's namespace: <c>agent-bruno-&lt;id&gt;</c>.</summary>
    public static string Namespace(string tenant) => Label("agent-bruno-", tenant);

    /// <summary>The namespace of a Kamaji tenant's control plane in the management cluster: <c>kamaji-&lt;id&gt;</c>.</summary>
    public static string ControlPlaneNamespace(string tenant) => Label("kamaji-", tenant);

    /// <summary>The TenantControlPlane's name, a DNS-1035 label (it starts with a letter): <c>bruno-&lt;id&gt;</c>.</summary>
    public static string ControlPlane(string tenant) => Label("bruno-", tenant);

    /// <summary>The Flux Kustomization that applies the tenant's folder: <c>tenant-&lt;id&gt;</c>.</summary>
    public static string FluxKustomization(string tenant) => Label("tenant-", tenant);

    /// <summary>
    /// The management-side namespace of a dedicated-cluster tenant: <c>dedicated-&lt;id&gt;</c>, holding its cluster's
    /// kubeconfig Secret, its keys and the Kustomizations that apply into its cluster.
    /// </summary>
    public static string DedicatedNamespace(string tenant) => Label("dedicated-", tenant);

    /// <summary>
    /// The CloudNativePG cluster of a Kamaji tenant's own DataStore: <c>pg-&lt;id&gt;</c>, at most 50 characters (its
    /// Services and pods add suffixes such as <c>-rw</c> and <c>-1</c> to a label).
    /// </summary>
    public static string Postgres(string tenant) => Label("pg-", tenant, 50);

    /// <summary><paramref name="prefix"/> and the tenant id, cut to <paramref name="max"/> characters with a digest of the id when too long.</summary>
    public static string Label(string prefix, string tenant, int max = MaxLabel)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!IsDns1123Label(tenant))
        {
            throw new ArgumentException("A tenant id is a DNS-1123 label.", nameof(tenant));
        }

        var name = prefix + tenant;
        if (name.Length <= max)
        {
            return name;
        }

        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(tenant)))[..8];
        return (prefix + tenant)[..(max - 9)].TrimEnd('-') + "-" + digest;
    }

    /// <summary>True for a DNS-1123 label: 1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit.</summary>
    public static bool IsDns1123Label(string? value) =>
        value is { Length: > 0 and <= MaxLabel } && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && value[0] != '-' && value[^1] != '-';

    /// <summary>True for a DNS-1035 label: a DNS-1123 label that starts with a letter.</summary>
    public static bool IsDns1035Label(string? value) => IsDns1123Label(value) && value![0] is >= 'a' and <= 'z';
}
