using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Retrieval;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>One tenant "acme" on a real engine in a temp folder, with the real model and the knowledge services; deleted on dispose.</summary>
internal sealed class TenantKnowledge : IAsyncDisposable
{
    private static readonly MiniLmEmbeddingGenerator Embedder = new();
    private readonly string _root;
    private readonly StorageEngine _engine;

    private TenantKnowledge(string root, StorageEngine engine) => (_root, _engine) = (root, engine);

    public IOptions<BrunoOptions> Options { get; } = Microsoft.Extensions.Options.Options.Create(new BrunoOptions());

    public TenantStore Store { get; private set; } = null!;

    public DocumentService Documents { get; private set; } = null!;

    public AskService Ask { get; private set; } = null!;

    public static async Task<TenantKnowledge> CreateAsync()
    {
        var root = Path.Combine(Path.GetTempPath(), "bruno-knowledge-" + Guid.NewGuid().ToString("N"));
        var knowledge = new TenantKnowledge(root, new StorageEngine(new StorageEngineOptions { DataRoot = root, MasterKey = MasterKey.Generate() }));
        await knowledge._engine.CreateTenantAsync(TenantId.Parse("acme"));
        knowledge.Store = knowledge._engine.Tenant(TenantId.Parse("acme"));
        knowledge.Documents = new DocumentService(Embedder, knowledge.Options);
        knowledge.Ask = new AskService(Embedder, new Retriever(knowledge.Documents), knowledge.Options);
        return knowledge;
    }

    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
