using System.Runtime.InteropServices;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>
/// Exact k-NN under every quantisation (docs/decisions/0045): float32 scans the arena; int8 scans its codes, bounds every
/// row's full-precision score and re-ranks only the rows that can still reach the top k; binary scores every candidate with
/// full precision. All three return the same hits, in the same order, with the same scores.
/// </summary>
internal sealed partial class CollectionState
{
    /// <summary>
    /// Candidates from which an exact scan over slot lists is split across the cores: a scan of scattered rows is bound by
    /// memory latency, which a second core hides (docs/benchmarks.md, "Access lists"); below, the split costs more than it saves.
    /// </summary>
    internal const int ParallelExactRows = 4_096;

    /// <summary>Full-precision vectors the searches of the current generation have read (docs/decisions/0045; tests).</summary>
    internal long FullPrecisionReads => _g.Full.Reads;

    /// <summary>
    /// Exact k-NN: a tight scan of every slot, or of the plan's slot lists (the named owners', or the lists of the rows the
    /// caller's principals can read) when the filter narrows them.
    /// </summary>
    private static List<(int Slot, float Score)> Exact(Generation g, GraphQuery query, Filter filter, CandidatePlan plan, int k)
    {
        if (plan.Lists is not null && plan.Count >= ParallelExactRows && Environment.ProcessorCount > 1)
        {
            return ExactInParts(g, query, filter, plan, k);
        }

        switch (g.Codes)
        {
            case null:
                {
                    var scan = new FloatScan(g, query, filter, k);
                    Walk(g, plan, ref scan);
                    return scan.Top.Drain();
                }

            case { Kind: VectorQuantization.Int8 } codes:
                {
                    var scan = new BoundScan(g, codes, query, filter, k);
                    Walk(g, plan, ref scan);
                    return Rerank(g, query, scan.Lower.Drain(), scan.Candidates, k);
                }

            default:
                {
                    var scan = new FullScan(g, query, filter, k);
                    Walk(g, plan, ref scan);
                    return scan.Finish();
                }
        }
    }

    /// <summary>Hands every candidate slot of a plan to a scan, each once.</summary>
    private static void Walk<TScan>(Generation g, CandidatePlan plan, ref TScan scan)
        where TScan : struct, IExactScan
    {
        if (plan.Lists is null)
        {
            var count = g.Count;
            for (var s = 0; s < count; s++)
            {
                scan.Consider(s);
            }
        }
        else if (!plan.Overlap)
        {
            // disjoint lists (owners', or one principal's and the open rows'): the tight loop of each
            foreach (var list in plan.Lists)
            {
                foreach (var s in CollectionsMarshal.AsSpan(list.Slots))
                {
                    scan.Consider(s);
                }
            }
        }
        else
        {
            var cursor = new SlotCursor(g, plan);
            while (cursor.Next(out var s))
            {
                scan.Consider(s);
            }
        }
    }

    /// <summary>
    /// <see cref="Exact"/> over the plan's slots gathered once (each once), in as many contiguous parts as there are cores
    /// (at most four), each part scanning on its own; the parts' results are merged by the same order (int8: their lower
    /// bounds and candidates, then one re-rank), so the result is the one a single scan gives.
    /// </summary>
    private static List<(int Slot, float Score)> ExactInParts(Generation g, GraphQuery query, Filter filter, CandidatePlan plan, int k)
    {
        var size = 0;
        foreach (var list in plan.Lists!)
        {
            size += list.Slots.Count;
        }

        var slots = System.Buffers.ArrayPool<int>.Shared.Rent(size);
        try
        {
            var n = 0;
            var cursor = new SlotCursor(g, plan);
            while (cursor.Next(out var s))
            {
                slots[n++] = s;
            }

            var parts = Math.Min(Environment.ProcessorCount, 4);
            var ranked = new List<(int Slot, float Score)>[parts];
            var lowers = new List<(int Slot, float Score)>[parts];
            var candidates = new List<(int Slot, float Upper)>[parts];
            var codes = g.Codes;
            Parallel.For(0, parts, p =>
            {
                var from = (int)((long)p * n / parts);
                var to = (int)((long)(p + 1) * n / parts);
                if (codes is null)
                {
                    var scan = new FloatScan(g, query, filter, k);
                    ScanRange(slots, from, to, ref scan);
                    ranked[p] = scan.Top.Drain();
                }
                else if (codes.Kind == VectorQuantization.Int8)
                {
                    var scan = new BoundScan(g, codes, query, filter, k);
                    ScanRange(slots, from, to, ref scan);
                    (lowers[p], candidates[p]) = (scan.Lower.Drain(), scan.Candidates);
                }
                else
                {
                    var scan = new FullScan(g, query, filter, k);
                    ScanRange(slots, from, to, ref scan);
                    ranked[p] = scan.Finish();
                }
            });

            if (codes is { Kind: VectorQuantization.Int8 })
            {
                // Each part's k best lower bounds hold its share of the overall k best, so merging them gives the overall
                // k-th lower bound; a part dropped only rows whose upper bound fell below its own, smaller, threshold.
                return Rerank(g, query, [.. lowers.SelectMany(l => l)], [.. candidates.SelectMany(c => c)], k);
            }

            var top = new TopK(k, s => g.Rows[s]!.Id);
            foreach (var part in ranked)
            {
                foreach (var (slot, score) in part)
                {
                    top.Offer(slot, score);
                }
            }

            return top.Drain();
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(slots);
        }
    }

    private static void ScanRange<TScan>(int[] slots, int from, int to, ref TScan scan)
        where TScan : struct, IExactScan
    {
        for (var i = from; i < to; i++)
        {
            scan.Consider(slots[i]);
        }
    }

    /// <summary>
    /// The final top k of a quantised search, scored with full precision through <see cref="FullVectors"/> in batches.
    /// <paramref name="lowers"/> null: an approximate pool (HNSW), every slot of <paramref name="pool"/> is scored. Otherwise
    /// an exact scan's result: the k-th best of <paramref name="lowers"/> (lower bounds of accepted rows) is the threshold L,
    /// and the pool's rows are taken by upper bound, best first, until the next upper bound falls below both L and the k-th
    /// best full-precision score so far.
    /// <para>
    /// Why that is the exact top k. Every accepted row r has lower(r) ≤ score(r) ≤ upper(r) (CodeArena.Radius proves the
    /// radius). Let L be the k-th best lower bound among accepted rows (−∞ with fewer than k): the k rows holding the k best
    /// lower bounds all score at least L, so the k-th best score is at least L, and any row of the true top k (ties broken by
    /// row id included) scores at least L, hence has upper ≥ L. A scan drops a row only when its upper bound is below its
    /// running threshold, which never exceeds the final L, so every row of the true top k is in the pool. Taking the pool by
    /// upper bound, best first, the rows not taken have upper &lt; the k-th best score W found so far (strictly): they
    /// score below W, and W only rises, so none of them can enter. The rows taken are scored exactly as a float32 collection
    /// scores them and ordered by the same <see cref="TopK"/> (score, then row id), so the hits, order and scores are those of
    /// the full-precision scan. Recall 1.0 by construction, near-ties and duplicates included.
    /// </para>
    /// </summary>
    private static List<(int Slot, float Score)> Rerank(Generation g, GraphQuery query, List<(int Slot, float Score)>? lowers, List<(int Slot, float Upper)> pool, int k)
    {
        var top = new TopK(k, s => g.Rows[s]!.Id);
        var bounded = lowers is not null;
        if (bounded)
        {
            var threshold = float.NegativeInfinity;
            if (lowers!.Count >= k)
            {
                var kth = new TopK(k);
                foreach (var (slot, lower) in lowers)
                {
                    kth.Offer(slot, lower);
                }

                threshold = kth.Worst;
            }

            pool.RemoveAll(c => !(c.Upper >= threshold));
            pool.Sort((a, b) => b.Upper != a.Upper ? b.Upper.CompareTo(a.Upper) : a.Slot.CompareTo(b.Slot));
        }

        Span<int> slots = stackalloc int[FullVectors.Batch];
        Span<float> scores = stackalloc float[FullVectors.Batch];
        for (var i = 0; i < pool.Count;)
        {
            if (bounded && top.Count >= k && pool[i].Upper < top.Worst)
            {
                break;
            }

            // Bounded, each read may end the re-rank once k rows are scored (a read of a spilled vector is a system call
            // and a decryption, decision 0048): k first, then one at a time. Unbounded: batches.
            var n = Math.Min(!bounded ? FullVectors.Batch : top.Count < k ? Math.Min(FullVectors.Batch, k - top.Count) : 1, pool.Count - i);
            for (var j = 0; j < n; j++)
            {
                slots[j] = pool[i + j].Slot;
            }

            g.Full.ExactScores(query.Vector, query.Norm, slots[..n], scores[..n]);
            for (var j = 0; j < n; j++)
            {
                top.Offer(slots[j], scores[j]);
            }

            i += n;
        }

        return top.Drain();
    }

    /// <summary>
    /// The approximate pool of an HNSW search re-ranked with full precision. Over int8 codes the pool's scores are the
    /// estimates the exact scan bounds, so it is taken by upper bound (estimate + radius), best first, and the re-rank stops
    /// when the next upper bound is below the k-th best full-precision score: the same hits, order and scores as scoring
    /// every slot of the pool (the argument of the bounded overload, with L = −∞), from fewer reads. Binary codes bound
    /// nothing: every slot is scored.
    /// </summary>
    private static List<(int Slot, float Score)> Rerank(Generation g, GraphQuery query, List<(int Slot, float Score)> pool, int k)
    {
        if (g.Codes is not { Kind: VectorQuantization.Int8 } codes)
        {
            return Rerank(g, query, null, pool, k);
        }

        var bounded = new List<(int Slot, float Upper)>(pool.Count);
        foreach (var (slot, estimate) in pool)
        {
            bounded.Add((slot, estimate + codes.Radius(query, slot)));
        }

        return Rerank(g, query, [], bounded, k);
    }

    /// <summary>The row ids by slot, for <see cref="TopK"/>'s tie-break.</summary>
    private static Func<int, string> IdsOf(Generation g) => s => g.Rows[s]!.Id;

    /// <summary>One exact scan's state: offered the candidate slots one at a time.</summary>
    private interface IExactScan
    {
        void Consider(int slot);
    }

    /// <summary>float32: each slot scored from the arena; the filter checked only for a slot that would enter the top k.</summary>
    private readonly struct FloatScan(Generation g, GraphQuery query, Filter filter, int k) : IExactScan
    {
        public TopK Top { get; } = new(k, IdsOf(g));

        public void Consider(int slot)
        {
            // the similarity is cheaper than the filter: the filter is checked only for a slot that would enter the top k
            var score = g.Arena!.Similarity(query.Vector, query.Norm, slot);
            if ((Top.Count < k || score >= Top.Worst) && Accept(g, slot, filter))
            {
                Top.Offer(slot, score);
            }
        }
    }

    /// <summary>
    /// int8: each slot's estimate ± its radius; an accepted slot whose upper bound reaches the running threshold (the k-th
    /// best lower bound so far) joins the candidates, and its lower bound the k best lower bounds (see <see cref="Rerank(Generation, GraphQuery, List{ValueTuple{int, float}}?, List{ValueTuple{int, float}}, int)"/>).
    /// </summary>
    private struct BoundScan(Generation g, CodeArena codes, GraphQuery query, Filter filter, int k) : IExactScan
    {
        private float _threshold = float.NegativeInfinity;

        public TopK Lower { get; } = new(k);

        public List<(int Slot, float Upper)> Candidates { get; } = [];

        public void Consider(int slot)
        {
            var estimate = codes.Estimate(query, slot, out var radius);
            if (!float.IsFinite(estimate))
            {
                // an estimate that overflowed bounds nothing: the row is re-ranked whatever its score
                (estimate, radius) = (0, float.PositiveInfinity);
            }

            var upper = estimate + radius;
            if (upper < _threshold || !Accept(g, slot, filter))
            {
                return;
            }

            Candidates.Add((slot, upper));
            Lower.Offer(slot, estimate - radius);
            if (Lower.Count >= k)
            {
                _threshold = Lower.Worst;
            }
        }
    }

    /// <summary>binary: sign bits bound nothing, so every accepted slot is scored with full precision, a batch at a time.</summary>
    private readonly struct FullScan(Generation g, GraphQuery query, Filter filter, int k) : IExactScan
    {
        private readonly List<int> _batch = new(FullVectors.Batch);

        public TopK Top { get; } = new(k, IdsOf(g));

        public void Consider(int slot)
        {
            if (!Accept(g, slot, filter))
            {
                return;
            }

            _batch.Add(slot);
            if (_batch.Count == FullVectors.Batch)
            {
                Flush();
            }
        }

        public List<(int Slot, float Score)> Finish()
        {
            Flush();
            return Top.Drain();
        }

        private void Flush()
        {
            Span<int> slots = stackalloc int[_batch.Count];
            Span<float> scores = stackalloc float[_batch.Count];
            for (var i = 0; i < slots.Length; i++)
            {
                slots[i] = _batch[i];
            }

            g.Full.ExactScores(query.Vector, query.Norm, slots, scores);
            for (var i = 0; i < slots.Length; i++)
            {
                if (Top.Count < k || scores[i] >= Top.Worst)
                {
                    Top.Offer(slots[i], scores[i]);
                }
            }

            _batch.Clear();
        }
    }
}
