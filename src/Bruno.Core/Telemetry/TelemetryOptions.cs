namespace Bruno.Core.Telemetry;

/// <summary>
/// Metrics, traces and logs (section <c>Bruno:Telemetry</c>): Prometheus at <c>/metrics</c> always, OTLP when
/// <see cref="OtlpEndpoint"/> is set, JSON logs on standard output by default. Checked by <see cref="TelemetryOptionsValidator"/>.
/// </summary>
public sealed class TelemetryOptions
{
    /// <summary>Record traces and Bruno's metrics at all (the overhead benchmark switches it off; <c>/metrics</c> still answers).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>An OTLP collector (for example <c>http://alloy.monitoring:4317</c>); metrics and traces go there too when set.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The OTLP protocol: <c>grpc</c> (default) or <c>http/protobuf</c>.</summary>
    public string OtlpProtocol { get; set; } = "grpc";

    /// <summary>Share of new traces recorded (0-1); a caller's sampled trace is always followed.</summary>
    public double SampleRatio { get; set; } = 1.0;

    /// <summary>
    /// Tenants whose prompts and answers are put on the <c>generate</c> span (for debugging one tenant, with its consent).
    /// Empty by default: no question, passage or answer text ever reaches a span.
    /// </summary>
    public string[] TraceContentTenants { get; set; } = [];

    /// <summary>Log format on standard output: <c>json</c> (one object per line) or <c>text</c>.</summary>
    public string LogFormat { get; set; } = "json";
}
