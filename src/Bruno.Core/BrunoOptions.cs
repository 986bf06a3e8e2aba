using Bruno.Core.Agents;
using Bruno.Core.Cluster;
using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Identity;
using Bruno.Core.Mcp;
using Bruno.Core.Memory;
using Bruno.Core.Metering;
using Bruno.Core.Portability;
using Bruno.Core.Retrieval;
using Bruno.Core.Telemetry;
using Bruno.Core.Tenants;

namespace Bruno.Core;

/// <summary>
/// Settings of a Bruno process (section <c>Bruno</c> of appsettings, or environment variables <c>BRUNO_...</c>). Each
/// section's type lives next to the feature it configures. <see cref="BrunoOptionsValidator"/> names every bad setting;
/// start-up stops on the first list of errors.
/// </summary>
public sealed class BrunoOptions
{
    /// <summary>The configuration section these settings are bound from.</summary>
    public const string Section = "Bruno";

    /// <summary>Folder holding the catalog, the keys and the tenant stores. Default <c>./data</c>.</summary>
    public string DataRoot { get; set; } = "data";

    /// <summary>Base64 master key (32 bytes) from the environment or a mounted secret; when empty, a key file under
    /// <see cref="DataRoot"/> is used, created 0600 on first start.</summary>
    public string? MasterKey { get; set; }

    /// <summary>Issuer of the tokens Bruno signs itself (embedded mode).</summary>
    public string Issuer { get; set; } = "bruno";

    /// <summary>Audience of the tokens Bruno accepts.</summary>
    public string Audience { get; set; } = "bruno-api";

    /// <summary>Lifetime of issued user tokens, in minutes (1-10,080).</summary>
    public int TokenLifetimeMinutes { get; set; } = 60;

    /// <summary>An external identity provider (OIDC) whose tokens are accepted besides Bruno's own.</summary>
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Retrieval and answer settings.</summary>
    public RetrievalOptions Retrieval { get; set; } = new();

    /// <summary>Chunking settings.</summary>
    public ChunkingOptions Chunking { get; set; } = new();

    /// <summary>The embedding model; the local MiniLM by default.</summary>
    public EmbeddingOptions Embeddings { get; set; } = new();

    /// <summary>
    /// The address clients reach the service at (<c>https://bruno.example.com</c>), as published in the OAuth protected
    /// resource metadata; unset: the address of each request (right for one machine, but behind a proxy or ingress set
    /// it, so a forged <c>Host</c> header cannot change what the metadata names).
    /// </summary>
    public string? PublicUrl { get; set; }

    /// <summary>Origins allowed to call the API from a browser (CORS); empty: none, and no CORS headers at all.</summary>
    public string[] CorsOrigins { get; set; } = [];

    /// <summary>The chat model that writes answers; none configured means extractive answers.</summary>
    public ChatModelOptions Chat { get; set; } = new();

    /// <summary>Plans by name (the original rate-limit design's default and premium unless configured).</summary>
    public Dictionary<string, PlanOptions> Plans { get; set; } = new(StringComparer.Ordinal)
    {
        ["default"] = new()
        {
            RequestsPerMinute = 100,
            RequestsPerHour = 5_000,
            RequestsPerDay = 50_000,
            Concurrent = 10,
            ClientRequestsPerMinute = 60,
            MaxDocuments = 10_000,
            MaxStorageBytes = 10L << 30,
            LlmTokensPerHour = 100_000,
            LlmTokensPerMonth = 2_000_000,
            MaxUsers = 100,
            CpuCores = 2,
            MemoryGiB = 4,
            VolumeGiB = 50,
        },
        ["premium"] = new()
        {
            RequestsPerMinute = 500,
            RequestsPerHour = 25_000,
            RequestsPerDay = 250_000,
            Concurrent = 50,
            ClientRequestsPerMinute = 300,
            MaxDocuments = 100_000,
            MaxStorageBytes = 100L << 30,
            LlmTokensPerHour = 500_000,
            LlmTokensPerMonth = 20_000_000,
            MaxUsers = 1_000,
            CpuCores = 8,
            MemoryGiB = 16,
            VolumeGiB = 100,
            Namespace = new()
            {
                RequestsCpu = 16,
                RequestsMemoryGiB = 32,
                LimitsCpu = 32,
                LimitsMemoryGiB = 64,
                StorageGiB = 500,
                EphemeralStorageGiB = 20,
                ContainerMaxCpu = 8,
                ContainerMaxMemoryGiB = 16,
            },
        },
    };

    /// <summary>Where the tenant catalog lives: SQLite in the data folder, or PostgreSQL.</summary>
    public CatalogOptions Catalog { get; set; } = new();

    /// <summary>Users' memory: retention and the consolidation job.</summary>
    public MemoryOptions Memory { get; set; } = new();

    /// <summary>The MCP endpoint: per-tool rate limits.</summary>
    public McpOptions Mcp { get; set; } = new();

    /// <summary>Prices of the cost model (the design's cost table by default).</summary>
    public CostOptions Cost { get; set; } = new();

    /// <summary>How long audit entries and usage records are kept (a tenant can set its own) and how often retention runs.</summary>
    public RetentionOptions Retention { get; set; } = new();
    /// <summary>Tenant bundles: export and import.</summary>
    public BundleOptions Bundles { get; set; } = new();

    /// <summary>Metrics, traces and logs (docs/observability.md).</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Gateways over store nodes (docs/scaling.md); one process does everything by default.</summary>
    public ClusterOptions Cluster { get; set; } = new();

    /// <summary>
    /// The folder of the token-signing and platform-signing keys; empty: <c>secrets/</c> in the data root. Gateways
    /// point it at a read-only mounted secret so that all of them sign and verify with the same keys.
    /// </summary>
    public string? SecretsFolder { get; set; }

    /// <summary>Largest upload accepted, in bytes, whatever its type (each type has its own limit under <see cref="Ingestion"/>).</summary>
    public int MaxDocumentBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Limits of reading documents: sizes per type, PDF and HTML bounds, a deadline, and how many at once.</summary>
    public IngestionOptions Ingestion { get; set; } = new();
}
