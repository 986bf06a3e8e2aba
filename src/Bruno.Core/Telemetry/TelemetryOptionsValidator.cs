using Microsoft.Extensions.Options;

namespace Bruno.Core.Telemetry;

/// <summary>Checks <see cref="TelemetryOptions"/> (section <c>Bruno:Telemetry</c>).</summary>
public sealed class TelemetryOptionsValidator : IValidateOptions<TelemetryOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, TelemetryOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key and range (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(TelemetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.OtlpEndpoint is { Length: > 0 } e && (!Uri.TryCreate(e, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
        {
            yield return "Bruno:Telemetry:OtlpEndpoint must be an absolute http(s) URL.";
        }

        if (options.OtlpProtocol is not ("grpc" or "http/protobuf"))
        {
            yield return "Bruno:Telemetry:OtlpProtocol must be grpc or http/protobuf.";
        }

        if (!(options.SampleRatio is >= 0 and <= 1))
        {
            yield return "Bruno:Telemetry:SampleRatio must be between 0 and 1.";
        }

        foreach (var t in options.TraceContentTenants)
        {
            if (!Storage.Identity.TenantId.TryParse(t, out _))
            {
                yield return $"Bruno:Telemetry:TraceContentTenants holds '{t}', which is not a valid tenant id.";
            }
        }

        if (options.LogFormat is not ("json" or "text"))
        {
            yield return "Bruno:Telemetry:LogFormat must be json or text.";
        }
    }
}
