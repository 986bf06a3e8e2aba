using System.Collections.Concurrent;
using System.Diagnostics;

namespace Bruno.Storage.Tests;

/// <summary>
/// Records every span the engine ends while it lives, and starts root spans of a test's own, so a test asserts on the
/// spans of its own trace only (tests run in parallel and share the engine's activity source).
/// </summary>
internal sealed class SpanRecorder : IDisposable
{
    private readonly ActivityListener _listener;
    private readonly ActivitySource _source = new("Bruno.Storage.Tests");

    public SpanRecorder()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is "Bruno.Storage" or "Bruno.Storage.Tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = Spans.Add,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>The spans ended so far, of every trace.</summary>
    public ConcurrentBag<Activity> Spans { get; } = [];

    /// <summary>A root span of the test's own (never null: this recorder samples everything).</summary>
    public Activity Root() => _source.StartActivity("test-root") ?? throw new InvalidOperationException("No listener sampled the root span.");

    public void Dispose()
    {
        _listener.Dispose();
        _source.Dispose();
    }
}
