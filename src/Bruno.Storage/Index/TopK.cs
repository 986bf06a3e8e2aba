namespace Bruno.Storage.Index;

/// <summary>Keeps the k best (highest-scoring) slots seen; ties keep the lower slot.</summary>
internal sealed class TopK(int k)
{
    private readonly PriorityQueue<int, (float Score, int NegSlot)> _heap = new(k + 1);

    public int Count => _heap.Count;

    public float Worst => _heap.TryPeek(out _, out var p) ? p.Score : float.NegativeInfinity;

    public void Offer(int slot, float score)
    {
        if (_heap.Count < k)
        {
            _heap.Enqueue(slot, (score, -slot));
        }
        else if (_heap.TryPeek(out _, out var worst) && (score > worst.Score || (score == worst.Score && -slot > worst.NegSlot)))
        {
            _heap.DequeueEnqueue(slot, (score, -slot));
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
}
