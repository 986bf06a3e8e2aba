namespace Bruno.Core.Cluster;

/// <summary>What one process does in a deployment of several (docs/scaling.md).</summary>
public enum NodeRole
{
    /// <summary>Everything in one process: the default.</summary>
    All,

    /// <summary>Authentication, tenancy, limits, models, MCP and the admin API; no tenant data on disk.</summary>
    Gateway,

    /// <summary>Owns a share of the tenant stores on its own volume and serves them to gateways over gRPC.</summary>
    Store,
}

/// <summary>
/// Running Bruno as gateways over store nodes (configuration section <c>Bruno:Cluster</c>). Every process of one
/// deployment shares the PostgreSQL catalog and the token; store nodes also share the master key (a tenant moves with
/// its wrapped key ring).
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>Shortest accepted token.</summary>
    public const int MinTokenLength = 32;

    /// <summary><c>all</c> (default), <c>gateway</c> or <c>store</c>.</summary>
    public string Role { get; set; } = "all";

    /// <summary>A store node's name, unique in the deployment (a DNS label, e.g. the StatefulSet pod's name).</summary>
    public string? NodeName { get; set; }

    /// <summary>
    /// Where gateways reach this store node's gRPC API, e.g. <c>http://bruno-store-0.bruno-store:7070</c>; <c>https://</c>
    /// (and a host name the node's certificate names) when <see cref="Tls"/> is on.
    /// </summary>
    public string? AdvertiseUrl { get; set; }

    /// <summary>
    /// The zone (failure domain) this store node runs in, e.g. <c>eu-west-1a</c>, as the Kubernetes node label
    /// <c>topology.kubernetes.io/zone</c> names it; optional. A store node reports it with its heartbeat, and a tenant's
    /// replica goes to a node of another zone than its owner's when a live one exists (decision 0037). Null or empty: the
    /// zone is unknown, and the node is never counted as apart from any other. A value that is not a DNS label (a-z,
    /// 0-9, '-', at most 63 characters) stops the process at start.
    /// </summary>
    public string? Zone { get; set; }

    /// <summary>The zone, or null when none is set (empty counts as none).</summary>
    public string? ZoneOrNull => string.IsNullOrEmpty(Zone) ? null : Zone;

    /// <summary>Whether <paramref name="zone"/> is a zone name Bruno accepts: a DNS label (1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit).</summary>
    public static bool IsZoneName(string? zone) =>
        zone is { Length: > 0 and <= 63 } && zone.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-') && zone[0] != '-' && zone[^1] != '-';

    /// <summary>The port of a store node's gRPC API (HTTP/2; its health and metrics stay on the main port).</summary>
    public int StorePort { get; set; } = 7070;

    /// <summary>The address the gRPC port binds to: the cluster network's interface (default all interfaces).</summary>
    public string StoreBind { get; set; } = "0.0.0.0";

    /// <summary>The secret every gateway and store node presents to store nodes; at least 32 characters.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// Mutual TLS between the tiers (off unless its files are set): the store port serves HTTPS and requires a client
    /// certificate from the deployment's authority; gateways present theirs and check the node's. The token is still checked.
    /// </summary>
    public ClusterTlsOptions Tls { get; set; } = new();

    /// <summary>How often a store node reports its load and checks which tenants it still owns, in seconds.</summary>
    public int HeartbeatSeconds { get; set; } = 2;

    /// <summary>
    /// A store node's lease, in seconds: a node not heard from for this long gets no new tenants, and the tenants it owns
    /// are promoted to their replicas (decision 0034). At least three heartbeats.
    /// </summary>
    public int NodeTimeoutSeconds { get; set; } = 8;

    /// <summary>
    /// <c>sync</c> (default): each tenant gets a replica on a second store node (when there is one), and a write is
    /// acknowledged only once the replica applied it too; <c>none</c>: one copy per tenant, as before replicas existed.
    /// </summary>
    public string Replication { get; set; } = "sync";

    /// <summary>Whether tenants get replicas (<see cref="Replication"/> is <c>sync</c>).</summary>
    public bool Replicated => !string.Equals(Replication, "none", StringComparison.OrdinalIgnoreCase);

    /// <summary>How long a gateway trusts what it read of a tenant's placement, in milliseconds (a move is seen at once on a refusal).</summary>
    public int PlacementCacheMilliseconds { get; set; } = 2_000;

    /// <summary>How long a write waits for a tenant being moved before it is refused with 503, in milliseconds.</summary>
    public int FencedWaitMilliseconds { get; set; } = 10_000;

    /// <summary>
    /// The lease of a move or a replica build, in seconds: the gateway running it renews it every second; one not renewed
    /// for this long (its gateway died) is undone by any other gateway.
    /// </summary>
    public int MoveLeaseSeconds { get; set; } = 6;

    /// <summary>
    /// This process's name among the others: <see cref="NodeName"/> when set (a gateway may set it too), else the host
    /// name and process id (<c>host-1234</c>). Gateways label what they alone saw with it (insights) and register under it
    /// for the shared request limits (decision 0035).
    /// </summary>
    public string InstanceName => NodeName is { Length: > 0 } name ? name : $"{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}";

    /// <summary>The role as an enum (after validation).</summary>
    public NodeRole Kind => Role.ToLowerInvariant() switch
    {
        "gateway" => NodeRole.Gateway,
        "store" => NodeRole.Store,
        _ => NodeRole.All,
    };

    internal IEnumerable<string> Validate(Tenants.CatalogOptions catalog)
    {
        if (Role.ToLowerInvariant() is not ("all" or "gateway" or "store"))
        {
            yield return "Bruno:Cluster:Role must be all, gateway or store.";
            yield break;
        }

        if (!string.IsNullOrEmpty(Zone) && !IsZoneName(Zone))
        {
            yield return "Bruno:Cluster:Zone must be the zone's name as a DNS label such as eu-west-1a (a-z, 0-9 and '-', at most 63 characters, starting and ending with a letter or digit), or unset.";
        }

        if (Kind == NodeRole.All)
        {
            yield break;
        }

        if (catalog.Kind != Tenants.CatalogProvider.Postgres)
        {
            yield return $"Bruno:Cluster:Role {Role} needs the PostgreSQL catalog (Bruno:Catalog:Provider postgres): every node shares it.";
        }

        if (string.IsNullOrEmpty(Token) || Token.Length < MinTokenLength)
        {
            yield return $"Bruno:Cluster:Token must be at least {MinTokenLength} characters (the same on every node).";
        }

        if (HeartbeatSeconds is < 1 or > 300 || NodeTimeoutSeconds < 3 * HeartbeatSeconds || PlacementCacheMilliseconds is < 0 or > 60_000 || FencedWaitMilliseconds is < 0 or > 120_000 || MoveLeaseSeconds is < 3 or > 600)
        {
            yield return "Bruno:Cluster: HeartbeatSeconds must be 1-300, NodeTimeoutSeconds at least three heartbeats, PlacementCacheMilliseconds 0-60000, FencedWaitMilliseconds 0-120000 and MoveLeaseSeconds 3-600.";
        }

        if (Replication.ToLowerInvariant() is not ("sync" or "none"))
        {
            yield return "Bruno:Cluster:Replication must be sync or none.";
        }

        foreach (var error in Tls.Validate())
        {
            yield return error;
        }

        if (Kind == NodeRole.Store)
        {
            if (NodeName is null || !Storage.Identity.TenantId.TryParse(NodeName, out _))
            {
                yield return "Bruno:Cluster:NodeName must be a DNS label (a-z, 0-9, '-', at most 63) for a store node.";
            }

            if (!Uri.TryCreate(AdvertiseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || url.AbsolutePath != "/")
            {
                yield return "Bruno:Cluster:AdvertiseUrl must be the http(s)://host:port where gateways reach this store node.";
            }
            else if (Tls.Enabled && url.Scheme != "https")
            {
                yield return "Bruno:Cluster:AdvertiseUrl must be https://host:port when Bruno:Cluster:Tls is set (gateways check the node's certificate against that host).";
            }

            if (StorePort is < 1 or > 65535 || !System.Net.IPAddress.TryParse(StoreBind, out _))
            {
                yield return "Bruno:Cluster:StorePort must be 1-65535 and StoreBind an IP address.";
            }
        }
    }
}
