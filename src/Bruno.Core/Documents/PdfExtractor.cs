using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Text;
using UglyToad.PdfPig;
using UglyToad.PdfPig.Content;
using UglyToad.PdfPig.DocumentLayoutAnalysis;
using UglyToad.PdfPig.DocumentLayoutAnalysis.PageSegmenter;
using UglyToad.PdfPig.DocumentLayoutAnalysis.ReadingOrderDetector;
using UglyToad.PdfPig.DocumentLayoutAnalysis.WordExtractor;
using UglyToad.PdfPig.Filters;
using UglyToad.PdfPig.Tokens;

namespace Bruno.Core.Documents;

/// <summary>
/// Reads a PDF page by page with PdfPig's layout analysis: words from letter positions, text blocks (Docstrum),
/// blocks in reading order, lines within a block joined into one paragraph (a word hyphenated across lines is joined
/// again). A short block set clearly larger than the document's body text is a heading, ranked by size. Short blocks
/// repeated on most pages, digits aside (running headers, footers, page numbers), are dropped. Every block keeps its page number. The title is
/// the document's metadata title, else the largest text of page 1. Every stream PdfPig decodes is counted against the
/// decompressed-bytes limit before its bytes are allocated, the page count is checked before any page is read, and the
/// deadline is checked between pages.
/// </summary>
internal static class PdfExtractor
{
    /// <summary>Blocks and title of the PDF <paramref name="bytes"/>.</summary>
    public static ExtractedDocument Extract(byte[] bytes, ExtractionBudget budget)
    {
        var limits = budget.Limits;
        // a page tree in the clear is counted before PdfPig builds it (a tree of 100,000 pages takes it hundreds of MB)
        var declared = DeclaredPages(bytes);
        if (declared > limits.MaxPdfPages)
        {
            throw ExtractionBudget.Exceeded("MaxPdfPages", $"The PDF has {declared} pages, more than {limits.MaxPdfPages}.");
        }

        var decoded = new DecodeBudget(limits.MaxPdfDecompressedBytes, budget);
        PdfDocument pdf;
        try
        {
            pdf = PdfDocument.Open(bytes, new ParsingOptions { UseLenientParsing = true, SkipMissingFonts = true, FilterProvider = new BudgetedFilters(DefaultFilterProvider.Instance, decoded) });
        }
        catch (Exception e) when (e is not (DocumentRejectedException or OperationCanceledException or OutOfMemoryException))
        {
            throw Unreadable();
        }

        using (pdf)
        {
            int pages;
            try
            {
                pages = pdf.NumberOfPages;
            }
            catch (Exception e) when (e is not (DocumentRejectedException or OperationCanceledException or OutOfMemoryException))
            {
                throw Unreadable();
            }

            if (pages > limits.MaxPdfPages)
            {
                throw ExtractionBudget.Exceeded("MaxPdfPages", $"The PDF has {pages} pages, more than {limits.MaxPdfPages}.");
            }

            var read = new List<PageBlock>();
            for (var n = 1; n <= pages; n++)
            {
                budget.Check();
                try
                {
                    read.AddRange(ReadPage(pdf.GetPage(n), budget));
                }
                catch (Exception e) when (e is not (DocumentRejectedException or OperationCanceledException or OutOfMemoryException))
                {
                    if (n == 1 && pages == 1)
                    {
                        throw Unreadable();
                    }

                    // one damaged page does not lose the others
                }
            }

            string? metaTitle = null;
            try
            {
                metaTitle = pdf.Information.Title;
            }
            catch (Exception e) when (e is not (DocumentRejectedException or OperationCanceledException or OutOfMemoryException))
            {
                metaTitle = null;
            }

            return Assemble(read, pages, metaTitle);
        }
    }

    /// <summary>
    /// The pages a PDF declares outside compressed object streams: the largest <c>/Count</c> of a <c>/Type /Pages</c>
    /// node, or the number of <c>/Type /Page</c> objects if more. Trees inside object streams are counted by PdfPig once
    /// open, within the decompression budget.
    /// </summary>
    private static long DeclaredPages(ReadOnlySpan<byte> pdf)
    {
        long pages = 0, largest = 0;
        var at = 0;
        while (true)
        {
            var i = pdf[at..].IndexOf("/Type"u8);
            if (i < 0)
            {
                break;
            }

            at += i + 5;
            var rest = pdf[at..];
            var k = 0;
            while (k < rest.Length && rest[k] is (byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t')
            {
                k++;
            }

            if (!rest[k..].StartsWith("/Page"u8))
            {
                continue;
            }

            if (rest[k..].StartsWith("/Pages"u8))
            {
                // the node's /Count, within the same dictionary (before its closing >>)
                var end = rest.IndexOf(">>"u8);
                var dictionary = end < 0 ? rest : rest[..end];
                var start = Math.Max(0, at - 200);
                var before = pdf[start..at];
                largest = Math.Max(largest, Math.Max(CountIn(dictionary), CountIn(before[(before.LastIndexOf("<<"u8) is var o and >= 0 ? o : 0)..])));
            }
            else if (k + 5 >= rest.Length || !char.IsAsciiLetterOrDigit((char)rest[k + 5]))
            {
                pages++;
            }
        }

        return Math.Max(pages, largest);
    }

    private static long CountIn(ReadOnlySpan<byte> dictionary)
    {
        var i = dictionary.IndexOf("/Count"u8);
        if (i < 0)
        {
            return 0;
        }

        var digits = dictionary[(i + 6)..].TrimStart(" \r\n\t"u8);
        long n = 0;
        foreach (var b in digits)
        {
            if (b is < (byte)'0' or > (byte)'9' || n > 100_000_000)
            {
                break;
            }

            n = (n * 10) + (b - '0');
        }

        return n;
    }

    private static DocumentRejectedException Unreadable() => new("The file is not a PDF that can be read.", DocumentRejection.Unreadable);

    private static List<PageBlock> ReadPage(Page page, ExtractionBudget budget)
    {
        var letters = page.Letters;
        if (letters.Count == 0)
        {
            return [];
        }

        var words = NearestNeighbourWordExtractor.Instance.GetWords(letters).ToList();
        budget.Check();
        IEnumerable<TextBlock> blocks;
        try
        {
            blocks = UnsupervisedReadingOrderDetector.Instance.Get(DocstrumBoundingBoxes.Instance.GetBlocks(words)).OrderBy(b => b.ReadingOrder);
        }
        catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException))
        {
            blocks = [new TextBlock([new TextLine(words, " ")], "\n")];
        }

        var result = new List<PageBlock>();
        foreach (var block in blocks)
        {
            // a block can hold a heading and the paragraph under it: a change of size or a wide gap starts a new one
            var run = new List<TextLine>();
            double? previousSize = null;
            PdfRectangleLike? previous = null;
            foreach (var line in block.TextLines)
            {
                var size = Median(line.Words.SelectMany(w => w.Letters).Select(l => l.PointSize));
                var box = new PdfRectangleLike(line.BoundingBox.Bottom, line.BoundingBox.Top);
                var height = Math.Max(1, box.Top - box.Bottom);
                if (run.Count > 0 && (Math.Abs(size - previousSize!.Value) > 0.15 * Math.Max(size, previousSize.Value) || previous!.Value.Bottom - box.Top > 1.6 * height))
                {
                    Add(result, run, page.Number, budget);
                    run = [];
                }

                run.Add(line);
                previousSize = size;
                previous = box;
            }

            Add(result, run, page.Number, budget);
        }

        return result;
    }

    private static void Add(List<PageBlock> result, List<TextLine> lines, int page, ExtractionBudget budget)
    {
        var text = Join(lines.Select(l => l.Text));
        if (text.Length == 0)
        {
            return;
        }

        budget.AddCharacters(text.Length);
        var sizes = lines.SelectMany(l => l.Words).SelectMany(w => w.Letters).Select(l => l.PointSize).Where(s => s > 0).ToList();
        result.Add(new PageBlock(page, text, Median(sizes), lines.Count, sizes.Count));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => v > 0).Order().ToList();
        return sorted.Count == 0 ? 0 : sorted[sorted.Count / 2];
    }

    private readonly record struct PdfRectangleLike(double Bottom, double Top);

    /// <summary>Lines of a block as one paragraph: a word split by a hyphen at a line's end is joined again.</summary>
    private static string Join(IEnumerable<string> lines)
    {
        var text = new StringBuilder();
        foreach (var raw in lines)
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (text.Length > 1 && text[^1] == '-' && char.IsLetter(text[^2]) && char.IsLower(line[0]))
            {
                text.Length--;
            }
            else if (text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(line);
        }

        return string.Join(' ', text.ToString().Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
    }

    private static ExtractedDocument Assemble(List<PageBlock> read, int pages, string? metaTitle)
    {
        // running headers and footers: the same short line (digits aside) on most pages
        var repeated = new HashSet<string>(StringComparer.Ordinal);
        if (pages >= 3)
        {
            foreach (var group in read.Where(b => b.Text.Length <= 120).GroupBy(b => Normalized(b.Text)))
            {
                if (group.Select(b => b.Page).Distinct().Count() * 2 > pages)
                {
                    repeated.Add(group.Key);
                }
            }
        }

        var kept = read.Where(b => !repeated.Contains(Normalized(b.Text)) && !IsPageNumber(b.Text)).ToList();
        var body = BodySize(kept);
        var headingSizes = kept.Where(b => IsHeading(b, body)).Select(b => Math.Round(b.Size, 1)).Distinct().OrderByDescending(s => s).ToList();
        var blocks = new List<Block>();
        foreach (var b in kept)
        {
            if (IsHeading(b, body))
            {
                var level = Math.Min(6, headingSizes.IndexOf(Math.Round(b.Size, 1)) + 1);
                blocks.Add(new Block(BlockKind.Heading, b.Text, Math.Max(1, level), b.Page));
            }
            else
            {
                blocks.Add(new Block(BlockKind.Paragraph, b.Text, 0, b.Page));
            }
        }

        var title = string.IsNullOrWhiteSpace(metaTitle) ? null : string.Join(' ', metaTitle.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (title is null)
        {
            var first = kept.Where(b => b.Page == kept.FirstOrDefault()?.Page && b.Text.Length <= 200).OrderByDescending(b => b.Size).FirstOrDefault();
            if (first is not null && first.Size > body)
            {
                title = first.Text;
            }
        }

        return new ExtractedDocument(title, blocks, new Dictionary<string, string>());
    }

    /// <summary>The point size most of the document's letters have.</summary>
    private static double BodySize(List<PageBlock> blocks)
    {
        var weighted = blocks.Where(b => b.Size > 0).GroupBy(b => Math.Round(b.Size, 1)).Select(g => (Size: g.Key, Letters: g.Sum(b => b.Letters))).OrderByDescending(g => g.Letters).FirstOrDefault();
        return weighted.Size;
    }

    private static bool IsHeading(PageBlock b, double body) =>
        body > 0 && b.Size >= body * 1.15 && b.Lines <= 3 && b.Text.Length <= 150 && b.Text.Any(char.IsLetter) && !b.Text.EndsWith('.');

    private static bool IsPageNumber(string text)
    {
        var t = text.Trim();
        return t.Length <= 12 && (t.All(char.IsDigit) || t.StartsWith("page ", StringComparison.OrdinalIgnoreCase) && t[5..].Replace(" of ", string.Empty, StringComparison.OrdinalIgnoreCase).All(c => char.IsDigit(c) || c == ' '));
    }

    private static string Normalized(string text) => new([.. text.Select(c => char.IsDigit(c) ? '#' : c)]);

    private sealed record PageBlock(int Page, string Text, double Size, int Lines, int Letters);

    /// <summary>The decompressed bytes one PDF may produce, shared by all its streams.</summary>
    private sealed class DecodeBudget(long limit, ExtractionBudget budget)
    {
        private long _used;

        public long Remaining => limit - _used;

        /// <summary>No single stream may take more than an eighth of the budget (a content stream that large is an attack, not a page).</summary>
        public long PerStream => Math.Max(1 << 20, limit / 8);

        public void Take(long bytes)
        {
            budget.Check();
            _used += bytes;
            if (_used > limit || bytes > PerStream)
            {
                throw Exceeded();
            }
        }

        public DocumentRejectedException Exceeded() =>
            ExtractionBudget.Exceeded("MaxPdfDecompressedBytes", $"The PDF's streams decompress to more than {limit} bytes (or one stream to more than {PerStream}).");

        public void CheckTime() => budget.Check();
    }

    /// <summary>PdfPig's filters, each counted against the budget before it decodes.</summary>
    private sealed class BudgetedFilters(IFilterProvider inner, DecodeBudget budget) : IFilterProvider
    {
        public IReadOnlyList<IFilter> GetFilters(DictionaryToken dictionary) => Wrap(inner.GetFilters(dictionary));

        public IReadOnlyList<IFilter> GetNamedFilters(IReadOnlyList<NameToken> names) => Wrap(inner.GetNamedFilters(names));

        public IReadOnlyList<IFilter> GetAllFilters() => Wrap(inner.GetAllFilters());

        private IReadOnlyList<IFilter> Wrap(IReadOnlyList<IFilter> filters) => [.. filters.Select(f => (IFilter)new BudgetedFilter(f, budget))];
    }

    private sealed class BudgetedFilter(IFilter inner, DecodeBudget budget) : IFilter
    {
        public bool IsSupported => inner.IsSupported;

        public Memory<byte> Decode(Memory<byte> input, DictionaryToken streamDictionary, IFilterProvider filterProvider, int filterIndex)
        {
            budget.CheckTime();
            // Flate, LZW and run-length can expand without bound: their output is counted without being kept, and only
            // a stream that fits is handed to PdfPig. The other filters shrink their input or decode images.
            var counted = inner.GetType().Name switch
            {
                "FlateFilter" => Inflated(input, Math.Min(budget.Remaining, budget.PerStream) + 1),
                "LzwFilter" => LzwLength(input.Span, Math.Min(budget.Remaining, budget.PerStream) + 1),
                "RunLengthFilter" => RunLength(input.Span),
                _ => -1,
            };
            if (counted >= 0)
            {
                budget.Take(counted);
            }

            var output = inner.Decode(input, streamDictionary, filterProvider, filterIndex);
            if (counted < 0)
            {
                budget.Take(output.Length);
            }

            return output;
        }

        /// <summary>Bytes the zlib stream inflates to, stopping once past <paramref name="cap"/>.</summary>
        private static long Inflated(Memory<byte> input, long cap)
        {
            var segment = MemoryMarshal.TryGetArray<byte>(input, out var s) ? s : new ArraySegment<byte>(input.ToArray());
            var array = segment.Array!;
            // zlib framing (CMF 0x78 and a valid check) is skipped like PdfPig does; raw deflate otherwise
            var skip = segment.Count >= 2 && (array[segment.Offset] & 0x0F) == 8 && ((array[segment.Offset] << 8) | array[segment.Offset + 1]) % 31 == 0 ? 2 : 0;
            using var source = new MemoryStream(array, segment.Offset + skip, segment.Count - skip, writable: false);
            using var inflater = new DeflateStream(source, CompressionMode.Decompress);
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 16);
            long total = 0;
            try
            {
                int n;
                while (total <= cap && (n = inflater.Read(buffer, 0, buffer.Length)) > 0)
                {
                    total += n;
                }
            }
            catch (InvalidDataException)
            {
                // a damaged stream: what inflated before the damage is what PdfPig gets too
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }

            return total;
        }

        /// <summary>Bytes an LZW stream (PDF's variant, early change) decodes to: only entry lengths are tracked.</summary>
        private static long LzwLength(ReadOnlySpan<byte> data, long cap)
        {
            Span<int> length = stackalloc int[4096];
            for (var i = 0; i < 256; i++)
            {
                length[i] = 1;
            }

            int next = 258, width = 9, previous = -1, bits = 0, buffer = 0;
            long total = 0;
            foreach (var b in data)
            {
                buffer = (buffer << 8) | b;
                bits += 8;
                while (bits >= width)
                {
                    var code = (buffer >> (bits - width)) & ((1 << width) - 1);
                    bits -= width;
                    if (code == 256)
                    {
                        (next, width, previous) = (258, 9, -1);
                        continue;
                    }

                    if (code == 257)
                    {
                        return total;
                    }

                    int entry;
                    if (code < next && code != 256 && code != 257)
                    {
                        entry = length[code];
                    }
                    else if (code == next && previous >= 0)
                    {
                        entry = length[previous] + 1;
                    }
                    else
                    {
                        return total; // damaged
                    }

                    total += entry;
                    if (total > cap)
                    {
                        return total;
                    }

                    if (previous >= 0 && next < 4096)
                    {
                        length[next++] = length[previous] + 1;
                    }

                    previous = code;
                    if (next + 1 >= 1 << width && width < 12)
                    {
                        width++;
                    }
                }
            }

            return total;
        }

        private static long RunLength(ReadOnlySpan<byte> data)
        {
            long total = 0;
            var i = 0;
            while (i < data.Length)
            {
                var n = data[i];
                if (n == 128)
                {
                    break;
                }

                if (n < 128)
                {
                    total += n + 1;
                    i += n + 2;
                }
                else
                {
                    total += 257 - n;
                    i += 2;
                }
            }

            return total;
        }
    }
}
