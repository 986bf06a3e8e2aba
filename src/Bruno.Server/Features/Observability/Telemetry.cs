using System.Diagnostics;
using Bruno.Core;
using Bruno.Core.Telemetry;
using Bruno.Server.Hosting;
using Microsoft.AspNetCore.Http.Features;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Bruno.Server.Features.Observability;

/// <summary>
/// OpenTelemetry for the service: HTTP server metrics (ASP.NET Core's <c>http.server.request.duration</c>, with the
/// route template and, once a verified credential named it, <c>tenant_id</c>), Bruno's own meter and spans, the .NET
/// runtime's meter, Prometheus at <c>/metrics</c> and OTLP when an endpoint is configured.
/// </summary>
internal static class Telemetry
{
    /// <summary>The HTTP duration histogram's buckets: the SLO thresholds (0.5 s, 2 s, 5 s) are bucket bounds.</summary>
    private static readonly double[] HttpBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

    /// <summary>Paths never traced or logged per request (probes and scrapes).</summary>
    internal static bool IsPlumbing(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/metrics");

    public static void AddBrunoTelemetry(this IServiceCollection services, BrunoOptions options)
    {
        var t = options.Telemetry;
        var otel = services.AddOpenTelemetry().ConfigureResource(r =>
        {
            if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME")))
            {
                r.AddService("agent-bruno", serviceVersion: typeof(Telemetry).Assembly.GetName().Version?.ToString());
            }
        });
        otel.WithMetrics(m =>
        {
            m.AddMeter(TenantGauges.MeterName).AddPrometheusExporter();
            if (t.Enabled)
            {
                m.AddMeter("Microsoft.AspNetCore.Hosting", BrunoTelemetry.Name, "System.Runtime")
                    .AddView("http.server.request.duration", new ExplicitBucketHistogramConfiguration { Boundaries = HttpBuckets });
                if (t.OtlpEndpoint is { Length: > 0 } endpoint)
                {
                    m.AddOtlpExporter(o => Otlp(o, endpoint, t.OtlpProtocol, "v1/metrics"));
                }
            }
        });
        if (!t.Enabled)
        {
            return;
        }

        otel.WithTracing(tr =>
        {
            tr.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(t.SampleRatio)))
                .AddSource(BrunoTelemetry.Name, Storage.Telemetry.SearchTelemetry.SourceName)
                .AddAspNetCoreInstrumentation(o => o.Filter = c => !IsPlumbing(c.Request.Path))
                .AddHttpClientInstrumentation()
                .AddProcessor(new TenantSpans());
            if (t.OtlpEndpoint is { Length: > 0 } endpoint)
            {
                tr.AddOtlpExporter(o => Otlp(o, endpoint, t.OtlpProtocol, "v1/traces"));
            }
        });
    }

    private static void Otlp(OtlpExporterOptions o, string endpoint, string protocol, string signalPath)
    {
        var grpc = protocol == "grpc";
        o.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
        // set in code, the HTTP exporter posts to the endpoint as given: the signal's path is added here
        o.Endpoint = grpc ? new Uri(endpoint) : new Uri(new Uri(endpoint.TrimEnd('/') + "/"), signalPath);
    }

    /// <summary>Copies <c>tenant_id</c> from a span's parent to spans that lack it (HTTP client calls, library spans).</summary>
    private sealed class TenantSpans : BaseProcessor<Activity>
    {
        public override void OnStart(Activity data)
        {
            if (data.GetTagItem(BrunoTelemetry.TenantTag) is null && data.Parent?.GetTagItem(BrunoTelemetry.TenantTag) is { } tenant)
            {
                data.SetTag(BrunoTelemetry.TenantTag, tenant);
            }
        }
    }
}

/// <summary>
/// The outermost middleware: times each request, and when it ends writes one log line (method, route template, status,
/// latency, tenant; never the raw path or query) and adds the request to its tenant's <see cref="InsightsLog"/>. Every
/// response carries its trace context in a <c>traceresponse</c> header.
/// </summary>
internal sealed partial class RequestTelemetry(RequestDelegate next, InsightsLog insights, Microsoft.Extensions.Options.IOptions<BrunoOptions> options, ILogger<RequestTelemetry> logger)
{
    private readonly bool _logRequests = options.Value.Telemetry.Enabled;

    public async Task InvokeAsync(HttpContext http)
    {
        var record = new RequestRecord();
        http.Features.Set(record);
        var started = Stopwatch.GetTimestamp();
        http.Response.OnStarting(static state =>
        {
            var h = (HttpContext)state;
            if (h.Features.Get<IHttpActivityFeature>()?.Activity is { } a && a.TraceId != default)
            {
                h.Response.Headers["traceresponse"] = $"00-{a.TraceId}-{a.SpanId}-{(a.Recorded ? "01" : "00")}";
            }

            return Task.CompletedTask;
        }, http);
        try
        {
            await next(http);
        }
        finally
        {
            var latency = Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 2);
            var route = Hosting.Problems.RouteOf(http);
            var status = http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted ? 499 : http.Response.StatusCode;
            var traceId = http.Features.Get<IHttpActivityFeature>()?.Activity.TraceId.ToString();
            if (_logRequests && !Telemetry.IsPlumbing(http.Request.Path))
            {
                if (http.Request.Path.StartsWithSegments(StoreCalls))
                {
                    // a gateway's call to a store node: the gateway logs the client's request; one line per store call
                    // (several per request) only when debugging
                    LogStoreCall(logger, route, status, latency);
                }
                else if (record.Tenant is { } t)
                {
                    LogTenantRequest(logger, http.Request.Method, route, status, latency, t.Value);
                }
                else
                {
                    LogRequest(logger, http.Request.Method, route, status, latency);
                }
            }

            if (record.Tenant is { } tenant)
            {
                insights.Add(tenant, new InsightEntry(DateTimeOffset.UtcNow, http.Request.Method, route, status, latency, traceId, record.User?.Value, record.Refusal));
            }
        }
    }

    private static readonly PathString StoreCalls = "/bruno.store.v1.StoreNode";

    [LoggerMessage(EventId = 3702, Level = LogLevel.Debug, Message = "Store call {Route} answered {Status} in {LatencyMs} ms")]
    private static partial void LogStoreCall(ILogger logger, string route, int status, double latencyMs);

    [LoggerMessage(EventId = 3700, Level = LogLevel.Information, Message = "HTTP {Method} {Route} answered {Status} in {LatencyMs} ms")]
    private static partial void LogRequest(ILogger logger, string method, string route, int status, double latencyMs);

    [LoggerMessage(EventId = 3701, Level = LogLevel.Information, Message = "HTTP {Method} {Route} answered {Status} in {LatencyMs} ms for tenant {TenantId}")]
    private static partial void LogTenantRequest(ILogger logger, string method, string route, int status, double latencyMs, string tenantId);
}
