namespace Bruno.Core.Retrieval;

/// <summary>
/// Words as relevance sees them: runs of letters and digits, lower-cased, each with a light English stem (plurals,
/// -ing, -ed, -ly and common derivational endings removed) so that "copying" meets "copy" and "configuration" meets
/// "configure". Question words, pronouns and auxiliary verbs ("how do I", "can you") are not content. Never throws.
/// </summary>
public static class Lexicon
{
    private static readonly HashSet<string> NotContent = new(StringComparer.Ordinal)
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "in", "is", "it", "its", "of", "on", "or", "that", "the", "to", "was",
        "were", "will", "with", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "yours", "he", "she", "they", "them", "their", "how", "what",
        "which", "who", "whom", "whose", "why", "when", "where", "do", "does", "did", "doing", "done", "can", "could", "should", "would", "shall",
        "may", "might", "must", "am", "been", "being", "have", "had", "having", "there", "here", "this", "these", "those", "if", "then", "so", "but",
        "about", "into", "onto", "than", "any", "some", "way", "ways", "want", "wants", "wanted", "need", "needs", "needed", "trying", "try", "tried",
        "please", "possible", "thing", "things", "just", "also", "really", "actually", "tell", "know", "let", "lets", "something", "anything", "else",
        "not", "no", "yes", "one", "ok", "okay", "hi", "hello", "thanks", "s", "t", "d", "ll", "ve", "re", "m", "don", "doesn", "isn", "aren", "can't",
        "all", "each", "every", "own", "same", "such", "only", "very", "too", "more", "most", "other", "there's", "it's", "via", "etc", "eg", "ie",
    };

    /// <summary>Whether <paramref name="term"/> (lower case) carries no content in a question.</summary>
    public static bool IsFunctionWord(string term) => NotContent.Contains(term);

    /// <summary>The lower-cased words of <paramref name="text"/>, in order (function words included).</summary>
    public static List<string> Words(string text)
    {
        var words = new List<string>();
        if (string.IsNullOrEmpty(text))
        {
            return words;
        }

        Span<char> buffer = stackalloc char[40];
        var length = 0;
        foreach (var c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                if (length < buffer.Length)
                {
                    buffer[length++] = char.ToLowerInvariant(c);
                }

                continue;
            }

            if (length > 0)
            {
                words.Add(new string(buffer[..length]));
                length = 0;
            }
        }

        if (length > 0)
        {
            words.Add(new string(buffer[..length]));
        }

        return words;
    }

    /// <summary>The stems of <paramref name="text"/>'s words, in order.</summary>
    public static List<string> Stems(string text)
    {
        var words = Words(text);
        for (var i = 0; i < words.Count; i++)
        {
            words[i] = Stem(words[i]);
        }

        return words;
    }

    /// <summary>A light stem of a lower-case word; words of three letters or fewer, and numbers, stay as they are.</summary>
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Length <= 3 || !char.IsLetter(word[0]) || !word.All(char.IsAsciiLetterLower))
        {
            return word;
        }

        var w = word;
        // plurals
        if (w.EndsWith("sses", StringComparison.Ordinal))
        {
            w = w[..^2];
        }
        else if (w.EndsWith("ies", StringComparison.Ordinal) && w.Length > 4)
        {
            w = w[..^3] + "y";
        }
        else if (w.EndsWith('s') && !w.EndsWith("ss", StringComparison.Ordinal) && !w.EndsWith("us", StringComparison.Ordinal) && !w.EndsWith("is", StringComparison.Ordinal) && w.Length > 3)
        {
            w = w[..^1];
        }

        // -ed, -ing
        if (w.EndsWith("ied", StringComparison.Ordinal) && w.Length > 4)
        {
            w = w[..^3] + "y";
        }
        else if (w.EndsWith("eed", StringComparison.Ordinal))
        {
            w = w[..^1];
        }
        else if ((w.EndsWith("ed", StringComparison.Ordinal) && HasVowel(w[..^2]) && w.Length > 4) || (w.EndsWith("ing", StringComparison.Ordinal) && HasVowel(w[..^3]) && w.Length > 5))
        {
            w = w.EndsWith("ed", StringComparison.Ordinal) ? w[..^2] : w[..^3];
            if (w.Length > 2 && w[^1] == w[^2] && w[^1] is not ('l' or 's' or 'z') && !IsVowel(w[^1]))
            {
                w = w[..^1]; // running -> run
            }
            else if (w.EndsWith("at", StringComparison.Ordinal) || w.EndsWith("bl", StringComparison.Ordinal) || w.EndsWith("iz", StringComparison.Ordinal))
            {
                w += "e"; // created -> create, like creation
            }
        }

        // derivational endings
        foreach (var (suffix, replacement) in Suffixes)
        {
            if (w.EndsWith(suffix, StringComparison.Ordinal) && w.Length - suffix.Length >= 3)
            {
                w = w[..^suffix.Length] + replacement;
                break;
            }
        }

        if (w.EndsWith("ly", StringComparison.Ordinal) && w.Length > 5)
        {
            w = w[..^2];
        }

        // final -e and -ate: "create", "creation" and "created" meet at "cre"; "configure" and "configuration" at "configur"
        if (w.EndsWith("ate", StringComparison.Ordinal) && w.Length > 5)
        {
            w = w[..^3];
        }
        else if (w.EndsWith('e') && w.Length > 4)
        {
            w = w[..^1];
        }

        if (w.EndsWith('y') && w.Length > 4 && !IsVowel(w[^2]))
        {
            w = w[..^1] + "i";
        }

        return w.Length >= 3 ? w : word;
    }

    private static readonly (string Suffix, string Replacement)[] Suffixes =
    [
        ("izations", "ize"), ("ization", "ize"), ("isation", "ize"), ("ational", "ate"), ("fulness", "ful"), ("ousness", "ous"),
        ("ations", "ate"), ("ation", "ate"), ("ition", "it"), ("ement", string.Empty), ("ments", string.Empty), ("ment", string.Empty),
        ("ality", "al"), ("ivity", "ive"), ("ility", "il"), ("ible", string.Empty), ("able", string.Empty), ("ness", string.Empty),
        ("ional", "ion"), ("sion", "s"), ("tion", "t"), ("izer", "ize"), ("iser", "ize"), ("ise", "ize"), ("ator", "ate"),
        ("ism", string.Empty), ("ist", string.Empty), ("ous", string.Empty), ("ful", string.Empty), ("er", string.Empty),
    ];

    private static bool IsVowel(char c) => c is 'a' or 'e' or 'i' or 'o' or 'u';

    private static bool HasVowel(string s)
    {
        foreach (var c in s)
        {
            if (IsVowel(c) || c == 'y')
            {
                return true;
            }
        }

        return false;
    }
}
