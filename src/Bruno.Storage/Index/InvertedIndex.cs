namespace Bruno.Storage.Index;

/// <summary>
/// BM25 over slots. Each distinct term is stored once (its id indexes the postings); document frequencies and lengths
/// are decremented the moment a row is removed, and postings of dead slots are skipped by the caller's accept test, so
/// a deleted row never scores and never skews statistics. Postings of dead slots are dropped when the collection
/// compacts. Not thread-safe: the owner locks.
/// </summary>
internal sealed class InvertedIndex
{
    private const float K1 = 1.2f;
    private const float B = 0.75f;
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly List<int> _scratch = [];
    private Postings[] _postings = new Postings[64];
    private long _totalLength;
    private int _docs;

    public InvertedIndex() => _lookup = _ids.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Indexes terms already analysed off the lock.</summary>
    public void Add(int slot, (string Term, int Tf)[] terms, int length)
    {
        foreach (var (term, tf) in terms)
        {
            var id = IdOf(term); // first: it may grow the postings array
            _postings[id].Add(slot, tf);
        }

        _totalLength += length;
        _docs++;
    }

    /// <summary>Tokenises <paramref name="text"/> straight into the index (no per-row allocation); returns its length in terms.</summary>
    public int AddText(int slot, string text)
    {
        var length = Collect(text, create: true);
        _scratch.Sort();
        var i = 0;
        while (i < _scratch.Count)
        {
            var id = _scratch[i];
            var tf = 1;
            while (i + tf < _scratch.Count && _scratch[i + tf] == id)
            {
                tf++;
            }

            _postings[id].Add(slot, tf);
            i += tf;
        }

        _totalLength += length;
        _docs++;
        return length;
    }

    /// <summary>The id of a term, added when new (loading a tenant: terms come from the segments' tables).</summary>
    public int TermId(ReadOnlySpan<char> term) => IdOf(term);

    /// <summary>
    /// Adds the postings of rows being loaded (triples at the same index; slots ascending per term), growing each
    /// term's list once to its final size. <see cref="AddDocument"/> counts the rows themselves.
    /// </summary>
    public void AddPostings(ReadOnlySpan<int> termIds, ReadOnlySpan<int> slots, ReadOnlySpan<int> tfs)
    {
        var terms = _ids.Count;
        var counts = System.Buffers.ArrayPool<int>.Shared.Rent(Math.Max(1, terms));
        try
        {
            counts.AsSpan(0, terms).Clear();
            foreach (var id in termIds)
            {
                counts[id]++;
            }

            for (var id = 0; id < terms; id++)
            {
                if (counts[id] > 0)
                {
                    _postings[id].Reserve(counts[id]);
                }
            }

            for (var i = 0; i < termIds.Length; i++)
            {
                _postings[termIds[i]].Add(slots[i], tfs[i]);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(counts);
        }
    }

    /// <summary>Counts a loaded row of <paramref name="length"/> terms in the statistics.</summary>
    public void AddDocument(int length)
    {
        _totalLength += length;
        _docs++;
    }

    /// <summary>Removes a row's contribution to the statistics; its postings stay until compaction, skipped as dead.</summary>
    public void RemoveText(string text, int length) => CountText(text, length, -1);

    /// <summary>Undoes <see cref="RemoveText"/> for a row brought back (its postings were never removed).</summary>
    public void RestoreText(string text, int length) => CountText(text, length, +1);

    /// <summary>
    /// Adds every slot's BM25 score for <paramref name="queryTerms"/> into <paramref name="scores"/> (indexed by slot,
    /// zeroed by the caller, at least <paramref name="slots"/> long). Dead slots score too (their postings stay until
    /// compaction): the caller filters when it selects, once per slot instead of once per posting. Every term's
    /// contribution is positive, so a slot that matched nothing stays at zero.
    /// </summary>
    public void Score(List<string> queryTerms, float[] scores, int slots, Func<int, int> docLength)
    {
        if (_docs == 0)
        {
            return;
        }

        var avgdl = AverageLength(_totalLength, _docs);
        foreach (var term in queryTerms)
        {
            if (!_ids.TryGetValue(term, out var id) || _postings[id].Df <= 0)
            {
                continue;
            }

            ref var p = ref _postings[id];
            var idf = Idf(_docs, p.Df);
            for (var i = 0; i < p.Count; i++)
            {
                var slot = p.Data[i * 2];
                if (slot < slots)
                {
                    scores[slot] += Contribution(idf, p.Data[(i * 2) + 1], docLength(slot), avgdl);
                }
            }
        }
    }

    /// <summary>The average row length in terms that BM25 normalises by (at least 1).</summary>
    internal static float AverageLength(long totalLength, int docs) => Math.Max(1f, (float)totalLength / docs);

    /// <summary>A term's inverse document frequency among <paramref name="docs"/> rows, <paramref name="df"/> of which hold it.</summary>
    internal static float Idf(int docs, int df) => MathF.Log(1 + ((docs - df + 0.5f) / (df + 0.5f)));

    /// <summary>
    /// What one row holding a term <paramref name="tf"/> times adds to its score. Every BM25 score of the engine is a sum of
    /// these, in the query's term order, so two ways of finding the postings give the same floats.
    /// </summary>
    internal static float Contribution(float idf, int tf, int length, float averageLength)
    {
        float frequency = tf;
        var norm = K1 * (1 - B + (B * length / averageLength));
        return idf * frequency * (K1 + 1) / (frequency + norm);
    }

    /// <summary>Records the index's statistics for <paramref name="queryTerms"/> into <paramref name="statistics"/>.</summary>
    public void Describe(List<string> queryTerms, Model.TermStatistics statistics)
    {
        statistics.Rows = _docs;
        statistics.AverageLength = _docs == 0 ? 0 : (double)_totalLength / _docs;
        foreach (var term in queryTerms)
        {
            statistics.DocumentFrequency[term] = _ids.TryGetValue(term, out var id) ? Math.Max(0, _postings[id].Df) : 0;
        }
    }

    private void CountText(string text, int length, int sign)
    {
        Collect(text, create: false);
        _scratch.Sort();
        for (var i = 0; i < _scratch.Count; i++)
        {
            if (i == 0 || _scratch[i] != _scratch[i - 1])
            {
                _postings[_scratch[i]].Df += sign;
            }
        }

        _totalLength += sign * length;
        _docs += sign;
    }

    private int Collect(string text, bool create)
    {
        _scratch.Clear();
        var sink = new IdSink(this, create);
        Tokenizer.ForEachTerm(text, ref sink);
        return sink.Length;
    }

    private int IdOf(ReadOnlySpan<char> term)
    {
        if (_lookup.TryGetValue(term, out var id))
        {
            return id;
        }

        id = _ids.Count;
        _lookup[term] = id;
        if (id == _postings.Length)
        {
            Array.Resize(ref _postings, id * 2);
        }

        _postings[id] = new Postings { Data = [] };
        return id;
    }

    private struct IdSink(InvertedIndex index, bool create) : Tokenizer.ISink
    {
        public int Length { get; private set; }

        public void Term(ReadOnlySpan<char> term)
        {
            Length++;
            if (Tokenizer.IsStopWord(term))
            {
                return;
            }

            if (create)
            {
                index._scratch.Add(index.IdOf(term));
            }
            else if (index._lookup.TryGetValue(term, out var id))
            {
                index._scratch.Add(id);
            }
        }
    }

    /// <summary>A term's postings: slot and frequency interleaved in one array (one cache line for both), held inline in the term array.</summary>
    private struct Postings
    {
        public int[] Data;
        public int Count;
        public int Df;

        /// <summary>Makes room for <paramref name="more"/> postings at once.</summary>
        public void Reserve(int more)
        {
            var need = (Count + more) * 2;
            if (need > Data.Length)
            {
                Array.Resize(ref Data, Math.Max(need, Data.Length + (Data.Length / 2)));
            }
        }

        public void Add(int slot, int tf)
        {
            if ((Count * 2) + 2 > Data.Length)
            {
                Array.Resize(ref Data, Math.Max(8, Data.Length * 2));
            }

            Data[Count * 2] = slot;
            Data[(Count * 2) + 1] = tf;
            Count++;
            Df++;
        }
    }
}
