namespace Bruno.Core.Agents;

/// <summary>What the chat model's recent real calls came to (readiness reads it).</summary>
/// <param name="Calls">Calls that ended within the window.</param>
/// <param name="Failures">Of those, how many failed (an error answer, a refused connection, a timeout).</param>
/// <param name="LastFailed">Whether the most recent call failed.</param>
/// <param name="LastFailure">What the most recent failure was (<c>HTTP 503</c>, <c>timeout</c>, an exception's type), or null.</param>
/// <param name="LastFailureAt">When it happened, or null.</param>
public sealed record ChatCallsReport(int Calls, int Failures, bool LastFailed, string? LastFailure, DateTimeOffset? LastFailureAt);

/// <summary>
/// Remembers how the chat model's last calls ended, so that readiness reports what answering questions actually gets
/// and not only whether the endpoint accepts a connection (an endpoint can answer every call with 503). Keeps the last
/// 50 outcomes; thread-safe; never throws.
/// </summary>
public sealed class ChatHealth(TimeProvider? time = null)
{
    private const int Kept = 50;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Queue<(DateTimeOffset At, string? Failure)> _outcomes = new();
    private readonly Lock _lock = new();

    /// <summary>A call that answered.</summary>
    public void Succeeded() => Add(null);

    /// <summary>A call that failed with <paramref name="error"/> (the caller's own cancellation is not a failure: don't report it).</summary>
    public void Failed(Exception error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Add(Describe(error));
    }

    /// <summary>The calls that ended within <paramref name="window"/> of now.</summary>
    public ChatCallsReport Recent(TimeSpan window)
    {
        var since = _time.GetUtcNow() - window;
        lock (_lock)
        {
            var recent = _outcomes.Where(o => o.At >= since).ToList();
            var failures = recent.Where(o => o.Failure is not null).ToList();
            return new ChatCallsReport(
                recent.Count,
                failures.Count,
                recent.Count > 0 && recent[^1].Failure is not null,
                failures.Count > 0 ? failures[^1].Failure : null,
                failures.Count > 0 ? failures[^1].At : null);
        }
    }

    private void Add(string? failure)
    {
        lock (_lock)
        {
            _outcomes.Enqueue((_time.GetUtcNow(), failure));
            while (_outcomes.Count > Kept)
            {
                _outcomes.Dequeue();
            }
        }
    }

    /// <summary>A short name for what went wrong: the HTTP status when there is one, else timeout, else the exception's type.</summary>
    internal static string Describe(Exception error) => error switch
    {
        HttpRequestException { StatusCode: { } status } => $"HTTP {(int)status}",
        System.ClientModel.ClientResultException { Status: > 0 } c => $"HTTP {c.Status}",
        TimeoutException or OperationCanceledException => "timeout",
        ModelUnavailableException { InnerException: { } inner } => Describe(inner),
        _ => error.GetType().Name,
    };
}
