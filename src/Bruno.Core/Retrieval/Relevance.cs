using System.Numerics.Tensors;
using Bruno.Storage.Model;

namespace Bruno.Core.Retrieval;

/// <summary>
/// A question as relevance sees it: its content stems (function words dropped) each weighed by how rare the word is in
/// the tenant's knowledge (BM25's inverse document frequency), the pairs of consecutive content stems (for phrase
/// matches), and whether it asks for a command or code.
/// </summary>
public sealed class QueryProfile
{
    private QueryProfile(string text, List<string> stems, Dictionary<string, double> weight, List<(string, string)> bigrams, bool asksForCode, double absent)
    {
        Absent = absent;
        Text = text;
        Stems = stems;
        Weight = weight;
        TotalWeight = weight.Values.Sum();
        Bigrams = bigrams;
        AsksForCode = asksForCode;
    }

    /// <summary>The question.</summary>
    public string Text { get; }

    /// <summary>Distinct content stems, in the question's order.</summary>
    public IReadOnlyList<string> Stems { get; }

    /// <summary>Each content stem's weight (its rarest word's inverse document frequency).</summary>
    public IReadOnlyDictionary<string, double> Weight { get; }

    /// <summary>The sum of the weights (0 for a question without content words).</summary>
    public double TotalWeight { get; }

    /// <summary>Consecutive content stems of the question.</summary>
    public IReadOnlyList<(string First, string Second)> Bigrams { get; }

    /// <summary>Whether the question asks for a command, code or an example (then code blocks may be quoted whole).</summary>
    public bool AsksForCode { get; }

    /// <summary>The weighted share of the question's content words that no row of the collection holds (0-1), discounted for small collections.</summary>
    public double Absent { get; }

    /// <summary>The profile of <paramref name="question"/> with rarity from <paramref name="statistics"/> (uniform weights when null).</summary>
    public static QueryProfile Build(string question, TermStatistics? statistics)
    {
        ArgumentNullException.ThrowIfNull(question);
        var words = Lexicon.Words(question);
        var stems = new List<string>();
        var weight = new Dictionary<string, double>(StringComparer.Ordinal);
        var sequence = new List<string>();
        var absent = new HashSet<string>(StringComparer.Ordinal);
        foreach (var word in words)
        {
            if (Lexicon.IsFunctionWord(word))
            {
                continue;
            }

            var stem = Lexicon.Stem(word);
            sequence.Add(stem);
            var w = Rarity(word, statistics);
            if (statistics is { Rows: > 0 } && statistics.DocumentFrequency.TryGetValue(word, out var df) && df == 0)
            {
                absent.Add(stem);
            }
            if (weight.TryGetValue(stem, out var old))
            {
                weight[stem] = Math.Max(old, w);
            }
            else
            {
                weight[stem] = w;
                stems.Add(stem);
            }
        }

        var bigrams = new List<(string, string)>();
        for (var i = 1; i < sequence.Count; i++)
        {
            if (sequence[i - 1] != sequence[i])
            {
                bigrams.Add((sequence[i - 1], sequence[i]));
            }
        }

        // asking for a command, code or an example; or asking how to do something, which a command often answers
        var asksForCode = words.Any(w => w is "command" or "commands" or "code" or "snippet" or "example" or "examples" or "syntax" or "cli" or "script" or "invoke" or "usage" or "type" or "run" or "flag" or "flags")
            || question.Contains('`', StringComparison.Ordinal)
            || (words.Count > 2 && words[0] == "how" && (words[1] is "to" || (words[1] is "do" or "can" or "should" or "would" && words[2] is "i" or "we" or "you")));
        var total = weight.Values.Sum();
        // a word missing from a handful of documents says little; missing from thousands, that they are about something else
        var evidence = statistics is null ? 0 : Math.Min(1, Math.Log10(1 + statistics.Rows) / 4);
        var missing = total <= 0 ? 0 : evidence * absent.Where(weight.ContainsKey).Sum(t => weight[t]) / total;
        return new QueryProfile(question, stems, weight, bigrams, asksForCode, missing);
    }

    /// <summary>Pseudo-rows mixed into the statistics, and the share of them that holds any word (see <see cref="Rarity"/>).</summary>
    private const double PriorRows = 1_000, PriorShare = 0.02;

    /// <summary>
    /// How rare a word is, as BM25's inverse document frequency over the collection mixed with a prior of
    /// <see cref="PriorRows"/> rows that each hold the word with probability <see cref="PriorShare"/>: in a collection of a
    /// few documents every word weighs about the same (a word missing from three paragraphs is not rare for it), and in a
    /// large one the collection's own counts decide.
    /// </summary>
    public static double Rarity(string word, TermStatistics? statistics)
    {
        if (statistics is null)
        {
            return 1.0;
        }

        var rows = statistics.Rows + PriorRows;
        var df = statistics.DocumentFrequency.GetValueOrDefault(word) + (PriorRows * PriorShare);
        return Math.Log(1 + ((rows - df + 0.5) / (df + 0.5)));
    }

    /// <summary>The weighted share of the question's content stems found in <paramref name="stems"/> (0-1).</summary>
    public double Coverage(IReadOnlySet<string> stems)
    {
        if (TotalWeight <= 0)
        {
            return 0;
        }

        var found = 0.0;
        foreach (var (stem, w) in Weight)
        {
            if (stems.Contains(stem))
            {
                found += w;
            }
        }

        return found / TotalWeight;
    }
}

/// <summary>
/// What the re-ranker knows of a passage, each in [0, 1] except <see cref="Dense"/> (cosine, -1 to 1): dense similarity
/// to the question; the weighted share of the question's content found in the passage (<see cref="Lexical"/>), in a
/// BM25-saturated form (<see cref="Bm25"/>), in its document's title and its section's headings, within one window
/// of twelve words (<see cref="Proximity"/>); the share of the question's word pairs found as a phrase; how strongly
/// the two first-stage lists agreed on it (<see cref="Fusion"/>); and how much of it is code.
/// </summary>
public sealed record PassageFeatures(double Dense, double Lexical, double Bm25, double Title, double Heading, double Proximity, double Phrase, double Fusion, double Code)
{
    /// <summary>The dense similarity of the question to the passage's whole document (the mean of its chunks).</summary>
    public double DocumentDense { get; init; }

    /// <summary>The share of the candidates that come from the passage's document (a page that answers tends to match in several places).</summary>
    public double Siblings { get; init; }

    /// <summary>The features in the model's order.</summary>
    public double[] Vector() => [Dense, Lexical, Bm25, Title, Heading, Proximity, Phrase, Fusion, Code, DocumentDense, Siblings];

    /// <summary>Names, in <see cref="Vector"/>'s order.</summary>
    public static readonly string[] Names = ["dense", "lexical", "bm25", "title", "heading", "proximity", "phrase", "fusion", "code", "document_dense", "siblings"];

    /// <summary>The features of a passage for <paramref name="query"/>.</summary>
    public static PassageFeatures Of(QueryProfile query, ReadOnlySpan<float> queryVector, ReadOnlySpan<float> passageVector, PassageText passage, double fusion, double averageLength)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(passage);
        var dense = passageVector.Length == queryVector.Length && queryVector.Length > 0 ? TensorPrimitives.CosineSimilarity(queryVector, passageVector) : 0;
        if (query.TotalWeight <= 0)
        {
            return new PassageFeatures(dense, 0, 0, 0, 0, 0, 0, fusion, passage.CodeShare);
        }

        var lexical = query.Coverage(passage.StemSet);
        // BM25 (k1 1.2, b 0.75) of the body, as a share of what the question's terms could score at most
        var bm25 = 0.0;
        var norm = 1.2 * (0.25 + (0.75 * passage.Stems.Count / Math.Max(1, averageLength)));
        foreach (var (stem, w) in query.Weight)
        {
            if (passage.Frequency.TryGetValue(stem, out var tf))
            {
                bm25 += w * tf * 2.2 / (tf + norm);
            }
        }

        bm25 /= 2.2 * query.TotalWeight;
        var title = query.Coverage(passage.TitleStems);
        var heading = query.Coverage(passage.HeadingStems);
        return new PassageFeatures(dense, lexical, bm25, title, heading, WindowShare(query, passage.Stems), PhraseShare(query, passage.Stems), fusion, passage.CodeShare);
    }

    /// <summary>The largest weighted share of the question's stems that one window of twelve words holds.</summary>
    private static double WindowShare(QueryProfile query, IReadOnlyList<string> stems)
    {
        const int window = 12;
        var best = 0.0;
        var inWindow = new Dictionary<string, int>(StringComparer.Ordinal);
        var current = 0.0;
        for (var i = 0; i < stems.Count; i++)
        {
            if (query.Weight.TryGetValue(stems[i], out var w))
            {
                var n = inWindow.GetValueOrDefault(stems[i]);
                if (n == 0)
                {
                    current += w;
                }

                inWindow[stems[i]] = n + 1;
            }

            if (i >= window && query.Weight.TryGetValue(stems[i - window], out var old))
            {
                var n = inWindow[stems[i - window]] - 1;
                inWindow[stems[i - window]] = n;
                if (n == 0)
                {
                    current -= old;
                }
            }

            best = Math.Max(best, current);
        }

        return best / query.TotalWeight;
    }

    private static double PhraseShare(QueryProfile query, IReadOnlyList<string> stems)
    {
        if (query.Bigrams.Count == 0)
        {
            return 0;
        }

        var pairs = new HashSet<(string, string)>();
        for (var i = 1; i < stems.Count; i++)
        {
            pairs.Add((stems[i - 1], stems[i]));
        }

        return (double)query.Bigrams.Count(pairs.Contains) / query.Bigrams.Count;
    }
}

/// <summary>A passage's text analysed once: the stems of its body (in order, counted, as a set), of its title and of its section.</summary>
public sealed class PassageText
{
    /// <summary>Analyses a passage.</summary>
    public PassageText(string body, string title, string section)
    {
        ArgumentNullException.ThrowIfNull(body);
        Body = body;
        Stems = Lexicon.Stems(body);
        StemSet = Stems.ToHashSet(StringComparer.Ordinal);
        Frequency = Stems.GroupBy(s => s, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        TitleStems = Lexicon.Stems(title ?? string.Empty).ToHashSet(StringComparer.Ordinal);
        HeadingStems = Lexicon.Stems(Leaf(section ?? string.Empty)).ToHashSet(StringComparer.Ordinal);
        CodeShare = CodeFraction(body);
    }

    /// <summary>The body.</summary>
    public string Body { get; }

    /// <summary>Stems of the body, in order.</summary>
    public IReadOnlyList<string> Stems { get; }

    /// <summary>Distinct stems of the body.</summary>
    public IReadOnlySet<string> StemSet { get; }

    /// <summary>How often each stem occurs in the body.</summary>
    public IReadOnlyDictionary<string, int> Frequency { get; }

    /// <summary>Stems of the document's title.</summary>
    public IReadOnlySet<string> TitleStems { get; }

    /// <summary>Stems of the section's own heading (the last level of its path: what sets it apart from the rest of the page).</summary>
    public IReadOnlySet<string> HeadingStems { get; }

    /// <summary>The last level of a section path (" › " between levels; " > " in chunks stored by earlier versions).</summary>
    public static string Leaf(string section)
    {
        var at = Math.Max(section.LastIndexOf(Documents.Chunker.PathSeparator, StringComparison.Ordinal), section.LastIndexOf(" > ", StringComparison.Ordinal));
        return at < 0 ? section : section[(at + 3)..];
    }

    /// <summary>The share of the body's characters inside code fences.</summary>
    public double CodeShare { get; }

    private static double CodeFraction(string body)
    {
        if (body.Length == 0 || !body.Contains("```", StringComparison.Ordinal))
        {
            return 0;
        }

        var code = 0;
        var inside = false;
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inside = !inside;
                continue;
            }

            if (inside)
            {
                code += line.Length + 1;
            }
        }

        return Math.Min(1, (double)code / body.Length);
    }
}

/// <summary>
/// The re-ranker: a logistic model over <see cref="PassageFeatures"/> that gives the probability that a passage comes
/// from a page that answers the question. Its weights were fitted on the project's evaluation sets (bench/eval; see
/// docs/decisions/0020-answers-people-can-trust.md for the fit and the figures); the same probability is the bar a
/// passage must clear to reach an answer (<see cref="RetrievalOptions.MinRelevance"/>).
/// </summary>
public static class RelevanceModel
{
    /// <summary>The default relevance bar (<see cref="RetrievalOptions.MinRelevance"/>).</summary>
    public const double DefaultBar = 0.05;

    /// <summary>Intercept, then one weight per feature in <see cref="PassageFeatures.Names"/> order.</summary>
    public static readonly double[] Weights = [-7.215, 3.724, 1.822, -1.305, -1.994, 0.501, 0.724, -0.041, 1.67, 0.55, 2.637, 1.307];

    /// <summary>The probability that the passage is relevant.</summary>
    public static double Probability(PassageFeatures features) => Probability(Weights, features.Vector());

    /// <summary>The logistic model with <paramref name="weights"/> (intercept first) at <paramref name="x"/>.</summary>
    public static double Probability(IReadOnlyList<double> weights, IReadOnlyList<double> x)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(x);
        var z = weights[0];
        for (var i = 0; i < x.Count; i++)
        {
            z += weights[i + 1] * x[i];
        }

        return 1 / (1 + Math.Exp(-z));
    }
}

/// <summary>
/// Whether the documents hold an answer at all: a logistic model over what the retrieval found (the best passage's
/// relevance, the weighted share of the question's words that no document holds, the best lexical coverage, the best
/// dense similarity of a passage and of a whole document) giving the probability that they do not. Fitted on the
/// evaluation sets' answerable and unanswerable questions (docs/decisions/0020).
/// </summary>
public static class AnswerabilityModel
{
    /// <summary>Names of the signals, in order.</summary>
    public static readonly string[] Names = ["top_relevance", "absent", "best_lexical", "best_dense", "best_document"];

    /// <summary>The default answerability bar (<see cref="RetrievalOptions.MinAnswerability"/>).</summary>
    public const double DefaultBar = 0.75;

    /// <summary>Intercept, then one weight per signal in <see cref="Names"/> order.</summary>
    public static readonly double[] Weights = [1.298, -1.842, 3.745, -2.461, -2.041, -1.532];

    /// <summary>The signals of a retrieval, in <see cref="Names"/> order.</summary>
    public static double[] Signals(QueryProfile query, IReadOnlyList<Candidate> ranked)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(ranked);
        return ranked.Count == 0
            ? [0, query.Absent, 0, 0, 0]
            : [ranked.Max(c => c.Relevance), query.Absent, ranked.Max(c => c.Features.Lexical), ranked.Max(c => c.Features.Dense), ranked.Max(c => c.Features.DocumentDense)];
    }

    /// <summary>The probability that the documents hold no answer.</summary>
    public static double NoAnswer(QueryProfile query, IReadOnlyList<Candidate> ranked) => RelevanceModel.Probability(Weights, Signals(query, ranked));
}
