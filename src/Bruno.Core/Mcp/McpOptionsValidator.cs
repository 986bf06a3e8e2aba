using Microsoft.Extensions.Options;

namespace Bruno.Core.Mcp;

/// <summary>Checks <see cref="McpOptions"/> (section <c>Bruno:Mcp</c>).</summary>
public sealed class McpOptionsValidator : IValidateOptions<McpOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, McpOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(McpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.SearchPerMinute is < 1 or > 100_000)
        {
            yield return "Bruno:Mcp:SearchPerMinute must be between 1 and 100000.";
        }

        if (options.GenerationPerMinute is < 1 or > 100_000)
        {
            yield return "Bruno:Mcp:GenerationPerMinute must be between 1 and 100000.";
        }
    }
}
