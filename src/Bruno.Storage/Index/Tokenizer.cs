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

    /// <summary>Term frequencies of <paramref name="text"/> and its length in terms (stop words included in the length).</summary>
    public static (string Term, int Tf)[] Analyze(string text, out int length)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        var n = 0;
        ForEachTerm(text, term =>
        {
            n++;
            if (!StopLookup.Contains(term))
            {
                lookup[term] = lookup.TryGetValue(term, out var c) ? c + 1 : 1;
            }
        });
        length = n;
        var result = new (string, int)[counts.Count];
        var i = 0;
        foreach (var kv in counts)
        {
            result[i++] = (kv.Key, kv.Value);
        }

        return result;
    }

    /// <summary>Distinct query terms, stop words removed.</summary>
    public static List<string> QueryTerms(string text)
    {
        var terms = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        ForEachTerm(text, term =>
        {
            if (!StopLookup.Contains(term))
            {
                var s = term.ToString();
                if (seen.Add(s))
                {
                    terms.Add(s);
                }
            }
        });
        return terms;
    }

    private delegate void TermAction(ReadOnlySpan<char> term);

    private static void ForEachTerm(string text, TermAction action)
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
                    Put(ref buffer, ref len, ref overflow, char.ToLowerInvariant(c));
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
                if (!overflow)
                {
                    action(buffer[..len]);
                }

                len = 0;
                overflow = false;
            }

            i += Math.Max(consumed, 1);
        }

        if (len > 0 && !overflow)
        {
            action(buffer[..len]);
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
