namespace Bruno.Contracts;

/// <summary>
/// What a plan gives each tenant on Kubernetes: its Bruno container's CPU and memory, its volume, and its namespace's
/// quota and container limits. Core maps a configured plan to it (<c>PlanOptions.ToResources</c>).
/// </summary>
/// <param name="CpuCores">CPU cores of the tenant's Bruno container (requested and the limit).</param>
/// <param name="MemoryGiB">Memory of the tenant's Bruno container, GiB (requested and the limit).</param>
/// <param name="VolumeGiB">The tenant's volume, GiB.</param>
/// <param name="Namespace">The tenant namespace's ResourceQuota and LimitRange.</param>
public sealed record PlanResources(double CpuCores, double MemoryGiB, int VolumeGiB, NamespaceQuota Namespace)
{
    /// <summary>
    /// A PostgreSQL server of the tenant's own for its Kamaji control plane (a CloudNativePG cluster next to it), or
    /// null (the default): the control plane keeps its state in the shared DataStore. Used by Kamaji tenants only.
    /// </summary>
    public DataStorePlan? OwnDataStore { get; init; }
}

/// <summary>
/// The PostgreSQL server a plan gives each Kamaji tenant of its own: how many instances (a primary and its standbys),
/// each one's volume, CPU and memory.
/// </summary>
/// <param name="Instances">PostgreSQL instances, 1-5 (2 or more keep the control plane's state through a node's loss).</param>
/// <param name="StorageGiB">Each instance's volume, GiB.</param>
/// <param name="CpuCores">CPU cores of each instance (requested and the limit).</param>
/// <param name="MemoryGiB">Memory of each instance, GiB (requested and the limit).</param>
public sealed record DataStorePlan(int Instances, int StorageGiB, double CpuCores, double MemoryGiB);

/// <summary>
/// What a tenant's namespace may hold (its ResourceQuota) and what one container may ask (its LimitRange), in cores,
/// GiB and MiB.
/// </summary>
public sealed record NamespaceQuota
{
    /// <summary>CPU requests of all pods together, cores.</summary>
    public required double RequestsCpu { get; init; }

    /// <summary>Memory requests of all pods together, GiB.</summary>
    public required double RequestsMemoryGiB { get; init; }

    /// <summary>CPU limits of all pods together, cores.</summary>
    public required double LimitsCpu { get; init; }

    /// <summary>Memory limits of all pods together, GiB.</summary>
    public required double LimitsMemoryGiB { get; init; }

    /// <summary>Storage requested by all volume claims together, GiB.</summary>
    public required int StorageGiB { get; init; }

    /// <summary>Volume claims.</summary>
    public required int PersistentVolumeClaims { get; init; }

    /// <summary>Pods.</summary>
    public required int Pods { get; init; }

    /// <summary>Services.</summary>
    public required int Services { get; init; }

    /// <summary>Config maps.</summary>
    public required int ConfigMaps { get; init; }

    /// <summary>Secrets.</summary>
    public required int Secrets { get; init; }

    /// <summary>Jobs (0: none).</summary>
    public required int Jobs { get; init; }

    /// <summary>CronJobs (0: none).</summary>
    public required int CronJobs { get; init; }

    /// <summary>Ephemeral storage of all pods together, GiB: requests and limits.</summary>
    public required int EphemeralStorageGiB { get; init; }

    /// <summary>Most CPU one container may have, cores.</summary>
    public required double ContainerMaxCpu { get; init; }

    /// <summary>Most memory one container may have, GiB.</summary>
    public required double ContainerMaxMemoryGiB { get; init; }

    /// <summary>Least CPU one container may ask, cores.</summary>
    public required double ContainerMinCpu { get; init; }

    /// <summary>Least memory one container may ask, MiB.</summary>
    public required int ContainerMinMemoryMiB { get; init; }

    /// <summary>CPU limit of a container that sets none, cores.</summary>
    public required double DefaultCpu { get; init; }

    /// <summary>Memory limit of a container that sets none, MiB.</summary>
    public required int DefaultMemoryMiB { get; init; }

    /// <summary>CPU request of a container that sets none, cores.</summary>
    public required double DefaultRequestCpu { get; init; }

    /// <summary>Memory request of a container that sets none, MiB.</summary>
    public required int DefaultRequestMemoryMiB { get; init; }
}
