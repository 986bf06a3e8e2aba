using Bruno.Core.Documents;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>Reading documents is bounded per process and per tenant, and never runs on the caller's thread pool.</summary>
public sealed class IngestionGateTests
{
    private static IngestionGate Gate(int concurrent, int perTenant, int queued, int queueSeconds = 30) =>
        new(Options.Create(new BrunoOptions { Ingestion = new IngestionOptions { MaxConcurrent = concurrent, MaxConcurrentPerTenant = perTenant, MaxQueued = queued, QueueSeconds = queueSeconds } }));

    private static readonly TenantId A = TenantId.Parse("tenant-a");
    private static readonly TenantId B = TenantId.Parse("tenant-b");

    [Fact]
    public async Task Work_RunsOnADedicatedThread_NotThePool()
    {
        using var gate = Gate(1, 1, 0);
        var (pool, id) = await gate.RunAsync(A, _ => (Thread.CurrentThread.IsThreadPoolThread, Environment.CurrentManagedThreadId), TestContext.Current.CancellationToken);
        Assert.False(pool);
        Assert.NotEqual(Environment.CurrentManagedThreadId, id);
    }

    [Fact]
    public async Task ATenantOverItsShare_IsRefused_WhileAnotherTenantStillGetsASlot()
    {
        using var gate = Gate(concurrent: 2, perTenant: 1, queued: 4);
        using var release = new ManualResetEventSlim();
        var started = new TaskCompletionSource();
        var first = gate.RunAsync(A, _ =>
        {
            started.SetResult();
            release.Wait(TestContext.Current.CancellationToken);
            return 1;
        }, TestContext.Current.CancellationToken);
        await started.Task.WaitAsync(TestContext.Current.CancellationToken);

        var refused = await Assert.ThrowsAsync<IngestionBusyException>(() => gate.RunAsync(A, _ => 2, TestContext.Current.CancellationToken));
        Assert.True(refused.TenantLimit);
        Assert.True(refused.RetryAfter > TimeSpan.Zero);

        Assert.Equal(3, await gate.RunAsync(B, _ => 3, TestContext.Current.CancellationToken)); // the other tenant is not held up
        release.Set();
        Assert.Equal(1, await first);
        Assert.Equal(4, await gate.RunAsync(A, _ => 4, TestContext.Current.CancellationToken)); // its share is back once done
    }

    [Fact]
    public async Task AFullProcess_WithNoTimeToWait_RefusesWith503()
    {
        using var gate = Gate(concurrent: 1, perTenant: 5, queued: 1, queueSeconds: 0);
        using var release = new ManualResetEventSlim();
        var started = new TaskCompletionSource();
        var running = gate.RunAsync(A, _ =>
        {
            started.SetResult();
            release.Wait(TestContext.Current.CancellationToken);
            return 1;
        }, TestContext.Current.CancellationToken);
        await started.Task.WaitAsync(TestContext.Current.CancellationToken);

        var busy = await Assert.ThrowsAsync<IngestionBusyException>(() => gate.RunAsync(B, _ => 2, TestContext.Current.CancellationToken)); // no slot frees within 0 s
        Assert.False(busy.TenantLimit);
        Assert.Equal(0, gate.Queued);
        release.Set();
        Assert.Equal(1, await running);
        Assert.Equal(0, gate.Running);
    }

    [Fact]
    public async Task AFailure_ReleasesTheSlot()
    {
        using var gate = Gate(concurrent: 1, perTenant: 1, queued: 0);
        await Assert.ThrowsAsync<InvalidOperationException>(() => gate.RunAsync<int>(A, _ => throw new InvalidOperationException("boom"), TestContext.Current.CancellationToken));
        Assert.Equal(5, await gate.RunAsync(A, _ => 5, TestContext.Current.CancellationToken));
    }
}
