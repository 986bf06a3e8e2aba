using System.Text;
using AngleSharp.Dom;
using AngleSharp.Html.Parser;
using UglyToad.PdfPig;

namespace Bruno.Core.Documents;

/// <summary>
/// Turns uploaded bytes into text to chunk: plain text and Markdown as UTF-8; HTML through a real parser (scripts,
/// styles and templates dropped, headings kept as Markdown headings so sections survive); PDF page by page (PdfPig).
/// Throws <see cref="DocumentRejectedException"/> for a type it does not read or bytes that are not what they claim.
/// </summary>
public static class TextExtractor
{
    /// <summary>Content types read.</summary>
    public static readonly IReadOnlySet<string> Types = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "text/plain", "text/markdown", "text/html", "application/pdf" };

    /// <summary>The media type without parameters, lower-cased; common aliases mapped (text/x-markdown, application/xhtml+xml).</summary>
    public static string Normalize(string? contentType)
    {
        var type = (contentType ?? "text/plain").Split(';')[0].Trim().ToLowerInvariant();
        return type switch
        {
            "text/x-markdown" => "text/markdown",
            "application/xhtml+xml" => "text/html",
            _ => type,
        };
    }

    /// <summary>Text (and whether it is Markdown) from <paramref name="bytes"/> of <paramref name="type"/> (normalised).</summary>
    public static (string Text, bool Markdown) Extract(ReadOnlySpan<byte> bytes, string type) => type switch
    {
        "text/plain" => (Utf8(bytes), false),
        "text/markdown" => (Utf8(bytes), true),
        "text/html" => (Html(Utf8(bytes)), true),
        "application/pdf" => (Pdf(bytes.ToArray()), true),
        _ => throw Unsupported(type),
    };

    /// <summary>Text from an HTML document.</summary>
    public static string Html(string html)
    {
        var document = new HtmlParser().ParseDocument(html ?? string.Empty);
        foreach (var element in document.QuerySelectorAll("script, style, noscript, template, svg, iframe, object").ToList())
        {
            element.Remove();
        }

        var text = new StringBuilder();
        Walk(document.Body ?? (INode)document.DocumentElement, text);
        return text.ToString();
    }

    private static void Walk(INode node, StringBuilder text)
    {
        foreach (var child in node.ChildNodes)
        {
            if (child is IText t)
            {
                text.Append(t.Data);
            }
            else if (child is IElement e)
            {
                var name = e.LocalName;
                if (name.Length == 2 && name[0] == 'h' && name[1] is >= '1' and <= '6')
                {
                    // a line of its own; the Markdown chunker reads it as a section heading
                    text.AppendLine().Append('#', name[1] - '0').Append(' ').Append(e.TextContent.ReplaceLineEndings(" ").Trim()).AppendLine();
                    continue;
                }

                var block = name is "p" or "div" or "li" or "tr" or "br" or "section" or "article" or "pre" or "blockquote" or "table" or "ul" or "ol";
                if (block)
                {
                    text.AppendLine();
                }

                Walk(e, text);
                if (block)
                {
                    text.AppendLine();
                }
            }
        }
    }

    private static string Pdf(byte[] bytes)
    {
        try
        {
            using var pdf = PdfDocument.Open(bytes);
            var text = new StringBuilder();
            foreach (var page in pdf.GetPages())
            {
                text.Append("# Page ").Append(page.Number).AppendLine();
                text.AppendLine(string.Join(' ', page.GetWords().Select(w => w.Text)));
            }

            return text.ToString();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DocumentRejectedException("The file is not a PDF that can be read.", DocumentRejection.Invalid);
        }
    }

    private static string Utf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes).TrimStart('\uFEFF');
        }
        catch (DecoderFallbackException)
        {
            throw new DocumentRejectedException("The text is not valid UTF-8.", DocumentRejection.Invalid);
        }
    }

    internal static DocumentRejectedException Unsupported(string type) =>
        new($"Content type '{(type.Length > 40 ? type[..40] : type)}' is not supported; send text/plain, text/markdown, text/html or application/pdf.", DocumentRejection.UnsupportedType);
}
