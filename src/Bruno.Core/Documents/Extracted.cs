namespace Bruno.Core.Documents;

/// <summary>What a block of an extracted document is; the chunker keeps code and tables whole, the answerer quotes prose only.</summary>
public enum BlockKind
{
    /// <summary>A section heading (<see cref="Block.Level"/> 1-6); it names the blocks after it.</summary>
    Heading,

    /// <summary>Running text, one paragraph.</summary>
    Paragraph,

    /// <summary>One item of a list.</summary>
    ListItem,

    /// <summary>Preformatted text (a code block, a command, a diagram), line breaks kept.</summary>
    Code,

    /// <summary>A table, one row per line, cells separated by <c> | </c>.</summary>
    Table,
}

/// <summary>One block of an extracted document: its kind, its text, its heading level (headings), and the page it
/// starts on (PDF; 0 elsewhere).</summary>
public sealed record Block(BlockKind Kind, string Text, int Level = 0, int Page = 0);

/// <summary>
/// A document as the extractors read it: a title when the file names one (HTML <c>title</c>, Markdown front matter or
/// first level-1 heading, PDF metadata or the largest text of page 1), its blocks in reading order, and metadata it declares
/// (Markdown front matter).
/// </summary>
public sealed record ExtractedDocument(string? Title, IReadOnlyList<Block> Blocks, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>The number of characters of text in the blocks.</summary>
    public long Characters => Blocks.Sum(b => (long)b.Text.Length);
}
