namespace Bruno.Storage.Index;

/// <summary>
/// Keeps the k best (highest-scoring) slots seen. Ties are broken by row id (ordinal, lower first) when ids are given,
/// so a ranking does not depend on where rows happen to sit in memory (which changes when a tenant reopens); otherwise
/// by the lower slot.
/// </summary>
internal sealed class TopK
{
    private readonly int _k;
    private readonly PriorityQueue<int, (float Score, int Slot)> _heap;

    public TopK(int k, Func<int, string>? idOf = null)
    {
        _k = k;
        _heap = new PriorityQueue<int, (float Score, int Slot)>(k + 1, new WorstFirst(idOf));
    }

    public int Count => _heap.Count;

    public float Worst => _heap.TryPeek(out _, out var p) ? p.Score : float.NegativeInfinity;

    public void Offer(int slot, float score)
    {
        if (_heap.Count < _k)
        {
            _heap.Enqueue(slot, (score, slot));
        }
        else if (_heap.TryPeek(out _, out var worst) && _heap.Comparer.Compare((score, slot), worst) > 0)
        {
            _heap.DequeueEnqueue(slot, (score, slot));
        }
    }

    /// <summary>Empties the heap and returns its contents best first.</summary>
    public List<(int Slot, float Score)> Drain()
    {
        var list = new List<(int, float)>(_heap.Count);
        while (_heap.TryDequeue(out var slot, out var p))
        {
            list.Add((slot, p.Score));
        }

        list.Reverse();
        return list;
    }

    /// <summary>Orders entries worst first (the heap's root is the one to evict): lower score, then higher id or slot.</summary>
    private sealed class WorstFirst(Func<int, string>? idOf) : IComparer<(float Score, int Slot)>
    {
        public int Compare((float Score, int Slot) x, (float Score, int Slot) y)
        {
            var byScore = x.Score.CompareTo(y.Score);
            if (byScore != 0 || x.Slot == y.Slot)
            {
                return byScore;
            }

            return idOf is null ? y.Slot.CompareTo(x.Slot) : string.CompareOrdinal(idOf(y.Slot), idOf(x.Slot));
        }
    }
}
