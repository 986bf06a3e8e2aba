namespace Bruno.Core.Documents;

/// <summary>
/// Limits of document ingestion (section <c>Bruno:Ingestion</c>). Every extractor works within them: input bytes per
/// type, decompressed bytes and pages (PDF), nesting depth and element count (HTML), extracted characters, and a
/// wall-clock budget after which the work is cancelled. A document over a limit is refused with a message naming the
/// setting, and nothing is written. Extraction and embedding run on a few dedicated threads: at most
/// <see cref="MaxConcurrent"/> documents at once in the process and <see cref="MaxConcurrentPerTenant"/> per tenant;
/// the rest wait up to <see cref="QueueSeconds"/>, and are refused (retry later) beyond that or beyond the queue's length.
/// Checked by <see cref="IngestionOptionsValidator"/>.
/// </summary>
public sealed class IngestionOptions
{
    /// <summary>Largest text/plain or text/markdown document, in bytes (capped by <c>Bruno:MaxDocumentBytes</c>).</summary>
    public int MaxTextBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest text/html document, in bytes (capped by <c>Bruno:MaxDocumentBytes</c>).</summary>
    public int MaxHtmlBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Largest application/pdf document, in bytes (capped by <c>Bruno:MaxDocumentBytes</c>).</summary>
    public int MaxPdfBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Bytes all the streams of one PDF may decompress to, together.</summary>
    public long MaxPdfDecompressedBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Pages of one PDF.</summary>
    public int MaxPdfPages { get; set; } = 2_000;

    /// <summary>Depth of nested HTML elements (browsers stop nesting at 512).</summary>
    public int MaxHtmlDepth { get; set; } = 512;

    /// <summary>Elements of one HTML document (a large reference page has about 20,000).</summary>
    public int MaxHtmlElements { get; set; } = 200_000;

    /// <summary>Characters of text one document may yield.</summary>
    public int MaxCharacters { get; set; } = 4_000_000;

    /// <summary>Wall-clock seconds extracting one document may take; the work is cancelled after that.</summary>
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Documents processed at once in the process (extraction and embedding); 0: half the cores, at least 1.</summary>
    public int MaxConcurrent { get; set; }

    /// <summary>Documents of one tenant processed or waiting at once; more are refused with 429.</summary>
    public int MaxConcurrentPerTenant { get; set; } = 2;

    /// <summary>Documents waiting for a slot in the process; more are refused with 503.</summary>
    public int MaxQueued { get; set; } = 32;

    /// <summary>Seconds a document waits for a slot before it is refused with 503.</summary>
    public int QueueSeconds { get; set; } = 30;

    /// <summary>The number of documents processed at once (<see cref="MaxConcurrent"/>, or half the cores).</summary>
    public int EffectiveConcurrency => MaxConcurrent > 0 ? MaxConcurrent : Math.Max(1, Environment.ProcessorCount / 2);
}
