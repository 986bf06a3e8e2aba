using Bruno.Cluster;
using Bruno.Core.Tenants;

namespace Bruno.Server.Features.Admin;

/// <summary>
/// At start, before requests are served: finishes the tenant transitions a crash interrupted (a provisioning tenant
/// gets its store and becomes active, an interrupted import is undone; a deleting one is erased and becomes deleted),
/// and deletes the temporary files (bundles being imported) the last process left.
/// </summary>
/// <remarks>
/// A gateway shares the catalog with other gateways, which may be creating, importing or deleting a tenant right now:
/// it finishes only transitions untouched for <see cref="ClusterHosting.SettledFor"/>, and a tenant it cannot finish
/// (its store node down) is logged and left for the next start instead of keeping this one from serving.
/// </remarks>
internal sealed partial class TenantRecovery(TenantService tenants, Core.DataDirectory data, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options, ILogger<TenantRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        data.ClearTempFolder();
        var shared = options.Value.Cluster.Kind == Core.Cluster.NodeRole.Gateway;
        var finished = await tenants.RecoverAsync(shared ? ClusterHosting.SettledFor : TimeSpan.Zero, (t, e) => Log.NotRecovered(logger, t.Value, e.GetType().Name));
        if (finished > 0)
        {
            Log.Recovered(logger, finished);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Finished {Count} tenant transitions interrupted by the last stop")]
        public static partial void Recovered(ILogger logger, int count);

        [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Could not finish the interrupted transition of tenant {Tenant} now ({Error}); the next start tries again")]
        public static partial void NotRecovered(ILogger logger, string tenant, string error);
    }
}
