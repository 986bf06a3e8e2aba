using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Identity;
using Bruno.Core.Retrieval;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>
/// Issue 21, documents' access lists in Core on the real engine and model: how lists are read, who may manage what,
/// that a change rewrites readers only (vectors and text untouched), that re-embedding keeps them, and that retrieval
/// pre-filters (hidden documents, however relevant, never take the visible ones' places).
/// </summary>
public sealed class DocumentAccessTests : IAsyncLifetime
{
    private static readonly MiniLmEmbeddingGenerator Embedder = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bruno-access-" + Guid.NewGuid().ToString("N"));
    private readonly IOptions<BrunoOptions> _options = Options.Create(new BrunoOptions());
    private StorageEngine _engine = null!;
    private TenantStore _store = null!;

    private DocumentService Documents => new(Embedder, _options);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Viewer Member(string user, params string[] groups) => Viewer.Of(UserId.Parse(user), groups);

    public async ValueTask InitializeAsync()
    {
        _engine = new StorageEngine(new StorageEngineOptions { DataRoot = _root, MasterKey = MasterKey.Generate() });
        await _engine.CreateTenantAsync(TenantId.Parse("acme"));
        _store = _engine.Tenant(TenantId.Parse("acme"));
    }

    [Fact]
    public void Lists_AreRead_Canonically_AndBadOnesAreRefused()
    {
        Assert.Same(DocumentAccess.Tenant, DocumentAccess.Parse(["tenant"]));
        Assert.Same(DocumentAccess.Tenant, DocumentAccess.Parse([" tenant ", "tenant"]));
        var list = DocumentAccess.Parse(["group:eng", "user:ann", "group:Eng", "group:eng"]);
        Assert.Equal(["user:ann", "group:Eng", "group:eng"], list.Entries); // users first, names ordinal, case kept, no duplicates
        Assert.Equal(list, DocumentAccess.Parse(["group:Eng", "group:eng", "user:ann"]));

        string[][] bad =
        [
            [],
            ["tenant", "group:eng"],
            ["eng"],
            ["group:"],
            ["group:a|b"],
            ["group:../x"],
            ["user:"],
            ["user:a b"],
            ["role:admin"],
            [.. Enumerable.Range(0, 65).Select(i => $"user:u{i}")],
        ];
        foreach (var entries in bad)
        {
            var e = Assert.Throws<DocumentRejectedException>(() => DocumentAccess.Parse(entries));
            Assert.Equal(DocumentRejection.Invalid, e.Reason);
        }

        Assert.Equal(64, DocumentAccess.Parse([.. Enumerable.Range(0, 64).Select(i => $"user:u{i}")]).Readers!.Count);
    }

    [Fact]
    public void WhoMayManageWhat_FollowsTheRules()
    {
        var eng = DocumentAccess.Parse(["group:eng"]);
        var ops = DocumentAccess.Parse(["group:ops"]);
        var admin = Member("ada") with { Rights = DocumentRights.Manage };
        var editor = Member("ed", "eng") with { Rights = DocumentRights.Edit };
        var groupAdmin = Member("gail", "eng") with { Administers = new HashSet<string>(["eng"], StringComparer.Ordinal) };
        var member = Member("ann", "eng");

        Assert.True(admin.CanManage(ops) && admin.CanManage(DocumentAccess.Tenant) && !admin.CanRead(ops)); // manages, does not read
        Assert.True(editor.CanManage(eng) && editor.CanManage(DocumentAccess.Tenant) && !editor.CanManage(ops));
        Assert.True(groupAdmin.CanManage(eng) && groupAdmin.CanManage(DocumentAccess.Parse(["group:eng", "group:ops"])));
        Assert.False(groupAdmin.CanManage(DocumentAccess.Tenant) || groupAdmin.CanManage(ops));
        Assert.False(member.CanManage(eng) || member.CanManage(DocumentAccess.Tenant));
        Assert.True(member.CanRead(eng) && member.CanRead(DocumentAccess.Tenant) && !member.CanRead(ops));
        Assert.True(Member("zed").CanRead(DocumentAccess.Parse(["user:zed"])));
        Assert.Throws<AccessDeniedException>(() => DocumentService.EnsureMayWrite(member));
        DocumentService.EnsureMayWrite(groupAdmin); // a group admin may write their group's documents
    }

    [Fact]
    public async Task AChangeOfList_RewritesReadersOnly_OnEveryRowOfTheDocument()
    {
        var admin = Member("ada") with { Rights = DocumentRights.Manage };
        var text = string.Join("\n\n", Enumerable.Range(0, 30).Select(i => $"Paragraph {i} describes the eng on-call rota and its escalation steps in detail."));
        var info = await Documents.PutAsync(_store, admin, new DocumentInput("rota", null, "text/plain", text) { Access = DocumentAccess.Parse(["group:eng"]) }, Ct);
        Assert.True(info.Chunks > 1);
        var collection = await Documents.CollectionAsync(_store);
        var before = (await collection.ReadAllAsync(Ct)).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        Assert.All(before, r => Assert.Equal(["group:eng"], r.Readers!.Select(p => p.ToString())));

        var changed = await Documents.SetAccessAsync(_store, admin, "rota", DocumentAccess.Parse(["group:ops", "user:ann"]), Ct);
        Assert.Equal(["user:ann", "group:ops"], changed!.Access);
        var after = (await collection.ReadAllAsync(Ct)).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        Assert.Equal(before.Select(r => (r.Id, r.Text, r.CreatedAt)), after.Select(r => (r.Id, r.Text, r.CreatedAt)));
        Assert.All(before.Zip(after), p => Assert.True(p.First.Vector.Span.SequenceEqual(p.Second.Vector.Span)));
        Assert.All(after, r => Assert.Equal(["user:ann", "group:ops"], r.Readers!.Select(p => p.ToString())));

        // who may read it now, from the next call
        Assert.Null(await Documents.ReadAsync(_store, Member("ed", "eng"), "rota", Ct));
        Assert.NotNull(await Documents.ReadAsync(_store, Member("ann"), "rota", Ct));
        Assert.NotNull(await Documents.ReadAsync(_store, Member("oz", "ops"), "rota", Ct));
        Assert.Null(await Documents.ReadAsync(_store, admin, "rota", Ct)); // an admin manages it, and reads it only if named
        Assert.NotNull(await Documents.GetAsync(_store, admin, "rota"));

        // a caller who cannot see it is told nothing; one who sees it but may not manage it is refused
        Assert.Null(await Documents.SetAccessAsync(_store, Member("ed", "eng") with { Rights = DocumentRights.Edit }, "rota", DocumentAccess.Tenant, Ct));
        await Assert.ThrowsAsync<AccessDeniedException>(() => Documents.SetAccessAsync(_store, Member("ann"), "rota", DocumentAccess.Tenant, Ct));
        Assert.False(await Documents.DeleteAsync(_store, Member("ed", "eng") with { Rights = DocumentRights.Edit }, "rota"));
    }

    [Fact]
    public async Task HiddenDocuments_NeverTakeTheVisibleOnesPlaces_InRetrieval()
    {
        var admin = Member("ada") with { Rights = DocumentRights.Manage };
        // ten hidden documents that answer the question better than any visible one, and twelve visible ones
        for (var i = 0; i < 10; i++)
        {
            await Documents.PutAsync(_store, admin, new DocumentInput($"hidden-{i}", null, "text/plain", $"The ferry timetable: the island ferry leaves the harbour at {8 + i} o'clock, HIDDENCANARY.") { Access = DocumentAccess.Parse(["group:board"]) }, Ct);
        }

        for (var i = 0; i < 12; i++)
        {
            await Documents.PutAsync(_store, admin, new DocumentInput($"open-{i}", null, "text/plain", $"Note {i}: the harbour cafe sells tickets for boats and buses; ask at desk {i}."), Ct);
        }

        var retriever = new Retriever(Documents);
        var vector = (await Embedder.GenerateAsync(["When does the island ferry leave?"], cancellationToken: Ct))[0].Vector;
        var settings = new RetrievalOptions { RerankCandidates = 8, CandidatesPerList = 8, MinRelevance = 0, FinalCount = 8 };
        var member = Member("ann", "staff");
        var result = await retriever.RetrieveAsync(_store, member, "When does the island ferry leave?", vector, settings, ct: Ct);
        Assert.Equal(8, result.Ranked.Count); // a full list of visible passages: filtered before the top k, not after
        Assert.All(result.Ranked, c => Assert.StartsWith("open-", c.DocumentId, StringComparison.Ordinal));

        var board = await retriever.RetrieveAsync(_store, Member("bo", "board"), "When does the island ferry leave?", vector, settings, ct: Ct);
        Assert.Contains(board.Ranked, c => c.Body.Contains("HIDDENCANARY", StringComparison.Ordinal)); // the canary is findable
    }

    [Fact]
    public async Task ReembeddingKeepsEveryDocumentsList()
    {
        var admin = Member("ada") with { Rights = DocumentRights.Manage };
        await Documents.PutAsync(_store, admin, new DocumentInput("plan", null, "text/plain", "The eng roadmap puts search first.") { Access = DocumentAccess.Parse(["group:eng"]) }, Ct);
        var collection = await Documents.CollectionAsync(_store);
        var rows = await collection.ReadAllAsync(Ct);

        // the same rows under an old model's collection: what a change of model leaves behind
        var old = await _store.EnsureCollectionAsync(new Storage.Model.CollectionSpec("knowledge_old_model_384", MiniLmEmbeddingGenerator.Dimension, "old-model"), Ct);
        await old.UpsertAsync(rows, Ct);
        await collection.DeleteWhereAsync(Storage.Model.Filter.All, Ct);
        var moved = await Documents.ReembedAsync(_store, Ct);
        Assert.Equal(1, moved.Documents);
        Assert.All(await collection.ReadAllAsync(Ct), r => Assert.Equal(["group:eng"], r.Readers!.Select(p => p.ToString())));
        Assert.Null(await Documents.ReadAsync(_store, Member("ann"), "plan", Ct));
        Assert.NotNull(await Documents.ReadAsync(_store, Member("ann", "eng"), "plan", Ct));
    }

    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
