using Microsoft.Extensions.Options;

namespace Bruno.Core.Agents;

/// <summary>Checks <see cref="ChatModelOptions"/> (section <c>Bruno:Chat</c>).</summary>
public sealed class ChatModelOptionsValidator : IValidateOptions<ChatModelOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ChatModelOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(ChatModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Provider.ToLowerInvariant() is not ("none" or "ollama" or "openai"))
        {
            yield return "Bruno:Chat:Provider must be none, ollama or openai.";
        }

        if (options.Enabled && (!Uri.TryCreate(options.Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return "Bruno:Chat:Endpoint must be an http(s) address when a provider is set.";
        }

        if (options.Enabled && string.IsNullOrWhiteSpace(options.Model))
        {
            yield return "Bruno:Chat:Model must be set when a provider is set.";
        }

        if (options.TimeoutSeconds is < 1 or > 600)
        {
            yield return "Bruno:Chat:TimeoutSeconds must be between 1 and 600.";
        }

        if (options.Temperature is < 0 or > 2)
        {
            yield return "Bruno:Chat:Temperature must be between 0 and 2.";
        }

        if (options.MaxOutputTokens is < 16 or > 32_000)
        {
            yield return "Bruno:Chat:MaxOutputTokens must be between 16 and 32000.";
        }
    }
}
