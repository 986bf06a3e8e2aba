namespace Bruno.Storage.Index;

/// <summary>
/// A hierarchical navigable small-world graph over the slots of an <see cref="IGraphSpace"/> (node id = slot): the float32
/// arena, or a collection's codes (scores are then estimates, which the caller re-ranks).
/// One thread inserts (the collection's indexer); any number search at the same time without locks: every neighbour list
/// is replaced, never edited in place, and a node becomes reachable only after it is fully linked.
/// </summary>
internal sealed class Hnsw
{
    private readonly IGraphSpace _space;
    private readonly int _m;
    private readonly int _m0;
    private readonly int _efConstruction;
    private readonly double _levelMult;
    private readonly Random _random;
    private volatile int[][][] _links = new int[64][][];
    private volatile int _count;
    private volatile int _entry = -1;
    private volatile int _topLevel = -1;

    public Hnsw(VectorArena arena, int m = 16, int efConstruction = 128, int seed = 42)
        : this(new FloatSpace(arena), m, efConstruction, seed)
    {
    }

    public Hnsw(IGraphSpace space, int m = 16, int efConstruction = 128, int seed = 42)
    {
        _space = space;
        _m = m;
        _m0 = m * 2;
        _efConstruction = efConstruction;
        _levelMult = 1 / Math.Log(m);
        _random = new Random(seed);
    }

    /// <summary>Nodes inserted: slots [0, Count) are in the graph.</summary>
    public int Count => _count;

    /// <summary>Inserts the next slot (must equal <see cref="Count"/>). Single inserting thread only.</summary>
    public void InsertNext()
    {
        var node = _count;
        var level = (int)(-Math.Log(1 - _random.NextDouble()) * _levelMult);
        var links = new int[level + 1][];
        for (var l = 0; l <= level; l++)
        {
            links[l] = [];
        }

        var all = _links;
        if (node >= all.Length)
        {
            var grown = new int[all.Length * 2][][];
            Array.Copy(all, grown, all.Length);
            _links = all = grown;
        }

        all[node] = links;
        var query = _space.QueryOf(node);
        var entry = _entry;
        if (entry < 0)
        {
            _entry = node;
            _topLevel = level;
            _count = node + 1;
            return;
        }

        var top = _topLevel;
        var current = entry;
        var currentSim = _space.Similarity(query, current);
        for (var l = top; l > level; l--)
        {
            (current, currentSim) = Greedy(query, current, currentSim, l);
        }

        var visited = SlotMarks.Rent(SlotMarks.Use.Graph, node + 1);
        for (var l = Math.Min(level, top); l >= 0; l--)
        {
            var candidates = SearchLayer(query, [(current, currentSim)], _efConstruction, l, visited, accept: null);
            var max = l == 0 ? _m0 : _m;
            var selected = SelectNeighbours(candidates, _m);
            links[l] = [.. selected.Select(c => c.Slot)];
            foreach (var (neighbour, _) in selected)
            {
                Connect(neighbour, node, l, max);
            }

            (current, currentSim) = candidates[0];
        }

        _count = node + 1; // publish before the entry point can point at it
        if (level > top)
        {
            _topLevel = level;
            _entry = node;
        }
    }

    /// <summary>
    /// The best <paramref name="k"/> accepted nodes for a query, best first, searching with breadth <paramref name="ef"/>.
    /// Nodes that fail <paramref name="accept"/> are walked through but never returned.
    /// </summary>
    public List<(int Slot, float Score)> Search(GraphQuery query, int k, int ef, Func<int, bool>? accept)
    {
        var entry = _entry;
        var count = _count;
        if (entry < 0 || count == 0)
        {
            return [];
        }

        var current = entry;
        var currentSim = _space.Similarity(query, current);
        for (var l = _topLevel; l > 0; l--)
        {
            (current, currentSim) = Greedy(query, current, currentSim, l);
        }

        var found = SearchLayer(query, [(current, currentSim)], Math.Max(ef, k), 0, SlotMarks.Rent(SlotMarks.Use.Graph, count), accept);
        if (found.Count > k)
        {
            found.RemoveRange(k, found.Count - k);
        }

        return found;
    }

    private (int, float) Greedy(GraphQuery query, int current, float currentSim, int level)
    {
        var all = _links;
        var changed = true;
        while (changed)
        {
            changed = false;
            var nodeLinks = all[current];
            if (level >= nodeLinks.Length)
            {
                break;
            }

            foreach (var n in nodeLinks[level])
            {
                var sim = _space.Similarity(query, n);
                if (sim > currentSim)
                {
                    (current, currentSim, changed) = (n, sim, true);
                }
            }
        }

        return (current, currentSim);
    }

    /// <summary>Best-first search on one layer; returns up to ef results best first (only accepted ones when a filter is given).</summary>
    private List<(int Slot, float Score)> SearchLayer(GraphQuery query, List<(int Slot, float Score)> entries, int ef, int level, SlotMarks visited, Func<int, bool>? accept)
    {
        visited.Clear();
        var all = _links;
        var limit = _count;
        var candidates = new PriorityQueue<int, float>(); // best first: priority = -sim
        var results = new PriorityQueue<int, float>(); // worst first: priority = sim
        foreach (var (slot, sim) in entries)
        {
            visited.Add(slot);
            candidates.Enqueue(slot, -sim);
            if (accept is null || accept(slot))
            {
                results.Enqueue(slot, sim);
            }
        }

        while (candidates.TryDequeue(out var c, out var negSim))
        {
            if (results.Count >= ef && results.TryPeek(out _, out var worst) && -negSim < worst)
            {
                break;
            }

            var nodeLinks = all[c];
            if (nodeLinks is null || level >= nodeLinks.Length)
            {
                continue;
            }

            foreach (var n in nodeLinks[level])
            {
                if (n >= limit || !visited.Add(n))
                {
                    continue;
                }

                var sim = _space.Similarity(query, n);
                if (results.Count < ef || (results.TryPeek(out _, out var w) && sim > w))
                {
                    candidates.Enqueue(n, -sim);
                    if (accept is null || accept(n))
                    {
                        results.Enqueue(n, sim);
                        if (results.Count > ef)
                        {
                            results.Dequeue();
                        }
                    }
                }
            }
        }

        var list = new List<(int, float)>(results.Count);
        while (results.TryDequeue(out var slot, out var sim))
        {
            list.Add((slot, sim));
        }

        list.Reverse();
        return list;
    }

    /// <summary>The heuristic of the HNSW paper: keep a candidate only if it is closer to the query than to every neighbour kept so far; fill up with the rest.</summary>
    private List<(int Slot, float Score)> SelectNeighbours(List<(int Slot, float Score)> candidates, int max)
    {
        var selected = new List<(int, float)>(max);
        var skipped = new List<(int, float)>();
        foreach (var (slot, sim) in candidates)
        {
            if (selected.Count >= max)
            {
                break;
            }

            var good = true;
            foreach (var (kept, _) in selected)
            {
                if (_space.Similarity(slot, kept) > sim)
                {
                    good = false;
                    break;
                }
            }

            if (good)
            {
                selected.Add((slot, sim));
            }
            else
            {
                skipped.Add((slot, sim));
            }
        }

        foreach (var s in skipped)
        {
            if (selected.Count >= max)
            {
                break;
            }

            selected.Add(s);
        }

        return selected;
    }

    private void Connect(int from, int to, int level, int max)
    {
        var fromLinks = _links[from];
        var current = fromLinks[level];
        if (current.Length < max)
        {
            var added = new int[current.Length + 1];
            current.CopyTo(added, 0);
            added[^1] = to;
            fromLinks[level] = added;
            return;
        }

        var candidates = new List<(int Slot, float Score)>(current.Length + 1) { (to, _space.Similarity(from, to)) };
        foreach (var n in current)
        {
            candidates.Add((n, _space.Similarity(from, n)));
        }

        candidates.Sort((a, b) => b.Score.CompareTo(a.Score));
        fromLinks[level] = [.. SelectNeighbours(candidates, max).Select(c => c.Slot)];
    }

    // Persistence (format 3, decision 0044): what a checkpoint reads, and a graph made from a stored one.

    /// <summary>
    /// A graph loaded from a checkpoint: nodes [0, <paramref name="count"/>) with their links (indices below count),
    /// entry point and top level. Insertion continues at slot <paramref name="count"/>. The caller has checked the
    /// links (<see cref="Format.GraphCodec"/> refuses a link to a node that does not exist); the arrays are taken over.
    /// </summary>
    public Hnsw(IGraphSpace space, int m, int efConstruction, int[][][] links, int count, int entry, int topLevel)
        : this(space, m, efConstruction)
    {
        var all = new int[Math.Max(64, count + 1)][][];
        Array.Copy(links, all, count);
        _links = all;
        _count = count;
        _entry = count == 0 ? -1 : entry;
        _topLevel = count == 0 ? -1 : topLevel;
    }

    /// <summary>Links per node on the upper levels (twice as many on level 0).</summary>
    public int M => _m;

    /// <summary>
    /// The entry node and the node count, read in that order so the entry is always below the count (it is published
    /// after its node), for a checkpoint taken while the indexer inserts.
    /// </summary>
    public (int Entry, int Count) Published()
    {
        var entry = _entry;
        return (entry, _count);
    }

    /// <summary>A node's neighbour lists by level (each list is replaced, never edited, so it can be read while the indexer inserts).</summary>
    public int[][] LinksOf(int node) => _links[node];
}
