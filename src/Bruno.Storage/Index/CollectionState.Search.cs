using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>Searching: exact and HNSW vector search, BM25 keyword search and their reciprocal-rank fusion, with the stages' spans.</summary>
internal sealed partial class CollectionState
{
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

    private List<(int Slot, float Score)> VectorSearch(Generation g, SearchRequest request, int k)
    {
        var query = request.Vector.Span;
        var qNorm = TensorPrimitives.Norm(query);
        var filter = request.Filter;
        var plan = Plan(g, filter);
        var candidates = plan.Count;
        var ann = g.Ann;
        // The planner: exact over the candidates when they are few. When the caller's reader lists narrow the rows, the bar
        // is its own (measured, docs/decisions/0028); an access filter that narrows nothing (a tenant without restricted
        // rows) keeps the unfiltered bar. An HNSW search takes the filter inside the traversal and returns accepted rows only.
        if (request.Exact || ann is null || candidates <= (plan.ByReaders ? _settings.FilteredExactRows : _settings.AnnThreshold))
        {
            return Exact(g, query, qNorm, filter, plan, k);
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
        return result.Count >= Math.Min(k, candidates) ? result : Exact(g, query, qNorm, filter, plan, k);
    }

    /// <summary>
    /// Exact k-NN: a tight scan of the arena, or of the plan's slot lists (the named owners', or the lists of the rows
    /// the caller's principals can read) when the filter narrows them.
    /// </summary>
    private static List<(int Slot, float Score)> Exact(Generation g, ReadOnlySpan<float> query, float qNorm, Filter filter, CandidatePlan plan, int k)
    {
        if (plan.Lists is not null && plan.Count >= ParallelExactRows && Environment.ProcessorCount > 1)
        {
            return ExactInParts(g, query, qNorm, filter, plan, k);
        }

        var top = new TopK(k, s => g.Rows[s]!.Id);
        if (plan.Lists is null)
        {
            for (var s = 0; s < g.Arena.Count; s++)
            {
                Consider(g, query, qNorm, filter, top, k, s);
            }
        }
        else if (!plan.Overlap)
        {
            // disjoint lists (owners', or one principal's and the open rows'): the tight loop of each
            foreach (var list in plan.Lists)
            {
                foreach (var s in CollectionsMarshal.AsSpan(list.Slots))
                {
                    Consider(g, query, qNorm, filter, top, k, s);
                }
            }
        }
        else
        {
            var cursor = new SlotCursor(g, plan);
            while (cursor.Next(out var s))
            {
                Consider(g, query, qNorm, filter, top, k, s);
            }
        }

        return top.Drain();
    }

    /// <summary>
    /// Candidates from which an exact scan over slot lists is split across the cores: a scan of scattered rows is bound by
    /// memory latency, which a second core hides (docs/benchmarks.md, "Access lists"); below, the split costs more than it saves.
    /// </summary>
    internal const int ParallelExactRows = 4_096;

    /// <summary>
    /// <see cref="Exact"/> over the plan's slots gathered once (each once), in as many contiguous parts as there are cores
    /// (at most four), each part keeping its own top k; the parts' tops are merged by the same order, so the result is
    /// the one a single scan gives.
    /// </summary>
    private static List<(int Slot, float Score)> ExactInParts(Generation g, ReadOnlySpan<float> query, float qNorm, Filter filter, CandidatePlan plan, int k)
    {
        var size = 0;
        foreach (var list in plan.Lists!)
        {
            size += list.Slots.Count;
        }

        var slots = System.Buffers.ArrayPool<int>.Shared.Rent(size);
        var vector = System.Buffers.ArrayPool<float>.Shared.Rent(query.Length);
        try
        {
            var n = 0;
            var cursor = new SlotCursor(g, plan);
            while (cursor.Next(out var s))
            {
                slots[n++] = s;
            }

            query.CopyTo(vector);
            var dimension = query.Length;
            var parts = Math.Min(Environment.ProcessorCount, 4);
            var tops = new TopK[parts];
            Parallel.For(0, parts, p =>
            {
                var part = new TopK(k, s => g.Rows[s]!.Id);
                var q = vector.AsSpan(0, dimension);
                for (var i = (int)((long)p * n / parts); i < (int)((long)(p + 1) * n / parts); i++)
                {
                    Consider(g, q, qNorm, filter, part, k, slots[i]);
                }

                tops[p] = part;
            });

            var top = new TopK(k, s => g.Rows[s]!.Id);
            foreach (var part in tops)
            {
                foreach (var (slot, score) in part.Drain())
                {
                    top.Offer(slot, score);
                }
            }

            return top.Drain();
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(slots);
            System.Buffers.ArrayPool<float>.Shared.Return(vector);
        }
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
    /// and when the filter names users or says for whom, only the slots they can match are looked at.
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
            var plan = Plan(g, filter);
            if (plan.Lists is null)
            {
                for (var s = 0; s < slots; s++)
                {
                    Select(g, filter, top, k, s, scores[s]);
                }
            }
            else if (!plan.Overlap)
            {
                foreach (var list in plan.Lists)
                {
                    foreach (var s in CollectionsMarshal.AsSpan(list.Slots))
                    {
                        Select(g, filter, top, k, s, scores[s]);
                    }
                }
            }
            else
            {
                var cursor = new SlotCursor(g, plan);
                while (cursor.Next(out var s))
                {
                    Select(g, filter, top, k, s, scores[s]);
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
}
