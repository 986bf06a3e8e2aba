using Bruno.Core;

namespace Bruno.Server.Features.Admin;

/// <summary>The operators' jobs: finishing interrupted lifecycle steps at start, and retention.</summary>
internal static class AdminFeature
{
    public static void AddAdmin(this IServiceCollection services, BrunoOptions options)
    {
        if (options.Cluster.Kind != Core.Cluster.NodeRole.Store) // a store node runs none of the tenant jobs
        {
            services.AddHostedService<RetentionJob>();
            services.AddHostedService<TenantRecovery>();
        }
    }
}
