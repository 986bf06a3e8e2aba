using Bruno.Core.Agents;
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
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>
/// Each section's validator (next to its options type) names the key and what it may be, word for word, and the
/// validator of the whole <c>Bruno</c> section gathers them all, in order, with its own settings' messages.
/// </summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public void TheDefaults_AreValid()
    {
        Assert.True(new BrunoOptionsValidator().Validate(Options.DefaultName, new BrunoOptions()).Succeeded);
    }

    [Fact]
    public void Retrieval_NamesTheKeyAndItsRange()
    {
        Assert.Equal(["Bruno:Retrieval:RrfK must be between 1 and 1000."], Failures(new RetrievalOptionsValidator(), new RetrievalOptions { RrfK = 0 }));
        Assert.Equal(
            ["Bruno:Retrieval:FinalCount must be between 1 and RerankCandidates (at most 50)."],
            Failures(new RetrievalOptionsValidator(), new RetrievalOptions { RerankCandidates = 4, FinalCount = 5 }));
    }

    [Fact]
    public void Chunking_NamesTheKeyAndItsRange()
    {
        Assert.Equal(
            ["Bruno:Chunking:OverlapTokens must be at least 0 and less than ChunkTokens."],
            Failures(new ChunkingOptionsValidator(), new ChunkingOptions { ChunkTokens = 128, OverlapTokens = 128 }));
    }

    [Fact]
    public void Ingestion_NamesTheKeyAndItsRange()
    {
        Assert.Equal(["Bruno:Ingestion:MaxPdfPages must be between 1 and 100000."], Failures(new IngestionOptionsValidator(), new IngestionOptions { MaxPdfPages = 0 }));
    }

    [Fact]
    public void Chat_NamesTheKeyAndItsRange()
    {
        Assert.Equal(["Bruno:Chat:Temperature must be between 0 and 2."], Failures(new ChatModelOptionsValidator(), new ChatModelOptions { Temperature = 2.5f }));
        Assert.Equal(
            ["Bruno:Chat:Endpoint must be an http(s) address when a provider is set.", "Bruno:Chat:Model must be set when a provider is set."],
            Failures(new ChatModelOptionsValidator(), new ChatModelOptions { Provider = "openai" }));
    }

    [Fact]
    public void Auth_NamesTheKeyAndWhatItMayBe()
    {
        Assert.Equal(
            ["Bruno:Auth:Algorithms must be some of RS256, RS384, RS512, ES256, ES384, ES512, PS256 (asymmetric only)."],
            Failures(new AuthOptionsValidator(), new AuthOptions { Algorithms = ["HS256"] }));
        Assert.Equal(
            ["Bruno:Auth:Authority must be an https address (http only with RequireHttpsMetadata false)."],
            Failures(new AuthOptionsValidator(), new AuthOptions { Authority = "http://idp.example" }));
        Assert.Empty(Failures(new AuthOptionsValidator(), new AuthOptions { Authority = "http://idp.example", RequireHttpsMetadata = false }));

        // the console's single sign-on: through a configured authority, asking for openid, with a sane client id
        Assert.Equal(
            ["Bruno:Auth:Console:ClientId needs Bruno:Auth:Authority (the console signs in through it)."],
            Failures(new AuthOptionsValidator(), new AuthOptions { Console = new ConsoleSignInOptions { ClientId = "bruno-console" } }));
        Assert.Equal(
            [
                "Bruno:Auth:Console:ClientId must be 1-200 characters without spaces.",
                "Bruno:Auth:Console:Scopes must include openid, each scope 1-100 printable characters without spaces, quotes or backslashes.",
            ],
            Failures(new AuthOptionsValidator(), new AuthOptions { Authority = "https://idp.example", Console = new ConsoleSignInOptions { ClientId = "bruno console", Scopes = ["profile", "query memory"] } }));
        Assert.Empty(Failures(new AuthOptionsValidator(), new AuthOptions { Authority = "https://idp.example", Console = new ConsoleSignInOptions { ClientId = "bruno-console" } }));
    }

    [Fact]
    public void Embeddings_NamesEveryMissingSettingOfARemoteProvider()
    {
        Assert.Equal(
            [
                "Bruno:Embeddings:Endpoint must be an http(s) address for a remote provider.",
                "Bruno:Embeddings:Model must be set for a remote provider.",
                "Bruno:Embeddings:Dimension must be between 1 and 8192 for a remote provider.",
            ],
            Failures(new EmbeddingOptionsValidator(), new EmbeddingOptions { Provider = "ollama" }));
    }

    [Fact]
    public void Catalog_NamesTheKeyAndWhatItMayBe()
    {
        Assert.Equal(["Bruno:Catalog:Provider must be sqlite or postgres."], Failures(new CatalogOptionsValidator(), new CatalogOptions { Provider = "mysql" }));
        Assert.Equal(["Bruno:Catalog:ConnectionString is required for the postgres catalog."], Failures(new CatalogOptionsValidator(), new CatalogOptions { Provider = "postgres" }));
        Assert.Equal(
            ["Bruno:Catalog:ConnectionString is not a valid PostgreSQL connection string."],
            Failures(new CatalogOptionsValidator(), new CatalogOptions { Provider = "postgres", ConnectionString = "no such=thing" }));
    }

    [Fact]
    public void Plans_NameThePlanTheKeyAndTheRule()
    {
        var plan = new BrunoOptions().Plans["default"];
        plan.Concurrent = 0;
        plan.Namespace.LimitsCpu = plan.Namespace.RequestsCpu / 2;

        // as an IValidateOptions<PlanOptions>, the options name is the plan's name
        Assert.Equal(
            [
                "Bruno:Plans:tiny:Concurrent must be at least 1.",
                "Bruno:Plans:tiny:Namespace: limits must be at least the requests, and min <= default request <= default <= max for a container.",
            ],
            Failures(new PlanOptionsValidator(), plan, "tiny"));
        Assert.Equal(
            [
                "Bruno:Plans:Gold: a plan name is a lower-case letter then up to 31 of a-z, 0-9 and '-'.",
                "Bruno:Plans must keep a plan named default (new tenants get it).",
            ],
            PlanOptionsValidator.Errors(new Dictionary<string, PlanOptions> { ["Gold"] = new BrunoOptions().Plans["premium"] }));
    }

    [Fact]
    public void Memory_NamesTheKeyAndItsRange()
    {
        Assert.Equal(["Bruno:Memory:RetentionDays must be between 1 and 3650."], Failures(new MemoryOptionsValidator(), new MemoryOptions { RetentionDays = 0 }));
        Assert.Equal(
            ["Bruno:Memory:ConsolidationInterval must be 00:00:00 (off) or between 00:01:00 and 30.00:00:00."],
            Failures(new MemoryOptionsValidator(), new MemoryOptions { ConsolidationInterval = TimeSpan.FromSeconds(5) }));
    }

    [Fact]
    public void Cost_NamesTheKeyAndTheRule()
    {
        Assert.Equal(["Bruno:Cost: prices must be finite and not negative."], Failures(new CostOptionsValidator(), new CostOptions { CpuHour = -1 }));
        var unpriced = new CostOptions();
        unpriced.IsolationMonthly.Remove("kamaji");
        Assert.Equal(["Bruno:Cost:IsolationMonthly must price 'kamaji' (0 or more)."], Failures(new CostOptionsValidator(), unpriced));
    }

    [Fact]
    public void Retention_NamesTheKeysAndTheirRange()
    {
        Assert.Equal(["Bruno:Retention:AuditDays and UsageDays must be between 1 and 3650."], Failures(new RetentionOptionsValidator(), new RetentionOptions { UsageDays = 4_000 }));
        Assert.Equal(
            ["Bruno:Retention:Interval must be 00:00:00 (off) or between 00:01:00 and 7.00:00:00."],
            Failures(new RetentionOptionsValidator(), new RetentionOptions { Interval = TimeSpan.FromDays(8) }));
    }

    [Fact]
    public void Mcp_NamesTheKeyAndItsRange()
    {
        Assert.Equal(["Bruno:Mcp:GenerationPerMinute must be between 1 and 100000."], Failures(new McpOptionsValidator(), new McpOptions { GenerationPerMinute = 0 }));
    }

    [Fact]
    public void Bundles_NameTheKeyAndItsRange()
    {
        Assert.Equal(["Bruno:Bundles:ChunkBytes must be between 4096 and 16777216."], Failures(new BundleOptionsValidator(), new BundleOptions { ChunkBytes = 1_024 }));
        Assert.Equal(
            ["Bruno:Bundles:MaxImportBytes must be between 1048576 (1 MiB) and 1099511627776 (1 TiB)."],
            Failures(new BundleOptionsValidator(), new BundleOptions { MaxImportBytes = 1 }));
    }

    [Fact]
    public void Telemetry_NamesTheKeyAndWhatItMayBe()
    {
        Assert.Equal(["Bruno:Telemetry:LogFormat must be json or text."], Failures(new TelemetryOptionsValidator(), new TelemetryOptions { LogFormat = "xml" }));
        Assert.Equal(
            ["Bruno:Telemetry:TraceContentTenants holds '../acme', which is not a valid tenant id."],
            Failures(new TelemetryOptionsValidator(), new TelemetryOptions { TraceContentTenants = ["../acme"] }));
    }

    [Fact]
    public void ClusterZone_IsADnsLabel_OrUnset()
    {
        static List<string> Errors(string? zone) => [.. BrunoOptionsValidator.Errors(new BrunoOptions
        {
            Catalog = { Provider = "postgres", ConnectionString = "Host=catalog;Database=bruno" },
            Cluster = { Role = "store", Token = new string('t', 40), NodeName = "store-1", AdvertiseUrl = "http://store-1:7070", Zone = zone },
        })];

        foreach (var good in new[] { null, "", "eu-west-1a", "z", "us-central1-b", new string('a', 63) })
        {
            Assert.Empty(Errors(good));
        }

        const string Message = "Bruno:Cluster:Zone must be the zone's name as a DNS label such as eu-west-1a (a-z, 0-9 and '-', at most 63 characters, starting and ending with a letter or digit), or unset.";
        foreach (var bad in new[] { "EU-West-1a", "eu_west_1a", "-eu", "eu-", "eu west", "eu.west", new string('a', 64), "eu\nwest" })
        {
            Assert.Equal([Message], Errors(bad));
        }
    }

    [Fact]
    public void TheWholeSection_GathersEveryMessage_InOrder()
    {
        var options = new BrunoOptions
        {
            TokenLifetimeMinutes = 0,
            Retrieval = { RrfK = 0 },
            Mcp = { SearchPerMinute = 0 },
            Cluster = { Role = "gateway", Token = new string('t', 32) },
            CorsOrigins = ["*"],
        };

        Assert.Equal(
            [
                "Bruno:TokenLifetimeMinutes must be between 1 and 10080.",
                "Bruno:Retrieval:RrfK must be between 1 and 1000.",
                "Bruno:Mcp:SearchPerMinute must be between 1 and 100000.",
                "Bruno:Cluster:Role gateway needs the PostgreSQL catalog (Bruno:Catalog:Provider postgres): every node shares it.",
                "Bruno:CorsOrigins holds '*': list exact origins like https://app.example.com (never *).",
            ],
            Failures(new BrunoOptionsValidator(), options));
    }

    [Fact]
    public void RegisteredOptions_FailWhenRead_WithTheValidatorsMessages()
    {
        var services = new ServiceCollection();
        services.AddBrunoOptions().Configure(o => o.Chunking.ChunkTokens = 8);
        using var provider = services.BuildServiceProvider();

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BrunoOptions>>().Value);
        Assert.Equal("Bruno:Chunking:ChunkTokens must be between 16 and 8192.; Bruno:Chunking:OverlapTokens must be at least 0 and less than ChunkTokens.", e.Message);
    }

    private static List<string> Failures<T>(IValidateOptions<T> validator, T options, string? name = null)
        where T : class
    {
        var result = validator.Validate(name ?? Options.DefaultName, options);
        return result.Succeeded ? [] : [.. result.Failures!];
    }
}
