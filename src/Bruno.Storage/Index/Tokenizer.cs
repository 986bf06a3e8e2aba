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

    /// <summary>Term frequencies of <paramref name="text"/> and its length in terms (stop words included in the length).</summary>
    public static (string Term, int Tf)[] Analyze(string text, out int length)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        length = 0;
        foreach (var term in Terms(text))
        {
            length++;
            if (!StopWords.Contains(term))
            {
                counts[term] = counts.GetValueOrDefault(term) + 1;
            }
        }

        var result = new (string, int)[counts.Count];
        var i = 0;
        foreach (var kv in counts)
        {
            result[i++] = (kv.Key, kv.Value);
        }

        return result;
    }

    /// <summary>Distinct query terms, stop words removed.</summary>
    public static List<string> QueryTerms(string text) =>
        [.. Terms(text).Where(t => !StopWords.Contains(t)).Distinct(StringComparer.Ordinal)];

    private static IEnumerable<string> Terms(string text)
    {
        var sb = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                if (sb.Length < MaxTermLength + 2)
                {
                    sb.Append(Rune.ToLowerInvariant(rune).ToString());
                }
            }
            else if (sb.Length > 0)
            {
                if (sb.Length <= MaxTermLength)
                {
                    yield return sb.ToString();
                }

                sb.Clear();
            }
        }

        if (sb.Length is > 0 and <= MaxTermLength)
        {
            yield return sb.ToString();
        }
    }
}
