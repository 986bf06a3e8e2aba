using Microsoft.Extensions.Options;

namespace Bruno.Core.Portability;

/// <summary>Checks <see cref="BundleOptions"/> (section <c>Bruno:Bundles</c>).</summary>
public sealed class BundleOptionsValidator : IValidateOptions<BundleOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, BundleOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(BundleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ChunkBytes is < BundleHeader.MinChunkBytes or > BundleHeader.MaxChunkBytes)
        {
            yield return $"Bruno:Bundles:ChunkBytes must be between {BundleHeader.MinChunkBytes} and {BundleHeader.MaxChunkBytes}.";
        }

        if (options.MaxImportBytes is < 1L << 20 or > 1L << 40)
        {
            yield return "Bruno:Bundles:MaxImportBytes must be between 1048576 (1 MiB) and 1099511627776 (1 TiB).";
        }
    }
}
