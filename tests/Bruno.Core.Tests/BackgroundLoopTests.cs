using System.Threading.Channels;
using Bruno.Core.Tenants;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bruno.Core.Tests;

/// <summary>The loop every background job runs in: a failing round neither ends it nor stops the process.</summary>
public sealed class BackgroundLoopTests
{
    [Fact]
    public async Task ARoundThatThrows_IsFollowedByTheNext_AndOnlyStoppingEndsTheLoop()
    {
        var rounds = Channel.CreateUnbounded<int>();
        var n = 0;
        using var stop = new CancellationTokenSource();
        var loop = BackgroundLoop.RunAsync("test", TimeSpan.FromMilliseconds(5), _ =>
        {
            var round = Interlocked.Increment(ref n);
            rounds.Writer.TryWrite(round);
            return round switch
            {
                1 => throw new CatalogUnavailableException("cannot reach the PostgreSQL catalog"),
                2 => throw new InvalidOperationException("a bug in a round"),
                _ => Task.CompletedTask,
            };
        }, NullLogger.Instance, TimeProvider.System, stop.Token);

        for (var expected = 1; expected <= 4; expected++)
        {
            Assert.Equal(expected, await rounds.Reader.ReadAsync(TestContext.Current.CancellationToken));
        }

        Assert.False(loop.IsCompleted);
        await stop.CancelAsync();
        await loop; // ends without throwing
    }

    [Fact]
    public void TheWaitAfterFailures_DoublesUpToThirtySeconds_AndIsNeverShorterThanTheInterval()
    {
        var second = TimeSpan.FromSeconds(1);
        Assert.Equal(second, BackgroundLoop.Wait(second, 0));
        Assert.Equal(TimeSpan.FromSeconds(2), BackgroundLoop.Wait(second, 1));
        Assert.Equal(TimeSpan.FromSeconds(4), BackgroundLoop.Wait(second, 2));
        Assert.Equal(BackgroundLoop.MaxBackoff, BackgroundLoop.Wait(second, 9));
        Assert.Equal(BackgroundLoop.MaxBackoff, BackgroundLoop.Wait(second, 10_000));
        Assert.Equal(TimeSpan.FromMinutes(1), BackgroundLoop.Wait(TimeSpan.FromMinutes(1), 3));
    }
}
