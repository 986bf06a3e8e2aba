using System.Text;

namespace Bruno.Core.Documents;

/// <summary>
/// Turns uploaded content into an <see cref="ExtractedDocument"/>: plain text and Markdown as UTF-8 (see
/// <see cref="MarkdownExtractor"/>), HTML with a streaming reader (see <see cref="HtmlExtractor"/>), PDF with layout
/// analysis (see <see cref="PdfExtractor"/>), each within the limits of <see cref="IngestionOptions"/>. Throws
/// <see cref="DocumentRejectedException"/> for a type it does not read, bytes that are not what they claim, or content
/// over a limit (the exception names the setting); <see cref="OperationCanceledException"/> when the caller gives up.
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

    /// <summary>The largest input of <paramref name="type"/> accepted, and the setting that says so.</summary>
    public static (long Bytes, string Setting) MaxBytes(string type, IngestionOptions limits, int maxDocumentBytes)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var (bytes, setting) = type switch
        {
            "text/html" => (limits.MaxHtmlBytes, "Bruno:Ingestion:MaxHtmlBytes"),
            "application/pdf" => (limits.MaxPdfBytes, "Bruno:Ingestion:MaxPdfBytes"),
            _ => (limits.MaxTextBytes, "Bruno:Ingestion:MaxTextBytes"),
        };
        return bytes <= maxDocumentBytes ? (bytes, setting) : (maxDocumentBytes, "Bruno:MaxDocumentBytes");
    }

    /// <summary>Reads uploaded <paramref name="bytes"/> of <paramref name="type"/> (normalised).</summary>
    public static ExtractedDocument Extract(ReadOnlyMemory<byte> bytes, string type, IngestionOptions limits, CancellationToken ct = default) =>
        Extract(bytes, type, limits, null, ct);

    /// <summary>The same with a deadline other than the settings' (tests).</summary>
    internal static ExtractedDocument Extract(ReadOnlyMemory<byte> bytes, string type, IngestionOptions limits, TimeSpan? deadline, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(limits);
        using var budget = new ExtractionBudget(limits, ct, deadline);
        return type switch
        {
            "application/pdf" => Guarded(budget, () => PdfExtractor.Extract(bytes.ToArray(), budget)),
            "text/plain" or "text/markdown" or "text/html" => Read(Utf8(bytes.Span), type, budget),
            _ => throw Unsupported(type),
        };
    }

    /// <summary>Reads <paramref name="text"/> sent as <paramref name="type"/> (plain, Markdown or HTML; normalised).</summary>
    public static ExtractedDocument ExtractText(string text, string type, IngestionOptions limits, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(limits);
        using var budget = new ExtractionBudget(limits, ct);
        return type switch
        {
            "text/plain" or "text/markdown" or "text/html" => Read(text ?? string.Empty, type, budget),
            _ => throw Unsupported(type),
        };
    }

    private static ExtractedDocument Read(string text, string type, ExtractionBudget budget) => text.Contains('\0', StringComparison.Ordinal)
        ? throw new DocumentRejectedException("The document holds NUL characters.", DocumentRejection.Invalid)
        : Guarded(budget, () => type switch
    {
        "text/html" => HtmlExtractor.Extract(text, budget),
        "text/markdown" => MarkdownExtractor.Markdown(text, budget),
        _ => MarkdownExtractor.Plain(text, budget),
    });

    /// <summary>Runs an extractor; a cancellation caused by the deadline (not the caller) becomes the timeout refusal.</summary>
    private static ExtractedDocument Guarded(ExtractionBudget budget, Func<ExtractedDocument> extract)
    {
        try
        {
            return extract();
        }
        catch (OperationCanceledException)
        {
            budget.Check();
            throw;
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
