using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Bruno.Core.Memory;

/// <summary>A fact as extracted from what a user said: subject, predicate, object and how sure the pattern is.</summary>
public sealed record ExtractedFact(string Subject, string Predicate, string Object, double Confidence)
{
    /// <summary>The fact as one sentence.</summary>
    public string Text => $"{Subject} {Predicate} {Object}";
}

/// <summary>A preference a user stated: its kind (<c>style</c> or <c>format</c>) and value.</summary>
public sealed record ExtractedPreference(string Kind, string Value);

/// <summary>
/// Finds facts and preferences in what a user wrote, with fixed patterns (the original agent's: "X is Y" at confidence
/// 0.7, "X uses Y" at 0.8). Only statements count: questions state nothing. Patterns run on the non-backtracking regex
/// engine, so no input makes them slow. Never throws for any text.
/// </summary>
public static partial class MemoryExtraction
{
    /// <summary>Longest subject and object kept, in characters.</summary>
    public const int MaxPart = 200;

    /// <summary>The facts stated in <paramref name="text"/>, one per matching sentence, in order.</summary>
    public static IReadOnlyList<ExtractedFact> Facts(string? text)
    {
        var facts = new List<ExtractedFact>();
        foreach (var sentence in Sentences(text, questions: false))
        {
            // "the billing service uses Postgres", "my locker code is 4471": a subject of one to six words, then the
            // first of the verbs; the object is the rest of the sentence.
            var words = sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var at = words.Length < 3 ? -1 : Array.FindIndex(words, 1, Math.Min(6, words.Length - 2), w => Verbs.Contains(w));
            if (at < 1 || words[..at].Any(w => !w.All(c => char.IsLetterOrDigit(c) || c is '\'' or '-')))
            {
                continue;
            }

            var subject = Normalize(string.Join(' ', words[..at]));
            var verb = words[at].ToLowerInvariant();
            var obj = Normalize(string.Join(' ', words[(at + 1)..]));
            if (subject.Length is 0 or > MaxPart || obj.Length is 0 or > MaxPart || QuestionWords.Contains(subject.Split(' ')[0]))
            {
                continue;
            }

            var uses = verb is "use" or "uses";
            facts.Add(new ExtractedFact(subject, uses ? "uses" : "is", obj, uses ? 0.8 : 0.7));
        }

        return facts;
    }

    /// <summary>The preferences stated in <paramref name="text"/> ("please keep answers short", "I prefer bullet points").</summary>
    public static IReadOnlyList<ExtractedPreference> Preferences(string? text)
    {
        var found = new List<ExtractedPreference>();
        foreach (var sentence in Sentences(text, questions: true))
        {
            var lower = sentence.ToLowerInvariant();
            if (!PreferenceCue().IsMatch(lower))
            {
                continue;
            }

            foreach (var (kind, value, pattern) in PreferenceWords)
            {
                if (pattern.IsMatch(lower) && !found.Contains(new ExtractedPreference(kind, value)))
                {
                    found.Add(new ExtractedPreference(kind, value));
                }
            }
        }

        return found;
    }

    /// <summary>
    /// A stable id for one user's memory with the given identity (a fact's subject, predicate and object; a
    /// preference's kind and value): the same statement made twice by the same user lands on the same row.
    /// </summary>
    public static string StableId(string prefix, Storage.Identity.UserId user, params string[] parts)
    {
        var joined = user.Value + "\u001f" + string.Join('\u001f', parts.Select(Normalize));
        return prefix + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(joined)).AsSpan(0, 16));
    }

    /// <summary>Lower case, single spaces, no surrounding punctuation.</summary>
    public static string Normalize(string text) =>
        Spaces().Replace(text.ToLower(CultureInfo.InvariantCulture), " ").Trim(' ', '.', ',', ';', ':', '!', '"', '\'');

    private static IEnumerable<string> Sentences(string? text, bool questions)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            yield break;
        }

        // Questions end with '?': facts skip them, so "Is X Y?" never becomes a fact; a preference may come with a question.
        var span = text.Length > 20_000 ? text[..20_000] : text;
        var start = 0;
        for (var i = 0; i <= span.Length; i++)
        {
            var end = i == span.Length || span[i] == '\n' || (i > 0 && span[i - 1] is '.' or '!' or '?' && char.IsWhiteSpace(span[i]));
            if (!end)
            {
                continue;
            }

            var s = span[start..i].Trim();
            start = i + (i < span.Length ? 1 : 0);
            if (s.Length is > 0 and <= 600 && (questions || !s.EndsWith('?')))
            {
                yield return s.TrimEnd('.', '!');
            }
        }
    }

    private static readonly HashSet<string> Verbs = new(StringComparer.OrdinalIgnoreCase) { "is", "are", "uses", "use" };

    private static readonly HashSet<string> QuestionWords = new(StringComparer.Ordinal) { "what", "who", "why", "how", "when", "where", "which", "is", "are", "does", "do", "can", "could", "would", "should", "if", "it", "this", "that", "there", "here" };

    private static readonly (string Kind, string Value, Regex Pattern)[] PreferenceWords =
    [
        ("style", "concise", Word("short|brief|concise|shorter|briefer")),
        ("style", "detailed", Word("detailed|in depth|in-depth|thorough|longer")),
        ("style", "simple", Word("simple terms|plain language|plain english|simply|non-technical")),
        ("style", "formal", Word("formal")),
        ("format", "bullet points", Word("bullet points|bullets|bulleted")),
        ("format", "table", Word("a table|tables")),
        ("format", "steps", Word("step by step|step-by-step|numbered steps")),
        ("format", "code examples", Word("code examples|code samples|with code")),
    ];

    private static Regex Word(string alternatives) =>
        new($@"\b(?:{alternatives})\b", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);

    [GeneratedRegex(@"\b(?:i prefer|i'd prefer|i would prefer|i like|i want|i'd like|please|keep (?:it|them|answers|responses|replies)|answer (?:in|with)|give me|always|from now on)\b", RegexOptions.NonBacktracking | RegexOptions.CultureInvariant)]
    private static partial Regex PreferenceCue();

    [GeneratedRegex(@"\s+", RegexOptions.NonBacktracking)]
    private static partial Regex Spaces();
}
