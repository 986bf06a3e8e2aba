using Microsoft.Extensions.Logging;

namespace Bruno.Core;

/// <summary>
/// The loop every background job of Bruno runs in (decision 0033): a round every interval; a round that throws —
/// a catalog outage above all — is logged and the next one waits longer (the interval doubled per failure in a row, up
/// to <see cref="MaxBackoff"/>), so nothing a round throws stops the process, and the job carries on by itself once the
/// cause is gone. Only the host's stopping ends it.
/// </summary>
public static partial class BackgroundLoop
{
    /// <summary>The longest wait after failures in a row.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Runs <paramref name="round"/> every <paramref name="interval"/> (the first after <paramref name="firstDelay"/>,
    /// default one interval) until <paramref name="stoppingToken"/> is cancelled; never throws. After failures the wait
    /// grows up to <paramref name="maxBackoff"/> (default <see cref="MaxBackoff"/>; a heartbeat keeps its interval).
    /// </summary>
    public static async Task RunAsync(string job, TimeSpan interval, Func<CancellationToken, Task> round, ILogger logger, TimeProvider time, CancellationToken stoppingToken, TimeSpan? firstDelay = null, TimeSpan? maxBackoff = null)
    {
        ArgumentNullException.ThrowIfNull(round);
        ArgumentNullException.ThrowIfNull(time);
        var failures = 0;
        var first = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(first && firstDelay is { } d ? d : Wait(interval, failures, maxBackoff ?? MaxBackoff), time, stoppingToken);
                first = false;
                await round(stoppingToken);
                if (failures > 0)
                {
                    Recovered(logger, job, failures);
                }

                failures = 0;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                failures++;
                Failed(logger, job, failures, Wait(interval, failures, maxBackoff ?? MaxBackoff).TotalSeconds, e.GetType().Name, e.Message);
            }
        }
    }

    /// <summary>The wait before the next round: the interval, doubled per failure in a row, at most <paramref name="max"/> (default <see cref="MaxBackoff"/>; never less than the interval).</summary>
    public static TimeSpan Wait(TimeSpan interval, int failures, TimeSpan? max = null)
    {
        if (failures == 0)
        {
            return interval;
        }

        var backoff = interval.Ticks * Math.Pow(2, Math.Min(failures, 20));
        return TimeSpan.FromTicks((long)Math.Max(interval.Ticks, Math.Min(backoff, (max ?? MaxBackoff).Ticks)));
    }

    [LoggerMessage(EventId = 4010, Level = LogLevel.Error, Message = "Background job {Job} failed ({Failures} in a row: {Error}: {Detail}); next round in {Seconds} s")]
    private static partial void Failed(ILogger logger, string job, int failures, double seconds, string error, string detail);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "Background job {Job} recovered after {Failures} failed rounds")]
    private static partial void Recovered(ILogger logger, string job, int failures);
}
