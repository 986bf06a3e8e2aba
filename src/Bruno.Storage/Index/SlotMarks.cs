namespace Bruno.Storage.Index;

/// <summary>
/// A set of slots with O(1) clear, one per thread and use, grown to the collection's size when needed: the nodes an
/// HNSW search has visited, or the candidates a filtered scan has met on an earlier list.
/// </summary>
internal sealed class SlotMarks
{
    [ThreadStatic]
    private static SlotMarks? _graph;

    [ThreadStatic]
    private static SlotMarks? _candidates;

    private int[] _marks = [];
    private int _generation;

    /// <summary>What a set is for: each use has its own per thread, so a scan and a graph search never share one.</summary>
    public enum Use
    {
        /// <summary>HNSW traversal.</summary>
        Graph,

        /// <summary>Candidate lists of a filtered scan.</summary>
        Candidates,
    }

    /// <summary>This thread's empty set for <paramref name="use"/>, able to hold slots [0, <paramref name="size"/>).</summary>
    public static SlotMarks Rent(Use use, int size)
    {
        var set = use == Use.Graph ? _graph ??= new SlotMarks() : _candidates ??= new SlotMarks();
        if (set._marks.Length < size)
        {
            set._marks = new int[Math.Max(size, set._marks.Length * 2)];
            set._generation = 0;
        }

        set.Clear();
        return set;
    }

    public void Clear()
    {
        if (++_generation == int.MaxValue)
        {
            Array.Clear(_marks);
            _generation = 1;
        }
    }

    /// <summary>Adds <paramref name="slot"/>; false when it was already in the set (or beyond its size).</summary>
    public bool Add(int slot)
    {
        if (slot >= _marks.Length || _marks[slot] == _generation)
        {
            return false;
        }

        _marks[slot] = _generation;
        return true;
    }
}
