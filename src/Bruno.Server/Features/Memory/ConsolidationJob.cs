using Bruno.Core;
using Bruno.Core.Memory;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Features.Memory;

/// <summary>
/// Runs memory consolidation on the configured interval (<c>Bruno:Memory:ConsolidationInterval</c>, a day by default;
/// zero switches it off): the first run a few minutes after start, so that a service restarted every day still
/// consolidates, then once per interval. Timed by the host's <see cref="TimeProvider"/>.
/// </summary>
internal sealed class ConsolidationJob(MemoryConsolidator consolidator, IOptions<BrunoOptions> options, TimeProvider time, ILogger<ConsolidationJob> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRun = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.Memory.ConsolidationInterval;
        if (interval == TimeSpan.Zero)
        {
            return;
        }

        await Core.BackgroundLoop.RunAsync("memory-consolidation", interval, consolidator.RunOnceAsync, logger, time, stoppingToken, firstDelay: interval < FirstRun ? interval : FirstRun);
    }
}
