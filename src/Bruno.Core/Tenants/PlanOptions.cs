namespace Bruno.Core.Tenants;

/// <summary>
/// What one plan allows (section <c>Bruno:Plans:NAME</c>; rates per tenant, enforced by the limits of issue 5). Checked
/// by <see cref="PlanOptionsValidator"/>.
/// </summary>
public sealed class PlanOptions
{
    /// <summary>Requests a minute.</summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>Requests an hour.</summary>
    public int RequestsPerHour { get; set; }

    /// <summary>Requests a day.</summary>
    public int RequestsPerDay { get; set; }

    /// <summary>Requests in flight at once.</summary>
    public int Concurrent { get; set; }

    /// <summary>Requests a minute of one client of the tenant (a user, or an API key).</summary>
    public int ClientRequestsPerMinute { get; set; }

    /// <summary>Documents the tenant may hold.</summary>
    public long MaxDocuments { get; set; } = 10_000;

    /// <summary>Bytes the tenant's store may take on disk (the design's 100 GiB volume for premium; 10 GiB by default).</summary>
    public long MaxStorageBytes { get; set; } = 10L << 30;

    /// <summary>LLM tokens (prompt and completion) an hour: past it, questions that would generate are refused (429, level llm_tokens).</summary>
    public long LlmTokensPerHour { get; set; } = 100_000;

    /// <summary>LLM tokens a calendar month (UTC): past it, generation is refused (403, quota exceeded).</summary>
    public long LlmTokensPerMonth { get; set; } = 2_000_000;

    /// <summary>Distinct users that may use the tenant; a new user past it is refused (403, quota exceeded).</summary>
    public int MaxUsers { get; set; } = 100;

    /// <summary>CPU cores reserved for the tenant (its share of the worker nodes; the cost model and the rendered quota).</summary>
    public double CpuCores { get; set; } = 2;

    /// <summary>Memory reserved for the tenant, GiB.</summary>
    public double MemoryGiB { get; set; } = 4;

    /// <summary>The tenant's volume, GiB (the cost model charges it whole).</summary>
    public int VolumeGiB { get; set; } = 50;

    /// <summary>
    /// With gateways over store nodes: <c>sync</c> (default), a write is acknowledged once the tenant's replica applied
    /// it too; <c>async</c>, once its owner did, the replica following at most <see cref="ReplicationLagWrites"/> writes
    /// behind (a failover can lose those). Decision 0034.
    /// </summary>
    public string Replication { get; set; } = "sync";

    /// <summary>With <c>async</c> replication, how many writes the replica may be behind before new writes wait for it.</summary>
    public int ReplicationLagWrites { get; set; } = 256;

    /// <summary>The replica's allowed lag in writes: null for synchronous replication.</summary>
    public int? AsyncReplicationLag => string.Equals(Replication, "async", StringComparison.OrdinalIgnoreCase) ? ReplicationLagWrites : null;

    /// <summary>The tenant's namespace quota and container limits on Kubernetes (the design's numbers by default).</summary>
    public NamespaceQuotaOptions Namespace { get; set; } = new();

    /// <summary>
    /// A PostgreSQL server of the tenant's own for its Kamaji control plane (off by default: the control plane keeps its
    /// state in the shared DataStore). Used by Kamaji tenants only (docs/kubernetes.md, "Levels").
    /// </summary>
    public OwnDataStoreOptions OwnDataStore { get; set; } = new();

    /// <summary>The document limits of this plan.</summary>
    public Documents.DocumentQuota DocumentQuota => new(MaxDocuments, MaxStorageBytes);
}

/// <summary>
/// A Kamaji tenant's own PostgreSQL server (a CloudNativePG cluster in its control plane's namespace): whether the plan
/// gives one, and its size.
/// </summary>
public sealed class OwnDataStoreOptions
{
    /// <summary>Whether the plan's Kamaji tenants get a PostgreSQL server of their own.</summary>
    public bool Enabled { get; set; }

    /// <summary>PostgreSQL instances, 1-5: a primary and its standbys.</summary>
    public int Instances { get; set; } = 2;

    /// <summary>Each instance's volume, GiB.</summary>
    public int StorageGiB { get; set; } = 10;

    /// <summary>CPU cores of each instance (requested and the limit).</summary>
    public double CpuCores { get; set; } = 0.5;

    /// <summary>Memory of each instance, GiB (requested and the limit).</summary>
    public double MemoryGiB { get; set; } = 1;
}

/// <summary>
/// What a tenant's namespace may hold (its ResourceQuota) and what one container may ask (its LimitRange), in cores,
/// GiB and MiB. The defaults are the multi-tenancy design's numbers for a tenant.
/// </summary>
public sealed class NamespaceQuotaOptions
{
    /// <summary>CPU requests of all pods together, cores.</summary>
    public double RequestsCpu { get; set; } = 8;

    /// <summary>Memory requests of all pods together, GiB.</summary>
    public double RequestsMemoryGiB { get; set; } = 16;

    /// <summary>CPU limits of all pods together, cores.</summary>
    public double LimitsCpu { get; set; } = 16;

    /// <summary>Memory limits of all pods together, GiB.</summary>
    public double LimitsMemoryGiB { get; set; } = 32;

    /// <summary>Storage requested by all volume claims together, GiB.</summary>
    public int StorageGiB { get; set; } = 100;

    /// <summary>Volume claims.</summary>
    public int PersistentVolumeClaims { get; set; } = 5;

    /// <summary>Pods.</summary>
    public int Pods { get; set; } = 50;

    /// <summary>Services.</summary>
    public int Services { get; set; } = 20;

    /// <summary>Config maps.</summary>
    public int ConfigMaps { get; set; } = 50;

    /// <summary>Secrets.</summary>
    public int Secrets { get; set; } = 50;

    /// <summary>Jobs (0: none).</summary>
    public int Jobs { get; set; } = 10;

    /// <summary>CronJobs (0: none).</summary>
    public int CronJobs { get; set; } = 5;

    /// <summary>Ephemeral storage (container writable layers, logs, emptyDir) of all pods together, GiB: requests and limits.</summary>
    public int EphemeralStorageGiB { get; set; } = 10;

    /// <summary>Most CPU one container may have, cores.</summary>
    public double ContainerMaxCpu { get; set; } = 4;

    /// <summary>Most memory one container may have, GiB.</summary>
    public double ContainerMaxMemoryGiB { get; set; } = 8;

    /// <summary>Least CPU one container may ask, cores.</summary>
    public double ContainerMinCpu { get; set; } = 0.1;

    /// <summary>Least memory one container may ask, MiB.</summary>
    public int ContainerMinMemoryMiB { get; set; } = 128;

    /// <summary>CPU limit of a container that sets none, cores.</summary>
    public double DefaultCpu { get; set; } = 0.5;

    /// <summary>Memory limit of a container that sets none, MiB.</summary>
    public int DefaultMemoryMiB { get; set; } = 1024;

    /// <summary>CPU request of a container that sets none, cores.</summary>
    public double DefaultRequestCpu { get; set; } = 0.25;

    /// <summary>Memory request of a container that sets none, MiB.</summary>
    public int DefaultRequestMemoryMiB { get; set; } = 512;
}
