using Bruno.Core;

namespace Bruno.Server.Features.Metering;

/// <summary>Usage of every admitted request, each tenant's share of the CPU, and the job that writes both.</summary>
internal static class MeteringFeature
{
    public static void AddMetering(this IServiceCollection services, BrunoOptions options)
    {
        services.AddSingleton<CpuShares>();
        if (options.Cluster.Kind != Core.Cluster.NodeRole.Store)
        {
            services.AddHostedService<MeteringJob>();
        }
    }

    /// <summary>After authorisation: the request's usage scope is open while admission and the handler run.</summary>
    public static void UseMetering(this WebApplication app) => app.UseMiddleware<MeteringMiddleware>();
}
