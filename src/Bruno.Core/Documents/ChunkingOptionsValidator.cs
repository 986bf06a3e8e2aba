using Microsoft.Extensions.Options;

namespace Bruno.Core.Documents;

/// <summary>Checks <see cref="ChunkingOptions"/> (section <c>Bruno:Chunking</c>).</summary>
public sealed class ChunkingOptionsValidator : IValidateOptions<ChunkingOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ChunkingOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(ChunkingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ChunkTokens is < 16 or > 8_192)
        {
            yield return "Bruno:Chunking:ChunkTokens must be between 16 and 8192.";
        }

        if (options.OverlapTokens < 0 || options.OverlapTokens >= options.ChunkTokens)
        {
            yield return "Bruno:Chunking:OverlapTokens must be at least 0 and less than ChunkTokens.";
        }
    }
}
