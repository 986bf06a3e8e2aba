using Bruno.Core.Tenants;

namespace Bruno.Server.Features.Admin;

/// <summary>
/// At start, before requests are served: finishes the tenant transitions a crash interrupted (a provisioning tenant
/// gets its store and becomes active; a deleting one is erased and becomes deleted).
/// </summary>
internal sealed partial class TenantRecovery(TenantService tenants, ILogger<TenantRecovery> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
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
