using System.Globalization;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Metering;

/// <summary>Checks <see cref="CostOptions"/> (section <c>Bruno:Cost</c>).</summary>
public sealed class CostOptionsValidator : IValidateOptions<CostOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CostOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(CostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (new[] { options.CpuHour, options.MemoryGibHour, options.StorageGibMonth, options.LlmPromptPer1k, options.LlmCompletionPer1k, options.EmbeddingPer1k }.Any(p => p < 0 || !double.IsFinite(p)))
        {
            yield return "Bruno:Cost: prices must be finite and not negative.";
        }

        foreach (var level in Tenants.TenantProfile.IsolationLevels)
        {
            if (!options.IsolationMonthly.TryGetValue(level, out var price) || price < 0)
            {
                yield return $"Bruno:Cost:IsolationMonthly must price '{level}' (0 or more).";
            }
        }

        if (options.SharedOverheadByTenants.Keys.Any(k => !int.TryParse(k, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1) || !options.SharedOverheadByTenants.ContainsKey("1"))
        {
            yield return "Bruno:Cost:SharedOverheadByTenants keys are tenant counts (1 or more), starting with 1.";
        }
    }
}
