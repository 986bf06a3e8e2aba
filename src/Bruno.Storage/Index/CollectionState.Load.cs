using Bruno.Storage.Format;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>Loading rows from disk while the tenant opens, before any reader can see the collection.</summary>
/// <remarks>
/// Order of a load (format 3): <see cref="BeginLoad"/> with the stored graph, then per row (in any order)
/// <see cref="SlotFor"/> and <see cref="AddLoaded"/> (with its vector) on one thread, then <see cref="Loaded"/>. A row whose ordinal is a
/// node of the stored graph takes the node's index as its slot; the others take the slots after the graph's nodes, so
/// slots [0, graph count) are exactly the graph's nodes, as <see cref="Hnsw"/> requires.
/// </remarks>
internal sealed partial class CollectionState
{
    private LoadPlan? _load;
    private Generation? _textTarget; // the generation whose BM25 index the open is building (EndTextLoad lets it go)
    private volatile PendingText? _pendingText; // its term blocks, read by text searches until the index is built

    /// <summary>What the last open did with the stored graph (telemetry and tests).</summary>
    public GraphLoad GraphLoadOutcome { get; private set; }

    /// <summary>
    /// Starts a load of <paramref name="rows"/> rows (at most) with the collection's stored graph, if any
    /// (<paramref name="unreadable"/>: a graph was stored but could not be read). A graph of another M or dimension, or
    /// one that repeats an ordinal, is not used (the indexer then builds a new one).
    /// </summary>
    public void BeginLoad(GraphCheckpoint? graph, int rows, bool unreadable = false)
    {
        var plan = new LoadPlan();
        var maxOrdinal = 0L;
        GraphLoadOutcome = unreadable ? GraphLoad.Unusable : GraphLoad.None;
        if (graph is not null)
        {
            var nodes = new Dictionary<long, int>(graph.Count);
            var usable = graph.M == _settings.HnswM && graph.Dimension == Spec.Dimension;
            for (var i = 0; usable && i < graph.Count; i++)
            {
                usable = nodes.TryAdd(graph.Ordinals[i], i);
                maxOrdinal = Math.Max(maxOrdinal, graph.Ordinals[i]);
            }

            if (usable)
            {
                plan.Graph = graph;
                plan.Nodes = nodes;
                plan.Next = graph.Count;
            }
            else
            {
                GraphLoadOutcome = GraphLoad.Unusable;
            }
        }

        plan.MaxOrdinal = maxOrdinal;
        _textTarget = _g;
        plan.Slots.EnsureCapacity(rows);
        _g.EnsureSlots(plan.Next + rows);

        // Vectors are written as rows arrive, so the arenas are sized now: the rows need at least max(rows, nodes)
        // slots, at most nodes + rows. A small collection gets its upper bound at once; a large one its lower bound,
        // with full first blocks, so that growing it (SlotFor) only appends blocks and never copies a partial load.
        plan.Reserved = plan.Next + rows <= BlockTable.BlockSlots ? Math.Max(1, plan.Next + rows) : Math.Max(BlockTable.BlockSlots, Math.Max(plan.Next, rows));
        _g.ReserveVectors(plan.Reserved);
        _load = plan;
    }

    /// <summary>
    /// The slot of a loaded row (one thread, in the order rows are read): its node's index when the stored graph has its
    /// ordinal, else the next slot after the graph. Throws <see cref="DataUnreadableException"/> for a repeated ordinal.
    /// </summary>
    public int SlotFor(long ordinal)
    {
        var plan = _load ?? throw new InvalidOperationException("BeginLoad first.");
        int slot;
        if (plan.Nodes is not null && plan.Nodes.TryGetValue(ordinal, out var node))
        {
            slot = node;
        }
        else
        {
            slot = plan.Next++;
            if (slot >= _g.Rows.Length)
            {
                _g.EnsureSlots(Math.Max(16, _g.Rows.Length * 2)); // more rows than the segments declared: only if altered
            }

            if (slot >= plan.Reserved)
            {
                plan.Reserved = Math.Max(slot + 1, plan.Reserved + (plan.Reserved >> 3));
                _g.ReserveVectors(plan.Reserved);
            }
        }

        plan.MaxOrdinal = Math.Max(plan.MaxOrdinal, ordinal);
        if (!plan.Slots.TryAdd(ordinal, slot))
        {
            throw new DataUnreadableException($"Collection '{Spec.Name}' holds two rows with ordinal {ordinal}: the store was altered.");
        }

        return slot;
    }

    /// <summary>
    /// Adds a row read from disk and its vector at the slot <see cref="SlotFor"/> gave it (no lock: nobody reads yet), with
    /// the vector's spill record (<see cref="SpillVectors"/>, -1 when vectors stay in memory).
    /// </summary>
    public void AddLoaded(int slot, StoredRow row, long ordinal, ReadOnlySpan<float> vector, int record)
    {
        Place(_g, slot, row, ordinal);
        _g.SetLoadedVector(slot, vector, record);
    }

    /// <summary>The index's id for a term of a segment's table (loading only).</summary>
    public int TermId(ReadOnlySpan<char> term) => TextTarget.Text.TermId(term);

    /// <summary>Counts a loaded row of <paramref name="length"/> terms in the BM25 statistics (loading only).</summary>
    public void AddLoadedDocument(int slot, int length)
    {
        var g = TextTarget;
        g.Text.AddDocument(length);
        g.Lengths[slot] = length;
    }

    /// <summary>Adds postings of loaded rows: term id, slot and frequency at the same index (loading only).</summary>
    public void AddLoadedPostings(ReadOnlySpan<int> termIds, ReadOnlySpan<int> slots, ReadOnlySpan<int> tfs) => TextTarget.Text.AddPostings(termIds, slots, tfs);

    /// <summary>
    /// Hands the load's term blocks to text searches until the BM25 index is built from them (<see cref="EndTextLoad"/>):
    /// called before the open returns, so no search of the loaded generation ever sees a partial index.
    /// </summary>
    public void BeginTextBuild(TermBlock[] blocks) => _pendingText = new PendingText(TextTarget, new LoadedTerms(blocks));

    /// <summary>
    /// Ends the BM25 part of a load (the generation it wrote to is no longer held here). Built: text searches use the index
    /// from now on. Not built (the builder failed): they keep reading the blocks, and fail on the block that failed it.
    /// </summary>
    public void EndTextLoad(bool built)
    {
        _textTarget = null;
        if (built)
        {
            _pendingText = null;
        }
    }

    /// <summary>The term blocks text searches of <paramref name="g"/> read instead of its index, while that is being built.</summary>
    private LoadedTerms? PendingTermsOf(Generation g) => _pendingText is { } p && p.Target == g ? p.Terms : null;

    /// <summary>The generation whose index is being built, and the blocks it is built from.</summary>
    private sealed record PendingText(Generation Target, LoadedTerms Terms);

    /// <summary>
    /// The generation the open loaded the rows into. The BM25 index is built into it on another thread, possibly after a
    /// compaction at open replaced it (a mostly dead stored graph: the new generation indexed the texts itself), so
    /// nothing is counted twice.
    /// </summary>
    private Generation TextTarget => _textTarget ?? throw new InvalidOperationException("No load in progress.");

    /// <summary>
    /// Ends a load: the ordinal counter starts above every ordinal the rows and the stored graph hold (so none is handed
    /// out twice while a graph may still name it), the graph's
    /// nodes whose rows are gone into dead slots (their links dropped, links to them removed, the entry point moved),
    /// and puts the stored graph in place. A graph with more dead nodes than live ones is not used: the collection is
    /// compacted and the indexer builds a new graph. Then the indexer starts, inserting only the rows behind the graph.
    /// </summary>
    public void Loaded()
    {
        var plan = _load;
        _load = null;
        if (plan is not null)
        {
            FinishLoad(plan);
        }

        MaybeStartIndexer();
    }

    private void FinishLoad(LoadPlan plan)
    {
        var g = _g;
        _nextOrdinal = plan.MaxOrdinal + 1;
        var graph = plan.Graph;
        var nodes = graph?.Count ?? 0;
        var zero = new float[Spec.Dimension];
        for (var slot = 0; slot < nodes; slot++)
        {
            if (g.Rows[slot] is null)
            {
                g.SetLoadedVector(slot, zero, -1); // a node whose row is gone: a dead slot nothing links to
                g.Ordinals[slot] = graph!.Ordinals[slot];
                g.Dead++;
            }
        }

        g.PublishLoaded(plan.Next);
        if (graph is null)
        {
            return;
        }

        // Rows took their nodes' slots, not the order they were read in: list slots ascending, as appends would have.
        foreach (var list in g.OwnerSlots.Values.Concat(g.ReaderSlots.Values).Append(g.OpenSlots))
        {
            list.Slots.Sort();
        }

        if (g.Dead > g.Live)
        {
            GraphLoadOutcome = GraphLoad.Unusable;
            Compact();
            return;
        }

        var links = graph.Links;
        var entry = graph.Entry;
        var top = -1;
        for (var node = 0; node < nodes; node++)
        {
            var levels = links[node];
            var dead = g.Rows[node] is null;
            for (var l = 0; l < levels.Length; l++)
            {
                if (dead)
                {
                    levels[l] = [];
                }
                else if (Array.Exists(levels[l], n => g.Rows[n] is null))
                {
                    levels[l] = Array.FindAll(levels[l], n => g.Rows[n] is not null);
                }
            }

            if (!dead)
            {
                top = Math.Max(top, levels.Length - 1);
            }
        }

        if (entry >= 0 && g.Rows[entry] is null)
        {
            // The entry point's row is gone: the live node on the highest level takes its place.
            entry = -1;
            for (var node = 0; node < nodes; node++)
            {
                if (g.Rows[node] is not null && links[node].Length - 1 == top)
                {
                    entry = node;
                    break;
                }
            }
        }

        if (entry < 0)
        {
            GraphLoadOutcome = GraphLoad.Unusable;
            Compact();
            return;
        }

        var ann = new Hnsw(g.Space, _settings.HnswM, _settings.HnswEfConstruction, links, nodes, entry, links[entry].Length - 1);
        g.Ann = ann;
        GraphLoadOutcome = GraphLoad.Loaded;
        LoadedNodes = nodes;
        _checkpointGraph = ann;
        _checkpointNodes = nodes;
    }

    /// <summary>A load in progress: the stored graph's nodes by ordinal, the slots handed out and reserved, the highest ordinal seen.</summary>
    private sealed class LoadPlan
    {
        public GraphCheckpoint? Graph { get; set; }

        public Dictionary<long, int>? Nodes { get; set; }

        public Dictionary<long, int> Slots { get; } = [];

        public int Next { get; set; }

        public int Reserved { get; set; }

        public long MaxOrdinal { get; set; }
    }
}

/// <summary>What opening a collection did with its stored HNSW graph.</summary>
internal enum GraphLoad
{
    /// <summary>No graph was stored (or the collection has no rows).</summary>
    None,

    /// <summary>The stored graph was loaded; the indexer inserts only the rows behind it.</summary>
    Loaded,

    /// <summary>A graph was stored but could not be used (corrupt, another M or dimension, mostly dead nodes): it is rebuilt.</summary>
    Unusable,
}
