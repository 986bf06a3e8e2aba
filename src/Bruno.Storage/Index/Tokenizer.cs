using System.Text;

namespace Bruno.Storage.Index;

/// <summary>Splits text into lower-case terms for BM25: runs of letters and digits, 1-40 characters, minus a few English stop words.</summary>
internal static class Tokenizer
{
    public const int MaxTermLength = 40;

    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its",
        "of", "on", "or", "that", "the", "to", "was", "were", "will", "with",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> StopLookup = StopWords.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Terms interned per thread (value: is a stop word); bounded, cleared when full.</summary>
    [ThreadStatic]
    private static Dictionary<string, bool>? _interned;

    [ThreadStatic]
    private static List<(string Term, int Tf)>? _counts;

    /// <summary>Receives the terms of a text, one at a time; the span is valid only during the call.</summary>
    public interface ISink
    {
        void Term(ReadOnlySpan<char> term);
    }

    public static bool IsStopWord(ReadOnlySpan<char> term) => StopLookup.Contains(term);

    /// <summary>
    /// Term frequencies of <paramref name="text"/> and its length in terms (stop words included in the length). Term
    /// strings are interned per thread, so analysing a text allocates little beyond the returned array.
    /// </summary>
    public static (string Term, int Tf)[] Analyze(string text, out int length)
    {
        var interned = _interned ??= NewInternTable();
        if (interned.Count > 100_000)
        {
            interned.Clear();
            foreach (var w in StopWords)
            {
                interned[w] = true;
            }
        }

        var counts = _counts ??= [];
        counts.Clear();
        var sink = new CountingSink(interned.GetAlternateLookup<ReadOnlySpan<char>>(), counts);
        ForEachTerm(text, ref sink);
        length = sink.Length;
        return [.. counts];
    }

    /// <summary>Distinct query terms, stop words removed.</summary>
    public static List<string> QueryTerms(string text) => [.. Analyze(text, out _).Select(t => t.Term)];

    /// <summary>Splits <paramref name="text"/> into lower-case terms and hands each to <paramref name="sink"/>, allocating nothing.</summary>
    public static void ForEachTerm<TSink>(string text, ref TSink sink)
        where TSink : struct, ISink
    {
        Span<char> buffer = stackalloc char[MaxTermLength + 2];
        Span<char> two = stackalloc char[2];
        var len = 0;
        var overflow = false;
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (c < 0x80)
            {
                // ASCII, the common case: lower-case letters and digits extend the term, anything else ends it.
                i++;
                if (char.IsAsciiLetterOrDigit(c))
                {
                    if (len < MaxTermLength)
                    {
                        buffer[len++] = char.IsAsciiLetterUpper(c) ? (char)(c | 0x20) : c;
                    }
                    else
                    {
                        overflow = true;
                    }

                    continue;
                }
            }
            else
            {
                var status = Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var consumed);
                i += Math.Max(consumed, 1);
                if (status == System.Buffers.OperationStatus.Done && Rune.IsLetterOrDigit(rune))
                {
                    var written = Rune.ToLowerInvariant(rune).EncodeToUtf16(two);
                    for (var k = 0; k < written; k++)
                    {
                        if (len < MaxTermLength)
                        {
                            buffer[len++] = two[k];
                        }
                        else
                        {
                            overflow = true;
                        }
                    }

                    continue;
                }
            }

            if (len > 0)
            {
                if (!overflow)
                {
                    sink.Term(buffer[..len]);
                }

                len = 0;
                overflow = false;
            }
        }

        if (len > 0 && !overflow)
        {
            sink.Term(buffer[..len]);
        }
    }

    private static Dictionary<string, bool> NewInternTable()
    {
        var table = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var w in StopWords)
        {
            table[w] = true;
        }

        return table;
    }

    /// <summary>Counts terms of one text: interned strings compared by reference in a short list (a text has few distinct terms).</summary>
    private struct CountingSink(Dictionary<string, bool>.AlternateLookup<ReadOnlySpan<char>> interned, List<(string Term, int Tf)> counts) : ISink
    {
        public int Length { get; private set; }

        public void Term(ReadOnlySpan<char> term)
        {
            Length++;
            if (!interned.TryGetValue(term, out var known, out var stop))
            {
                (known, stop) = (term.ToString(), false);
                interned.Dictionary[known] = false;
            }

            if (stop)
            {
                return;
            }

            var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(counts);
            for (var k = 0; k < span.Length; k++)
            {
                if (ReferenceEquals(span[k].Term, known))
                {
                    span[k].Tf++;
                    return;
                }
            }

            counts.Add((known, 1));
        }
    }
}
