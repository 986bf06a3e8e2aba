using Bruno.Core;

namespace Bruno.Server.Features.Memory;

/// <summary>Users' memory: erasure of a user, and the consolidation job.</summary>
internal static class MemoryFeature
{
    public static void AddMemory(this IServiceCollection services, BrunoOptions options)
    {
        services.AddSingleton<UserErasure>();
        if (options.Cluster.Kind != Core.Cluster.NodeRole.Store)
        {
            services.AddHostedService<ConsolidationJob>();
        }
    }
}
