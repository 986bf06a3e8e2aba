using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>Documents and answers on the real store and the real MiniLM model.</summary>
public sealed class KnowledgeTests : IAsyncLifetime
{
    private static readonly MiniLmEmbeddingGenerator Embedder = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bruno-knowledge-" + Guid.NewGuid().ToString("N"));
    private readonly IOptions<BrunoOptions> _options = Options.Create(new BrunoOptions());
    private StorageEngine _engine = null!;
    private TenantStore _store = null!;

    private DocumentService Documents => new(Embedder, _options);

    private AskService Ask => new(Embedder, new Core.Retrieval.Retriever(Documents), _options);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private Task<DocumentInfo> Put(DocumentInput input, DocumentService? service = null) => (service ?? Documents).PutAsync(_store, Readers.Admin, input, Ct);

    private Task<Answer> AskAsync(string question) => Ask.AskAsync(_store, new Question(question) { Viewer = Readers.Admin }, Ct);

    public async ValueTask InitializeAsync()
    {
        _engine = new StorageEngine(new StorageEngineOptions { DataRoot = _root, MasterKey = MasterKey.Generate() });
        await _engine.CreateTenantAsync(TenantId.Parse("acme"));
        _store = _engine.Tenant(TenantId.Parse("acme"));
    }

    [Fact]
    public async Task AnAnswer_QuotesTheRelevantPassage_AndCitesIt()
    {
        await Put(new DocumentInput("policy", "Policy", "text/markdown", "# Returns\nCustomers may return any product within 30 days of delivery for a full refund.\n## Shipping\nStandard shipping takes 3 to 5 business days."));
        await Put(new DocumentInput("menu", "Menu", "text/plain", "The cafeteria serves soup on Mondays and fish on Fridays."));

        var answer = await AskAsync("How many days do customers have to return a product?");

        Assert.Equal(AskService.ExtractiveModel, answer.Model);
        Assert.Contains("30 days", answer.Text, StringComparison.Ordinal);
        var cited = answer.Sources.Single(s => answer.Text.Contains($"[{s.N}]", StringComparison.Ordinal) && s.Snippet.Contains("30 days", StringComparison.Ordinal));
        Assert.Equal(("policy", "Returns"), (cited.DocumentId, cited.Section));
        Assert.Equal(1, answer.Sources[0].N);
        Assert.Equal("policy", answer.Sources[0].DocumentId); // the best passage comes first
    }

    [Fact]
    public async Task Reposting_ReplacesTheWholeDocument_AndDeleteRemovesItEverywhere()
    {
        var longText = string.Join("\n\n", Enumerable.Range(0, 40).Select(i => $"Paragraph {i} talks about zeppelins and airships in some detail, sentence after sentence."));
        var first = await Put(new DocumentInput("air", null, "text/plain", longText));
        Assert.True(first.Chunks > 1);

        var second = await Put(new DocumentInput("air", "Air", "text/plain", "Hot air balloons rise because warm air is lighter."));
        Assert.Equal(1, second.Chunks);
        var knowledge = _store.Collection(Documents.Spec.Name);
        Assert.Equal(2, await knowledge.CountAsync(ct: TestContext.Current.CancellationToken)); // one document row, one chunk row: no stale chunk left
        Assert.Empty(await knowledge.SearchAsync(new SearchRequest { Text = "zeppelins", Mode = SearchMode.FullText }, ct: TestContext.Current.CancellationToken));
        Assert.Equal("Air", (await Documents.GetAsync(_store, Readers.Admin, "air"))!.Title);

        Assert.True(await Documents.DeleteAsync(_store, Readers.Admin, "air"));
        Assert.False(await Documents.DeleteAsync(_store, Readers.Admin, "air"));
        Assert.Equal(0, await knowledge.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Empty((await AskAsync("balloons")).Sources);
    }

    [Fact]
    public async Task Listing_PagesThroughDocumentsInIdOrder()
    {
        foreach (var id in new[] { "c", "a", "b", "d" })
        {
            await Put(new DocumentInput(id, null, "text/plain", $"Document {id} says something."));
        }

        var page1 = await Documents.ListAsync(_store, Readers.Admin, null, 3);
        var page2 = await Documents.ListAsync(_store, Readers.Admin, page1[^1].Id, 3);
        Assert.Equal(["a", "b", "c"], page1.Select(d => d.Id));
        Assert.Equal(["d"], page2.Select(d => d.Id));
    }

    [Theory]
    [InlineData("../etc/passwd", "text/plain", "x", DocumentRejection.Invalid)]
    [InlineData("ok", "application/x-msdownload", "x", DocumentRejection.UnsupportedType)]
    [InlineData("ok", "text/plain", "   ", DocumentRejection.Invalid)]
    [InlineData("ok", "text/plain", "nul\0inside", DocumentRejection.Invalid)]
    public async Task BadDocuments_AreRefused_AndNothingIsStored(string id, string type, string content, DocumentRejection reason)
    {
        var e = await Assert.ThrowsAsync<DocumentRejectedException>(() => Put(new DocumentInput(id, null, type, content)));
        Assert.Equal(reason, e.Reason);
        Assert.Empty(await Documents.ListAsync(_store, Readers.Admin, null, 10));
    }

    [Fact]
    public async Task TooLargeDocuments_AndReservedMetadata_AreRefused()
    {
        var small = Options.Create(new BrunoOptions { MaxDocumentBytes = 2_048 });
        var e = await Assert.ThrowsAsync<DocumentRejectedException>(() => Put(new DocumentInput("big", null, "text/plain", new string('a', 3_000)), new DocumentService(Embedder, small)));
        Assert.Equal(DocumentRejection.TooLarge, e.Reason);

        var meta = new Dictionary<string, string> { ["kind"] = "document" };
        e = await Assert.ThrowsAsync<DocumentRejectedException>(() => Put(new DocumentInput("m", null, "text/plain", "text", meta)));
        Assert.Equal(DocumentRejection.Invalid, e.Reason);
        Assert.Empty(await Documents.ListAsync(_store, Readers.Admin, null, 10));
    }

    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>The embedding model is recorded with the collection; another model is refused, not mixed in.</summary>
public sealed class EmbeddingModelTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bruno-model-" + Guid.NewGuid().ToString("N"));
    private StorageEngine _engine = null!;

    public async ValueTask InitializeAsync()
    {
        _engine = new StorageEngine(new StorageEngineOptions { DataRoot = _root, MasterKey = MasterKey.Generate() });
        await _engine.CreateTenantAsync(TenantId.Parse("acme"));
    }

    [Fact]
    public async Task AnotherModel_IsAClearError_UntilReembedMovesTheDocuments()
    {
        var options = Options.Create(new BrunoOptions());
        using var local = new MiniLmEmbeddingGenerator();
        var store = _engine.Tenant(TenantId.Parse("acme"));
        var ct = TestContext.Current.CancellationToken;
        await new DocumentService(local, options).PutAsync(store, Readers.Admin, new DocumentInput("ferry", null, "text/markdown", "# Ferries\nThe ferry to the island leaves at noon.\n# Buses\nBuses run every ten minutes."), ct);

        // the same vectors, declared as another model: what a configuration change to another model looks like
        using var other = new RenamedModel(local);
        var documents = new DocumentService(other, options);
        var ask = new AskService(other, new Core.Retrieval.Retriever(documents), options);
        var e = await Assert.ThrowsAsync<EmbeddingModelChangedException>(() => documents.PutAsync(store, Readers.Admin, new DocumentInput("e", null, "text/plain", "More text."), ct));
        Assert.Contains("all-MiniLM-L6-v2", e.Message, StringComparison.Ordinal);
        Assert.Contains("other-model", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<EmbeddingModelChangedException>(() => ask.AskAsync(store, new Question("When does the ferry leave?") { Viewer = Readers.Admin }, ct));

        var moved = await documents.ReembedAsync(store, ct);
        Assert.Equal((1, 2, "other-model"), (moved.Documents, moved.Chunks, moved.ToModel));
        Assert.Equal(["all-MiniLM-L6-v2"], moved.FromModels);
        var answer = await ask.AskAsync(store, new Question("When does the ferry leave?") { Viewer = Readers.Admin }, ct);
        Assert.Contains("noon", answer.Text, StringComparison.Ordinal);
        Assert.Equal("Ferries", answer.Sources[0].Section);
        Assert.Equal(0, await store.Collection(new DocumentService(local, options).Spec.Name).CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Equal(0, (await documents.ReembedAsync(store, ct)).Documents); // nothing left to move
    }

    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private sealed class RenamedModel(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        public override object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(EmbeddingGeneratorMetadata) ? new EmbeddingGeneratorMetadata("test", null, "other-model", MiniLmEmbeddingGenerator.Dimension) : base.GetService(serviceType, serviceKey);
    }
}
