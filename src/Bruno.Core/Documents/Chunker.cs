using System.Text;

namespace Bruno.Core.Documents;

/// <summary>
/// One piece of a document: its section (heading path, " › " between levels, may be empty), its position, its text,
/// the page it starts on (PDF; 0 elsewhere), and where its body starts in <see cref="Text"/> (after the context line
/// that names the document and section).
/// </summary>
public sealed record Chunk(string Section, int Position, string Text, int Page = 0, int BodyStart = 0)
{
    /// <summary>The chunk's own text, without its context line.</summary>
    public string Body => Text[BodyStart..];
}

/// <summary>
/// Cuts an extracted document into chunks, structure first: a chunk never spans two sections or two PDF pages; within a section whole
/// blocks are packed up to the limit, and a code block or table is never cut unless it alone is over the limit (then
/// at line boundaries, each piece fenced again). A paragraph over the limit is cut at sentences, a sentence over it at
/// words. Consecutive chunks of one section share up to <c>overlapTokens</c> of trailing sentences of prose. Every
/// chunk starts with a context line (the title and the section path) so that its words are searched and embedded with
/// it. Word pieces are estimated from the words (see <see cref="EstimateTokens"/>), on the high side, so a chunk never
/// exceeds what the embedding model reads.
/// </summary>
public static class Chunker
{
    /// <summary>Separator of the levels of a section path.</summary>
    public const string PathSeparator = " › ";

    /// <summary>Chunks of <paramref name="document"/> titled <paramref name="title"/>, each at most <paramref name="maxTokens"/>.</summary>
    public static IReadOnlyList<Chunk> Split(ExtractedDocument document, string title, int maxTokens, int overlapTokens)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTokens, 16);
        ArgumentOutOfRangeException.ThrowIfNegative(overlapTokens);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(overlapTokens, maxTokens);
        var chunks = new List<Chunk>();
        var path = new List<(int Level, string Title)>();
        var section = new List<Block>();
        foreach (var block in document.Blocks)
        {
            if (block.Kind == BlockKind.Heading)
            {
                Pack(section, Path(path), title, maxTokens, overlapTokens, chunks);
                section.Clear();
                path.RemoveAll(p => p.Level >= block.Level);
                path.Add((block.Level, block.Text));
                continue;
            }

            section.Add(block);
        }

        Pack(section, Path(path), title, maxTokens, overlapTokens, chunks);
        return chunks;
    }

    /// <summary>The context line of a chunk: the title, then the section path (without a first level that repeats the title).</summary>
    public static string ContextLine(string title, string section)
    {
        var levels = section.Length == 0 ? [] : section.Split(PathSeparator).ToList();
        if (levels.Count > 0 && string.Equals(levels[0], title, StringComparison.OrdinalIgnoreCase))
        {
            levels.RemoveAt(0);
        }

        return levels.Count == 0 ? title : title + PathSeparator + string.Join(PathSeparator, levels);
    }

    /// <summary>A block as it is written in a chunk: code fenced, list items marked, table rows as they are.</summary>
    public static string Render(BlockKind kind, string text) => kind switch
    {
        BlockKind.Code => "```\n" + text + "\n```",
        BlockKind.ListItem => "- " + text,
        _ => text,
    };

    private static string Path(List<(int Level, string Title)> path) => string.Join(PathSeparator, path.Select(p => p.Title));

    private static void Pack(List<Block> blocks, string section, string title, int maxTokens, int overlapTokens, List<Chunk> chunks)
    {
        if (blocks.Count == 0)
        {
            return;
        }

        var context = ContextLine(title, section);
        var contextTokens = Tokens(context);
        if (contextTokens > maxTokens / 2)
        {
            context = Clip(context, maxTokens / 2);
            contextTokens = Tokens(context);
        }

        var budget = maxTokens - contextTokens;
        var current = new List<Block>();
        var tokens = 0;
        foreach (var block in blocks)
        {
            // pieces of a block over the limit leave room for the overlap carried into their chunk
            foreach (var piece in Tokens(Render(block.Kind, block.Text)) <= budget ? [block] : Pieces(block, Math.Max(budget / 2, budget - overlapTokens)))
            {
                var t = Tokens(Render(piece.Kind, piece.Text));
                if (current.Count > 0 && piece.Page != current[^1].Page)
                {
                    // a chunk keeps to one page of a PDF, so that it cites the right one
                    Emit(current, section, context, chunks);

                    (current, tokens) = ([], 0);
                }
                else if (current.Count > 0 && tokens + t > budget)
                {
                    Emit(current, section, context, chunks);

                    current = Overlap(current[^1], overlapTokens);
                    tokens = current.Sum(b => Tokens(Render(b.Kind, b.Text)));
                    if (tokens + t > budget)
                    {
                        (current, tokens) = ([], 0);
                    }
                }

                current.Add(piece);
                tokens += t;
            }
        }

        if (current.Count > 0)
        {
            Emit(current, section, context, chunks);
        }
    }

    private static void Emit(List<Block> blocks, string section, string context, List<Chunk> chunks)
    {
        var body = string.Join('\n', blocks.Select(b => Render(b.Kind, b.Text)));
        chunks.Add(new Chunk(section, chunks.Count, context + "\n" + body, blocks[0].Page, context.Length + 1));
    }

    /// <summary>The trailing sentences of a prose block that fit in <paramref name="overlapTokens"/> (nothing after code or tables).</summary>
    private static List<Block> Overlap(Block last, int overlapTokens)
    {
        if (overlapTokens == 0 || last.Kind is not (BlockKind.Paragraph or BlockKind.ListItem))
        {
            return [];
        }

        var sentences = Sentences.Split(last.Text);
        var taken = new List<string>();
        var tokens = 0;
        for (var i = sentences.Count - 1; i >= 1; i--)
        {
            var t = Tokens(sentences[i]);
            if (tokens + t > overlapTokens)
            {
                break;
            }

            taken.Insert(0, sentences[i]);
            tokens += t;
        }

        return taken.Count == 0 ? [] : [last with { Text = string.Join(' ', taken) }];
    }

    /// <summary>A block over the budget in pieces within it: prose at sentences (then words), code and tables at lines.</summary>
    private static IEnumerable<Block> Pieces(Block block, int budget)
    {
        var lines = block.Kind is BlockKind.Code or BlockKind.Table;
        var units = lines ? block.Text.Split('\n').ToList() : Sentences.Split(block.Text);
        var overhead = block.Kind == BlockKind.Code ? 7 : 2;
        var current = new StringBuilder();
        var tokens = 0;
        foreach (var unit in units.SelectMany(u => Tokens(u) + overhead <= budget ? [u] : Words(u, budget - overhead)))
        {
            var t = Tokens(unit) + (lines ? 1 : 0);
            if (current.Length > 0 && tokens + t + overhead > budget)
            {
                yield return block with { Text = current.ToString() };
                current.Clear();
                tokens = 0;
            }

            if (current.Length > 0)
            {
                current.Append(lines ? '\n' : ' ');
            }

            current.Append(unit);
            tokens += t;
        }

        if (current.Length > 0)
        {
            yield return block with { Text = current.ToString() };
        }
    }

    /// <summary>A text over the budget as runs of words within it (a word alone over it is cut into pieces).</summary>
    private static IEnumerable<string> Words(string text, int budget)
    {
        var current = new List<string>();
        var tokens = 0;
        foreach (var raw in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var word in EstimateTokens(raw) <= budget ? [raw] : raw.Chunk(Math.Max(1, budget)).Select(c => new string(c)))
            {
                var t = EstimateTokens(word);
                if (current.Count > 0 && tokens + t > budget)
                {
                    yield return string.Join(' ', current);
                    current.Clear();
                    tokens = 0;
                }

                current.Add(word);
                tokens += t;
            }
        }

        if (current.Count > 0)
        {
            yield return string.Join(' ', current);
        }
    }

    private static string Clip(string text, int budget) => Words(text, budget).FirstOrDefault() ?? string.Empty;

    /// <summary>Estimated word pieces of a text (the sum over its whitespace-separated words).</summary>
    public static int Tokens(string text)
    {
        var total = 0;
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            total += EstimateTokens(word);
        }

        return total;
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
}
