namespace Bruno.Core;

/// <summary>
/// Settings of a Bruno process (section <c>Bruno</c> of appsettings, or environment variables <c>BRUNO_...</c>).
/// <see cref="Validate"/> names every bad setting; start-up stops on the first list of errors.
/// </summary>
public sealed class BrunoOptions
{
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
    public Metering.CostOptions Cost { get; set; } = new();

    /// <summary>How long audit entries and usage records are kept (a tenant can set its own) and how often retention runs.</summary>
    public RetentionOptions Retention { get; set; } = new();
    /// <summary>Tenant bundles: export and import.</summary>
    public BundleOptions Bundles { get; set; } = new();

    /// <summary>Metrics, traces and logs (docs/observability.md).</summary>
    public TelemetryOptions Telemetry { get; set; } = new();

    /// <summary>Gateways over store nodes (docs/scaling.md); one process does everything by default.</summary>
    public Cluster.ClusterOptions Cluster { get; set; } = new();

    /// <summary>
    /// The folder of the token-signing and platform-signing keys; empty: <c>secrets/</c> in the data root. Gateways
    /// point it at a read-only mounted secret so that all of them sign and verify with the same keys.
    /// </summary>
    public string? SecretsFolder { get; set; }

    /// <summary>Largest upload accepted, in bytes, whatever its type (each type has its own limit under <see cref="Ingestion"/>).</summary>
    public int MaxDocumentBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Limits of reading documents: sizes per type, PDF and HTML bounds, a deadline, and how many at once.</summary>
    public Documents.IngestionOptions Ingestion { get; set; } = new();

    /// <summary>Returns one message per invalid setting, each naming it (empty when all are valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        void Check(bool ok, string message)
        {
            if (!ok)
            {
                errors.Add(message);
            }
        }

        Check(!string.IsNullOrWhiteSpace(DataRoot) && !DataRoot.Contains('\0', StringComparison.Ordinal), "Bruno:DataRoot must be a folder path.");
        Check(string.IsNullOrEmpty(MasterKey) || IsBase64Key(MasterKey), "Bruno:MasterKey must be 32 bytes in base64 (or empty to use the key file).");
        Check(!string.IsNullOrWhiteSpace(Issuer), "Bruno:Issuer must not be empty.");
        Check(!string.IsNullOrWhiteSpace(Audience), "Bruno:Audience must not be empty.");
        Check(TokenLifetimeMinutes is >= 1 and <= 10_080, "Bruno:TokenLifetimeMinutes must be between 1 and 10080.");
        Check(MaxDocumentBytes is >= 1_024 and <= 100 * 1024 * 1024, "Bruno:MaxDocumentBytes must be between 1024 and 104857600.");
        errors.AddRange(Retrieval.Validate());
        errors.AddRange(Chunking.Validate());
        errors.AddRange(Ingestion.Validate());
        errors.AddRange(Chat.Validate());
        errors.AddRange(Auth.Validate());
        errors.AddRange(Embeddings.Validate());
        errors.AddRange(Catalog.Validate());
        foreach (var (name, plan) in Plans)
        {
            if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z][a-z0-9-]{0,31}$"))
            {
                errors.Add($"Bruno:Plans:{name}: a plan name is a lower-case letter then up to 31 of a-z, 0-9 and '-'.");
            }

            errors.AddRange(plan.Validate($"Bruno:Plans:{name}"));
        }

        if (!Plans.ContainsKey("default"))
        {
            errors.Add("Bruno:Plans must keep a plan named default (new tenants get it).");
        }
        errors.AddRange(Memory.Validate());
        errors.AddRange(Cost.Validate());
        errors.AddRange(Retention.Validate());
        errors.AddRange(Mcp.Validate());
        errors.AddRange(Bundles.Validate());
        errors.AddRange(Telemetry.Validate());
        errors.AddRange(Cluster.Validate(Catalog));
        Check(SecretsFolder is null || (SecretsFolder.Length > 0 && !SecretsFolder.Contains('\0', StringComparison.Ordinal)), "Bruno:SecretsFolder must be a folder path (or unset).");
        foreach (var origin in CorsOrigins)
        {
            if (origin == "*" || !Uri.TryCreate(origin, UriKind.Absolute, out var o) || o.Scheme is not ("http" or "https") || o.AbsolutePath != "/")
            {
                errors.Add($"Bruno:CorsOrigins holds '{origin}': list exact origins like https://app.example.com (never *).");
            }
        }
        return errors;
    }

    private static bool IsBase64Key(string value)
    {
        Span<byte> bytes = stackalloc byte[64];
        return Convert.TryFromBase64String(value, bytes, out var n) && n == 32;
    }
}

/// <summary>Retrieval and fusion parameters (the original design's numbers by default).</summary>
public sealed class RetrievalOptions
{
    /// <summary>Candidates taken from each list (dense and BM25) before fusion.</summary>
    public int CandidatesPerList { get; set; } = 40;

    /// <summary>Reciprocal-rank-fusion constant.</summary>
    public int RrfK { get; set; } = 60;

    /// <summary>Fused candidates the re-ranker scores (the second stage).</summary>
    public int RerankCandidates { get; set; } = 40;

    /// <summary>
    /// The relevance bar: the probability (from the re-ranker) that a passage comes from a page answering the question,
    /// below which it never reaches an answer, a prompt or a search result. When no passage clears it, the answer says
    /// the documents do not hold one. The default was chosen on the evaluation sets (docs/decisions/0020).
    /// </summary>
    public double MinRelevance { get; set; } = Retrieval.RelevanceModel.DefaultBar;

    /// <summary>
    /// The answerability bar: the least probability (from <see cref="Retrieval.AnswerabilityModel"/>) that the documents
    /// hold an answer for one to be given. Higher refuses more questions the documents do not answer, and more that
    /// they do. The default was chosen on the evaluation sets (docs/decisions/0020).
    /// </summary>
    public double MinAnswerability { get; set; } = Retrieval.AnswerabilityModel.DefaultBar;

    /// <summary>Passages used for the answer (at most).</summary>
    public int FinalCount { get; set; } = 5;

    /// <summary>Sentences an extractive answer quotes (at most).</summary>
    public int AnswerSentences { get; set; } = 3;

    /// <summary>Token budget of the context given to the model (characters / 4).</summary>
    public int ContextTokens { get; set; } = 2_846;

    /// <summary>These settings with the tenant's overrides applied (null fields keep these values).</summary>
    public RetrievalOptions With(RetrievalOverrides? overrides) => overrides is null ? this : new RetrievalOptions
    {
        CandidatesPerList = overrides.CandidatesPerList ?? CandidatesPerList,
        RrfK = overrides.RrfK ?? RrfK,
        RerankCandidates = overrides.RerankCandidates ?? RerankCandidates,
        MinRelevance = overrides.MinRelevance ?? MinRelevance,
        MinAnswerability = overrides.MinAnswerability ?? MinAnswerability,
        FinalCount = overrides.FinalCount ?? FinalCount,
        AnswerSentences = overrides.AnswerSentences ?? AnswerSentences,
        ContextTokens = overrides.ContextTokens ?? ContextTokens,
    };

    /// <summary>Messages for invalid values (empty when valid).</summary>
    public IEnumerable<string> Validate()
    {
        if (CandidatesPerList is < 1 or > 200)
        {
            yield return "Bruno:Retrieval:CandidatesPerList must be between 1 and 200.";
        }

        if (RrfK is < 1 or > 1_000)
        {
            yield return "Bruno:Retrieval:RrfK must be between 1 and 1000.";
        }

        if (RerankCandidates is < 1 or > 200)
        {
            yield return "Bruno:Retrieval:RerankCandidates must be between 1 and 200.";
        }

        if (MinRelevance is < 0 or > 1 || double.IsNaN(MinRelevance))
        {
            yield return "Bruno:Retrieval:MinRelevance must be between 0 and 1.";
        }

        if (MinAnswerability is < 0 or > 1 || double.IsNaN(MinAnswerability))
        {
            yield return "Bruno:Retrieval:MinAnswerability must be between 0 and 1.";
        }

        if (FinalCount < 1 || FinalCount > RerankCandidates || FinalCount > 50)
        {
            yield return "Bruno:Retrieval:FinalCount must be between 1 and RerankCandidates (at most 50).";
        }

        if (AnswerSentences is < 1 or > 10)
        {
            yield return "Bruno:Retrieval:AnswerSentences must be between 1 and 10.";
        }

        if (ContextTokens is < 100 or > 100_000)
        {
            yield return "Bruno:Retrieval:ContextTokens must be between 100 and 100000.";
        }
    }
}

/// <summary>
/// Production identity: an OIDC authority whose signing keys (JWKS) are fetched from its discovery document and refreshed
/// without restart (on schedule, and at once when a token names a key not seen yet). Its tokens must carry the audience
/// <see cref="BrunoOptions.Audience"/>, the issuer the discovery document names, and the claims <c>tenant_id</c>,
/// <c>sub</c> and <c>scope</c> (or <c>scp</c>).
/// </summary>
public sealed class AuthOptions
{
    /// <summary>The authority's base address (its discovery document is under <c>/.well-known/openid-configuration</c>); empty: none.</summary>
    public string? Authority { get; set; }

    /// <summary>Whether the authority must be https (only a test or a local setup may turn this off).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Signature algorithms accepted from the authority.</summary>
    public string[] Algorithms { get; set; } = ["RS256", "ES256"];

    /// <summary>How often the keys are refreshed on schedule, in minutes.</summary>
    public int KeyRefreshMinutes { get; set; } = 60;

    /// <summary>True when an authority is configured.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);

    internal IEnumerable<string> Validate()
    {
        if (Enabled && (!Uri.TryCreate(Authority, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && (RequireHttpsMetadata || uri.Scheme != "http"))))
        {
            yield return "Bruno:Auth:Authority must be an https address (http only with RequireHttpsMetadata false).";
        }

        string[] allowed = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256"];
        if (Algorithms.Length == 0 || Algorithms.Any(a => !allowed.Contains(a, StringComparer.Ordinal)))
        {
            yield return "Bruno:Auth:Algorithms must be some of " + string.Join(", ", allowed) + " (asymmetric only).";
        }

        if (KeyRefreshMinutes is < 1 or > 1_440)
        {
            yield return "Bruno:Auth:KeyRefreshMinutes must be between 1 and 1440.";
        }
    }
}

/// <summary>Which model turns text into vectors.</summary>
public sealed class EmbeddingOptions
{
    /// <summary><c>local</c> (all-MiniLM-L6-v2 in-process), <c>ollama</c> or <c>openai</c> (OpenAI-compatible).</summary>
    public string Provider { get; set; } = "local";

    /// <summary>Base address of the endpoint for ollama and openai.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Model name (e.g. nomic-embed-text).</summary>
    public string? Model { get; set; }

    /// <summary>Its output dimension (e.g. 768 for nomic-embed-text).</summary>
    public int Dimension { get; set; }

    /// <summary>API key for OpenAI-compatible endpoints.</summary>
    public string? ApiKey { get; set; }

    /// <summary>True when the local model is used.</summary>
    public bool Local => string.Equals(Provider, "local", StringComparison.OrdinalIgnoreCase);

    internal IEnumerable<string> Validate()
    {
        if (Provider.ToLowerInvariant() is not ("local" or "ollama" or "openai"))
        {
            yield return "Bruno:Embeddings:Provider must be local, ollama or openai.";
        }
        else if (!Local)
        {
            if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                yield return "Bruno:Embeddings:Endpoint must be an http(s) address for a remote provider.";
            }

            if (string.IsNullOrWhiteSpace(Model))
            {
                yield return "Bruno:Embeddings:Model must be set for a remote provider.";
            }

            if (Dimension is < 1 or > 8_192)
            {
                yield return "Bruno:Embeddings:Dimension must be between 1 and 8192 for a remote provider.";
            }
        }
    }
}

/// <summary>Which chat model writes answers.</summary>
public sealed class ChatModelOptions
{
    /// <summary><c>none</c> (extractive answers), <c>ollama</c> or <c>openai</c> (any OpenAI-compatible endpoint).</summary>
    public string Provider { get; set; } = "none";

    /// <summary>Base address of the endpoint (e.g. http://ollama:11434, https://api.openai.com/v1).</summary>
    public string? Endpoint { get; set; }

    /// <summary>Model name (e.g. llama3.1:8b).</summary>
    public string? Model { get; set; }

    /// <summary>API key for OpenAI-compatible endpoints (from the environment or a secret, never appsettings in Git).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Seconds to wait for the model before answering 503.</summary>
    public int TimeoutSeconds { get; set; } = 120;

    /// <summary>Sampling temperature (the original design's 0.7).</summary>
    public float Temperature { get; set; } = 0.7f;

    /// <summary>Most tokens an answer may have (the original design's 1,000).</summary>
    public int MaxOutputTokens { get; set; } = 1_000;

    /// <summary>True when a chat model is configured.</summary>
    public bool Enabled => !string.Equals(Provider, "none", StringComparison.OrdinalIgnoreCase);

    internal IEnumerable<string> Validate()
    {
        if (Provider.ToLowerInvariant() is not ("none" or "ollama" or "openai"))
        {
            yield return "Bruno:Chat:Provider must be none, ollama or openai.";
        }

        if (Enabled && (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return "Bruno:Chat:Endpoint must be an http(s) address when a provider is set.";
        }

        if (Enabled && string.IsNullOrWhiteSpace(Model))
        {
            yield return "Bruno:Chat:Model must be set when a provider is set.";
        }

        if (TimeoutSeconds is < 1 or > 600)
        {
            yield return "Bruno:Chat:TimeoutSeconds must be between 1 and 600.";
        }

        if (Temperature is < 0 or > 2)
        {
            yield return "Bruno:Chat:Temperature must be between 0 and 2.";
        }

        if (MaxOutputTokens is < 16 or > 32_000)
        {
            yield return "Bruno:Chat:MaxOutputTokens must be between 16 and 32000.";
        }
    }
}

/// <summary>A tenant's own retrieval numbers; a null field keeps the service's value.</summary>
public sealed record RetrievalOverrides(int? CandidatesPerList = null, int? RrfK = null, int? FinalCount = null, int? ContextTokens = null, int? RerankCandidates = null, double? MinRelevance = null, int? AnswerSentences = null, double? MinAnswerability = null);

/// <summary>What one plan allows (rates per tenant; enforced by the limits of issue 5).</summary>
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

    /// <summary>The tenant's namespace quota and container limits on Kubernetes (the design's numbers by default).</summary>
    public NamespaceQuotaOptions Namespace { get; set; } = new();

    /// <summary>The document limits of this plan.</summary>
    public Documents.DocumentQuota DocumentQuota => new(MaxDocuments, MaxStorageBytes);

    internal IEnumerable<string> Validate(string prefix)
    {
        if (RequestsPerMinute < 1 || RequestsPerHour < RequestsPerMinute || RequestsPerDay < RequestsPerHour)
        {
            yield return $"{prefix}: RequestsPerMinute must be at least 1, RequestsPerHour at least that, RequestsPerDay at least that.";
        }

        if (Concurrent < 1)
        {
            yield return $"{prefix}:Concurrent must be at least 1.";
        }

        if (MaxDocuments < 1 || MaxStorageBytes < 1)
        {
            yield return $"{prefix}: MaxDocuments and MaxStorageBytes must be at least 1.";
        }

        if (LlmTokensPerHour < 1 || LlmTokensPerMonth < LlmTokensPerHour || MaxUsers < 1)
        {
            yield return $"{prefix}: LlmTokensPerHour and MaxUsers must be at least 1, LlmTokensPerMonth at least LlmTokensPerHour.";
        }

        if (CpuCores <= 0 || MemoryGiB <= 0 || VolumeGiB < 1)
        {
            yield return $"{prefix}: CpuCores and MemoryGiB must be positive, VolumeGiB at least 1.";
        }

        if (ClientRequestsPerMinute < 1 || ClientRequestsPerMinute > RequestsPerMinute)
        {
            yield return $"{prefix}:ClientRequestsPerMinute must be between 1 and RequestsPerMinute.";
        }

        foreach (var error in Namespace.Validate($"{prefix}:Namespace"))
        {
            yield return error;
        }
    }
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

    internal IEnumerable<string> Validate(string prefix)
    {
        if (new[] { RequestsCpu, RequestsMemoryGiB, LimitsCpu, LimitsMemoryGiB, ContainerMaxCpu, ContainerMaxMemoryGiB, ContainerMinCpu, DefaultCpu, DefaultRequestCpu }.Any(v => v <= 0 || v > 100_000)
            || new[] { StorageGiB, PersistentVolumeClaims, Pods, Services, ConfigMaps, Secrets, ContainerMinMemoryMiB, DefaultMemoryMiB, DefaultRequestMemoryMiB }.Any(v => v < 1))
        {
            yield return $"{prefix}: every quota must be positive.";
        }

        if (LimitsCpu < RequestsCpu || LimitsMemoryGiB < RequestsMemoryGiB
            || ContainerMinCpu > DefaultRequestCpu || DefaultRequestCpu > DefaultCpu || DefaultCpu > ContainerMaxCpu
            || ContainerMinMemoryMiB > DefaultRequestMemoryMiB || DefaultRequestMemoryMiB > DefaultMemoryMiB || DefaultMemoryMiB > ContainerMaxMemoryGiB * 1024)
        {
            yield return $"{prefix}: limits must be at least the requests, and min <= default request <= default <= max for a container.";
        }
    }
}

/// <summary>The catalog's database.</summary>
public sealed class CatalogOptions
{
    /// <summary><c>sqlite</c> (default: <c>catalog.db</c> in the data folder) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>For <c>postgres</c>: an Npgsql connection string naming an existing database.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The provider as an enum (after validation).</summary>
    public Tenants.CatalogProvider Kind => Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase) ? Tenants.CatalogProvider.Postgres : Tenants.CatalogProvider.Sqlite;

    internal IEnumerable<string> Validate()
    {
        if (!Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase) && !Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase))
        {
            yield return "Bruno:Catalog:Provider must be sqlite or postgres.";
        }
        else if (Kind == Tenants.CatalogProvider.Postgres)
        {
            string? error = null;
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString ?? string.Empty);
                if (string.IsNullOrWhiteSpace(ConnectionString))
                {
                    error = "Bruno:Catalog:ConnectionString is required for the postgres catalog.";
                }
            }
            catch (ArgumentException)
            {
                error = "Bruno:Catalog:ConnectionString is not a valid PostgreSQL connection string.";
            }

            if (error is not null)
            {
                yield return error;
            }
        }
    }
}

/// <summary>Retention of audit entries and usage records (days; a tenant can set its own) and how often the job runs.</summary>
public sealed class RetentionOptions
{
    /// <summary>Longest retention a tenant may set, days (ten years).</summary>
    public const int MaxDays = 3650;

    /// <summary>Days audit entries are kept (SOC 2 evidence usually wants a year).</summary>
    public int AuditDays { get; set; } = 365;

    /// <summary>Days hourly usage records and their idempotency ids are kept.</summary>
    public int UsageDays { get; set; } = 400;

    /// <summary>How often the retention job runs; zero switches it off.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    internal IEnumerable<string> Validate()
    {
        if (AuditDays is < 1 or > MaxDays || UsageDays is < 1 or > MaxDays)
        {
            yield return $"Bruno:Retention:AuditDays and UsageDays must be between 1 and {MaxDays}.";
        }

        if (Interval != TimeSpan.Zero && (Interval < TimeSpan.FromMinutes(1) || Interval > TimeSpan.FromDays(7)))
        {
            yield return "Bruno:Retention:Interval must be 00:00:00 (off) or between 00:01:00 and 7.00:00:00.";
        }
    }
}

/// <summary>Users' memory (the original design's numbers by default).</summary>
public sealed class MemoryOptions
{
    /// <summary>Days a turn is kept (and an unconfirmed extracted fact); a tenant can set its own.</summary>
    public int RetentionDays { get; set; } = 90;

    /// <summary>How often the consolidation job runs; zero switches it off.</summary>
    public TimeSpan ConsolidationInterval { get; set; } = TimeSpan.FromDays(1);

    internal IEnumerable<string> Validate()
    {
        if (RetentionDays is < 1 or > Tenants.MemoryPolicy.MaxRetentionDays)
        {
            yield return $"Bruno:Memory:RetentionDays must be between 1 and {Tenants.MemoryPolicy.MaxRetentionDays}.";
        }

        if (ConsolidationInterval != TimeSpan.Zero && (ConsolidationInterval < TimeSpan.FromMinutes(1) || ConsolidationInterval > TimeSpan.FromDays(30)))
        {
            yield return "Bruno:Memory:ConsolidationInterval must be 00:00:00 (off) or between 00:01:00 and 30.00:00:00.";
        }
    }
}

/// <summary>Per-tool MCP rate limits, per client (a user, or an API key), per minute.</summary>
public sealed class McpOptions
{
    /// <summary>Calls a minute of the tools that search (search_knowledge, recall, list_documents) and of the memory writes.</summary>
    public int SearchPerMinute { get; set; } = 30;

    /// <summary>Calls a minute of the tools that generate an answer (ask_agent).</summary>
    public int GenerationPerMinute { get; set; } = 10;

    internal IEnumerable<string> Validate()
    {
        if (SearchPerMinute is < 1 or > 100_000)
        {
            yield return "Bruno:Mcp:SearchPerMinute must be between 1 and 100000.";
        }

        if (GenerationPerMinute is < 1 or > 100_000)
        {
            yield return "Bruno:Mcp:GenerationPerMinute must be between 1 and 100000.";
        }
    }
}

/// <summary>
/// Metrics, traces and logs: Prometheus at <c>/metrics</c> always, OTLP when <see cref="OtlpEndpoint"/> is set, JSON logs
/// on standard output by default.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>Record traces and Bruno's metrics at all (the overhead benchmark switches it off; <c>/metrics</c> still answers).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>An OTLP collector (for example <c>http://alloy.monitoring:4317</c>); metrics and traces go there too when set.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The OTLP protocol: <c>grpc</c> (default) or <c>http/protobuf</c>.</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>Share of new traces recorded (0-1); a caller's sampled trace is always followed.</summary>
    public double SampleRatio { get; set; } = 1.0;

    /// <summary>
    /// Tenants whose prompts and answers are put on the <c>generate</c> span (for debugging one tenant, with its consent).
    /// Empty by default: no question, passage or answer text ever reaches a span.
    /// </summary>
    public string[] TraceContentTenants { get; set; } = [];

    /// <summary>Log format on standard output: <c>json</c> (one object per line) or <c>text</c>.</summary>
    public string LogFormat { get; set; } = "json";

    internal IEnumerable<string> Validate()
    {
        if (OtlpEndpoint is { Length: > 0 } e && (!Uri.TryCreate(e, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
        {
            yield return "Bruno:Telemetry:OtlpEndpoint must be an absolute http(s) URL.";
        }

        if (OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            yield return "Bruno:Telemetry:OtlpProtocol must be grpc or http/protobuf.";
        }

        if (!(SampleRatio is >= 0 and <= 1))
        {
            yield return "Bruno:Telemetry:SampleRatio must be between 0 and 1.";
        }

        foreach (var t in TraceContentTenants)
        {
            if (!Storage.Identity.TenantId.TryParse(t, out _))
            {
                yield return $"Bruno:Telemetry:TraceContentTenants holds '{t}', which is not a valid tenant id.";
            }
        }

        if (LogFormat is not ("json" or "text"))
        {
            yield return "Bruno:Telemetry:LogFormat must be json or text.";
        }
    }
}

/// <summary>Tenant bundles (docs/decisions/0012): how exports are cut into chunks, and how large an import may be.</summary>
public sealed class BundleOptions
{
    /// <summary>Plaintext bytes in each encrypted chunk of an exported bundle (4 KiB to 16 MiB; default 1 MiB).</summary>
    public int ChunkBytes { get; set; } = 1 << 20;

    /// <summary>Largest bundle an import accepts, in bytes (default 100 GiB, the premium plan's storage).</summary>
    public long MaxImportBytes { get; set; } = 100L << 30;

    internal IEnumerable<string> Validate()
    {
        if (ChunkBytes is < Portability.BundleHeader.MinChunkBytes or > Portability.BundleHeader.MaxChunkBytes)
        {
            yield return $"Bruno:Bundles:ChunkBytes must be between {Portability.BundleHeader.MinChunkBytes} and {Portability.BundleHeader.MaxChunkBytes}.";
        }

        if (MaxImportBytes is < 1L << 20 or > 1L << 40)
        {
            yield return "Bruno:Bundles:MaxImportBytes must be between 1048576 (1 MiB) and 1099511627776 (1 TiB).";
        }
    }
}

/// <summary>How documents are cut into chunks.</summary>
public sealed class ChunkingOptions
{
    /// <summary>Target chunk length in tokens (the design's 512), capped by the embedding model's input limit.</summary>
    public int ChunkTokens { get; set; } = 512;

    /// <summary>Tokens shared by consecutive windows of one section.</summary>
    public int OverlapTokens { get; set; } = 128;

    internal IEnumerable<string> Validate()
    {
        if (ChunkTokens is < 16 or > 8_192)
        {
            yield return "Bruno:Chunking:ChunkTokens must be between 16 and 8192.";
        }

        if (OverlapTokens < 0 || OverlapTokens >= ChunkTokens)
        {
            yield return "Bruno:Chunking:OverlapTokens must be at least 0 and less than ChunkTokens.";
        }
    }
}

/// <summary>Where settings come from besides appsettings: environment variables <c>BRUNO_X__Y</c> name <c>Bruno:X:Y</c>.</summary>
public static class BrunoEnvironment
{
    /// <summary>Configuration keys and values from the process environment.</summary>
    public static IReadOnlyDictionary<string, string?> Settings()
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string key && key.StartsWith("BRUNO_", StringComparison.OrdinalIgnoreCase) && key.Length > 6)
            {
                settings["Bruno:" + key[6..].Replace("__", ":", StringComparison.Ordinal)] = e.Value as string;
            }
        }

        return settings;
    }
}
