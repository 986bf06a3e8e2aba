using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>Loading rows from disk while the tenant opens, before any reader can see the collection.</summary>
internal sealed partial class CollectionState
{
    /// <summary>
    /// Adds a row read from disk while the tenant opens, before any reader can see the collection (no lock): the vector
    /// is copied into the arena; the row's terms follow through <see cref="AddLoadedPostings"/>. Returns its slot.
    /// </summary>
    public int AddLoaded(StoredRow row, ReadOnlySpan<float> vector) => AddRow(_g, row, vector);

    /// <summary>The index's id for a term of a segment's table (loading only).</summary>
    public int TermId(ReadOnlySpan<char> term) => _g.Text.TermId(term);

    /// <summary>Counts a loaded row of <paramref name="length"/> terms in the BM25 statistics (loading only).</summary>
    public void AddLoadedDocument(int slot, int length)
    {
        var g = _g;
        g.Text.AddDocument(length);
        g.Lengths[slot] = length;
    }

    /// <summary>Adds postings of loaded rows: term id, slot and frequency at the same index (loading only).</summary>
    public void AddLoadedPostings(ReadOnlySpan<int> termIds, ReadOnlySpan<int> slots, ReadOnlySpan<int> tfs) => _g.Text.AddPostings(termIds, slots, tfs);

    /// <summary>Makes room for <paramref name="rows"/> more rows at once (open), sparing the arena's repeated growth.</summary>
    public void Reserve(int rows) => _g.Reserve(rows);

    /// <summary>Ends a load: starts the background indexer when the collection is large enough.</summary>
    public void Loaded() => MaybeStartIndexer();
}
