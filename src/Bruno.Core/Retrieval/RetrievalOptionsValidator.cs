using Microsoft.Extensions.Options;

namespace Bruno.Core.Retrieval;

/// <summary>
/// Checks <see cref="RetrievalOptions"/>: the service's section <c>Bruno:Retrieval</c> at start, and a tenant's
/// settings with its overrides applied when they are changed or imported.
/// </summary>
public sealed class RetrievalOptionsValidator : IValidateOptions<RetrievalOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RetrievalOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(RetrievalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CandidatesPerList is < 1 or > 200)
        {
            yield return "Bruno:Retrieval:CandidatesPerList must be between 1 and 200.";
        }

        if (options.RrfK is < 1 or > 1_000)
        {
            yield return "Bruno:Retrieval:RrfK must be between 1 and 1000.";
        }

        if (options.RerankCandidates is < 1 or > 200)
        {
            yield return "Bruno:Retrieval:RerankCandidates must be between 1 and 200.";
        }

        if (options.MinRelevance is < 0 or > 1 || double.IsNaN(options.MinRelevance))
        {
            yield return "Bruno:Retrieval:MinRelevance must be between 0 and 1.";
        }

        if (options.MinAnswerability is < 0 or > 1 || double.IsNaN(options.MinAnswerability))
        {
            yield return "Bruno:Retrieval:MinAnswerability must be between 0 and 1.";
        }

        if (options.FinalCount < 1 || options.FinalCount > options.RerankCandidates || options.FinalCount > 50)
        {
            yield return "Bruno:Retrieval:FinalCount must be between 1 and RerankCandidates (at most 50).";
        }

        if (options.AnswerSentences is < 1 or > 10)
        {
            yield return "Bruno:Retrieval:AnswerSentences must be between 1 and 10.";
        }

        if (options.ContextTokens is < 100 or > 100_000)
        {
            yield return "Bruno:Retrieval:ContextTokens must be between 100 and 100000.";
        }
    }
}
