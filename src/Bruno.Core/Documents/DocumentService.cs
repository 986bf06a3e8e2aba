using System.Text;
using System.Text.RegularExpressions;
using Bruno.Core.Embeddings;
using Bruno.Storage;
using Bruno.Storage.Model;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Documents;

/// <summary>A document to store: caller-chosen id, title, content type and text, optional string metadata.</summary>
public sealed record DocumentInput(string Id, string? Title, string ContentType, string Content, IReadOnlyDictionary<string, string>? Metadata = null)
{
    /// <summary>The tenant's plan limits to check before anything is written (null: none).</summary>
    public DocumentQuota? Quota { get; init; }

    /// <summary>Who may read it (null: the list of the document it replaces, else the whole tenant).</summary>
    public DocumentAccess? Access { get; init; }
}

/// <summary>A plan's limits on documents: how many, and how many bytes the tenant's store may hold.</summary>
public sealed record DocumentQuota(long MaxDocuments, long MaxStorageBytes);

/// <summary>
/// Thrown when a write would take the tenant past a quota of its plan; nothing was written.
/// <see cref="Quota"/> names it (<c>documents</c> or <c>storage_bytes</c>).
/// </summary>
public sealed class QuotaExceededException(string quota, long limit, long used, string message) : Exception(message)
{
    /// <summary>Which quota.</summary>
    public string Quota { get; } = quota;

    /// <summary>The plan's limit.</summary>
    public long Limit { get; } = limit;

    /// <summary>What the tenant uses now.</summary>
    public long Used { get; } = used;
}

/// <summary>An uploaded file to store: caller-chosen id, title, content type and bytes, optional string metadata.</summary>
public sealed record DocumentFile(string Id, string? Title, string ContentType, ReadOnlyMemory<byte> Bytes, IReadOnlyDictionary<string, string>? Metadata = null)
{
    /// <summary>The tenant's plan limits to check before anything is written (null: none).</summary>
    public DocumentQuota? Quota { get; init; }

    /// <summary>Who may read it (null: the list of the document it replaces, else the whole tenant).</summary>
    public DocumentAccess? Access { get; init; }
}

/// <summary>A stored document as listed, with its access list (<c>["tenant"]</c>, or <c>group:NAME</c> and <c>user:ID</c> entries).</summary>
public sealed record DocumentInfo(string Id, string Title, string ContentType, int Chunks, long Bytes, DateTimeOffset CreatedAt)
{
    /// <summary>Who may read the document, as <see cref="DocumentAccess.Entries"/> spells it.</summary>
    public IReadOnlyList<string> Access { get; init; } = [DocumentAccess.TenantEntry];
}

/// <summary>A document's text as Bruno holds it (<see cref="DocumentService.ReadAsync"/>), Markdown.</summary>
public sealed record DocumentText(DocumentInfo Info, string Text);

/// <summary>Refused input, with a message safe to show the caller.</summary>
public sealed class DocumentRejectedException(string message, DocumentRejection reason) : Exception(message)
{
    /// <summary>Why it was refused.</summary>
    public DocumentRejection Reason { get; } = reason;

    /// <summary>For <see cref="DocumentRejection.LimitExceeded"/>: the setting that was exceeded (<c>Bruno:Ingestion:...</c>).</summary>
    public string? Limit { get; init; }
}

/// <summary>What a re-embedding moved.</summary>
public sealed record ReembedResult(IReadOnlyList<string> FromModels, string ToModel, int Documents, int Chunks);

/// <summary>The tenant's documents are embedded with another model than the configured one (HTTP 409).</summary>
public sealed class EmbeddingModelChangedException(string oldModel, int oldDimension, string newModel, int newDimension)
    : Exception($"This tenant's documents are embedded with '{oldModel}' ({oldDimension} dimensions), not the configured '{newModel}' ({newDimension}); re-embed them first (bruno reembed --tenant <id>, or POST /admin/v1/tenants/<id>/reembed).");

/// <summary>Why a document was refused.</summary>
public enum DocumentRejection
{
    /// <summary>Malformed id, metadata or content.</summary>
    Invalid,

    /// <summary>Larger than the configured limit.</summary>
    TooLarge,

    /// <summary>A content type Bruno does not read.</summary>
    UnsupportedType,

    /// <summary>Reading the document would pass one of the ingestion limits (HTTP 422); <see cref="DocumentRejectedException.Limit"/> names it.</summary>
    LimitExceeded,

    /// <summary>The bytes are not a readable file of the type they claim (HTTP 422).</summary>
    Unreadable,
}

/// <summary>
/// Stores, lists and deletes a tenant's documents. A document and its chunks are rows of the tenant's <c>knowledge</c>
/// collection, written in one atomic replacement: re-posting an id swaps the old version for the new one at once, and a
/// failure leaves the old one whole. Shared knowledge (no owning user), each document readable by its access list
/// (<see cref="DocumentAccess"/>, kept on all its rows and enforced by the engine); every call names its
/// <see cref="Viewer"/>. Throws
/// <see cref="DocumentRejectedException"/> for bad input before anything is written.
/// </summary>
public sealed partial class DocumentService(IEmbeddingGenerator<string, Embedding<float>> embedder, IOptions<BrunoOptions> options, IngestionGate? gate = null)
{
    /// <summary>The process's ingestion gate (one of its own when none is given).</summary>
    private readonly IngestionGate _gate = gate ?? new IngestionGate(options);

    /// <summary>Prefix of the collections holding documents and chunks: one per embedding model.</summary>
    public const string CollectionPrefix = "knowledge_";

    private const int MaxChunks = 5_000;

    /// <summary>Metadata keys Bruno sets itself.</summary>
    private static readonly HashSet<string> Reserved = new(StringComparer.Ordinal) { "kind", "document_id", "title", "section", "position", "content_type", "chunk_count", "bytes", "page", "body_at" };

    /// <summary>The collection spec for the configured embedding model: <c>knowledge_&lt;model&gt;_&lt;dimension&gt;</c>.</summary>
    public CollectionSpec Spec
    {
        get
        {
            var meta = embedder.GetService<EmbeddingGeneratorMetadata>();
            var model = meta?.DefaultModelId ?? MiniLmEmbeddingGenerator.ModelName;
            var dimension = meta?.DefaultModelDimensions ?? MiniLmEmbeddingGenerator.Dimension;
            var slug = new string([.. model.ToLowerInvariant().Select(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '_')]);
            var name = $"{CollectionPrefix}{slug}_{dimension}";
            return new CollectionSpec(name.Length <= 64 ? name : $"{CollectionPrefix}{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..24]}", dimension, model);
        }
    }

    /// <summary>
    /// The collection of the configured model. Throws <see cref="EmbeddingModelChangedException"/> when the tenant's
    /// documents are still embedded with another model (they would not be found): <see cref="ReembedAsync"/> moves them.
    /// </summary>
    public async Task<ITenantCollection> CollectionAsync(ITenantStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        var spec = Spec;
        var collections = await store.ListCollectionsAsync();
        if (collections.Any(c => c.Name == spec.Name))
        {
            return store.Collection(spec.Name);
        }

        foreach (var old in collections.Where(c => c.Name.StartsWith(CollectionPrefix, StringComparison.Ordinal)))
        {
            if (await store.Collection(old.Name).CountAsync() > 0)
            {
                throw new EmbeddingModelChangedException(old.Model, old.Dimension, spec.Model, spec.Dimension);
            }
        }

        return await store.EnsureCollectionAsync(spec);
    }

    /// <summary>
    /// Re-embeds every document held under another model with the configured one, document by document (each move is
    /// atomic in the new collection), then empties the old collections. Safe to run again after a failure: documents
    /// already moved are simply written again. Returns what was moved.
    /// </summary>
    public async Task<ReembedResult> ReembedAsync(ITenantStore store, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var spec = Spec;
        var target = await store.EnsureCollectionAsync(spec, ct);
        var from = new List<string>();
        int documents = 0, chunks = 0;
        foreach (var old in (await store.ListCollectionsAsync(ct)).Where(c => c.Name.StartsWith(CollectionPrefix, StringComparison.Ordinal) && c.Name != spec.Name))
        {
            var source = store.Collection(old.Name);
            var rows = await source.ReadAllAsync(ct);
            if (rows.Count == 0)
            {
                continue;
            }

            from.Add(old.Model);
            foreach (var doc in rows.Where(r => Kind(r) == "document"))
            {
                var id = doc.Metadata["document_id"].AsString;
                var parts = rows.Where(r => Kind(r) == "chunk" && r.Metadata["document_id"].AsString == id).OrderBy(r => r.Metadata["position"].AsNumber).ToList();
                var vectors = parts.Count == 0 ? [] : await embedder.GenerateAsync(parts.Select(p => p.Text), cancellationToken: ct);
                var moved = parts.Select((p, i) => p with { Vector = vectors[i].Vector }).ToList();
                moved.Add(doc with { Vector = Mean(vectors.Select(v => v.Vector).ToList(), spec.Dimension) });
                await target.UpsertAsync(moved, ct);
                documents++;
                chunks += parts.Count;
            }

            await source.DeleteWhereAsync(Filter.All, ct);
        }

        return new ReembedResult(from, spec.Model, documents, chunks);
    }

    private static string Kind(StoredRow row) => row.Metadata.TryGetValue("kind", out var k) && k.Kind == MetadataKind.String ? k.AsString : string.Empty;

    private static float[] Mean(IReadOnlyList<ReadOnlyMemory<float>> vectors, int dimension)
    {
        var mean = new float[dimension];
        foreach (var v in vectors)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(mean, v.Span, mean);
        }

        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(mean);
        if (norm > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(mean, norm, mean);
        }

        return mean;
    }

    /// <summary>
    /// Stores (or replaces) a document sent as text (plain, Markdown or HTML), as <paramref name="viewer"/> may
    /// (<see cref="Viewer.CanManage"/>, for the document it replaces and for the access list it gives); returns what was
    /// stored. Throws <see cref="Identity.AccessDeniedException"/> before anything is read when the viewer may not.
    /// </summary>
    public Task<DocumentInfo> PutAsync(ITenantStore store, Viewer viewer, DocumentInput input, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var type = TextExtractor.Normalize(input.ContentType);
        if (type == "application/pdf")
        {
            throw new DocumentRejectedException("Send PDF files as a multipart/form-data upload, not as JSON text.", DocumentRejection.UnsupportedType);
        }

        if (!TextExtractor.Types.Contains(type))
        {
            throw TextExtractor.Unsupported(type);
        }

        var content = input.Content ?? string.Empty;
        var size = Encoding.UTF8.GetByteCount(content);
        CheckSize(type, size);
        var limits = options.Value.Ingestion;
        return IngestAsync(store, viewer, input.Id, input.Title, type, size, input.Metadata, input.Quota, input.Access, token => TextExtractor.ExtractText(content, type, limits, token), ct);
    }

    /// <summary>Stores (or replaces) an uploaded file (text, Markdown, HTML or PDF) as <see cref="PutAsync"/> does; returns what was stored.</summary>
    public Task<DocumentInfo> PutFileAsync(ITenantStore store, Viewer viewer, DocumentFile file, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        var type = TextExtractor.Normalize(file.ContentType);
        if (!TextExtractor.Types.Contains(type))
        {
            throw TextExtractor.Unsupported(type);
        }

        CheckSize(type, file.Bytes.Length);
        var limits = options.Value.Ingestion;
        var bytes = file.Bytes;
        return IngestAsync(store, viewer, file.Id, file.Title, type, file.Bytes.Length, file.Metadata, file.Quota, file.Access, token => TextExtractor.Extract(bytes, type, limits, token), ct);
    }

    /// <summary>
    /// Refuses a document of <paramref name="type"/> larger than this service accepts (413, naming the setting in
    /// <c>limit</c>), before anything is read: uploads call it with the declared length.
    /// </summary>
    public void CheckSize(string type, long bytes)
    {
        var (max, setting) = TextExtractor.MaxBytes(TextExtractor.Normalize(type), options.Value.Ingestion, options.Value.MaxDocumentBytes);
        if (bytes > max)
        {
            throw new DocumentRejectedException($"The document is larger than {max} bytes ({setting}).", DocumentRejection.TooLarge) { Limit = setting };
        }
    }

    /// <summary>
    /// Checks what is cheap first (id, title, metadata, quotas), then reads, chunks and embeds the document through the
    /// ingestion gate (off the request thread, bounded), then writes it in one atomic replacement.
    /// </summary>
    private async Task<DocumentInfo> IngestAsync(ITenantStore store, Viewer viewer, string idText, string? titleText, string type, int size, IReadOnlyDictionary<string, string>? metadata, DocumentQuota? quota, DocumentAccess? requested, Func<CancellationToken, ExtractedDocument> extract, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(viewer);
        var opts = options.Value;
        var id = ValidateId(idText);
        var givenTitle = string.IsNullOrWhiteSpace(titleText) ? null : titleText.Trim();
        if (givenTitle is not null && (givenTitle.Length > 300 || givenTitle.Any(char.IsControl)))
        {
            throw new DocumentRejectedException("A title has at most 300 characters and no control characters.", DocumentRejection.Invalid);
        }

        var extra = ValidateMetadata(metadata);
        var collection = await CollectionAsync(store);
        var previous = await collection.GetAsync(DocRowId(id), ct);
        var access = Authorize(viewer, previous, requested);
        if (quota is not null)
        {
            // checked before anything is read or written; two uploads racing past the last slot can both pass (a soft limit)
            var documents = await collection.CountAsync(Filter.All.Where("kind", "document"), ct);
            if (previous is null && documents >= quota.MaxDocuments)
            {
                throw new QuotaExceededException("documents", quota.MaxDocuments, documents, $"The tenant's plan allows {quota.MaxDocuments} documents and it has {documents}; delete some or change plans.");
            }

            var bytes = (await store.GetStatsAsync(ct)).BytesOnDisk;
            if (bytes + size > quota.MaxStorageBytes)
            {
                throw new QuotaExceededException("storage_bytes", quota.MaxStorageBytes, bytes, $"The tenant's plan allows {quota.MaxStorageBytes} bytes of storage and it uses {bytes}; this document ({size} bytes) does not fit.");
            }
        }

        var maxTokens = Math.Min(opts.Chunking.ChunkTokens, MiniLmEmbeddingGenerator.MaxInputTokens - 2);
        var overlap = Math.Min(opts.Chunking.OverlapTokens, maxTokens / 2);
        var prepared = await _gate.RunAsync(store.Id, token =>
        {
            var document = extract(token);
            var title = givenTitle ?? CleanTitle(document.Title) ?? id;
            var chunks = Chunker.Split(document, title, maxTokens, overlap);
            if (chunks.Count == 0)
            {
                throw new DocumentRejectedException("The document has no text.", DocumentRejection.Invalid);
            }

            if (chunks.Count > MaxChunks)
            {
                throw new DocumentRejectedException($"The document makes more than {MaxChunks} chunks.", DocumentRejection.TooLarge);
            }

            var vectors = embedder.GenerateAsync(chunks.Select(c => c.Text), cancellationToken: token).GetAwaiter().GetResult();
            return (Title: title, Chunks: chunks, Vectors: vectors, Declared: DeclaredMetadata(document.Metadata, extra));
        }, ct);

        var oldCount = previous?.Metadata.TryGetValue("chunk_count", out var n) == true ? (int)n.AsNumber : 0;
        var (finalTitle, parts, embedded, meta) = prepared;
        var rows = new List<StoredRow>(parts.Count + 1);
        var mean = new float[embedded[0].Vector.Length];
        for (var i = 0; i < parts.Count; i++)
        {
            var vector = embedded[i].Vector;
            System.Numerics.Tensors.TensorPrimitives.Add(mean, vector.Span, mean);
            var chunkMeta = new Dictionary<string, MetadataValue>(meta, StringComparer.Ordinal)
            {
                ["kind"] = "chunk",
                ["document_id"] = id,
                ["title"] = finalTitle,
                ["section"] = parts[i].Section,
                ["position"] = i,
                ["body_at"] = parts[i].BodyStart,
            };
            if (parts[i].Page > 0)
            {
                chunkMeta["page"] = parts[i].Page;
            }

            rows.Add(new StoredRow { Id = ChunkRowId(id, i), Text = parts[i].Text, Vector = vector, Metadata = chunkMeta, Readers = access.Readers });
        }

        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(mean);
        System.Numerics.Tensors.TensorPrimitives.Divide(mean, norm > 0 ? norm : 1, mean);
        var info = new DocumentInfo(id, finalTitle, type, parts.Count, size, DateTimeOffset.UtcNow) { Access = access.Entries };
        rows.Add(new StoredRow
        {
            Id = DocRowId(id),
            Text = finalTitle,
            Vector = mean,
            Metadata = new Dictionary<string, MetadataValue>(meta, StringComparer.Ordinal)
            {
                ["kind"] = "document",
                ["document_id"] = id,
                ["title"] = finalTitle,
                ["content_type"] = type,
                ["chunk_count"] = parts.Count,
                ["bytes"] = size,
            },
            CreatedAt = info.CreatedAt,
            Readers = access.Readers,
        });
        var stale = Enumerable.Range(parts.Count, Math.Max(0, oldCount - parts.Count)).Select(i => ChunkRowId(id, i)).ToList();
        await collection.ReplaceAsync(rows, stale, ct);
        return info;
    }

    /// <summary>A title read from the file, made fit to store: whitespace collapsed, control characters dropped, at most 300 characters.</summary>
    private static string? CleanTitle(string? title)
    {
        if (string.IsNullOrWhiteSpace(title))
        {
            return null;
        }

        var clean = string.Join(' ', new string([.. title.Where(c => !char.IsControl(c))]).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return clean.Length == 0 ? null : clean.Length <= 300 ? clean : clean[..299] + "…";
    }

    /// <summary>
    /// Metadata the file declares (Markdown front matter) under the caller's: keys made lower-case with '_' for other
    /// characters; reserved keys, unusable values and entries past 20 are left out (the caller's always count first).
    /// </summary>
    private static Dictionary<string, MetadataValue> DeclaredMetadata(IReadOnlyDictionary<string, string> declared, Dictionary<string, MetadataValue> caller)
    {
        var result = new Dictionary<string, MetadataValue>(caller, StringComparer.Ordinal);
        foreach (var (rawKey, value) in declared)
        {
            if (result.Count >= 20)
            {
                break;
            }

            var key = new string([.. rawKey.Trim().ToLowerInvariant().Select(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '_')]);
            if (key.Length is 0 or > 40 || key[0] is < 'a' or > 'z' || Reserved.Contains(key) || result.ContainsKey(key) || value.Length > 1_000 || value.Any(char.IsControl))
            {
                continue;
            }

            result[key] = value;
        }

        return result;
    }

    /// <summary>
    /// One page of documents in id order, after <paramref name="after"/>: those <paramref name="viewer"/> may read, and
    /// for a tenant admin every document (their entries, never their text) unless <paramref name="readableOnly"/>.
    /// </summary>
    public async Task<IReadOnlyList<DocumentInfo>> ListAsync(ITenantStore store, Viewer viewer, string? after, int limit, bool readableOnly = false)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        var collection = await CollectionAsync(store);
        var filter = Filter.All.Where("kind", "document");
        var rows = await collection.ListAsync(viewer.ManagesAll && !readableOnly ? filter : viewer.Restrict(filter), after is null ? null : DocRowId(ValidateId(after)), Math.Clamp(limit, 1, 200));
        return [.. rows.Select(Info)];
    }

    /// <summary>The document, or null when there is none that <paramref name="viewer"/> may read or manage.</summary>
    public async Task<DocumentInfo?> GetAsync(ITenantStore store, Viewer viewer, string id)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        var collection = await CollectionAsync(store);
        return await collection.GetAsync(DocRowId(ValidateId(id))) is { } row && Sees(viewer, row) ? Info(row) : null;
    }

    /// <summary>
    /// Changes who may read the document, on every row of it at once, without re-embedding (the engine rewrites the
    /// rows' readers only); takes effect on the next search. Null when there is no such document the viewer may read or
    /// manage; throws <see cref="Identity.AccessDeniedException"/> when the viewer may not manage the document as it
    /// is or as it would be (nothing is changed).
    /// </summary>
    public async Task<DocumentInfo?> SetAccessAsync(ITenantStore store, Viewer viewer, string id, DocumentAccess access, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        ArgumentNullException.ThrowIfNull(access);
        var collection = await CollectionAsync(store);
        var row = await collection.GetAsync(DocRowId(ValidateId(id)), ct);
        if (row is null || !Sees(viewer, row))
        {
            return null;
        }

        Authorize(viewer, row, access);
        await collection.UpdateReadersAsync(Filter.All.Where("document_id", id), access.Readers, ct);
        return Info(row) with { Access = access.Entries };
    }

    /// <summary>
    /// Throws <see cref="Identity.AccessDeniedException"/> when <paramref name="viewer"/> may write no document at all
    /// (neither the ingest nor the admin scope, nor a group they administer): uploads call it before reading the file.
    /// </summary>
    public static void EnsureMayWrite(Viewer viewer)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        if (viewer.Rights == DocumentRights.Read && viewer.Administers.Count == 0)
        {
            throw new Identity.AccessDeniedException("Adding or changing documents needs the tenant's ingest scope, or to administer a group the document's access list names.");
        }
    }

    /// <summary>
    /// The access list a write leaves on the document: the one asked for, else the replaced document's, else the whole
    /// tenant. Throws <see cref="Identity.AccessDeniedException"/> when <paramref name="viewer"/> may not manage the
    /// document it replaces or the list it gives.
    /// </summary>
    private static DocumentAccess Authorize(Viewer viewer, StoredRow? previous, DocumentAccess? requested)
    {
        EnsureMayWrite(viewer);
        if (previous is not null && !viewer.CanManage(AccessOf(previous)))
        {
            throw new Identity.AccessDeniedException(viewer.CanRead(AccessOf(previous)) || viewer.ManagesAll
                ? "Changing this document needs the tenant's ingest scope and to be able to read it, or to administer a group its access list names."
                : "A document with this id exists and you may not change it.");
        }

        var access = requested ?? (previous is null ? DocumentAccess.Tenant : AccessOf(previous));
        if (!viewer.CanManage(access))
        {
            throw new Identity.AccessDeniedException(viewer.Rights switch
            {
                DocumentRights.Edit => "An editor gives a document an access list that lets them read it: 'tenant', their user, or one of their groups.",
                _ when viewer.Administers.Count > 0 => "A group admin gives a document an access list naming a group they administer.",
                _ => "Adding or changing documents needs the tenant's ingest scope, or to administer a group the document's access list names.",
            });
        }

        return access;
    }

    /// <summary>Whether <paramref name="viewer"/> may see the row's entry: they read it, or they manage every document.</summary>
    private static bool Sees(Viewer viewer, StoredRow row) => viewer.ManagesAll || viewer.CanRead(AccessOf(row));

    private static DocumentAccess AccessOf(StoredRow row) => DocumentAccess.Stored(row.Readers);

    /// <summary>
    /// The document's text as Bruno holds it (its chunks, in order, without their context lines and without the
    /// sentences consecutive chunks share), as Markdown: the title, then each section under its heading path. Null when
    /// there is no such document that <paramref name="viewer"/> may read (a tenant admin reads only what the access
    /// lists let them). Throws <see cref="DocumentRejectedException"/> for a malformed id.
    /// </summary>
    public async Task<DocumentText?> ReadAsync(ITenantStore store, Viewer viewer, string id, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        var collection = await CollectionAsync(store);
        if (await collection.GetAsync(DocRowId(ValidateId(id)), ct) is not { } row || !viewer.CanRead(AccessOf(row)))
        {
            return null;
        }

        var info = Info(row);
        var text = new StringBuilder("# ").Append(info.Title).Append('\n');
        string? section = null;
        var previous = string.Empty;
        for (var i = 0; i < info.Chunks; i++)
        {
            if (await collection.GetAsync(ChunkRowId(info.Id, i), ct) is not { } chunk)
            {
                continue;
            }

            var at = chunk.Metadata.TryGetValue("body_at", out var b) && b.Kind == MetadataKind.Number ? Math.Clamp((int)b.AsNumber, 0, chunk.Text.Length) : 0;
            var body = chunk.Text[at..];
            var chunkSection = chunk.Metadata.TryGetValue("section", out var s) ? s.AsString : string.Empty;
            if (chunkSection != section)
            {
                section = chunkSection;
                previous = string.Empty;
                if (section.Length > 0)
                {
                    text.Append("\n## ").Append(section).Append('\n');
                }
            }

            var shared = SharedLength(previous, body);
            text.Append('\n').Append(body.AsSpan(shared).TrimStart()).Append('\n');
            previous = body;
        }

        return new DocumentText(info, text.ToString());
    }

    /// <summary>How many characters at the start of <paramref name="next"/> repeat the end of <paramref name="previous"/> (the chunker's overlap).</summary>
    private static int SharedLength(string previous, string next)
    {
        for (var n = Math.Min(previous.Length, next.Length); n > 0; n--)
        {
            if (previous.AsSpan(previous.Length - n).SequenceEqual(next.AsSpan(0, n)) && (n == next.Length || char.IsWhiteSpace(next[n])))
            {
                return n;
            }
        }

        return 0;
    }

    /// <summary>
    /// Deletes the document and all its chunks at once; false when there was none that <paramref name="viewer"/> may
    /// read or manage. Throws <see cref="Identity.AccessDeniedException"/> when the viewer sees it but may not manage it.
    /// </summary>
    public async Task<bool> DeleteAsync(ITenantStore store, Viewer viewer, string id)
    {
        ArgumentNullException.ThrowIfNull(viewer);
        var collection = await CollectionAsync(store);
        var row = await collection.GetAsync(DocRowId(ValidateId(id)));
        if (row is null || !Sees(viewer, row))
        {
            return false;
        }

        Authorize(viewer, row, AccessOf(row));

        var count = row.Metadata.TryGetValue("chunk_count", out var n) ? (int)n.AsNumber : 0;
        await collection.ReplaceAsync([], [DocRowId(id), .. Enumerable.Range(0, count).Select(i => ChunkRowId(id, i))]);
        return true;
    }

    /// <summary>Document ids: 1-128 characters of letters, digits, '.', '_' and '-', starting with a letter or digit.</summary>
    public static string ValidateId(string? id) =>
        id is not null && IdPattern().IsMatch(id) ? id : throw new DocumentRejectedException("A document id has 1-128 characters: letters, digits, '.', '_' or '-', starting with a letter or digit.", DocumentRejection.Invalid);

    internal static string DocRowId(string id) => "doc:" + id;

    internal static string ChunkRowId(string id, int n) => $"chunk:{id}:{n}";

    private static Dictionary<string, MetadataValue> ValidateMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        var result = new Dictionary<string, MetadataValue>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
        {
            if (!KeyPattern().IsMatch(key) || Reserved.Contains(key)
                || value is null || value.Length > 1_000 || value.Any(char.IsControl))
            {
                throw new DocumentRejectedException($"Metadata key '{Clip(key)}' or its value is not allowed (keys: lower-case letters, digits and '_', not reserved; values: up to 1,000 characters).", DocumentRejection.Invalid);
            }

            result[key] = value;
        }

        return result.Count <= 20 ? result : throw new DocumentRejectedException("A document takes at most 20 metadata entries.", DocumentRejection.Invalid);
    }

    private static DocumentInfo Info(StoredRow row) => new(
        row.Metadata["document_id"].AsString,
        row.Metadata["title"].AsString,
        row.Metadata["content_type"].AsString,
        (int)row.Metadata["chunk_count"].AsNumber,
        (long)row.Metadata["bytes"].AsNumber,
        row.CreatedAt)
    { Access = AccessOf(row).Entries };

    private static string Clip(string s) => s.Length > 40 ? s[..40] + "…" : s;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,39}$")]
    private static partial Regex KeyPattern();
}
