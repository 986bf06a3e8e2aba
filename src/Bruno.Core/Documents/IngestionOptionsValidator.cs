using Microsoft.Extensions.Options;

namespace Bruno.Core.Documents;

/// <summary>Checks <see cref="IngestionOptions"/> (section <c>Bruno:Ingestion</c>).</summary>
public sealed class IngestionOptionsValidator : IValidateOptions<IngestionOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, IngestionOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(IngestionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxTextBytes < 1_024 || options.MaxHtmlBytes < 1_024 || options.MaxPdfBytes < 1_024)
        {
            yield return "Bruno:Ingestion:MaxTextBytes, MaxHtmlBytes and MaxPdfBytes must be at least 1024.";
        }

        if (options.MaxPdfDecompressedBytes is < 1_024 or > 4L * 1024 * 1024 * 1024)
        {
            yield return "Bruno:Ingestion:MaxPdfDecompressedBytes must be between 1024 and 4294967296.";
        }

        if (options.MaxPdfPages is < 1 or > 100_000)
        {
            yield return "Bruno:Ingestion:MaxPdfPages must be between 1 and 100000.";
        }

        if (options.MaxHtmlDepth is < 16 or > 4_096)
        {
            yield return "Bruno:Ingestion:MaxHtmlDepth must be between 16 and 4096.";
        }

        if (options.MaxHtmlElements is < 100 or > 10_000_000)
        {
            yield return "Bruno:Ingestion:MaxHtmlElements must be between 100 and 10000000.";
        }

        if (options.MaxCharacters is < 1_000 or > 100_000_000)
        {
            yield return "Bruno:Ingestion:MaxCharacters must be between 1000 and 100000000.";
        }

        if (options.TimeoutSeconds is < 1 or > 3_600)
        {
            yield return "Bruno:Ingestion:TimeoutSeconds must be between 1 and 3600.";
        }

        if (options.MaxConcurrent is < 0 or > 256 || options.MaxConcurrentPerTenant is < 1 or > 256 || options.MaxQueued is < 0 or > 10_000)
        {
            yield return "Bruno:Ingestion:MaxConcurrent (0-256, 0 = half the cores), MaxConcurrentPerTenant (1-256) and MaxQueued (0-10000) are out of range.";
        }

        if (options.QueueSeconds is < 0 or > 3_600)
        {
            yield return "Bruno:Ingestion:QueueSeconds must be between 0 and 3600.";
        }
    }
}
