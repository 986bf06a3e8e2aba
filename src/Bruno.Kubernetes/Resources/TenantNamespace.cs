using Bruno.Core.Tenants;
using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>A tenant's namespace with Pod Security <c>restricted</c>, its ResourceQuota and LimitRange from the plan.</summary>
internal static class TenantNamespace
{
    public static V1Namespace Namespace(string name, Dictionary<string, string> labels, string podSecurity = "restricted")
    {
        var all = new SortedDictionary<string, string>(labels, StringComparer.Ordinal)
        {
            ["pod-security.kubernetes.io/enforce"] = podSecurity,
            ["pod-security.kubernetes.io/audit"] = "restricted",
            ["pod-security.kubernetes.io/warn"] = "restricted",
        };
        return new V1Namespace
        {
            ApiVersion = "v1",
            Kind = "Namespace",
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string>(all, StringComparer.Ordinal) },
        };
    }

    public static V1ResourceQuota Quota(string ns, Dictionary<string, string> labels, NamespaceQuotaOptions q) => new()
    {
        ApiVersion = "v1",
        Kind = "ResourceQuota",
        Metadata = new V1ObjectMeta { Name = "tenant-quota", NamespaceProperty = ns, Labels = labels },
        Spec = new V1ResourceQuotaSpec
        {
            Hard = new SortedDictionary<string, ResourceQuantity>(StringComparer.Ordinal)
            {
                ["requests.cpu"] = Quantities.Cores(q.RequestsCpu),
                ["requests.memory"] = Quantities.GiB(q.RequestsMemoryGiB),
                ["limits.cpu"] = Quantities.Cores(q.LimitsCpu),
                ["limits.memory"] = Quantities.GiB(q.LimitsMemoryGiB),
                ["requests.storage"] = Quantities.GiB(q.StorageGiB),
                ["persistentvolumeclaims"] = Quantities.Count(q.PersistentVolumeClaims),
                ["pods"] = Quantities.Count(q.Pods),
                ["services"] = Quantities.Count(q.Services),
                ["configmaps"] = Quantities.Count(q.ConfigMaps),
                ["secrets"] = Quantities.Count(q.Secrets),
            },
        },
    };

    public static V1LimitRange Limits(string ns, Dictionary<string, string> labels, NamespaceQuotaOptions q) => new()
    {
        ApiVersion = "v1",
        Kind = "LimitRange",
        Metadata = new V1ObjectMeta { Name = "tenant-limits", NamespaceProperty = ns, Labels = labels },
        Spec = new V1LimitRangeSpec
        {
            Limits =
            [
                new V1LimitRangeItem
                {
                    Type = "Container",
                    Max = Pair(Quantities.Cores(q.ContainerMaxCpu), Quantities.GiB(q.ContainerMaxMemoryGiB)),
                    Min = Pair(Quantities.Cores(q.ContainerMinCpu), Quantities.MiB(q.ContainerMinMemoryMiB)),
                    DefaultProperty = Pair(Quantities.Cores(q.DefaultCpu), Quantities.MiB(q.DefaultMemoryMiB)),
                    DefaultRequest = Pair(Quantities.Cores(q.DefaultRequestCpu), Quantities.MiB(q.DefaultRequestMemoryMiB)),
                },
            ],
        },
    };

    private static Dictionary<string, ResourceQuantity> Pair(ResourceQuantity cpu, ResourceQuantity memory) =>
        new(StringComparer.Ordinal) { ["cpu"] = cpu, ["memory"] = memory };
}
