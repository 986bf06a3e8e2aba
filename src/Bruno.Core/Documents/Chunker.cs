using System.Text;

namespace Bruno.Core.Documents;

/// <summary>One piece of a document: the section it belongs to (heading path, may be empty), its position, its text.</summary>
public sealed record Chunk(string Section, int Position, string Text);

/// <summary>
/// Cuts text into chunks: Markdown is first split on its headings (each chunk keeps its heading path as section), then
/// each section into windows of at most <c>maxTokens</c> word pieces that share <c>overlapTokens</c> with the previous
/// window. Word pieces are estimated from the words (see <see cref="EstimateTokens"/>), on the high side, so a chunk
/// never exceeds what the embedding model reads.
/// </summary>
public static class Chunker
{
    /// <summary>Splits <paramref name="text"/>; <paramref name="markdown"/> enables heading-aware sections.</summary>
    public static IReadOnlyList<Chunk> Split(string text, bool markdown, int maxTokens, int overlapTokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 8);
        ArgumentOutOfRangeException.ThrowIfNegative(overlapTokens);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(overlapTokens, maxTokens);
        var chunks = new List<Chunk>();
        foreach (var (section, heading, body) in markdown ? Sections(text) : [(string.Empty, string.Empty, text)])
        {
            var words = body.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (words.Length == 0 && heading.Length > 0)
            {
                words = [string.Empty]; // a heading alone is still a chunk
            }

            var first = true;
            var start = 0;
            while (start < words.Length)
            {
                var end = start;
                var tokens = first ? heading.Split(' ', StringSplitOptions.RemoveEmptyEntries).Sum(EstimateTokens) : 0;
                while (end < words.Length && (end == start || tokens + EstimateTokens(words[end]) <= maxTokens))
                {
                    tokens += EstimateTokens(words[end]);
                    end++;
                }

                // The section's first window starts with its heading, on a line of its own.
                var window = string.Join(' ', words[start..end]);
                chunks.Add(new Chunk(section, chunks.Count, first && heading.Length > 0 ? (heading + "\n" + window).TrimEnd() : window));
                first = false;
                if (end >= words.Length)
                {
                    break;
                }

                // step back over the overlap, but always move forward
                var back = end;
                var shared = 0;
                while (back > start + 1 && shared + EstimateTokens(words[back - 1]) <= overlapTokens)
                {
                    back--;
                    shared += EstimateTokens(words[back]);
                }

                start = back;
            }
        }

        return chunks;
    }

    /// <summary>
    /// Word pieces a whitespace-separated word becomes, estimated high: every punctuation mark is a piece, and every run
    /// of letters or digits is one piece per started 4 characters beyond the first 4 (WordPiece splits rare words).
    /// </summary>
    public static int EstimateTokens(string word)
    {
        var pieces = 0;
        var run = 0;
        foreach (var ch in word)
        {
            if (char.IsLetterOrDigit(ch))
            {
                run++;
                continue;
            }

            pieces += RunPieces(run) + 1;
            run = 0;
        }

        return Math.Max(1, pieces + RunPieces(run));
    }

    private static int RunPieces(int run) => run == 0 ? 0 : 1 + (Math.Max(0, run - 4) + 3) / 4;

    private static IEnumerable<(string Section, string Heading, string Body)> Sections(string text)
    {
        var path = new List<(int Level, string Title)>();
        var body = new StringBuilder();
        var section = string.Empty;
        var heading = string.Empty;
        var inFence = false;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
            }

            var level = inFence ? 0 : HeadingLevel(line);
            if (level == 0)
            {
                body.AppendLine(line);
                continue;
            }

            if (heading.Length > 0 || body.ToString().Trim().Length > 0)
            {
                yield return (section, heading, body.ToString());
            }

            body.Clear();
            path.RemoveAll(p => p.Level >= level);
            path.Add((level, line[level..].Trim()));
            section = string.Join(" > ", path.Select(p => p.Title));
            heading = path[^1].Title;
        }

        if (heading.Length > 0 || body.ToString().Trim().Length > 0)
        {
            yield return (section, heading, body.ToString());
        }
    }

    private static int HeadingLevel(string line)
    {
        var n = 0;
        while (n < line.Length && line[n] == '#')
        {
            n++;
        }

        return n is >= 1 and <= 6 && n < line.Length && line[n] == ' ' ? n : 0;
    }
}
