using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>
/// Everything a collection holds in memory while its tenant is open: rows by slot, the vector arena, the owner index,
/// BM25 postings and, above the ANN threshold, an HNSW graph that a background indexer keeps up to date. Writers
/// (the tenant's write loop) take the write lock; searches take the read lock. Every change is applied to all indexes
/// under one lock acquisition, so no reader ever sees a row in one index and not in another.
/// </summary>
internal sealed class CollectionState : IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly IndexSettings _settings;
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _indexerWake = new(0);

    /// <summary>Rows the graph may lag behind while a bulk load runs (an exact scan of them takes ≈ 12 ms at 384 dimensions).</summary>
    private const int MaxDeferredRows = 100_000;

    /// <summary>Until when (Environment.TickCount64) the collection counts as bulk-loading: set by batches of 256 rows or more.</summary>
    private long _bulkUntil;
    private Generation _g;
    private Task? _indexer;
    private TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<Undo>? _undo;

    private static readonly Comparer<(DateTimeOffset At, string Id)> NewestComparer =
        Comparer<(DateTimeOffset At, string Id)>.Create((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.Id, b.Id));

    public CollectionState(int cid, CollectionSpec spec, IndexSettings settings)
    {
        (Cid, Spec, _settings) = (cid, spec, settings);
        _g = new Generation(spec);
    }

    public int Cid { get; }

    public CollectionSpec Spec { get; }

    public int LiveCount
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _g.Live;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    /// <summary>Applies committed deletes, then upserts, atomically for readers. Returns how many deleted ids existed.</summary>
    public int Apply(IReadOnlyList<AnalyzedRow>? upserts, IReadOnlyList<string>? deletes)
    {
        Hold();
        var deleted = ApplyHeld(upserts, deletes);
        Publish();
        return deleted;
    }

    /// <summary>
    /// Takes the write lock for a change whose commit is not yet known to be durable: readers wait until
    /// <see cref="Publish"/> or <see cref="Revert"/>, which the same thread must call. Changes made meanwhile
    /// (<see cref="ApplyHeld"/>) are logged so that <see cref="Revert"/> can take them back.
    /// </summary>
    public void Hold()
    {
        _lock.EnterWriteLock();
        _undo = [];
    }

    /// <summary>Applies deletes, then upserts, under the lock taken by <see cref="Hold"/>. Returns how many deleted ids existed.</summary>
    public int ApplyHeld(IReadOnlyList<AnalyzedRow>? upserts, IReadOnlyList<string>? deletes)
    {
        var undo = _undo ?? throw new InvalidOperationException("ApplyHeld needs Hold first.");
        if (upserts?.Count >= 256)
        {
            Volatile.Write(ref _bulkUntil, Environment.TickCount64 + 250);
        }

        var deleted = 0;
        var g = _g;
        foreach (var id in deletes ?? [])
        {
            if (g.IdToSlot.Remove(id, out var slot))
            {
                undo.Add(new Undo(slot, g.Rows[slot]));
                Kill(g, slot);
                deleted++;
            }
        }

        foreach (var row in upserts ?? [])
        {
            if (g.IdToSlot.TryGetValue(row.Row.Id, out var old))
            {
                undo.Add(new Undo(old, g.Rows[old]));
                Kill(g, old);
            }

            Add(g, row);
            undo.Add(new Undo(g.Arena.Count - 1, null));
        }

        return deleted;
    }

    /// <summary>Makes the held changes visible (the commit is durable) and releases the lock.</summary>
    public void Publish()
    {
        _undo = null;
        try
        {
            if (_g.Dead > 1024 && _g.Dead > _g.Live)
            {
                Compact();
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }

        MaybeStartIndexer();
    }

    /// <summary>
    /// Takes back every held change, newest first (the commit failed), and releases the lock: readers see the
    /// collection exactly as before. Slots added meanwhile stay behind as dead slots, as deleted rows do.
    /// </summary>
    public void Revert()
    {
        try
        {
            var g = _g;
            var undo = _undo ?? [];
            for (var i = undo.Count - 1; i >= 0; i--)
            {
                var (slot, row) = undo[i];
                if (row is null)
                {
                    // an added slot: removed as a delete would remove it
                    var added = g.Rows[slot]!;
                    g.IdToSlot.Remove(added.Id);
                    Kill(g, slot);
                }
                else
                {
                    // a killed slot: brought back with its postings, which a kill leaves in place
                    g.Rows[slot] = row;
                    g.IdToSlot[row.Id] = slot;
                    g.Text.RestoreText(row.Text, g.Lengths[slot]);
                    g.OwnerSlots[row.UserId?.Value ?? string.Empty].Live++;
                    g.Live++;
                    g.Dead--;
                }
            }
        }
        finally
        {
            _undo = null;
            _lock.ExitWriteLock();
        }
    }

    public StoredRow? Get(string id)
    {
        _lock.EnterReadLock();
        try
        {
            return _g.IdToSlot.TryGetValue(id, out var slot) ? Materialize(_g, slot) : null;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public long Count(Filter filter)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            if (filter.MatchesEverything)
            {
                return g.Live;
            }

            long n = 0;
            foreach (var slot in CandidateSlots(g, filter))
            {
                if (Accept(g, slot, filter))
                {
                    n++;
                }
            }

            return n;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Ids of the live rows matching <paramref name="filter"/> (for delete-by-filter, evaluated in the write loop).</summary>
    public List<string> MatchingIds(Filter filter)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            return [.. CandidateSlots(g, filter).Where(s => Accept(g, s, filter)).Select(s => g.Rows[s]!.Id)];
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Runs the search; <paramref name="tenant"/> only labels the stages' spans.</summary>
    public IReadOnlyList<SearchHit> Search(SearchRequest request, string tenant)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            return request.Mode switch
            {
                SearchMode.Vector => Hits(g, Dense(g, request, request.K, tenant), vector: true),
                SearchMode.FullText => Hits(g, Sparse(g, request, request.K, tenant), vector: false),
                _ => Hybrid(g, request, tenant),
            };
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Rows matching the filter with ids after <paramref name="after"/>, in ordinal id order, at most <paramref name="limit"/>.</summary>
    public List<StoredRow> Page(Filter filter, string? after, int limit)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            var ids = new SortedSet<(string Id, int Slot)>(Comparer<(string Id, int Slot)>.Create((a, b) => string.CompareOrdinal(a.Id, b.Id)));
            foreach (var slot in CandidateSlots(g, filter))
            {
                var id = g.Rows[slot]?.Id;
                if (id is null || (after is not null && string.CompareOrdinal(id, after) <= 0) || !Accept(g, slot, filter))
                {
                    continue;
                }

                if (ids.Count < limit || string.CompareOrdinal(id, ids.Max.Id) < 0)
                {
                    ids.Add((id, slot));
                    if (ids.Count > limit)
                    {
                        ids.Remove(ids.Max);
                    }
                }
            }

            return [.. ids.Select(e => Materialize(g, e.Slot))];
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The newest rows matching the filter (by <see cref="StoredRow.CreatedAt"/>, then id), newest first, at most <paramref name="limit"/>.</summary>
    public List<StoredRow> Latest(Filter filter, int limit)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            var newest = new PriorityQueue<int, (DateTimeOffset At, string Id)>(limit + 1, NewestComparer);
            void Consider(int slot)
            {
                // rows are mostly appended in time order, so scanning backwards meets the newest first, and once
                // the heap is full an older row is skipped by its time alone, before the filter is evaluated
                if (g.Rows[slot] is not { } row
                    || (newest.Count == limit && newest.TryPeek(out _, out var oldest) && row.CreatedAt < oldest.At)
                    || !Accept(g, slot, filter))
                {
                    return;
                }

                newest.Enqueue(slot, (row.CreatedAt, row.Id));
                if (newest.Count > limit)
                {
                    newest.Dequeue(); // drops the oldest kept
                }
            }

            if (filter.Owner.Users is null)
            {
                for (var s = g.Arena.Count - 1; s >= 0; s--)
                {
                    Consider(s);
                }
            }
            else
            {
                foreach (var owner in OwnerLists(g, filter))
                {
                    var owned = CollectionsMarshal.AsSpan(owner.Slots);
                    for (var i = owned.Length - 1; i >= 0; i--)
                    {
                        Consider(owned[i]);
                    }
                }
            }

            var list = new List<StoredRow>(newest.Count);
            while (newest.Count > 0)
            {
                list.Add(Materialize(g, newest.Dequeue()));
            }

            list.Reverse();
            return list;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The users that own at least one live row, in ordinal order (tenant-wide rows are not a user).</summary>
    public List<string> Users()
    {
        _lock.EnterReadLock();
        try
        {
            var users = _g.OwnerSlots.Where(kv => kv.Key.Length > 0 && kv.Value.Live > 0).Select(kv => kv.Key).ToList();
            users.Sort(StringComparer.Ordinal);
            return users;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Every live row (export and tests), materialised under one read lock.</summary>
    public List<StoredRow> Snapshot()
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            var list = new List<StoredRow>(g.Live);
            for (var s = 0; s < g.Arena.Count; s++)
            {
                if (g.Rows[s] is not null)
                {
                    list.Add(Materialize(g, s));
                }
            }

            return list;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Waits until the background indexer has caught up with every slot written so far.</summary>
    internal async Task WaitForIndexAsync(CancellationToken ct)
    {
        while (true)
        {
            var caughtUp = Volatile.Read(ref _caughtUp); // read before the check: a catch-up after it completes this one
            var g = _g;
            if (g.Live < _settings.AnnThreshold || (g.Ann is { } ann && ann.Count >= g.Arena.Count))
            {
                return;
            }

            await caughtUp.Task.WaitAsync(ct);
        }
    }

    public void Dispose()
    {
        _closing.Cancel();
        _indexerWake.Release();
        try
        {
            _indexer?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // the indexer only stops; nothing to report
        }

        _lock.Dispose();
        _closing.Dispose();
        _indexerWake.Dispose();
    }

    /// <summary>
    /// Adds a row read from disk while the tenant opens, before any reader can see the collection (no lock): the vector
    /// is copied into the arena; the row's terms follow through <see cref="AddLoadedPostings"/>. Returns its slot.
    /// </summary>
    public int AddLoaded(StoredRow row, ReadOnlySpan<float> vector) => AddRow(_g, row, vector);

    /// <summary>The index's id for a term of a segment's table (loading only).</summary>
    public int TermId(ReadOnlySpan<char> term) => _g.Text.TermId(term);

    /// <summary>Counts a loaded row of <paramref name="length"/> terms in the BM25 statistics (loading only).</summary>
    public void AddLoadedDocument(int slot, int length)
    {
        var g = _g;
        g.Text.AddDocument(length);
        g.Lengths[slot] = length;
    }

    /// <summary>Adds postings of loaded rows: term id, slot and frequency at the same index (loading only).</summary>
    public void AddLoadedPostings(ReadOnlySpan<int> termIds, ReadOnlySpan<int> slots, ReadOnlySpan<int> tfs) => _g.Text.AddPostings(termIds, slots, tfs);

    /// <summary>Makes room for <paramref name="rows"/> more rows at once (open), sparing the arena's repeated growth.</summary>
    public void Reserve(int rows) => _g.Reserve(rows);

    /// <summary>Ends a load: starts the background indexer when the collection is large enough.</summary>
    public void Loaded() => MaybeStartIndexer();

    private static void Add(Generation g, AnalyzedRow analyzed)
    {
        var (row, vector, terms, length) = analyzed;
        var slot = AddRow(g, row, vector.Span);
        g.Lengths[slot] = length;
        g.Text.Add(slot, terms, length);
    }

    private static int AddRow(Generation g, StoredRow row, ReadOnlySpan<float> vector)
    {
        var slot = g.Arena.Append(vector);
        if (slot >= g.Rows.Length)
        {
            Array.Resize(ref g.Rows, Math.Max(16, g.Rows.Length * 2));
            Array.Resize(ref g.Lengths, g.Rows.Length);
        }

        g.Rows[slot] = row.Vector.IsEmpty ? row : row with { Vector = ReadOnlyMemory<float>.Empty };
        g.IdToSlot[row.Id] = slot;
        var owner = row.UserId?.Value ?? string.Empty;
        if (!g.OwnerSlots.TryGetValue(owner, out var list))
        {
            g.OwnerSlots[owner] = list = new OwnerList();
        }

        list.Slots.Add(slot);
        list.Live++;
        g.Live++;
        return slot;
    }

    private static void Kill(Generation g, int slot)
    {
        var row = g.Rows[slot]!;
        // Terms are not kept per row (they would double the memory of the text); a removal analyses the text again.
        g.Text.RemoveText(row.Text, g.Lengths[slot]);
        g.OwnerSlots[row.UserId?.Value ?? string.Empty].Live--;
        g.Rows[slot] = null;
        g.Live--;
        g.Dead++;
    }

    /// <summary>Rebuilds the generation without dead slots; the HNSW graph is rebuilt by the indexer, exact search covers the gap.</summary>
    private void Compact()
    {
        var old = _g;
        var fresh = new Generation(Spec);
        fresh.Reserve(old.Live);
        for (var s = 0; s < old.Arena.Count; s++)
        {
            if (old.Rows[s] is { } row)
            {
                var slot = AddRow(fresh, row, old.Arena.Get(s));
                fresh.Lengths[slot] = fresh.Text.AddText(slot, row.Text);
            }
        }

        _g = fresh;
    }

    private void MaybeStartIndexer()
    {
        if (_g.Live < _settings.AnnThreshold)
        {
            return;
        }

        if (_indexer is null)
        {
            _indexer = Task.Factory.StartNew(IndexLoop, _closing.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        else
        {
            _indexerWake.Release();
        }
    }

    private void IndexLoop()
    {
        var token = _closing.Token;
        while (!token.IsCancellationRequested)
        {
            var g = _g;
            var ann = g.Ann;
            if (ann is null)
            {
                ann = new Hnsw(g.Arena, _settings.HnswM, _settings.HnswEfConstruction);
                _lock.EnterWriteLock();
                try
                {
                    if (ReferenceEquals(g, _g))
                    {
                        g.Ann = ann;
                    }
                }
                finally
                {
                    _lock.ExitWriteLock();
                }
            }

            while (!token.IsCancellationRequested && ReferenceEquals(g, _g) && ann.Count < g.Arena.Count)
            {
                var bulk = Volatile.Read(ref _bulkUntil) - Environment.TickCount64;
                if (bulk > 0 && g.Arena.Count - ann.Count < MaxDeferredRows)
                {
                    // A bulk load is running: leave the cores to it. Exact search covers the rows not yet in the graph.
                    try
                    {
                        _indexerWake.Wait((int)bulk, token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                ann.InsertNext();
            }

            if (ReferenceEquals(g, _g) && ann.Count >= g.Arena.Count)
            {
                Interlocked.Exchange(ref _caughtUp, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                try
                {
                    _indexerWake.Wait(token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private List<(int Slot, float Score)> VectorSearch(Generation g, SearchRequest request, int k)
    {
        var query = request.Vector.Span;
        var qNorm = TensorPrimitives.Norm(query);
        var filter = request.Filter;
        var candidates = CandidateCount(g, filter);
        var ann = g.Ann;
        if (request.Exact || ann is null || candidates <= _settings.AnnThreshold)
        {
            return Exact(g, query, qNorm, filter, k);
        }

        var unfiltered = filter.MatchesEverything;
        var ef = Math.Max(request.Ef ?? _settings.HnswEfSearch, k);
        var fromGraph = ann.Search(query, qNorm, k, ef, unfiltered ? s => g.Rows[s] is not null : s => Accept(g, s, filter));
        var top = new TopK(k, s => g.Rows[s]!.Id);
        foreach (var (slot, score) in fromGraph)
        {
            top.Offer(slot, score);
        }

        // rows written after the indexer's last insert are scanned exactly
        for (var s = ann.Count; s < g.Arena.Count; s++)
        {
            if (Accept(g, s, filter))
            {
                top.Offer(s, g.Arena.Similarity(query, qNorm, s));
            }
        }

        var result = top.Drain();
        return result.Count >= Math.Min(k, candidates) ? result : Exact(g, query, qNorm, filter, k);
    }

    /// <summary>Exact k-NN: a tight scan of the arena, or of the named owners' slot lists when the filter names users.</summary>
    private static List<(int Slot, float Score)> Exact(Generation g, ReadOnlySpan<float> query, float qNorm, Filter filter, int k)
    {
        var top = new TopK(k, s => g.Rows[s]!.Id);
        if (filter.Owner.Users is null)
        {
            for (var s = 0; s < g.Arena.Count; s++)
            {
                Consider(g, query, qNorm, filter, top, k, s);
            }
        }
        else
        {
            foreach (var list in OwnerLists(g, filter))
            {
                foreach (var s in CollectionsMarshal.AsSpan(list.Slots))
                {
                    Consider(g, query, qNorm, filter, top, k, s);
                }
            }
        }

        return top.Drain();
    }

    private static void Consider(Generation g, ReadOnlySpan<float> query, float qNorm, Filter filter, TopK top, int k, int slot)
    {
        // the similarity is cheaper than the filter: the filter is checked only for a slot that would enter the top k
        var score = g.Arena.Similarity(query, qNorm, slot);
        if ((top.Count < k || score >= top.Worst) && Accept(g, slot, filter))
        {
            top.Offer(slot, score);
        }
    }

    /// <summary>
    /// BM25 top <paramref name="k"/>: scores accumulate in a pooled dense array (nothing allocated in proportion to the
    /// collection), then slots are selected; the filter is checked only for a slot whose score would enter the top k,
    /// and when the filter names users only their slots are looked at.
    /// </summary>
    private static List<(int Slot, float Score)> TextSearch(Generation g, SearchRequest request, int k)
    {
        var terms = Tokenizer.QueryTerms(request.Text ?? string.Empty);
        if (request.Statistics is { } statistics)
        {
            g.Text.Describe(terms, statistics);
        }

        var slots = g.Arena.Count;
        if (terms.Count == 0 || slots == 0)
        {
            return [];
        }

        var filter = request.Filter;
        var scores = System.Buffers.ArrayPool<float>.Shared.Rent(slots);
        try
        {
            Array.Clear(scores, 0, slots);
            g.Text.Score(terms, scores, slots, s => g.Lengths[s]);
            var top = new TopK(k, s => g.Rows[s]!.Id);
            if (filter.Owner.Users is null)
            {
                for (var s = 0; s < slots; s++)
                {
                    Select(g, filter, top, k, s, scores[s]);
                }
            }
            else
            {
                foreach (var list in OwnerLists(g, filter))
                {
                    foreach (var s in CollectionsMarshal.AsSpan(list.Slots))
                    {
                        Select(g, filter, top, k, s, scores[s]);
                    }
                }
            }

            return top.Drain();
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(scores);
        }
    }

    private static void Select(Generation g, Filter filter, TopK top, int k, int slot, float score)
    {
        if (score > 0 && (top.Count < k || score >= top.Worst) && Accept(g, slot, filter))
        {
            top.Offer(slot, score);
        }
    }

    private List<(int Slot, float Score)> Dense(Generation g, SearchRequest request, int k, string tenant)
    {
        using var span = Stage("vector_search", tenant);
        var started = Stopwatch.GetTimestamp();
        var ranked = VectorSearch(g, request, k);
        span?.SetTag("bruno.search.candidates", ranked.Count);
        request.Timings?.Vector = Stopwatch.GetElapsedTime(started);
        return ranked;
    }

    private static List<(int Slot, float Score)> Sparse(Generation g, SearchRequest request, int k, string tenant)
    {
        using var span = Stage("keyword_search", tenant);
        var started = Stopwatch.GetTimestamp();
        var ranked = TextSearch(g, request, k);
        span?.SetTag("bruno.search.candidates", ranked.Count);
        request.Timings?.FullText = Stopwatch.GetElapsedTime(started);
        return ranked;
    }

    private static Activity? Stage(string name, string tenant)
    {
        var span = Telemetry.SearchTelemetry.Source.StartActivity(name);
        span?.SetTag("tenant_id", tenant);
        return span;
    }

    private List<SearchHit> Hybrid(Generation g, SearchRequest request, string tenant)
    {
        var n = Math.Max(request.K, request.CandidatesPerList);
        var dense = Dense(g, request, n, tenant);
        var sparse = Sparse(g, request, n, tenant);
        using var span = Stage("fusion", tenant);
        var started = Stopwatch.GetTimestamp();
        var fused = new Dictionary<int, (float Score, int? V, int? T)>();
        for (var i = 0; i < dense.Count; i++)
        {
            fused[dense[i].Slot] = (1f / (request.RrfK + i + 1), i + 1, null);
        }

        for (var i = 0; i < sparse.Count; i++)
        {
            var add = 1f / (request.RrfK + i + 1);
            fused[sparse[i].Slot] = fused.TryGetValue(sparse[i].Slot, out var f) ? (f.Score + add, f.V, i + 1) : (add, null, i + 1);
        }

        List<SearchHit> hits = [.. fused
            .OrderByDescending(kv => kv.Value.Score)
            .ThenBy(kv => g.Rows[kv.Key]!.Id, StringComparer.Ordinal)
            .Take(request.K)
            .Select(kv => new SearchHit(Materialize(g, kv.Key), kv.Value.Score, kv.Value.V, kv.Value.T))];
        span?.SetTag("bruno.search.candidates", fused.Count);
        span?.SetTag("bruno.search.hits", hits.Count);
        request.Timings?.Fusion = Stopwatch.GetElapsedTime(started);
        return hits;
    }

    private static List<SearchHit> Hits(Generation g, List<(int Slot, float Score)> ranked, bool vector)
    {
        var hits = new List<SearchHit>(ranked.Count);
        for (var i = 0; i < ranked.Count; i++)
        {
            var (slot, score) = ranked[i];
            hits.Add(new SearchHit(Materialize(g, slot), score, vector ? i + 1 : null, vector ? null : i + 1));
        }

        return hits;
    }

    private static StoredRow Materialize(Generation g, int slot) => g.Rows[slot]! with { Vector = g.Arena.Get(slot).ToArray() };

    private static int CandidateCount(Generation g, Filter filter)
    {
        if (filter.Owner.Users is not { } users)
        {
            return g.Live;
        }

        var n = filter.Owner.IncludeTenantWide ? g.OwnerSlots.GetValueOrDefault(string.Empty)?.Live ?? 0 : 0;
        foreach (var u in users)
        {
            n += g.OwnerSlots.GetValueOrDefault(u.Value)?.Live ?? 0;
        }

        return n;
    }

    /// <summary>Slots that can match the filter's owner part: the owners' slot lists when users are named, otherwise every slot.</summary>
    private static IEnumerable<int> CandidateSlots(Generation g, Filter filter) =>
        filter.Owner.Users is null ? Enumerable.Range(0, g.Arena.Count) : OwnerLists(g, filter).SelectMany(l => l.Slots);

    /// <summary>The slot lists of the owners a filter names (users, and the tenant-wide rows when included).</summary>
    private static List<OwnerList> OwnerLists(Generation g, Filter filter)
    {
        var owners = filter.Owner.Users!.Select(u => u.Value).Distinct(StringComparer.Ordinal).ToList();
        if (filter.Owner.IncludeTenantWide)
        {
            owners.Add(string.Empty);
        }

        return [.. owners.Select(o => g.OwnerSlots.GetValueOrDefault(o)).OfType<OwnerList>()];
    }

    private static bool Accept(Generation g, int slot, Filter filter)
    {
        var row = g.Rows[slot];
        if (row is null)
        {
            return false;
        }

        if (filter.MatchesEverything)
        {
            return true;
        }

        var owner = filter.Owner;
        if (row.UserId is { } user)
        {
            if (owner.Users is { } users && !Contains(users, user))
            {
                return false;
            }
        }
        else if (!owner.IncludeTenantWide)
        {
            return false;
        }

        if ((filter.CreatedFrom is { } from && row.CreatedAt < from) || (filter.CreatedBefore is { } before && row.CreatedAt >= before))
        {
            return false;
        }

        // indexed, not foreach: enumerating the interface would allocate an enumerator for every row of a scan
        var conditions = filter.Conditions;
        for (var i = 0; i < conditions.Count; i++)
        {
            var c = conditions[i];
            if (!row.Metadata.TryGetValue(c.Key, out var value) || !c.Matches(value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Contains(IReadOnlyList<UserId> users, UserId user)
    {
        for (var i = 0; i < users.Count; i++)
        {
            if (users[i] == user)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One held change: a slot that was added (<paramref name="Row"/> null) or the row a slot held before it was killed.</summary>
    private readonly record struct Undo(int Slot, StoredRow? Row);

    private sealed class OwnerList
    {
        public List<int> Slots { get; } = [];

        public int Live { get; set; }
    }

    /// <summary>One generation of slots; compaction replaces it whole.</summary>
    private sealed class Generation(CollectionSpec spec)
    {
#pragma warning disable SA1401, CA1051 // plain mutable state owned by the enclosing class
        public StoredRow?[] Rows = [];
        public int[] Lengths = [];
#pragma warning restore SA1401, CA1051

        public VectorArena Arena { get; } = new(spec.Dimension, spec.Metric);

        public Dictionary<string, int> IdToSlot { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, OwnerList> OwnerSlots { get; } = new(StringComparer.Ordinal);

        public InvertedIndex Text { get; } = new();

        public Hnsw? Ann { get; set; }

        public int Live { get; set; }

        public int Dead { get; set; }

        /// <summary>Grows the slot arrays and the arena to hold <paramref name="more"/> rows beyond those present.</summary>
        public void Reserve(int more)
        {
            var want = Arena.Count + more;
            Arena.Reserve(want);
            IdToSlot.EnsureCapacity(want);
            if (want > Rows.Length)
            {
                Array.Resize(ref Rows, want);
                Array.Resize(ref Lengths, want);
            }
        }
    }
}

/// <summary>A row with its BM25 terms, analysed off the write lock (on the caller's thread, or in parallel at open).</summary>
/// <remarks>The vector travels beside the row, so a row decoded without one needs no copy to be indexed.</remarks>
internal readonly record struct AnalyzedRow(StoredRow Row, ReadOnlyMemory<float> Vector, (string Term, int Tf)[] Terms, int Length)
{
    public static AnalyzedRow Of(StoredRow row) => Of(row, row.Vector);

    public static AnalyzedRow Of(StoredRow row, ReadOnlyMemory<float> vector) => new(row, vector, Tokenizer.Analyze(row.Text, out var length), length);
}

/// <summary>Index tuning shared by the collections of an engine.</summary>
internal sealed record IndexSettings(int AnnThreshold, int HnswM, int HnswEfConstruction, int HnswEfSearch);
