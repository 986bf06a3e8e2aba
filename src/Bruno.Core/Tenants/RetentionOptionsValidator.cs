using Microsoft.Extensions.Options;

namespace Bruno.Core.Tenants;

/// <summary>Checks <see cref="RetentionOptions"/> (section <c>Bruno:Retention</c>).</summary>
public sealed class RetentionOptionsValidator : IValidateOptions<RetentionOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RetentionOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(RetentionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.AuditDays is < 1 or > RetentionOptions.MaxDays || options.UsageDays is < 1 or > RetentionOptions.MaxDays)
        {
            yield return $"Bruno:Retention:AuditDays and UsageDays must be between 1 and {RetentionOptions.MaxDays}.";
        }

        if (options.Interval != TimeSpan.Zero && (options.Interval < TimeSpan.FromMinutes(1) || options.Interval > TimeSpan.FromDays(7)))
        {
            yield return "Bruno:Retention:Interval must be 00:00:00 (off) or between 00:01:00 and 7.00:00:00.";
        }
    }
}
