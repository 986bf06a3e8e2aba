using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Identity;
using Bruno.Core.Retention;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Bruno.Core;

/// <summary>Registers Bruno's core services.</summary>
public static class CoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds the data directory, the storage engine, the catalog, tokens, the local embedding model and the document
    /// and question services. Options must be configured by the host (<see cref="AddBrunoOptions"/>).
    /// </summary>
    public static IServiceCollection AddBrunoCore(this IServiceCollection services)
    {
        services.AddSingleton(sp => DataDirectory.For(sp.GetRequiredService<IOptions<BrunoOptions>>().Value));
        services.AddSingleton(sp =>
        {
            var data = sp.GetRequiredService<DataDirectory>();
            return new StorageEngine(new StorageEngineOptions
            {
                DataRoot = data.StoreRoot,
                MasterKey = data.LoadMasterKey(sp.GetRequiredService<IOptions<BrunoOptions>>().Value.MasterKey),
                TimeProvider = sp.GetService<TimeProvider>() ?? TimeProvider.System,
            });
        });
        // in one process the services reach the local engine; a gateway replaces this with the routing one (Cluster)
        services.AddSingleton<IStorageEngine>(sp => sp.GetRequiredService<StorageEngine>());
        services.AddSingleton(sp =>
        {
            var catalog = sp.GetRequiredService<IOptions<BrunoOptions>>().Value.Catalog;
            return catalog.Kind == CatalogProvider.Postgres
                ? CatalogDatabase.Postgres(catalog.ConnectionString!)
                : CatalogDatabase.Sqlite(sp.GetRequiredService<DataDirectory>().CatalogPath);
        });
        services.AddSingleton(sp => new TenantCatalog(sp.GetRequiredService<CatalogDatabase>(), sp.GetService<TimeProvider>()));
        services.AddSingleton<TenantService>();
        // the tenant lifecycle knows nothing of the audit trail: its erasures are witnessed through this
        services.AddSingleton(sp => new ErasureWitness(
            tenant => Audit.AuditLog.HeadAsync(sp.GetRequiredService<IStorageEngine>(), tenant),
            (tenant, actor, erased, head) => sp.GetRequiredService<Audit.ErasureReceipts>().ForTenant(tenant, actor, erased, head)));
        services.AddSingleton(sp => Audit.PlatformSigner.ForDataDirectory(sp.GetRequiredService<DataDirectory>()));
        services.AddSingleton(sp => new Audit.ErasureReceipts(sp.GetRequiredService<CatalogDatabase>(), sp.GetRequiredService<Audit.PlatformSigner>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new Audit.AuditLog(
            sp.GetRequiredService<TenantService>(), sp.GetRequiredService<CatalogDatabase>(), sp.GetRequiredService<Audit.PlatformSigner>(), sp.GetService<TimeProvider>()));
        services.AddSingleton<Portability.TenantBundles>();
        services.AddSingleton(sp => new ApiKeys(sp.GetRequiredService<CatalogDatabase>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => TokenService.ForDataDirectory(
            sp.GetRequiredService<DataDirectory>(), sp.GetRequiredService<IOptions<BrunoOptions>>().Value, sp.GetService<TimeProvider>()));
        // model calls count their tokens into the request's usage (Metering.UsageScope)
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp =>
            new Metering.MeteredEmbeddingGenerator(EmbeddingGenerators.Create(sp.GetRequiredService<IOptions<BrunoOptions>>().Value.Embeddings)));
        services.AddSingleton(sp => ChatClients.Create(sp.GetRequiredService<IOptions<BrunoOptions>>().Value.Chat)!);
        services.AddSingleton<IngestionGate>();
        services.AddSingleton<DocumentService>();
        services.AddSingleton(sp => new Memory.MemoryService(
            sp.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>(),
            sp.GetRequiredService<DocumentService>(),
            sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new Memory.MemoryConsolidator(
            sp.GetRequiredService<TenantCatalog>(),
            sp.GetRequiredService<TenantService>(),
            sp.GetRequiredService<Memory.MemoryService>(),
            sp.GetRequiredService<Memory.MemoryRetention>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<Memory.MemoryConsolidator>>(),
            sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new Retrieval.Retriever(sp.GetRequiredService<DocumentService>()));
        services.AddSingleton(sp => new ChatHealth(sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new AskService(
            sp.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>(),
            sp.GetRequiredService<Retrieval.Retriever>(),
            sp.GetRequiredService<IOptions<BrunoOptions>>(),
            sp.GetService<IChatClient>() is { } chat ? new Metering.MeteredChatClient(chat) : null,
            sp.GetRequiredService<Memory.MemoryService>(),
            sp.GetRequiredService<ChatHealth>()));
        services.AddSingleton(sp => new Evaluation.EvaluationService(sp.GetRequiredService<AskService>(), sp.GetRequiredService<DocumentService>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new Metering.UsageMeter(sp.GetRequiredService<CatalogDatabase>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new TenantUsers(sp.GetRequiredService<CatalogDatabase>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new TenantAccess(sp.GetRequiredService<CatalogDatabase>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new ConsoleLinks(sp.GetRequiredService<CatalogDatabase>(), sp.GetRequiredService<TenantCatalog>(), sp.GetRequiredService<Identity.TokenService>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new Metering.LlmBudget(sp.GetRequiredService<Metering.UsageMeter>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new Metering.UsageService(
            sp.GetRequiredService<Metering.UsageMeter>(), sp.GetRequiredService<TenantService>(), sp.GetRequiredService<IOptions<BrunoOptions>>(), sp.GetService<TimeProvider>()));
        services.AddSingleton(sp => new Memory.MemoryRetention(sp.GetRequiredService<TenantCatalog>(), sp.GetRequiredService<IOptions<BrunoOptions>>()));
        services.AddSingleton(sp => new TenantRetention(sp.GetRequiredService<TenantCatalog>(), sp.GetRequiredService<Memory.MemoryRetention>(), sp.GetRequiredService<IOptions<BrunoOptions>>()));
        services.AddSingleton(sp => new RetentionService(
            sp.GetRequiredService<TenantService>(), sp.GetRequiredService<TenantRetention>(), sp.GetRequiredService<Audit.AuditLog>(), sp.GetRequiredService<Metering.UsageMeter>(), sp.GetService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// Registers <see cref="BrunoOptions"/> with <see cref="BrunoOptionsValidator"/> (every section's checks) and
    /// validation when the host starts; the host binds it, e.g. <c>.Bind(configuration.GetSection(BrunoOptions.Section))</c>.
    /// A bad setting then stops the start with an <see cref="OptionsValidationException"/> whose message names it.
    /// </summary>
    public static OptionsBuilder<BrunoOptions> AddBrunoOptions(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BrunoOptions>, BrunoOptionsValidator>());
        return services.AddOptions<BrunoOptions>().ValidateOnStart();
    }
}
