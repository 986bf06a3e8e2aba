using System.Buffers;
using System.Text;
using Bruno.Storage.Format;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>
/// One loaded segment's term block: its header (version, row count) followed by its term section (the term table, then
/// per row its length and its (term index, frequency) pairs), and the slots its rows took.
/// </summary>
internal sealed record TermBlock(byte[] Block, int[] Slots)
{
    /// <summary>Where the term section starts in <see cref="Block"/>: after the segment header (u8 version, u32 rows).</summary>
    public const int TermsAt = 5;
}

/// <summary>
/// The term blocks of the rows a tenant's open loaded, kept until the BM25 index of that generation is built from them
/// (decision 0046). A text search arriving meanwhile reads the blocks for its own terms instead of waiting for the whole
/// index: the statistics and postings of a handful of terms come from one pass over the blocks, without mapping every
/// term of every segment to an index id. The scores are those the built index gives, bit for bit: the same rows, counts
/// and lengths, summed through <see cref="InvertedIndex.Contribution"/> in the query's term order. Immutable; safe to
/// read from any number of threads. Throws <see cref="StorageFormatException"/> for a malformed block, as the builder does.
/// </summary>
internal sealed class LoadedTerms(TermBlock[] blocks)
{
    /// <summary>
    /// One pass over the blocks: the row count, the total length and the postings of each distinct query term, from which
    /// <see cref="Found.Score"/> and <see cref="Found.Describe"/> answer as the built index would.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // run rarely, right after opens: never at tier 0
    public Found Find(List<string> queryTerms)
    {
        var distinct = queryTerms.Distinct(StringComparer.Ordinal).ToList();
        var postings = distinct.Select(_ => new List<(int Slot, int Tf, int Length)>()).ToArray();

        // A table's term is decoded as the index builder decodes it and looked up among the query's few terms.
        var wanted = new Dictionary<string, int>(distinct.Count, StringComparer.Ordinal);
        for (var q = 0; q < distinct.Count; q++)
        {
            wanted[distinct[q]] = q;
        }

        var lookup = wanted.GetAlternateLookup<ReadOnlySpan<char>>();

        // Most of a table's terms are none of the query's: a 4,096-bit filter on the length and four bytes of the query
        // terms' UTF-8 turns nearly all of them away before they are decoded and looked up.
        var filter = new ulong[64];
        foreach (var term in distinct)
        {
            var key = FilterKey(Encoding.UTF8.GetBytes(term));
            filter[key >> 6] |= 1UL << (key & 63);
        }

        var chars = new char[4 * Tokenizer.MaxTermLength];
        long totalLength = 0;
        var docs = 0;
        var local = new List<int>();
        foreach (var block in blocks)
        {
            var reader = new SegmentReader(block.Block, TermBlock.TermsAt);
            local.Clear();
            while (reader.NextTerm(out var term))
            {
                if (term.Length > chars.Length)
                {
                    throw new StorageFormatException("A segment holds an over-long term.");
                }

                var key = FilterKey(term);
                if ((filter[key >> 6] & (1UL << (key & 63))) == 0)
                {
                    local.Add(-1);
                    continue;
                }

                var n = Ascii.ToUtf16(term, chars, out var written) == OperationStatus.Done ? written : Encoding.UTF8.GetChars(term, chars);
                local.Add(lookup.TryGetValue(chars.AsSpan(0, n), out var q) ? q : -1);
            }

            foreach (var slot in block.Slots)
            {
                var length = reader.NextNumber();
                totalLength += length;
                docs++;
                var n = reader.NextNumber();
                for (var j = 0; j < n; j++)
                {
                    var index = reader.NextNumber();
                    var tf = reader.NextNumber();
                    var q = index < local.Count ? local[index] : throw new StorageFormatException("A segment names a term it does not hold.");
                    if (q >= 0)
                    {
                        postings[q].Add((slot, tf, length));
                    }
                }
            }

            reader.End();
        }

        return new Found(distinct, postings, totalLength, docs);
    }

    /// <summary>
    /// A 12-bit key of a term's UTF-8 bytes (its length and its first, second, middle and last bytes): two equal terms have equal
    /// keys; the filter needs nothing more. A table whose bytes are not valid UTF-8 (altered) only passes the filter more.
    /// </summary>
    private static int FilterKey(ReadOnlySpan<byte> term)
    {
        if (term.IsEmpty)
        {
            return 0;
        }

        var h = (uint)term.Length;
        h = (h * 31) + term[0];
        h = (h * 31) + term[^1];
        h = (h * 31) + term[term.Length / 2];
        h = (h * 31) + term[Math.Min(1, term.Length - 1)];
        return (int)((h * 2654435761u) >> 20);
    }

    /// <summary>What <see cref="Find"/> read: per distinct query term, the (slot, frequency, row length) of each row holding it.</summary>
    public sealed class Found(List<string> distinct, List<(int Slot, int Tf, int Length)>[] postings, long totalLength, int docs)
    {
        /// <summary>Adds every slot's BM25 score for <paramref name="queryTerms"/> into <paramref name="scores"/>, as <see cref="InvertedIndex.Score"/> does.</summary>
        public void Score(List<string> queryTerms, float[] scores, int slots)
        {
            if (docs == 0)
            {
                return;
            }

            var averageLength = InvertedIndex.AverageLength(totalLength, docs);
            foreach (var term in queryTerms)
            {
                var holding = postings[distinct.IndexOf(term)];
                if (holding.Count == 0)
                {
                    continue;
                }

                var idf = InvertedIndex.Idf(docs, holding.Count);
                foreach (var (slot, tf, length) in holding)
                {
                    if (slot < slots)
                    {
                        scores[slot] += InvertedIndex.Contribution(idf, tf, length, averageLength);
                    }
                }
            }
        }

        /// <summary>Records the statistics for <paramref name="queryTerms"/>, as <see cref="InvertedIndex.Describe"/> does.</summary>
        public void Describe(List<string> queryTerms, TermStatistics statistics)
        {
            statistics.Rows = docs;
            statistics.AverageLength = docs == 0 ? 0 : (double)totalLength / docs;
            foreach (var term in queryTerms)
            {
                statistics.DocumentFrequency[term] = postings[distinct.IndexOf(term)].Count;
            }
        }
    }
}
