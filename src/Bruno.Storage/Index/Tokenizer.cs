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

    /// <summary>Receives the terms of a text, one at a time; the span is valid only during the call.</summary>
    public interface ISink
    {
        void Term(ReadOnlySpan<char> term, bool stopWord);
    }

    /// <summary>Term frequencies of <paramref name="text"/> and its length in terms (stop words included in the length).</summary>
    public static (string Term, int Tf)[] Analyze(string text, out int length)
    {
        var sink = new CountingSink(new Dictionary<string, int>(StringComparer.Ordinal));
        ForEachTerm(text, ref sink);
        length = sink.Length;
        var result = new (string, int)[sink.Counts.Count];
        var i = 0;
        foreach (var kv in sink.Counts)
        {
            result[i++] = (kv.Key, kv.Value);
        }

        return result;
    }

    /// <summary>Distinct query terms, stop words removed.</summary>
    public static List<string> QueryTerms(string text)
    {
        var sink = new CountingSink(new Dictionary<string, int>(StringComparer.Ordinal));
        ForEachTerm(text, ref sink);
        return [.. sink.Counts.Keys];
    }

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
            int consumed;
            bool letterOrDigit;
            if (char.IsAscii(c))
            {
                consumed = 1;
                letterOrDigit = char.IsAsciiLetterOrDigit(c);
                if (letterOrDigit)
                {
                    Put(ref buffer, ref len, ref overflow, (char)(c | (char.IsAsciiLetterUpper(c) ? 0x20 : 0)));
                }
            }
            else
            {
                var status = Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out consumed);
                letterOrDigit = status == System.Buffers.OperationStatus.Done && Rune.IsLetterOrDigit(rune);
                if (letterOrDigit)
                {
                    var written = Rune.ToLowerInvariant(rune).EncodeToUtf16(two);
                    for (var k = 0; k < written; k++)
                    {
                        Put(ref buffer, ref len, ref overflow, two[k]);
                    }
                }
            }

            if (!letterOrDigit && len > 0)
            {
                Emit(ref sink, buffer[..len], overflow);
                len = 0;
                overflow = false;
            }

            i += Math.Max(consumed, 1);
        }

        if (len > 0)
        {
            Emit(ref sink, buffer[..len], overflow);
        }
    }

    private static void Emit<TSink>(ref TSink sink, ReadOnlySpan<char> term, bool overflow)
        where TSink : struct, ISink
    {
        if (!overflow)
        {
            sink.Term(term, StopLookup.Contains(term));
        }
    }

    private struct CountingSink(Dictionary<string, int> counts) : ISink
    {
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();

        public readonly Dictionary<string, int> Counts => counts;

        public int Length { get; private set; }

        public void Term(ReadOnlySpan<char> term, bool stopWord)
        {
            Length++;
            if (!stopWord)
            {
                _lookup[term] = _lookup.TryGetValue(term, out var c) ? c + 1 : 1;
            }
        }
    }

    private static void Put(ref Span<char> buffer, ref int len, ref bool overflow, char c)
    {
        if (len >= MaxTermLength)
        {
            overflow = true;
            return;
        }

        buffer[len++] = c;
    }
}
