using Bruno.Core.Tenants;

namespace Bruno.Server.Features.Admin;

/// <summary>
/// At start, before requests are served: finishes the tenant transitions a crash interrupted (a provisioning tenant
/// gets its store and becomes active, an interrupted import is undone; a deleting one is erased and becomes deleted),
/// and deletes the temporary files (bundles being imported) the last process left.
/// </summary>
internal sealed partial class TenantRecovery(TenantService tenants, Core.DataDirectory data, ILogger<TenantRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        data.ClearTempFolder();
        var finished = await tenants.RecoverAsync();
        if (finished > 0)
        {
            Log.Recovered(logger, finished);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Finished {Count} tenant transitions interrupted by the last stop")]
        public static partial void Recovered(ILogger logger, int count);
    }
}
