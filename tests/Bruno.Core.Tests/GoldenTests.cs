using System.Text;
using Bruno.Core.Documents;
using UglyToad.PdfPig.Core;
using UglyToad.PdfPig.Fonts.Standard14Fonts;
using UglyToad.PdfPig.Writer;

namespace Bruno.Core.Tests;

/// <summary>
/// Extracted text and chunk boundaries of real files, compared with snapshots in Golden/ (a frozen copy of one of the
/// project's own documents, and an HTML page and a PDF the tests build). BRUNO_UPDATE_SNAPSHOTS=1 rewrites them; a
/// change shows in review as a diff of what users' documents become.
/// </summary>
public sealed class GoldenTests
{
    public static TheoryData<string> Files => ["scaling.md", "handbook.html", "manual.pdf"];

    [Theory]
    [MemberData(nameof(Files))]
    public void Extraction_AndChunking_MatchTheSnapshots(string name)
    {
        var (bytes, type) = Input(name);
        var doc = TextExtractor.Extract(bytes, type, new IngestionOptions(), TestContext.Current.CancellationToken);
        var blocks = new StringBuilder($"title: {doc.Title}\n");
        foreach (var (k, v) in doc.Metadata)
        {
            blocks.Append($"meta {k}: {v}\n");
        }

        foreach (var b in doc.Blocks)
        {
            blocks.Append($"[{b.Kind}{(b.Level > 0 ? " " + b.Level : string.Empty)}{(b.Page > 0 ? " p" + b.Page : string.Empty)}] {b.Text}\n");
        }

        var chunks = new StringBuilder();
        foreach (var c in Chunker.Split(doc, doc.Title ?? name, 254, 48))
        {
            chunks.Append($"===== chunk {c.Position} | section: {c.Section} | page: {c.Page} | ~{Chunker.Tokens(c.Text)} tokens\n{c.Text}\n");
        }

        Compare($"{name}.blocks.txt", blocks.ToString());
        Compare($"{name}.chunks.txt", chunks.ToString());
    }

    private static void Compare(string file, string actual)
    {
        var path = Path.Combine(Folder(), "Snapshots", file);
        if (Environment.GetEnvironmentVariable("BRUNO_UPDATE_SNAPSHOTS") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"{file} has no snapshot; run the tests once with BRUNO_UPDATE_SNAPSHOTS=1");
        Assert.Equal(File.ReadAllText(path), actual);
    }

    private static (byte[] Bytes, string Type) Input(string name) => name switch
    {
        "scaling.md" => (File.ReadAllBytes(Path.Combine(Folder(), "scaling.md")), "text/markdown"),
        "handbook.html" => (Encoding.UTF8.GetBytes(Handbook), "text/html"),
        _ => (Manual(), "application/pdf"),
    };

    private static string Folder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Bruno.Core.Tests.csproj")))
            {
                return Path.Combine(dir.FullName, "Golden");
            }
        }

        throw new DirectoryNotFoundException("The test project's folder was not found.");
    }

    /// <summary>A documentation page as generators write them: navigation bars, a sidebar, notes, definitions, listings and a table.</summary>
    private const string Handbook = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Backups and restores — Acme Operations Handbook 4.2</title>
        <link rel="stylesheet" href="style.css"><script src="search.js"></script></head>
        <body>
        <div class="related" role="navigation"><ul><li><a href="index.html">index</a></li><li><a href="next.html">next</a> |</li><li><a href="prev.html">previous</a> |</li></ul></div>
        <div class="document"><div class="documentwrapper"><div class="body" role="main">
        <section id="backups">
        <h1>Backups and restores<a class="headerlink" href="#backups">¶</a></h1>
        <p>Every store is backed up each night at 02:00 UTC. A backup holds the tenant's encrypted files and nothing in
        the clear; keep it apart from the <em>key directory</em>.</p>
        <div class="admonition note"><p class="admonition-title">Note</p><p>A backup taken while a tenant is being
        moved holds the tenant on its old node only.</p></div>
        <section id="options">
        <h2>Options<a class="headerlink" href="#options">¶</a></h2>
        <dl class="option">
        <dt id="cmdoption-exclude"><span class="pre">--exclude</span> <em>PATTERN</em></dt>
        <dd><p>Skips files matching PATTERN. May be given more than once.</p><p>Patterns are matched against paths relative to the data root.</p></dd>
        <dt id="cmdoption-keep"><span class="pre">--keep</span> <em>DAYS</em></dt>
        <dd><p>How long backups are kept (default 30 days).</p></dd>
        </dl>
        <p>To leave the cache out of a backup, run:</p>
        <div class="highlight"><pre><span></span>bruno backup --exclude <span class="s">'cache/*'</span> \
            --keep <span class="m">14</span> /srv/backups</pre></div>
        <table class="docutils"><thead><tr><th>Setting</th><th>Default</th><th>Meaning</th></tr></thead>
        <tbody><tr><td><code>Backup:Hour</code></td><td>2</td><td>the hour (UTC) backups start</td></tr>
        <tr><td><code>Backup:Keep</code></td><td>30</td><td>days a backup is kept</td></tr></tbody></table>
        </section>
        <section id="restoring">
        <h2>Restoring<a class="headerlink" href="#restoring">¶</a></h2>
        <p>Restore a tenant with <code>bruno restore TENANT --from FILE</code>. The tenant must be suspended first;
        a restore of an active tenant is refused.</p>
        <div class="admonition warning"><p class="admonition-title">Warning</p><p>A restore replaces every row written
        since the backup.</p></div>
        </section>
        </section>
        </div></div>
        <div class="sphinxsidebar" role="navigation"><h3>Table of Contents</h3><ul><li><a href="#">Backups and restores</a></li></ul>
        <div role="search"><form action="search.html"><input type="text" name="q"></form></div></div></div>
        <div class="footer">© Copyright Acme. Last updated on Nov 30, 2026.</div>
        </body></html>
        """;

    /// <summary>A three-page manual: a title, headings, paragraphs set over several lines, a running header and page numbers.</summary>
    private static byte[] Manual()
    {
        var builder = new PdfDocumentBuilder();
        var font = builder.AddStandard14Font(Standard14Font.Helvetica);
        var bold = builder.AddStandard14Font(Standard14Font.HelveticaBold);
        string[][] pages =
        [
            ["#Acme Toaster T-200", "Every Acme toaster is covered for two years from the date of", "purchase. The warranty covers parts and labour, and it moves", "with the toaster when it is sold.", "", "##Cleaning", "Unplug the toaster and let it cool before cleaning. Empty the", "crumb tray every week; a full tray can catch fire."],
            ["##Troubleshooting", "If the toaster does not heat, check that the lever locks down. A", "lever that springs back means the bread is too thick for the slots.", "", "Burnt toast on one side only means a heating element has failed;", "send the toaster for repair under the warranty."],
            ["##Claims", "Send claims to the address on the box within thirty days of the", "fault, with the receipt and the serial number from the base."],
        ];
        for (var p = 0; p < pages.Length; p++)
        {
            var page = builder.AddPage(UglyToad.PdfPig.Content.PageSize.A4);
            page.AddText("Acme T-200 Owner's Manual", 8, new PdfPoint(50, 810), font); // running header
            page.AddText((p + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), 8, new PdfPoint(297, 30), font); // page number
            var y = 760.0;
            foreach (var line in pages[p])
            {
                if (line.Length == 0)
                {
                    y -= 14;
                    continue;
                }

                var (size, text, f) = line.StartsWith("##", StringComparison.Ordinal) ? (15.0, line[2..], bold) : line.StartsWith('#') ? (22.0, line[1..], bold) : (11.0, line, font);
                y -= line.StartsWith('#') ? 8 : 0;
                page.AddText(text, size, new PdfPoint(50, y), f);
                y -= size + 3 + (line.StartsWith('#') ? 10 : 0);
            }
        }

        return builder.Build();
    }
}
