using Bruno.Core.Documents;
using Bruno.Testing;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Bruno.Core.Tests;

/// <summary>What the extractors make of real structures, and how they refuse hostile files.</summary>
public sealed class ExtractionTests
{
    private static readonly IngestionOptions Limits = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ExtractedDocument Html(string html) => TextExtractor.ExtractText(html, "text/html", Limits, Ct);

    private static ExtractedDocument Markdown(string md) => TextExtractor.ExtractText(md, "text/markdown", Limits, Ct);

    private static DocumentRejectedException Refused(Func<ExtractedDocument> extract) => Assert.Throws<DocumentRejectedException>(() => extract());

    [Fact]
    public void Html_TakesItsTitle_DropsPageFurniture_AndKeepsStructure()
    {
        var doc = Html("""
            <html><head><title>Backups — Acme Handbook</title><style>p{}</style></head><body>
            <header><a href="/">Acme</a> <a href="/docs">Docs</a></header>
            <nav><ul><li><a href="a">Prev</a></li><li><a href="b">Up</a></li></ul></nav>
            <div class="navheader"><table><tr><td><a>Prev</a></td><td><a>Up</a></td><th>Chapter 2</th></tr></table></div>
            <article>
              <h1>Backups</h1>
              <p>Backups run every night at <b>two</b>.<br>They keep <em>thirty</em> days.</p>
              <div class="note"><h3 class="title">Note</h3><p>Restores need the operator role.</p></div>
              <h2>Excluding folders</h2>
              <p>Add the folder to the exclude list:</p>
              <pre>tar --exclude=cache
                -czf backup.tgz /srv</pre>
              <table><tr><th>Setting</th><th>Default</th></tr><tr><td>Retention</td><td>30</td></tr></table>
              <dl><dt><code>--exclude</code></dt><dd><p>Skips matching paths.</p><p>May be repeated.</p></dd></dl>
              <form><input name="q"><button>Search</button></form>
            </article>
            <aside>Related: restores</aside>
            <footer>© Acme</footer>
            <script>var tracking = 1;</script>
            </body></html>
            """);

        Assert.Equal("Backups", doc.Title); // the site's name after the page's own is dropped
        var text = string.Join("\n", doc.Blocks.Select(b => $"{b.Kind}: {b.Text}"));
        Assert.Equal(
            """
            Heading: Backups
            Paragraph: Backups run every night at two. They keep thirty days.
            Paragraph: Note: Restores need the operator role.
            Heading: Excluding folders
            Paragraph: Add the folder to the exclude list:
            Code: tar --exclude=cache
                -czf backup.tgz /srv
            Table: | Setting | Default |
            | Retention | 30 |
            Paragraph: --exclude — Skips matching paths.
            Paragraph: May be repeated.
            """.ReplaceLineEndings("\n"),
            text);
        Assert.DoesNotContain("Prev", text, StringComparison.Ordinal);
        Assert.DoesNotContain("tracking", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Html_WithAMainLandmark_IsReadThereOnly_AndCellsAreNotGlued()
    {
        var doc = Html("<html><body><div class='top'>Skip to content</div><div role='main'><h1>Guide</h1><table><tr><td>Prev</td><td>Up</td><td>Chapter 2</td></tr></table><p>Body text here.</p></div><div>Footer links</div></body></html>");
        Assert.Equal("Guide", doc.Title);
        Assert.Equal(["Guide", "| Prev | Up | Chapter 2 |", "Body text here."], doc.Blocks.Select(b => b.Text));
    }

    [Fact]
    public void Html_UnclosedParagraphsAndListItems_EndWhereHtmlEndsThem()
    {
        var doc = Html("<body><p>One<p>Two<ul><li>a<li>b</ul><dl><dt>x<dd>the x<dt>y<dd>the y</dl></body>");
        Assert.Equal(["One", "Two", "a", "b", "x — the x", "y — the y"], doc.Blocks.Select(b => b.Text));
        Assert.Equal([BlockKind.Paragraph, BlockKind.Paragraph, BlockKind.ListItem, BlockKind.ListItem, BlockKind.Paragraph, BlockKind.Paragraph], doc.Blocks.Select(b => b.Kind));
    }

    [Fact]
    public void Markdown_FrontMatter_BecomesMetadata_AndInlineMarkupIsReadAsText()
    {
        var doc = Markdown("""
            ---
            title: "Rate limits"
            owner: platform-team
            tags: [a, b]
            ---
            # Limits

            Requests are **limited** per [tenant](https://example.com/t) and `per_user_key`; see ![chart](c.png) *below*.

            | Plan | Per minute |
            |------|-----------:|
            | default | 100 |

            ```bash
            # not a heading
            bruno tenant plan acme premium
            ```
            - first item
            - second item
            """);

        Assert.Equal("Rate limits", doc.Title);
        Assert.Equal(new Dictionary<string, string> { ["title"] = "Rate limits", ["owner"] = "platform-team" }, doc.Metadata);
        Assert.Equal(
            [
                (BlockKind.Heading, "Limits"),
                (BlockKind.Paragraph, "Requests are limited per tenant and per_user_key; see chart below."),
                (BlockKind.Table, "| Plan | Per minute |\n| default | 100 |"),
                (BlockKind.Code, "# not a heading\nbruno tenant plan acme premium"),
                (BlockKind.ListItem, "first item"),
                (BlockKind.ListItem, "second item"),
            ],
            doc.Blocks.Select(b => (b.Kind, b.Text)));
    }

    [Fact]
    public void Pdf_RebuildsParagraphsFromWordPositions_KeepsPages_AndTakesTheLargestTextAsTitle()
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        var page = builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4);
        page.AddText("Acme Toaster Warranty", 20, new PdfPoint(50, 750), font);
        page.AddText("Every Acme toaster is covered for two years from the", 11, new PdfPoint(50, 700), font);
        page.AddText("date of purchase. The warranty covers parts and labour.", 11, new PdfPoint(50, 686), font);
        var second = builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4);
        second.AddText("Claims", 20, new PdfPoint(50, 750), font);
        second.AddText("Send claims to the address on the box within thirty days.", 11, new PdfPoint(50, 700), font);

        var doc = TextExtractor.Extract(builder.Build(), "application/pdf", Limits, Ct);

        Assert.Equal("Acme Toaster Warranty", doc.Title);
        Assert.Equal(
            [
                (BlockKind.Heading, "Acme Toaster Warranty", 1),
                (BlockKind.Paragraph, "Every Acme toaster is covered for two years from the date of purchase. The warranty covers parts and labour.", 1),
                (BlockKind.Heading, "Claims", 2),
                (BlockKind.Paragraph, "Send claims to the address on the box within thirty days.", 2),
            ],
            doc.Blocks.Select(b => (b.Kind, b.Text, b.Page)));
    }

    [Fact]
    public void DeepHtml_IsRefused_NamingTheDepthLimit()
    {
        var e = Refused(() => TextExtractor.Extract(HostileFiles.DeepHtml(1_000_000), "text/html", Limits, Ct));
        Assert.Equal(DocumentRejection.LimitExceeded, e.Reason);
        Assert.Equal("Bruno:Ingestion:MaxHtmlDepth", e.Limit);
    }

    [Fact]
    public void HtmlOverTheElementLimit_IsRefused()
    {
        var html = "<body>" + string.Concat(Enumerable.Repeat("<p>x</p>", 1_000)) + "</body>";
        var e = Refused(() => TextExtractor.ExtractText(html, "text/html", new IngestionOptions { MaxHtmlElements = 500 }, Ct));
        Assert.Equal("Bruno:Ingestion:MaxHtmlElements", e.Limit);
    }

    [Fact]
    public void PdfFlateBomb_IsRefusedBeforeItsBytesAreAllocated()
    {
        var bomb = HostileFiles.FlateBombPdf(1_024);
        Assert.True(bomb.Length < 3 * 1024 * 1024, $"{bomb.Length} bytes");
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var e = Refused(() => TextExtractor.Extract(bomb, "application/pdf", Limits, Ct));
        Assert.Equal("Bruno:Ingestion:MaxPdfDecompressedBytes", e.Limit);
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 200L << 20, "the inflated stream was allocated");
    }

    [Fact]
    public void PdfWithTooManyPages_IsRefusedBeforeAnyPageIsRead()
    {
        var e = Refused(() => TextExtractor.Extract(HostileFiles.ManyPagesPdf(100_000), "application/pdf", Limits, Ct));
        Assert.Equal("Bruno:Ingestion:MaxPdfPages", e.Limit);
    }

    [Fact]
    public void MalformedPdf_IsUnreadable()
    {
        Assert.Equal(DocumentRejection.Unreadable, Refused(() => TextExtractor.Extract(HostileFiles.MalformedPdf(), "application/pdf", Limits, Ct)).Reason);
        Assert.Equal(DocumentRejection.Unreadable, Refused(() => TextExtractor.Extract("%PDF-1.7 broken"u8.ToArray(), "application/pdf", Limits, Ct)).Reason);
    }

    [Fact]
    public void TextOverTheCharacterLimit_IsRefused()
    {
        var e = Refused(() => TextExtractor.Extract(HostileFiles.OneLineMarkdown(20_000), "text/markdown", new IngestionOptions { MaxCharacters = 10_000 }, Ct));
        Assert.Equal("Bruno:Ingestion:MaxCharacters", e.Limit);
    }

    [Theory]
    [InlineData("links")]
    [InlineData("brackets")]
    [InlineData("emphasis")]
    [InlineData("quotes")]
    [InlineData("lists")]
    [InlineData("backticks")]
    public void MarkdownThatStallsParsers_IsReadToTheEnd(string shape)
    {
        // inputs that keep common Markdown parsers busy for minutes (one took 396 s on the first)
        var md = shape switch
        {
            "links" => string.Concat(Enumerable.Repeat("[a](", 200_000)),
            "brackets" => new string('[', 1_000_000),
            "emphasis" => string.Concat(Enumerable.Repeat("*a ", 300_000)),
            "quotes" => new string('>', 100_000) + " x",
            "lists" => string.Concat(Enumerable.Range(0, 1_800).Select(i => new string(' ', i * 2) + "- x\n")),
            _ => string.Concat(Enumerable.Range(1, 2_500).Select(i => new string('`', i) + "a")),
        };
        var doc = TextExtractor.ExtractText(md, "text/markdown", Limits, Ct);
        Assert.NotEmpty(doc.Blocks);
    }

    [Fact]
    public void ACallerThatGivesUp_CancelsTheExtraction()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var html = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<p>x</p>", 5_000)));
        Assert.ThrowsAny<OperationCanceledException>(() => TextExtractor.Extract(html, "text/html", Limits, cancelled.Token));
    }

    [Theory]
    [InlineData("text/html")]
    [InlineData("text/markdown")]
    [InlineData("application/pdf")]
    public void AnExtractionPastItsDeadline_IsRefusedNamingTheTimeout(string type)
    {
        var bytes = type switch
        {
            "text/html" => System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("<p>x</p>", 5_000))),
            "text/markdown" => HostileFiles.OneLineMarkdown(100_000),
            _ => HostileFiles.ManyPagesPdf(10),
        };
        var e = Refused(() => TextExtractor.Extract(bytes, type, Limits, TimeSpan.Zero, Ct));
        Assert.Equal("Bruno:Ingestion:TimeoutSeconds", e.Limit);
    }
}
