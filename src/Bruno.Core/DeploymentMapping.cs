using Bruno.Contracts;
using Bruno.Core.Tenants;

namespace Bruno.Core;

/// <summary>
/// The catalog's records and the configured plans as the manifest renderer reads them (<see cref="TenantDeployment"/>,
/// <see cref="PlanResources"/>): <c>Bruno.Kubernetes</c> depends on <c>Bruno.Contracts</c> only (docs/decisions/0023).
/// </summary>
public static class DeploymentMapping
{
    /// <summary>The tenant's id, display name, plan, isolation level, compliance flags and state.</summary>
    public static TenantDeployment ToDeployment(this TenantRecord tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return new TenantDeployment(tenant.Id.Value, tenant.DisplayName, tenant.Profile.Plan, tenant.Profile.Isolation, tenant.Profile.Flags)
        {
            Status = tenant.Status.ToString().ToLowerInvariant(),
        };
    }

    /// <summary>What the plan gives a tenant on Kubernetes: its container, volume and namespace quota, and its own DataStore if any.</summary>
    public static PlanResources ToResources(this PlanOptions plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var q = plan.Namespace;
        return new PlanResources(plan.CpuCores, plan.MemoryGiB, plan.VolumeGiB, new NamespaceQuota
        {
            RequestsCpu = q.RequestsCpu,
            RequestsMemoryGiB = q.RequestsMemoryGiB,
            LimitsCpu = q.LimitsCpu,
            LimitsMemoryGiB = q.LimitsMemoryGiB,
            StorageGiB = q.StorageGiB,
            PersistentVolumeClaims = q.PersistentVolumeClaims,
            Pods = q.Pods,
            Services = q.Services,
            ConfigMaps = q.ConfigMaps,
            Secrets = q.Secrets,
            Jobs = q.Jobs,
            CronJobs = q.CronJobs,
            EphemeralStorageGiB = q.EphemeralStorageGiB,
            ContainerMaxCpu = q.ContainerMaxCpu,
            ContainerMaxMemoryGiB = q.ContainerMaxMemoryGiB,
            ContainerMinCpu = q.ContainerMinCpu,
            ContainerMinMemoryMiB = q.ContainerMinMemoryMiB,
            DefaultCpu = q.DefaultCpu,
            DefaultMemoryMiB = q.DefaultMemoryMiB,
            DefaultRequestCpu = q.DefaultRequestCpu,
            DefaultRequestMemoryMiB = q.DefaultRequestMemoryMiB,
        })
        {
            OwnDataStore = plan.OwnDataStore is { Enabled: true } own ? new DataStorePlan(own.Instances, own.StorageGiB, own.CpuCores, own.MemoryGiB) : null,
        };
    }

    /// <summary>Every configured plan's resources, by name, with the comparer of <see cref="BrunoOptions.Plans"/>.</summary>
    public static IReadOnlyDictionary<string, PlanResources> PlanResources(this BrunoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Plans.ToDictionary(p => p.Key, p => p.Value.ToResources(), options.Plans.Comparer);
    }
}
