using Microsoft.Extensions.Options;

namespace Bruno.Core.Embeddings;

/// <summary>Checks <see cref="EmbeddingOptions"/> (section <c>Bruno:Embeddings</c>).</summary>
public sealed class EmbeddingOptionsValidator : IValidateOptions<EmbeddingOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, EmbeddingOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(EmbeddingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Provider.ToLowerInvariant() is not ("local" or "ollama" or "openai"))
        {
            yield return "Bruno:Embeddings:Provider must be local, ollama or openai.";
        }
        else if (!options.Local)
        {
            if (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                yield return "Bruno:Embeddings:Endpoint must be an http(s) address for a remote provider.";
            }

            if (string.IsNullOrWhiteSpace(options.Model))
            {
                yield return "Bruno:Embeddings:Model must be set for a remote provider.";
            }

            if (options.Dimension is < 1 or > 8_192)
            {
                yield return "Bruno:Embeddings:Dimension must be between 1 and 8192 for a remote provider.";
            }
        }
    }
}
