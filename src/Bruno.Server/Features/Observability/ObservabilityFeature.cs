using Bruno.Core;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Observability;

/// <summary>Telemetry, the request log and each tenant's insights; the Prometheus scrape endpoint.</summary>
internal static class ObservabilityFeature
{
    public static void AddObservability(this IServiceCollection services, BrunoOptions options)
    {
        services.AddBrunoTelemetry(options);
        services.AddSingleton<TenantGauges>();
        services.AddSingleton<InsightsLog>();
        if (options.Cluster.Kind != Core.Cluster.NodeRole.Store)
        {
            services.AddHostedService(sp => sp.GetRequiredService<InsightsLog>());
        }
    }

    /// <summary>The outermost middleware (it times and logs what the client saw); the tenant gauges exist from the start.</summary>
    public static void UseObservability(this WebApplication app)
    {
        app.UseMiddleware<RequestTelemetry>();
        _ = app.Services.GetRequiredService<TenantGauges>();
    }

    /// <summary>
    /// Prometheus text format; tenant ids are labels, so only the platform's credentials may scrape: an operator's, or a
    /// scraper's token that can do nothing else (<c>bruno token issue --metrics</c>).
    /// </summary>
    public static void MapMetrics(this IEndpointRouteBuilder app) =>
        app.MapPrometheusScrapingEndpoint("/metrics").RequireAuthorization(Policies.Metrics);
}
