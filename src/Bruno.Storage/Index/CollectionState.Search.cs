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
                SearchMode.FullText => Hits(g, Sparse(g, PendingTermsOf(g), request, request.K, tenant), vector: false),
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
        var prepared = g.Space.Prepare(query, qNorm);
        if (request.Exact || ann is null || candidates <= (plan.ByReaders ? _settings.FilteredExactRows : _settings.AnnThreshold))
        {
            return Exact(g, prepared, filter, plan, k);
        }

        var unfiltered = filter.MatchesEverything;
        var ef = Math.Max(request.Ef ?? _settings.HnswEfSearch, k);
        // Over codes the graph's scores are estimates: it hands over a pool of its best (RerankPool), which full precision
        // re-ranks. Over float32 they are exact, and the pool is the top k itself.
        var pool = g.Codes is null ? k : RerankPool(k, ef);
        var fromGraph = ann.Search(prepared, pool, ef, unfiltered ? s => g.Rows[s] is not null : s => Accept(g, s, filter));
        var top = new TopK(pool, s => g.Rows[s]!.Id);
        foreach (var (slot, score) in fromGraph)
        {
            top.Offer(slot, score);
        }

        // rows written after the indexer's last insert are scanned (over codes: into the pool that is re-ranked)
        for (var s = ann.Count; s < g.Count; s++)
        {
            if (Accept(g, s, filter))
            {
                top.Offer(s, g.Space.Similarity(prepared, s));
            }
        }

        var result = g.Codes is null ? top.Drain() : Rerank(g, prepared, top.Drain(), k);
        return result.Count >= Math.Min(k, candidates) ? result : Exact(g, prepared, filter, plan, k);
    }

    /// <summary>
    /// How many of the graph's best a quantised collection re-ranks with full precision: the whole search breadth (ef, at
    /// least k). The graph has scored that many anyway; re-ranking them costs ef full-precision reads, one batch
    /// (measured in docs/decisions/0045 against smaller pools).
    /// </summary>
    internal static int RerankPool(int k, int ef) => Math.Max(k, ef);

    /// <summary>
    /// BM25 top <paramref name="k"/>: scores accumulate in a pooled dense array (nothing allocated in proportion to the
    /// collection), then slots are selected; the filter is checked only for a slot whose score would enter the top k,
    /// and when the filter names users or says for whom, only the slots they can match are looked at. Right after an
    /// open, while the index of <paramref name="g"/> is being built, the scores come from the load's term blocks
    /// (<paramref name="loaded"/>), the same to the bit.
    /// </summary>
    private static List<(int Slot, float Score)> TextSearch(Generation g, LoadedTerms? loaded, SearchRequest request, int k)
    {
        var terms = Tokenizer.QueryTerms(request.Text ?? string.Empty);
        var found = loaded is not null && (terms.Count > 0 || request.Statistics is not null) ? loaded.Find(terms) : null;
        if (request.Statistics is { } statistics)
        {
            if (found is not null)
            {
                found.Describe(terms, statistics);
            }
            else
            {
                g.Text.Describe(terms, statistics);
            }
        }

        var slots = g.Count;
        if (terms.Count == 0 || slots == 0)
        {
            return [];
        }

        var filter = request.Filter;
        var scores = System.Buffers.ArrayPool<float>.Shared.Rent(slots);
        try
        {
            Array.Clear(scores, 0, slots);
            if (found is not null)
            {
                found.Score(terms, scores, slots);
            }
            else
            {
                g.Text.Score(terms, scores, slots, s => g.Lengths[s]);
            }

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

    private static List<(int Slot, float Score)> Sparse(Generation g, LoadedTerms? loaded, SearchRequest request, int k, string tenant)
    {
        using var span = Stage("keyword_search", tenant);
        span?.SetTag("bruno.search.from_segments", loaded is not null);
        var started = Stopwatch.GetTimestamp();
        var ranked = TextSearch(g, loaded, request, k);
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
        var sparse = Sparse(g, PendingTermsOf(g), request, n, tenant);
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
