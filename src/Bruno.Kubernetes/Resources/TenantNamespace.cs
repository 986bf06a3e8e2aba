using Bruno.Contracts;
using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// A namespace with Pod Security labels pinned to a version, and a tenant namespace's ResourceQuota and LimitRange from
/// the plan: compute, ephemeral and volume storage, object counts, and no LoadBalancer or NodePort Service
/// (MTB-PL1-CC-FNS-2).
/// </summary>
internal static class TenantNamespace
{
    /// <summary>
    /// The Pod Security Standards version the namespaces' labels pin (<c>*-version</c>): the newest Kubernetes the
    /// manifests are validated against. A pinned version keeps a cluster upgrade from tightening or loosening the checks
    /// under running pods; an API server older than it applies its own latest checks.
    /// </summary>
    public const string PodSecurityVersion = "v1.35";

    /// <summary>Ephemeral storage of one container (its logs and the <c>/tmp</c> emptyDir of 256 MiB), requested and its limit.</summary>
    public const int ContainerEphemeralStorageGiB = 1;

    public static V1Namespace Namespace(string name, Dictionary<string, string> labels, string podSecurity = "restricted")
    {
        var all = new SortedDictionary<string, string>(labels, StringComparer.Ordinal)
        {
            ["pod-security.kubernetes.io/enforce"] = podSecurity,
            ["pod-security.kubernetes.io/enforce-version"] = PodSecurityVersion,
            ["pod-security.kubernetes.io/audit"] = "restricted",
            ["pod-security.kubernetes.io/audit-version"] = PodSecurityVersion,
            ["pod-security.kubernetes.io/warn"] = "restricted",
            ["pod-security.kubernetes.io/warn-version"] = PodSecurityVersion,
        };
        return new V1Namespace
        {
            ApiVersion = "v1",
            Kind = "Namespace",
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string>(all, StringComparer.Ordinal) },
        };
    }

    public static V1ResourceQuota Quota(string ns, Dictionary<string, string> labels, NamespaceQuota q) => Quota(ns, labels, new SortedDictionary<string, ResourceQuantity>(StringComparer.Ordinal)
    {
        ["requests.cpu"] = Quantities.Cores(q.RequestsCpu),
        ["requests.memory"] = Quantities.GiB(q.RequestsMemoryGiB),
        ["limits.cpu"] = Quantities.Cores(q.LimitsCpu),
        ["limits.memory"] = Quantities.GiB(q.LimitsMemoryGiB),
        ["requests.ephemeral-storage"] = Quantities.GiB(q.EphemeralStorageGiB),
        ["limits.ephemeral-storage"] = Quantities.GiB(q.EphemeralStorageGiB),
        ["requests.storage"] = Quantities.GiB(q.StorageGiB),
        ["count/persistentvolumeclaims"] = Quantities.Count(q.PersistentVolumeClaims),
        ["pods"] = Quantities.Count(q.Pods),
        ["count/services"] = Quantities.Count(q.Services),
        ["services.loadbalancers"] = Quantities.Count(0), // reached through the ingress only
        ["services.nodeports"] = Quantities.Count(0),
        ["count/configmaps"] = Quantities.Count(q.ConfigMaps),
        ["count/secrets"] = Quantities.Count(q.Secrets),
        ["count/jobs.batch"] = Quantities.Count(q.Jobs),
        ["count/cronjobs.batch"] = Quantities.Count(q.CronJobs),
    });

    /// <summary>A ResourceQuota <c>tenant-quota</c> of <paramref name="hard"/>.</summary>
    public static V1ResourceQuota Quota(string ns, Dictionary<string, string> labels, IDictionary<string, ResourceQuantity> hard) => new()
    {
        ApiVersion = "v1",
        Kind = "ResourceQuota",
        Metadata = new V1ObjectMeta { Name = "tenant-quota", NamespaceProperty = ns, Labels = labels },
        Spec = new V1ResourceQuotaSpec { Hard = hard },
    };

    public static V1LimitRange Limits(string ns, Dictionary<string, string> labels, NamespaceQuota q) => Limits(ns, labels, new V1LimitRangeItem
    {
        Type = "Container",
        Max = Pair(Quantities.Cores(q.ContainerMaxCpu), Quantities.GiB(q.ContainerMaxMemoryGiB)),
        Min = Pair(Quantities.Cores(q.ContainerMinCpu), Quantities.MiB(q.ContainerMinMemoryMiB)),
        DefaultProperty = Pair(Quantities.Cores(q.DefaultCpu), Quantities.MiB(q.DefaultMemoryMiB), Quantities.GiB(ContainerEphemeralStorageGiB)),
        DefaultRequest = Pair(Quantities.Cores(q.DefaultRequestCpu), Quantities.MiB(q.DefaultRequestMemoryMiB), Quantities.GiB(ContainerEphemeralStorageGiB)),
    });

    /// <summary>A LimitRange <c>tenant-limits</c> of one item.</summary>
    public static V1LimitRange Limits(string ns, Dictionary<string, string> labels, V1LimitRangeItem item) => new()
    {
        ApiVersion = "v1",
        Kind = "LimitRange",
        Metadata = new V1ObjectMeta { Name = "tenant-limits", NamespaceProperty = ns, Labels = labels },
        Spec = new V1LimitRangeSpec { Limits = [item] },
    };

    /// <summary>CPU and memory (and ephemeral storage when given), as a container's resources name them.</summary>
    public static Dictionary<string, ResourceQuantity> Pair(ResourceQuantity cpu, ResourceQuantity memory, ResourceQuantity? ephemeralStorage = null)
    {
        var pair = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal) { ["cpu"] = cpu, ["memory"] = memory };
        if (ephemeralStorage is not null)
        {
            pair["ephemeral-storage"] = ephemeralStorage;
        }

        return pair;
    }
}
