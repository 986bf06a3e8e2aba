using System.Text;
using Bruno.Core.Retrieval;

namespace Bruno.Core.Agents;

/// <summary>What an answer is built on, for its confidence: the best passage's relevance, how far it stands above the
/// best passage of another document, the best sentence's score, how much of the question the answer covers, how many
/// passages cleared the bar, and the probability that the documents hold an answer at all.</summary>
public sealed record AnswerSignals(double TopRelevance, double Margin, double BestSentence, double Coverage, int Passages, double Answerability)
{
    /// <summary>The signals in the confidence model's order.</summary>
    public double[] Vector() => [TopRelevance, Margin, BestSentence, Coverage, Math.Min(5, Passages) / 5.0, Answerability];

    /// <summary>Names, in <see cref="Vector"/>'s order.</summary>
    public static readonly string[] Names = ["top_relevance", "margin", "best_sentence", "coverage", "passages", "answerability"];
}

/// <summary>
/// What the sentence ranker knows of a sentence: the weighted share of the question's content it holds, the share of
/// the question's content words it holds (unweighted), its passage's relevance and reciprocal rank, whether it opens
/// its paragraph, whether it opens a definition ("term — ..."), how much of the question its section's headings and
/// its document's title hold, its length (share of 400 characters), and whether it names code (identifiers with
/// dots, parentheses or underscores).
/// </summary>
public sealed record SentenceFeatures(double Coverage, double Matched, double Relevance, double Rank, double Opens, double Definition, double Heading, double Title, double Length, double Names)
{
    /// <summary>The features in the model's order.</summary>
    public double[] Vector() => [Coverage, Matched, Relevance, Rank, Opens, Definition, Heading, Title, Length, Names];

    /// <summary>Names, in <see cref="Vector"/>'s order.</summary>
    public static readonly string[] Labels = ["coverage", "matched", "relevance", "rank", "opens", "definition", "heading", "title", "length", "names"];
}

/// <summary>A candidate sentence of an answer, scored.</summary>
public sealed record ScoredSentence(int Passage, int Order, string Text, SentenceFeatures Features, double Score);

/// <summary>An extractive answer: its text with <c>[n]</c> markers (n = 1-based index in the passages), the passages it
/// cites, and the signals its confidence is computed from.</summary>
public sealed record ComposedAnswer(string Text, IReadOnlyList<int> Cited, AnswerSignals Signals);

/// <summary>
/// Writes an answer from passages without a language model: the sentences most like the question (its weighted content
/// words, the relevance of their passage, the headings above them), at most <c>maxSentences</c>, grouped by passage in
/// document order, each followed by its passage's citation. Only running text is quoted: never a table row, a line of a diagram or a piece
/// of a code block, never a sentence twice (overlapping chunks repeat sentences), never more than 400 characters of one
/// sentence. Sentences of the best one's document fill the answer; those of other documents must be nearly as good. When the question asks for a
/// command or code, the best matching code block is added whole, fenced. Never throws.
/// </summary>
public static class ExtractiveAnswerer
{
    /// <summary>Longest piece of one sentence quoted, in characters.</summary>
    public const int MaxSentenceLength = 400;

    private const int MaxCodeLength = 1_500;

    /// <summary>Composes the answer to a retrieval's question from its passages (best first, all cleared the bar).</summary>
    public static ComposedAnswer Compose(RetrievalResult retrieval, int maxSentences)
    {
        ArgumentNullException.ThrowIfNull(retrieval);
        var (query, passages, ranked) = (retrieval.Query, retrieval.Passages, retrieval.Ranked);
        if (passages.Count == 0)
        {
            return new ComposedAnswer(string.Empty, [], new AnswerSignals(0, 0, 0, 0, 0, 1 - retrieval.NoAnswer));
        }

        var sentences = new List<Sentence>();
        var code = new List<CodeBlock>();
        for (var p = 0; p < passages.Count; p++)
        {
            Units(query, passages[p], p, sentences, code);
        }

        var chosen = Choose(query, passages, sentences, Math.Max(1, maxSentences));
        var text = new StringBuilder();
        var cited = new List<int>();
        foreach (var s in chosen.OrderBy(s => chosen.FindIndex(c => c.Passage == s.Passage)).ThenBy(s => s.Order))
        {
            text.Append(s.Text).Append(" [").Append(s.Passage + 1).Append("] ");
            if (!cited.Contains(s.Passage))
            {
                cited.Add(s.Passage);
            }
        }

        if (query.AsksForCode && BestCode(query, code, chosen) is { } block)
        {
            text.Append("\n```\n").Append(block.Text).Append("\n```\n[").Append(block.Passage + 1).Append(']');
            if (!cited.Contains(block.Passage))
            {
                cited.Add(block.Passage);
            }
        }

        if (text.Length == 0)
        {
            // nothing quotable (only code or tables): point at the best passage
            var first = passages[0].Body;
            text.Append(first.Length <= 240 ? first : first[..240] + "…").Append(" [1]");
            cited.Add(0);
        }

        var answerStems = chosen.SelectMany(s => s.Stems).ToHashSet(StringComparer.Ordinal);
        var top = passages[0];
        var otherDocument = ranked.FirstOrDefault(c => c.DocumentId != top.DocumentId);
        var signals = new AnswerSignals(
            top.Relevance,
            top.Relevance - (otherDocument?.Relevance ?? 0),
            chosen.Count == 0 ? 0 : chosen.Max(s => s.Score),
            query.Coverage(answerStems),
            passages.Count,
            1 - retrieval.NoAnswer);
        return new ComposedAnswer(text.ToString().Trim(), cited, signals);
    }

    /// <summary>The best sentence, then up to <paramref name="max"/> - 1 more that are nearly as good and say something new.</summary>
    private static List<Sentence> Choose(QueryProfile query, IReadOnlyList<Candidate> passages, List<Sentence> sentences, int max)
    {
        var chosen = new List<Sentence>();
        if (sentences.Count == 0)
        {
            return chosen;
        }

        var ordered = sentences.OrderByDescending(s => s.Score).ThenBy(s => s.Passage).ThenBy(s => s.Order).ToList();
        var best = ordered[0];
        chosen.Add(best);
        foreach (var s in ordered.Skip(1))
        {
            if (chosen.Count >= max)
            {
                break;
            }

            var sameDocument = passages[s.Passage].DocumentId == passages[best.Passage].DocumentId;
            // the best sentence's document fills the answer; another document must be nearly as good
            var enough = s.Coverage > 0 && (sameDocument || s.Score >= best.Score * 0.8);
            // the sentence right after the best one often finishes its thought
            var follows = s.Passage == best.Passage && s.Order == best.Order + 1 && s.Score >= best.Score * 0.45;
            if ((enough || follows) && !chosen.Any(c => Repeats(c, s)))
            {
                chosen.Add(s);
            }
        }

        return chosen;
    }

    /// <summary>Whether two sentences say the same (the same words, or one inside the other).</summary>
    private static bool Repeats(Sentence a, Sentence b)
    {
        if (a.Normalized == b.Normalized || a.Normalized.Contains(b.Normalized, StringComparison.Ordinal) || b.Normalized.Contains(a.Normalized, StringComparison.Ordinal))
        {
            return true;
        }

        var shared = a.StemSet.Count(b.StemSet.Contains);
        return shared >= 0.8 * Math.Min(a.StemSet.Count, b.StemSet.Count);
    }

    /// <summary>Every quotable sentence of <paramref name="passages"/> with its features and score (for fitting the ranker).</summary>
    public static IReadOnlyList<ScoredSentence> Candidates(QueryProfile query, IReadOnlyList<Candidate> passages)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(passages);
        var sentences = new List<Sentence>();
        var code = new List<CodeBlock>();
        for (var p = 0; p < passages.Count; p++)
        {
            Units(query, passages[p], p, sentences, code);
        }

        return [.. sentences.Select(s => new ScoredSentence(s.Passage, s.Order, s.Text, s.Features, s.Score))];
    }

    /// <summary>The sentences and code blocks of a passage's body, each scored for the question.</summary>
    private static void Units(QueryProfile query, Candidate passage, int p, List<Sentence> sentences, List<CodeBlock> code)
    {
        var headingCoverage = query.Coverage(passage.Analysed.HeadingStems);
        var titleCoverage = query.Coverage(passage.Analysed.TitleStems);
        var order = 0;
        var inCode = false;
        var block = new StringBuilder();
        foreach (var raw in passage.Body.Split('\n'))
        {
            if (raw.StartsWith("```", StringComparison.Ordinal))
            {
                if (inCode && block.Length > 0)
                {
                    code.Add(new CodeBlock(p, order++, block.ToString().TrimEnd('\n'), query.Coverage(Lexicon.Stems(block.ToString()).ToHashSet(StringComparer.Ordinal))));
                }

                block.Clear();
                inCode = !inCode;
                continue;
            }

            if (inCode)
            {
                block.Append(raw).Append('\n');
                continue;
            }

            var line = raw.Trim();
            if (line.Length == 0 || (line.StartsWith('|') && line.EndsWith('|')) || !IsProse(line))
            {
                order++;
                continue; // table rows, diagrams and symbols are not quoted
            }

            if (line.StartsWith("- ", StringComparison.Ordinal))
            {
                line = line[2..];
            }

            var first = true;
            var definition = line.Contains(" — ", StringComparison.Ordinal);
            foreach (var piece in Documents.Sentences.Split(line))
            {
                var text = piece.Length <= MaxSentenceLength ? piece : Clip(query, piece);
                var stems = Lexicon.Stems(text);
                if (stems.Count < 3 || !IsProse(text))
                {
                    order++;
                    first = false;
                    continue;
                }

                var set = stems.ToHashSet(StringComparer.Ordinal);
                var features = new SentenceFeatures(
                    query.Coverage(set),
                    query.Stems.Count == 0 ? 0 : (double)query.Stems.Count(set.Contains) / query.Stems.Count,
                    passage.Relevance,
                    1.0 / (p + 1),
                    first ? 1 : 0,
                    first && definition ? 1 : 0,
                    headingCoverage,
                    titleCoverage,
                    Math.Min(1, text.Length / (double)MaxSentenceLength),
                    NamesCode(text) ? 1 : 0);
                sentences.Add(new Sentence(p, order++, text, features.Coverage, SentenceModel.Probability(features), stems, set, Normalize(text), features));
                first = false;
            }
        }
    }

    /// <summary>Whether a sentence names code: an identifier with a dot, parentheses or an underscore inside.</summary>
    private static bool NamesCode(string text)
    {
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var w = word.TrimEnd('.', ',', ';', ':');
            if (w.Length > 2 && char.IsLetter(w[0]) && (w.Contains("()", StringComparison.Ordinal) || w.Contains('_', StringComparison.Ordinal) || (w.Contains('.', StringComparison.Ordinal) && !w.EndsWith('.'))))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Running text, not a diagram or a line of symbols: letters make up at least half of its visible characters.</summary>
    private static bool IsProse(string text)
    {
        int letters = 0, visible = 0;
        foreach (var c in text)
        {
            if (c is >= '\u2500' and <= '\u259F')
            {
                return false;
            }

            if (!char.IsWhiteSpace(c))
            {
                visible++;
                if (char.IsLetter(c))
                {
                    letters++;
                }
            }
        }

        return visible > 0 && letters * 2 >= visible;
    }

    /// <summary>A sentence over the limit cut to its clauses that hold most of the question, marked with ellipses.</summary>
    private static string Clip(QueryProfile query, string sentence)
    {
        var clauses = new List<string>();
        var start = 0;
        for (var i = 0; i < sentence.Length - 1; i++)
        {
            if (sentence[i] is ';' or ':' or ',' && sentence[i + 1] == ' ')
            {
                clauses.Add(sentence[start..(i + 1)]);
                start = i + 2;
            }
        }

        clauses.Add(sentence[start..]);
        var best = (Start: 0, End: 0, Score: -1.0);
        for (var a = 0; a < clauses.Count; a++)
        {
            var length = 0;
            for (var b = a; b < clauses.Count; b++)
            {
                length += clauses[b].Length + 1;
                if (length > MaxSentenceLength - 2)
                {
                    break;
                }

                var score = query.Coverage(Lexicon.Stems(string.Join(' ', clauses.Skip(a).Take(b - a + 1))).ToHashSet(StringComparer.Ordinal));
                if (score > best.Score)
                {
                    best = (a, b, score);
                }
            }
        }

        if (best.Score < 0)
        {
            var cut = sentence[..(MaxSentenceLength - 1)];
            var space = cut.LastIndexOf(' ');
            return (space > 200 ? cut[..space] : cut) + "…";
        }

        var text = string.Join(' ', clauses.Skip(best.Start).Take(best.End - best.Start + 1)).Trim().TrimEnd(',', ';', ':');
        return (best.Start > 0 ? "…" : string.Empty) + text + (best.End < clauses.Count - 1 ? "…" : string.Empty);
    }

    private static CodeBlock? BestCode(QueryProfile query, List<CodeBlock> code, List<Sentence> chosen)
    {
        var best = chosen.Count > 0 ? chosen[0] : null;
        return code
            .Where(c => c.Text.Length <= MaxCodeLength && (c.Coverage > 0 || (best is not null && c.Passage == best.Passage && c.Order > best.Order && c.Order <= best.Order + 3)))
            .OrderByDescending(c => c.Coverage + (best is not null && c.Passage == best.Passage ? 0.3 : 0) - (c.Passage * 0.05))
            .FirstOrDefault();
    }

    private static string Normalize(string text) => string.Join(' ', Lexicon.Words(text));

    private sealed record Sentence(int Passage, int Order, string Text, double Coverage, double Score, List<string> Stems, HashSet<string> StemSet, string Normalized, SentenceFeatures Features);

    private sealed record CodeBlock(int Passage, int Order, string Text, double Coverage);
}

/// <summary>
/// The sentence ranker: a logistic model over <see cref="SentenceFeatures"/> giving the probability that a sentence
/// holds what the question asks. Its weights were fitted on the project's evaluation sets (docs/decisions/0020).
/// </summary>
public static class SentenceModel
{
    /// <summary>Intercept, then one weight per feature in <see cref="SentenceFeatures.Labels"/> order.</summary>
    public static readonly double[] Weights = [-4.831, 0.792, 1.414, 1.811, 1.097, 0.033, 0.177, 0.154, -0.327, 1.951, 0.585];

    /// <summary>The probability that the sentence answers.</summary>
    public static double Probability(SentenceFeatures features) => RelevanceModel.Probability(Weights, features.Vector());
}

/// <summary>
/// Confidence as a probability that the response is right, from a logistic model fitted on the evaluation sets
/// (docs/decisions/0020) over <see cref="AnswerSignals"/>; for "not in these documents" it is the probability that the
/// documents hold no answer (<see cref="AnswerabilityModel"/>).
/// </summary>
public static class ConfidenceModel
{
    /// <summary>Intercept, then one weight per signal in <see cref="AnswerSignals.Names"/> order.</summary>
    public static readonly double[] AnswerWeights = [-2.711, 0.408, 0.7, 1.788, 0.731, 0, 1.755];

    /// <summary>The probability that an answer with <paramref name="signals"/> states what the question asks.</summary>
    public static double Answer(AnswerSignals signals) => RelevanceModel.Probability(AnswerWeights, signals.Vector());
}
