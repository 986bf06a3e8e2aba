namespace Bruno.Core.Documents;

/// <summary>
/// Splits running text into sentences: at '.', '!' or '?' followed by a space and a capital letter, digit, quote or
/// bracket, except after common abbreviations (e.g., i.e., etc.) and initials. Never throws; text without such a
/// boundary is one sentence.
/// </summary>
public static class Sentences
{
    private static readonly HashSet<string> Abbreviations = new(StringComparer.OrdinalIgnoreCase)
    {
        "e.g", "i.e", "etc", "vs", "cf", "mr", "mrs", "ms", "dr", "prof", "fig", "no", "vol", "approx", "inc", "ltd", "st", "jr", "sr", "al", "resp", "ca", "ch", "sec", "eq",
    };

    /// <summary>The sentences of <paramref name="text"/>, trimmed, in order.</summary>
    public static List<string> Split(string text)
    {
        var result = new List<string>();
        if (string.IsNullOrWhiteSpace(text))
        {
            return result;
        }

        var start = 0;
        for (var i = 0; i < text.Length - 1; i++)
        {
            var c = text[i];
            if (c is not ('.' or '!' or '?') || !char.IsWhiteSpace(text[i + 1]))
            {
                continue;
            }

            var j = i + 1;
            while (j < text.Length && char.IsWhiteSpace(text[j]))
            {
                j++;
            }

            if (j >= text.Length || !(char.IsUpper(text[j]) || char.IsDigit(text[j]) || text[j] is '"' or '\'' or '(' or '[' or '`' or '“' or '‘'))
            {
                continue;
            }

            if (c == '.' && IsAbbreviation(text, start, i))
            {
                continue;
            }

            var sentence = text[start..(i + 1)].Trim();
            if (sentence.Length > 0)
            {
                result.Add(sentence);
            }

            start = j;
        }

        var last = text[start..].Trim();
        if (last.Length > 0)
        {
            result.Add(last);
        }

        return result;
    }

    /// <summary>Whether the '.' at <paramref name="dot"/> ends an abbreviation or an initial rather than a sentence.</summary>
    private static bool IsAbbreviation(string text, int start, int dot)
    {
        var w = dot;
        while (w > start && !char.IsWhiteSpace(text[w - 1]) && text[w - 1] != '(')
        {
            w--;
        }

        var word = text[w..dot];
        return (word.Length == 1 && char.IsUpper(word[0])) || Abbreviations.Contains(word);
    }
}
