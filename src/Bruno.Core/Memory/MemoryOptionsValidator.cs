using Microsoft.Extensions.Options;

namespace Bruno.Core.Memory;

/// <summary>Checks <see cref="MemoryOptions"/> (section <c>Bruno:Memory</c>).</summary>
public sealed class MemoryOptionsValidator : IValidateOptions<MemoryOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, MemoryOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(MemoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.RetentionDays is < 1 or > Tenants.MemoryPolicy.MaxRetentionDays)
        {
            yield return $"Bruno:Memory:RetentionDays must be between 1 and {Tenants.MemoryPolicy.MaxRetentionDays}.";
        }

        if (options.ConsolidationInterval != TimeSpan.Zero && (options.ConsolidationInterval < TimeSpan.FromMinutes(1) || options.ConsolidationInterval > TimeSpan.FromDays(30)))
        {
            yield return "Bruno:Memory:ConsolidationInterval must be 00:00:00 (off) or between 00:01:00 and 30.00:00:00.";
        }
    }
}
