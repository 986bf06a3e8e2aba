using Bruno.Storage.Engine;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage;

/// <summary>
/// The only way to one tenant's data: every operation is scoped to <see cref="Id"/> and cannot reach another tenant.
/// Handles are cheap and stay valid while the tenant is closed and reopened behind them.
/// </summary>
/// <remarks>
/// Every operation may throw <see cref="TenantNotFoundException"/> (tenant never created or erased),
/// <see cref="TenantLockedException"/> (another process owns it) or <see cref="DataUnreadableException"/>
/// (its keys are gone or its files were altered).
/// </remarks>
public sealed class TenantStore : ITenantStore
{
    private readonly TenantCache _cache;

    internal TenantStore(TenantCache cache, TenantId id) => (_cache, Id) = (cache, id);

    /// <summary>The tenant this handle is scoped to.</summary>
    public TenantId Id { get; }

    /// <summary>
    /// Creates the collection, or checks that the existing one has the same dimension, model and metric
    /// (<see cref="CollectionMismatchException"/> otherwise). Durable once the task completes.
    /// </summary>
    public async Task<TenantCollection> EnsureCollectionAsync(CollectionSpec spec, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        IdentifierRules.ValidateName(spec.Name, "collection name");
        ArgumentOutOfRangeException.ThrowIfLessThan(spec.Dimension, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(spec.Dimension, CollectionSpec.MaxDimension);
        if (string.IsNullOrWhiteSpace(spec.Model) || spec.Model.Length > 200 || !IdentifierRules.IsCleanText(spec.Model))
        {
            throw new ArgumentException("The model name must be 1-200 printable characters.", nameof(spec));
        }

        if (!Enum.IsDefined(spec.Metric))
        {
            throw new ArgumentException("Unknown vector metric.", nameof(spec));
        }

        if (!Enum.IsDefined(spec.Quantization))
        {
            throw new ArgumentException("Unknown vector quantization.", nameof(spec));
        }

        using var lease = await _cache.AcquireAsync(Id, ct);
        if (lease.Instance.Collections.TryGetValue(spec.Name, out var existing))
        {
            // Present means created and committed: no trip through the write loop (where it would split a group commit).
            TenantInstance.CheckSameSpec(existing.Spec, spec);
        }
        else
        {
            _cache.ThrowIfFenced(Id);
            await lease.Instance.EnqueueAsync(new CreateCollectionOp(spec));
        }

        return new TenantCollection(_cache, Id, spec.Name);
    }

    /// <summary>A handle on an existing collection; operations throw <see cref="CollectionNotFoundException"/> if it does not exist.</summary>
    public TenantCollection Collection(string name) => new(_cache, Id, IdentifierRules.ValidateName(name, "collection name"));

    /// <inheritdoc/>
    async Task<ITenantCollection> ITenantStore.EnsureCollectionAsync(CollectionSpec spec, CancellationToken ct) => await EnsureCollectionAsync(spec, ct);

    /// <inheritdoc/>
    ITenantCollection ITenantStore.Collection(string name) => Collection(name);

    /// <summary>The tenant's collections.</summary>
    public async Task<IReadOnlyList<CollectionSpec>> ListCollectionsAsync(CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Id, ct);
        return [.. lease.Instance.Collections.Values.Select(c => c.Spec).OrderBy(s => s.Name, StringComparer.Ordinal)];
    }

    /// <summary>Live rows per collection, and bytes the tenant's folder takes on disk.</summary>
    public async Task<TenantStats> GetStatsAsync(CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Id, ct);
        var counts = lease.Instance.Collections.Values.ToDictionary(c => c.Spec.Name, c => (long)c.LiveCount, StringComparer.Ordinal);
        var bytes = new DirectoryInfo(lease.Instance.Folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        return new TenantStats(counts.Values.Sum(), bytes, counts);
    }

    /// <summary>
    /// Erases one user: destroys the user's key first (so every copy of the user's rows, backups included, is unreadable
    /// from that moment), then deletes the rows from every collection. Returns the number of rows removed.
    /// </summary>
    public async Task<long> EraseUserAsync(UserId user, CancellationToken ct = default)
    {
        _ = user.Value;
        using var lease = await _cache.AcquireAsync(Id, ct);
        _cache.ThrowIfFenced(Id);
        return await lease.Instance.EnqueueAsync(new EraseUserOp(user));
    }

    /// <summary>Runs SQLite's integrity check on the tenant's file: "ok" when sound (tests and tooling).</summary>
    public async Task<string> CheckIntegrityAsync(CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Id, ct);
        return await lease.Instance.IntegrityCheckAsync();
    }
}

/// <summary>One collection of one tenant. Reads see every write acknowledged before they started.</summary>
/// <remarks>Besides the failures listed on <see cref="TenantStore"/>, operations throw <see cref="CollectionNotFoundException"/>,
/// <see cref="InvalidIdentifierException"/> and <see cref="ArgumentException"/> for bad input, having written nothing.</remarks>
public sealed class TenantCollection : ITenantCollection
{
    private readonly TenantCache _cache;

    internal TenantCollection(TenantCache cache, TenantId tenant, string name) => (_cache, Tenant, Name) = (cache, tenant, name);

    /// <summary>The tenant.</summary>
    public TenantId Tenant { get; }

    /// <summary>The collection name.</summary>
    public string Name { get; }

    /// <summary>Most rows one <see cref="UpsertAsync"/> takes: a batch is one transaction, held in memory until it commits.</summary>
    public const int MaxBatchRows = 10_000;

    /// <summary>
    /// The checks every engine makes of a batch before anything is sent or written: false for an empty one (nothing to
    /// do); <see cref="ArgumentException"/> for a missing list or more than <see cref="MaxBatchRows"/> of either kind.
    /// Public for the other implementations of <see cref="IStorageEngine"/> (a store node's client makes them too).
    /// </summary>
    public static bool IsBatch(IReadOnlyList<StoredRow> rows, IReadOnlyList<string> deleteIds)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(deleteIds);
        if (rows.Count > MaxBatchRows || deleteIds.Count > MaxBatchRows)
        {
            throw new ArgumentException($"A batch takes at most {MaxBatchRows} rows and {MaxBatchRows} deletions; split it.", nameof(rows));
        }

        return rows.Count + deleteIds.Count > 0;
    }

    /// <summary>
    /// Inserts or replaces rows by id, all or nothing. When the task completes the batch is committed and fsynced:
    /// it survives a crash of the process or the machine. Returns the number of rows written. Throws
    /// <see cref="ArgumentException"/> for an invalid row or more than <see cref="MaxBatchRows"/> rows, before anything is written.
    /// </summary>
    public Task<long> UpsertAsync(IReadOnlyList<StoredRow> rows, CancellationToken ct = default) => ReplaceAsync(rows, [], ct);

    /// <summary>
    /// Inserts or replaces <paramref name="rows"/> and deletes <paramref name="deleteIds"/> (missing ids are ignored) as one
    /// operation: after it, or after a crash, either all of it is there or none of it is, and no reader ever sees half of
    /// it. An id in both lists is upserted. Returns the number of rows written. Fails like <see cref="UpsertAsync"/>.
    /// </summary>
    public async Task<long> ReplaceAsync(IReadOnlyList<StoredRow> rows, IReadOnlyList<string> deleteIds, CancellationToken ct = default)
    {
        if (!IsBatch(rows, deleteIds))
        {
            return 0;
        }

        var upserted = rows.Select(r => r?.Id).ToHashSet(StringComparer.Ordinal);
        var deletes = deleteIds.Select(IdentifierRules.ValidateRowId).Where(id => !upserted.Contains(id)).Distinct(StringComparer.Ordinal).ToArray();
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        var instance = lease.Instance;
        var collection = instance.GetCollection(Name);
        if (rows.Count == 0)
        {
            _cache.ThrowIfFenced(Tenant);
            await instance.EnqueueAsync(TenantInstance.PrepareDelete(collection, deletes));
            return 0;
        }

        var op = instance.PrepareUpsert(collection, rows);
        _cache.ThrowIfFenced(Tenant);
        op.Deletes = deletes;
        return await instance.EnqueueAsync(op);
    }

    /// <summary>Deletes rows by id (missing ids are ignored), from every index at once. Returns how many existed.</summary>
    public async Task<long> DeleteAsync(IReadOnlyList<string> ids, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        _cache.ThrowIfFenced(Tenant);
        var instance = lease.Instance;
        return await instance.EnqueueAsync(TenantInstance.PrepareDelete(instance.GetCollection(Name), ids));
    }

    /// <summary>Deletes every row matching the filter, evaluated after all earlier writes. Returns how many were deleted.</summary>
    public async Task<long> DeleteWhereAsync(Filter filter, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        _cache.ThrowIfFenced(Tenant);
        var instance = lease.Instance;
        return await instance.EnqueueAsync(new DeleteWhereOp(instance.GetCollection(Name), filter));
    }

    /// <summary>
    /// Gives every row matching <paramref name="filter"/> the access list <paramref name="readers"/> (null: the whole
    /// tenant), evaluated after all earlier writes, without new vectors: the rows are rewritten from what the engine
    /// holds, with their text, vector, metadata, owner and creation time unchanged. Rows that already have these
    /// readers are left alone. Returns how many rows changed. Committed <see cref="MaxBatchRows"/> rows at a time: if it
    /// fails part way (<see cref="StorageException"/>), the rows of the batches committed before keep their new readers,
    /// and calling it again finishes the change. Throws <see cref="ArgumentException"/> for more than
    /// <see cref="StoredRow.MaxReaders"/> readers or a default <see cref="Principal"/>, having written nothing.
    /// </summary>
    public async Task<long> UpdateReadersAsync(Filter filter, IReadOnlyList<Principal>? readers, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var canonical = CheckReaders(readers);
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        _cache.ThrowIfFenced(Tenant);
        var instance = lease.Instance;
        return await instance.EnqueueAsync(new UpdateReadersOp(instance.GetCollection(Name), filter, (Principal[]?)canonical));
    }

    /// <summary>
    /// The checks every engine makes of the readers given to <see cref="UpdateReadersAsync"/>, returning them without
    /// duplicates in the order rows keep them; <see cref="ArgumentException"/> as there. Public for the other
    /// implementations of <see cref="IStorageEngine"/>.
    /// </summary>
    public static IReadOnlyList<Principal>? CheckReaders(IReadOnlyList<Principal>? readers)
    {
        if (readers is null)
        {
            return null;
        }

        if (readers.Count > StoredRow.MaxReaders)
        {
            throw new ArgumentException($"A row takes at most {StoredRow.MaxReaders} readers, not {readers.Count}; give the rest a group.", nameof(readers));
        }

        foreach (var p in readers)
        {
            if (!p.IsValid)
            {
                throw new ArgumentException("The readers hold a default Principal; make each with Principal.User or Principal.Group.", nameof(readers));
            }
        }

        return AccessFilter.Canonical(readers);
    }

    /// <summary>The row with this id, or null.</summary>
    public async Task<StoredRow?> GetAsync(string id, CancellationToken ct = default)
    {
        IdentifierRules.ValidateRowId(id);
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        return lease.Instance.GetCollection(Name).Get(id);
    }

    /// <summary>Rows matching the filter (all rows when null).</summary>
    public async Task<long> CountAsync(Filter? filter = null, CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        return lease.Instance.GetCollection(Name).Count(filter ?? Filter.All);
    }

    /// <summary>
    /// One page of the rows matching <paramref name="filter"/>, in id order (ordinal), starting after the id
    /// <paramref name="after"/> (null: from the start); at most <paramref name="limit"/> rows (1-1,000), vectors included.
    /// </summary>
    public async Task<IReadOnlyList<StoredRow>> ListAsync(Filter filter, string? after, int limit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, SearchRequest.MaxK);
        if (after is not null)
        {
            IdentifierRules.ValidateRowId(after);
        }

        using var lease = await _cache.AcquireAsync(Tenant, ct);
        return lease.Instance.GetCollection(Name).Page(filter, after, limit);
    }

    /// <summary>
    /// The newest rows matching <paramref name="filter"/> by <see cref="StoredRow.CreatedAt"/> (ties by id), newest first;
    /// at most <paramref name="limit"/> rows (1-1,000), vectors included. Reads only the rows the filter's owners hold.
    /// </summary>
    public async Task<IReadOnlyList<StoredRow>> LatestAsync(Filter filter, int limit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, SearchRequest.MaxK);
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        return lease.Instance.GetCollection(Name).Latest(filter, limit);
    }

    /// <summary>The users that own at least one row of the collection, in ordinal order (for jobs that work user by user).</summary>
    public async Task<IReadOnlyList<UserId>> UsersAsync(CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        return [.. lease.Instance.GetCollection(Name).Users().Select(UserId.Parse)];
    }

    /// <summary>Every live row (for export and verification; the whole collection is materialised).</summary>
    public async Task<IReadOnlyList<StoredRow>> ReadAllAsync(CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        return lease.Instance.GetCollection(Name).Snapshot();
    }

    /// <summary>Searches the collection; see <see cref="SearchRequest"/>. Throws <see cref="ArgumentException"/> for an invalid request.</summary>
    public async Task<IReadOnlyList<SearchHit>> SearchAsync(SearchRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        var collection = lease.Instance.GetCollection(Name);
        Validate(request, collection.Spec);
        return collection.Search(request, Tenant.Value);
    }

    /// <summary>Waits until the background HNSW indexer covers every row written so far (benchmarks and tests).</summary>
    internal async Task WaitForIndexAsync(CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        await lease.Instance.GetCollection(Name).WaitForIndexAsync(ct);
    }

    /// <summary>The state of the collection's HNSW graph: what the open did with the stored one, nodes loaded, inserted since, checkpointed (tests and telemetry).</summary>
    internal async Task<Index.GraphStatus> GraphStatusAsync(CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        return lease.Instance.GetCollection(Name).GraphStatus();
    }

    /// <summary>Where the collection's full-precision vectors are: bytes of them in memory, and records in the spill file (tests).</summary>
    internal async Task<(long ArenaBytes, int Spilled)> VectorStatusAsync(CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        var c = lease.Instance.GetCollection(Name);
        return (c.ArenaBytes, c.SpilledVectors);
    }

    /// <summary>The ordinal of a row (null when the collection has no row with that id).</summary>
    internal async Task<long?> OrdinalOfAsync(string id, CancellationToken ct = default)
    {
        using var lease = await _cache.AcquireAsync(Tenant, ct);
        return lease.Instance.GetCollection(Name).OrdinalOf(id);
    }

    private static void Validate(SearchRequest r, CollectionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(r.Filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(r.K, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(r.K, SearchRequest.MaxK);
        ArgumentOutOfRangeException.ThrowIfLessThan(r.RrfK, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(r.CandidatesPerList, SearchRequest.MaxK);
        if (r.Ef is { } ef)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(ef, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(ef, 4096);
        }

        if (r.Mode is SearchMode.Vector or SearchMode.Hybrid)
        {
            if (r.Vector.Length != spec.Dimension)
            {
                throw new CollectionMismatchException($"Collection '{spec.Name}' takes {spec.Dimension}-dimensional query vectors, not {r.Vector.Length}.");
            }

            foreach (var f in r.Vector.Span)
            {
                if (!float.IsFinite(f))
                {
                    throw new ArgumentException("The query vector must hold finite numbers only.");
                }
            }
        }

        if (r.Mode is SearchMode.FullText or SearchMode.Hybrid && (string.IsNullOrWhiteSpace(r.Text) || r.Text.Length > 16_384))
        {
            throw new ArgumentException("Full-text and hybrid search need a query text of 1-16,384 characters.");
        }
    }
}
