using System.Text;
using System.Text.RegularExpressions;

namespace Bruno.Core.Documents;

/// <summary>
/// Reads Markdown (and plain text) into blocks, line by line in one pass: front matter (<c>key: value</c> lines between
/// <c>---</c> fences) becomes metadata, ATX and Setext headings become sections, fenced and indented code stays whole,
/// pipe tables become rows of cells, list items and paragraphs become running text with their inline markup (links,
/// images, emphasis, code spans, HTML tags) reduced to the text a reader sees. Plain text is read as paragraphs
/// separated by blank lines; an indented block or lines of drawing characters stay preformatted. Every pattern used runs
/// in time linear in its input (a Markdown library was tried and spent minutes on a crafted file; see
/// docs/decisions/0020-answers-people-can-trust.md).
/// </summary>
internal static partial class MarkdownExtractor
{
    /// <summary>Blocks, title and front matter of Markdown <paramref name="text"/>.</summary>
    public static ExtractedDocument Markdown(string text, ExtractionBudget budget)
    {
        var lines = Lines(text);
        var start = 0;
        var metadata = FrontMatter(lines, ref start);
        var reader = new Reader(budget, markdown: true);
        reader.Read(lines, start);
        var title = metadata.TryGetValue("title", out var t) && t.Length > 0 ? t : reader.FirstHeading(1);
        return new ExtractedDocument(title, reader.Blocks, metadata);
    }

    /// <summary>Blocks of plain <paramref name="text"/> (no title, no metadata).</summary>
    public static ExtractedDocument Plain(string text, ExtractionBudget budget)
    {
        var reader = new Reader(budget, markdown: false);
        reader.Read(Lines(text), 0);
        return new ExtractedDocument(null, reader.Blocks, new Dictionary<string, string>());
    }

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").Split('\n');

    /// <summary>Reads <c>key: value</c> lines of a front matter block; lists and nested values are skipped.</summary>
    private static Dictionary<string, string> FrontMatter(string[] lines, ref int start)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (lines.Length < 2 || lines[0].TrimEnd() != "---")
        {
            return result;
        }

        for (var i = 1; i < Math.Min(lines.Length, 200); i++)
        {
            var line = lines[i].TrimEnd();
            if (line is "---" or "...")
            {
                start = i + 1;
                return result;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || char.IsWhiteSpace(line[0]) || line.StartsWith('#'))
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (value.Length >= 2 && ((value[0] == '"' && value[^1] == '"') || (value[0] == '\'' && value[^1] == '\'')))
            {
                value = value[1..^1];
            }

            if (value.Length > 0 && value[0] is not ('[' or '{' or '|' or '>' or '&' or '*'))
            {
                result[key] = value;
            }
        }

        result.Clear(); // no closing fence: not front matter
        return result;
    }

    /// <summary>Inline Markdown reduced to the text a reader sees; code spans keep their content as written.</summary>
    internal static string Inline(string text)
    {
        if (text.IndexOfAny(['[', '!', '*', '_', '`', '<', '\\', '~']) < 0)
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        var at = 0;
        foreach (Match code in CodeSpan().Matches(text))
        {
            result.Append(Markup(text[at..code.Index])).Append(code.Groups[1].Value).Append(code.Groups[2].Value);
            at = code.Index + code.Length;
        }

        return result.Append(Markup(text[at..])).ToString();
    }

    private static string Markup(string text)
    {
        if (text.Length == 0)
        {
            return text;
        }

        text = Image().Replace(text, "$1");
        text = Link().Replace(text, "$1");
        text = ReferenceLink().Replace(text, "$1");
        text = AutoLink().Replace(text, "$1");
        text = Tag().Replace(text, string.Empty);
        text = Strong().Replace(text, "$1$2");
        text = Emphasis().Replace(text, "$1");
        text = UnderscoreEmphasis().Replace(text, "$1$2$3");
        text = Strike().Replace(text, "$1");
        return Escape().Replace(text, "$1");
    }

    [GeneratedRegex(@"!\[([^\]\n]{0,300})\]\([^)\n]{0,1000}\)", RegexOptions.NonBacktracking)]
    private static partial Regex Image();

    [GeneratedRegex(@"\[([^\]\n]{0,300})\]\([^)\n]{0,1000}\)", RegexOptions.NonBacktracking)]
    private static partial Regex Link();

    [GeneratedRegex(@"\[([^\]\n]{1,300})\]\[[^\]\n]{0,100}\]", RegexOptions.NonBacktracking)]
    private static partial Regex ReferenceLink();

    [GeneratedRegex(@"<((?:https?|mailto|ftp):[^>\s]{1,1000})>", RegexOptions.NonBacktracking)]
    private static partial Regex AutoLink();

    [GeneratedRegex(@"</?[A-Za-z][A-Za-z0-9-]{0,30}(?:\s[^<>\n]{0,500})?/?>", RegexOptions.NonBacktracking)]
    private static partial Regex Tag();

    [GeneratedRegex(@"\*\*([^*\n]{1,500})\*\*|__([^_\n]{1,500})__", RegexOptions.NonBacktracking)]
    private static partial Regex Strong();

    [GeneratedRegex(@"\*([^*\s][^*\n]{0,500})\*", RegexOptions.NonBacktracking)]
    private static partial Regex Emphasis();

    [GeneratedRegex(@"(^|[\s(\[])_([^_\s][^_\n]{0,500})_([\s).,;:!?\]]|$)", RegexOptions.NonBacktracking)]
    private static partial Regex UnderscoreEmphasis();

    [GeneratedRegex(@"~~([^~\n]{1,500})~~", RegexOptions.NonBacktracking)]
    private static partial Regex Strike();

    [GeneratedRegex(@"``([^`\n]{1,1000})``|`([^`\n]{1,1000})`", RegexOptions.NonBacktracking)]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\\([!-/:-@\[-`{-~])", RegexOptions.NonBacktracking)]
    private static partial Regex Escape();

    [GeneratedRegex(@"^ {0,3}(`{3,}|~{3,})", RegexOptions.NonBacktracking)]
    private static partial Regex Fence();

    [GeneratedRegex(@"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$", RegexOptions.NonBacktracking)]
    private static partial Regex AtxHeading();

    [GeneratedRegex(@"^ {0,3}(=+|-+)[ \t]*$", RegexOptions.NonBacktracking)]
    private static partial Regex SetextUnderline();

    [GeneratedRegex(@"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$", RegexOptions.NonBacktracking)]
    private static partial Regex Rule();

    [GeneratedRegex(@"^( {0,3})([-*+]|[0-9]{1,9}[.)])([ \t]+|$)", RegexOptions.NonBacktracking)]
    private static partial Regex ListMarker();

    [GeneratedRegex(@"^ {0,3}\|?[ \t]*:?-{1,}:?[ \t]*(\|[ \t]*:?-{1,}:?[ \t]*)*\|?[ \t]*$", RegexOptions.NonBacktracking)]
    private static partial Regex TableDelimiter();

    /// <summary>The block scanner.</summary>
    private sealed class Reader(ExtractionBudget budget, bool markdown)
    {
        private readonly StringBuilder _paragraph = new();
        private bool _inItem;

        public List<Block> Blocks { get; } = [];

        public string? FirstHeading(int level) => Blocks.FirstOrDefault(b => b.Kind == BlockKind.Heading && b.Level == level)?.Text;

        public void Read(string[] lines, int start)
        {
            var i = start;
            while (i < lines.Length)
            {
                if ((i & 255) == 0)
                {
                    budget.Check();
                }

                var line = lines[i];
                budget.AddCharacters(line.Length + 1);
                if (line.Trim().Length == 0)
                {
                    EndParagraph();
                    _inItem = false;
                    i++;
                    continue;
                }

                i = markdown ? MarkdownLine(lines, i) : PlainLine(lines, i);
            }

            EndParagraph();
        }

        private int PlainLine(string[] lines, int i)
        {
            var line = lines[i];
            if (_paragraph.Length == 0 && (IsIndented(line) || IsDrawing(line)))
            {
                var end = i;
                while (end < lines.Length && lines[end].Trim().Length > 0 && (IsIndented(lines[end]) || IsDrawing(lines[end])))
                {
                    end++;
                }

                Emit(new Block(BlockKind.Code, string.Join('\n', lines[i..end]).TrimEnd()));
                return end;
            }

            AddToParagraph(line.Trim());
            return i + 1;
        }

        private int MarkdownLine(string[] lines, int i)
        {
            var line = lines[i];
            if (Fence().Match(line) is { Success: true } fence)
            {
                EndParagraph();
                var marker = fence.Groups[1].Value;
                var end = i + 1;
                while (end < lines.Length && !(lines[end].TrimStart().StartsWith(marker, StringComparison.Ordinal) && lines[end].Trim().All(c => c == marker[0])))
                {
                    end++;
                }

                var code = string.Join('\n', lines[(i + 1)..Math.Min(end, lines.Length)]).TrimEnd();
                if (code.Trim().Length > 0)
                {
                    Emit(new Block(BlockKind.Code, code));
                }

                return Math.Min(end + 1, lines.Length);
            }

            if (AtxHeading().Match(line) is { Success: true } atx)
            {
                EndParagraph();
                var text = Inline(atx.Groups[2].Value.TrimEnd().TrimEnd('#').TrimEnd()).Trim();
                if (text.Length > 0)
                {
                    Emit(new Block(BlockKind.Heading, text, atx.Groups[1].Length));
                }

                return i + 1;
            }

            // a paragraph line underlined with === or --- is a heading
            if (_paragraph.Length > 0 && !_inItem && SetextUnderline().Match(line) is { Success: true } underline)
            {
                var text = _paragraph.ToString().Trim();
                _paragraph.Clear();
                Emit(new Block(BlockKind.Heading, text, underline.Groups[1].Value[0] == '=' ? 1 : 2));
                return i + 1;
            }

            if (Rule().IsMatch(line))
            {
                EndParagraph();
                return i + 1;
            }

            if (line.Contains('|', StringComparison.Ordinal) && i + 1 < lines.Length && TableDelimiter().IsMatch(lines[i + 1]) && lines[i + 1].Contains('-', StringComparison.Ordinal))
            {
                EndParagraph();
                var rows = new List<string> { Row(line) };
                var end = i + 2;
                while (end < lines.Length && lines[end].Trim().Length > 0 && lines[end].Contains('|', StringComparison.Ordinal))
                {
                    rows.Add(Row(lines[end]));
                    end++;
                }

                Emit(new Block(BlockKind.Table, string.Join('\n', rows)));
                return end;
            }

            if (_paragraph.Length == 0 && !_inItem && IsIndented(line))
            {
                var end = i;
                while (end < lines.Length && (IsIndented(lines[end]) || (lines[end].Trim().Length == 0 && end + 1 < lines.Length && IsIndented(lines[end + 1]))))
                {
                    end++;
                }

                Emit(new Block(BlockKind.Code, string.Join('\n', lines[i..end].Select(l => l.Length >= 4 ? l[4..] : l.TrimStart())).TrimEnd()));
                return end;
            }

            var content = line.TrimStart();
            if (content.StartsWith('>'))
            {
                // a quote is read as the text it quotes
                content = content.TrimStart('>', ' ', '\t');
                if (content.Length == 0)
                {
                    EndParagraph();
                    return i + 1;
                }
            }

            if (ListMarker().Match(content) is { Success: true } item)
            {
                EndParagraph();
                _inItem = true;
                content = content[item.Length..];
            }

            AddToParagraph(content.Trim());
            return i + 1;
        }

        private void AddToParagraph(string text)
        {
            if (_paragraph.Length > 0)
            {
                _paragraph.Append(' ');
            }

            _paragraph.Append(text);
        }

        private void EndParagraph()
        {
            if (_paragraph.Length == 0)
            {
                return;
            }

            var text = _paragraph.ToString();
            _paragraph.Clear();
            if (markdown)
            {
                text = Inline(text);
            }

            text = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            if (text.Length > 0)
            {
                Emit(new Block(_inItem ? BlockKind.ListItem : BlockKind.Paragraph, text));
            }
        }

        private void Emit(Block block) => Blocks.Add(block);

        private static string Row(string line)
        {
            var cells = line.Trim().Trim('|').Split('|').Select(c => Inline(c.Trim()));
            return "| " + string.Join(" | ", cells) + " |";
        }

        private static bool IsIndented(string line) => line.StartsWith("    ", StringComparison.Ordinal) || line.StartsWith('\t');

        /// <summary>A line of a diagram or box drawing: drawing characters, or mostly symbols.</summary>
        private static bool IsDrawing(string line)
        {
            var t = line.Trim();
            if (t.Length < 3)
            {
                return false;
            }

            var letters = 0;
            foreach (var c in t)
            {
                if (c is >= '\u2500' and <= '\u259F')
                {
                    return true;
                }

                if (char.IsLetterOrDigit(c))
                {
                    letters++;
                }
            }

            return letters * 2 < t.Count(c => !char.IsWhiteSpace(c));
        }
    }
}
