namespace Bruno.Storage.Index;

/// <summary>
/// BM25 over slots. Document frequencies and lengths are decremented the moment a row is removed, and postings of dead
/// slots are skipped by the caller's accept test, so a deleted row never scores and never skews statistics.
/// Postings of dead slots are dropped when the collection compacts. Not thread-safe: the owner locks.
/// </summary>
internal sealed class InvertedIndex
{
    private const float K1 = 1.2f;
    private const float B = 0.75f;
    private readonly Dictionary<string, Postings> _terms = new(StringComparer.Ordinal);
    private long _totalLength;
    private int _docs;

    public void Add(int slot, (string Term, int Tf)[] terms, int length)
    {
        foreach (var (term, tf) in terms)
        {
            if (!_terms.TryGetValue(term, out var p))
            {
                _terms[term] = p = new Postings();
            }

            p.Slots.Add(slot);
            p.Tfs.Add(tf);
            p.Df++;
        }

        _totalLength += length;
        _docs++;
    }

    public void Remove((string Term, int Tf)[] terms, int length)
    {
        foreach (var (term, _) in terms)
        {
            if (_terms.TryGetValue(term, out var p))
            {
                p.Df--;
            }
        }

        _totalLength -= length;
        _docs--;
    }

    /// <summary>Scores every accepted slot containing a query term; returns the best <paramref name="k"/>, best first.</summary>
    public List<(int Slot, float Score)> Search(List<string> queryTerms, Func<int, bool> accept, Func<int, int> docLength, int k)
    {
        var scores = new Dictionary<int, float>();
        if (_docs == 0)
        {
            return [];
        }

        var avgdl = Math.Max(1f, (float)_totalLength / _docs);
        foreach (var term in queryTerms)
        {
            if (!_terms.TryGetValue(term, out var p) || p.Df <= 0)
            {
                continue;
            }

            var idf = MathF.Log(1 + ((_docs - p.Df + 0.5f) / (p.Df + 0.5f)));
            for (var i = 0; i < p.Slots.Count; i++)
            {
                var slot = p.Slots[i];
                if (!accept(slot))
                {
                    continue;
                }

                float tf = p.Tfs[i];
                var norm = K1 * (1 - B + (B * docLength(slot) / avgdl));
                scores[slot] = scores.GetValueOrDefault(slot) + (idf * tf * (K1 + 1) / (tf + norm));
            }
        }

        var top = new TopK(k);
        foreach (var (slot, score) in scores)
        {
            top.Offer(slot, score);
        }

        return top.Drain();
    }

    private sealed class Postings
    {
        public List<int> Slots { get; } = [];

        public List<int> Tfs { get; } = [];

        public int Df { get; set; }
    }
}
