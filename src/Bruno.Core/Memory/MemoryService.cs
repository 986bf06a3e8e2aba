using Bruno.Core.Documents;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.Extensions.AI;

namespace Bruno.Core.Memory;

/// <summary>One memory as exported or recalled.</summary>
public sealed record MemoryItem(string Id, string Kind, string Text, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, string> Details);

/// <summary>Everything the service holds about one user.</summary>
public sealed record MemoryExport(string User, IReadOnlyList<MemoryItem> Turns, IReadOnlyList<MemoryItem> Facts, IReadOnlyList<MemoryItem> Preferences);

/// <summary>Proof of an erasure: the user's key was destroyed, then the rows it sealed were deleted.</summary>
public sealed record ErasureReceipt(string User, long RowsDeleted, DateTimeOffset ErasedAt, string Method);

/// <summary>
/// A user's memory: episodic turns (question, answer, sources, session), facts (explicit notes for now) and preferences,
/// each a row owned by that user, so sealed under the user's own key. Every method takes the user from the caller and
/// filters by it in the store; nothing here can read another user's rows. Erasure destroys the user's key.
/// Throws <see cref="ArgumentException"/> for empty or over-long text.
/// </summary>
public sealed class MemoryService(IEmbeddingGenerator<string, Embedding<float>> embedder, DocumentService documents, TimeProvider? time = null)
{
    /// <summary>Longest note or question kept, in characters.</summary>
    public const int MaxTextLength = 4_000;

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The memory collection for the configured embedding model (its name follows the knowledge collection's).</summary>
    public CollectionSpec Spec => documents.Spec with { Name = "memory_" + documents.Spec.Name[DocumentService.CollectionPrefix.Length..] };

    /// <summary>Stores an answered question as a turn of <paramref name="user"/>; returns its id.</summary>
    /// <remarks>The turn is indexed by the question's vector (already computed to answer it): similar questions find it.</remarks>
    public async Task<string> RecordTurnAsync(TenantStore store, UserId user, string session, string question, string answer, IEnumerable<string> sources, ReadOnlyMemory<float> questionVector)
    {
        var id = "turn:" + Guid.NewGuid().ToString("N");
        var text = $"Q: {Clip(question)}\nA: {Clip(answer)}";
        var vector = questionVector;
        var meta = new Dictionary<string, MetadataValue>(StringComparer.Ordinal)
        {
            ["kind"] = "turn",
            ["session"] = Clip(session, 200),
            ["sources"] = Clip(string.Join(' ', sources), 4_000),
        };
        await (await CollectionAsync(store)).UpsertAsync([new StoredRow { Id = id, Text = text, Vector = vector, UserId = user, Metadata = meta, CreatedAt = _time.GetUtcNow() }]);
        return id;
    }

    /// <summary>Stores an explicit note ("remember that ...") as a fact of <paramref name="user"/>.</summary>
    public async Task<MemoryItem> RememberAsync(TenantStore store, UserId user, string text, CancellationToken ct = default)
    {
        text = (text ?? string.Empty).Trim();
        if (text.Length is 0 or > MaxTextLength || text.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A note has 1-{MaxTextLength} characters.");
        }

        var row = new StoredRow
        {
            Id = "fact:" + Guid.NewGuid().ToString("N"),
            Text = text,
            Vector = (await embedder.GenerateAsync([text], cancellationToken: ct))[0].Vector,
            UserId = user,
            Metadata = new Dictionary<string, MetadataValue>(StringComparer.Ordinal) { ["kind"] = "fact", ["source"] = "explicit", ["confidence"] = 1.0, ["verified"] = true },
            CreatedAt = _time.GetUtcNow(),
        };
        await (await CollectionAsync(store)).UpsertAsync([row]);
        return Item(row);
    }

    /// <summary>The user's memories most related to <paramref name="query"/> (turns and facts), best first.</summary>
    public async Task<IReadOnlyList<MemoryItem>> RecallAsync(TenantStore store, UserId user, string query, int k = 5, CancellationToken ct = default)
    {
        query = (query ?? string.Empty).Trim();
        if (query.Length is 0 or > MaxTextLength)
        {
            throw new ArgumentException($"A recall query has 1-{MaxTextLength} characters.");
        }

        var vector = (await embedder.GenerateAsync([query], cancellationToken: ct))[0].Vector;
        var hits = await (await CollectionAsync(store)).SearchAsync(new SearchRequest
        {
            Mode = SearchMode.Hybrid,
            Vector = vector,
            Text = query,
            K = Math.Clamp(k, 1, 50),
            Filter = Filter.ForUser(user),
        });
        return [.. hits.Select(h => Item(h.Row))];
    }

    /// <summary>The last <paramref name="n"/> turns of the user's session, oldest first.</summary>
    public async Task<IReadOnlyList<MemoryItem>> RecentTurnsAsync(TenantStore store, UserId user, string session, int n, CancellationToken ct = default)
    {
        var turns = await AllAsync(store, Filter.ForUser(user).Where("kind", "turn").Where("session", Clip(session, 200)), ct);
        return [.. turns.OrderBy(t => t.CreatedAt).TakeLast(n)];
    }

    /// <summary>Everything held about <paramref name="user"/>, by kind.</summary>
    public async Task<MemoryExport> ExportAsync(TenantStore store, UserId user, CancellationToken ct = default)
    {
        var all = await AllAsync(store, Filter.ForUser(user), ct);
        return new MemoryExport(
            user.Value,
            [.. all.Where(m => m.Kind == "turn").OrderBy(m => m.CreatedAt)],
            [.. all.Where(m => m.Kind == "fact").OrderBy(m => m.CreatedAt)],
            [.. all.Where(m => m.Kind == "preference").OrderBy(m => m.CreatedAt)]);
    }

    /// <summary>Deletes one memory of the user; false when the user has no memory with that id.</summary>
    public async Task<bool> ForgetAsync(TenantStore store, UserId user, string id)
    {
        var collection = await CollectionAsync(store);
        var row = await collection.GetAsync(IdentifierRules.ValidateRowId(id));
        if (row is null || row.UserId != user)
        {
            return false; // another user's memory is answered as missing
        }

        return await collection.DeleteAsync([id]) == 1;
    }

    /// <summary>Erases the user: destroys the user's key (every copy of their rows, backups included, becomes unreadable), then deletes the rows.</summary>
    public async Task<ErasureReceipt> EraseAsync(TenantStore store, UserId user)
    {
        var rows = await store.EraseUserAsync(user);
        return new ErasureReceipt(user.Value, rows, _time.GetUtcNow(), "the user's encryption key was destroyed, then the rows it sealed were deleted");
    }

    private async Task<List<MemoryItem>> AllAsync(TenantStore store, Filter filter, CancellationToken ct)
    {
        var collection = await CollectionAsync(store);
        var items = new List<MemoryItem>();
        string? after = null;
        while (!ct.IsCancellationRequested)
        {
            var page = await collection.ListAsync(filter, after, 500);
            items.AddRange(page.Select(Item));
            if (page.Count < 500)
            {
                break;
            }

            after = page[^1].Id;
        }

        return items;
    }

    private Task<TenantCollection> CollectionAsync(TenantStore store) => store.EnsureCollectionAsync(Spec);

    private static MemoryItem Item(StoredRow row) => new(
        row.Id,
        row.Metadata.TryGetValue("kind", out var k) ? k.AsString : "unknown",
        row.Text,
        row.CreatedAt,
        row.Metadata.Where(m => m.Key != "kind").ToDictionary(m => m.Key, m => m.Value.ToString(), StringComparer.Ordinal));

    private static string Clip(string text, int max = MaxTextLength) => text.Length <= max ? text : text[..max];
}
