namespace Bruno.Core.Documents;

/// <summary>
/// The limits one extraction works within: the settings, a wall-clock deadline that cancels the work, and the running
/// count of extracted characters. Extractors call <see cref="Check"/> often enough that the deadline stops them within
/// milliseconds. Not thread-safe: one per extraction.
/// </summary>
internal sealed class ExtractionBudget : IDisposable
{
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationToken _caller;
    private long _characters;

    public ExtractionBudget(IngestionOptions limits, CancellationToken caller, TimeSpan? deadline = null)
    {
        Limits = limits;
        _caller = caller;
        _deadline = CancellationTokenSource.CreateLinkedTokenSource(caller);
        var after = deadline ?? TimeSpan.FromSeconds(limits.TimeoutSeconds);
        if (after <= TimeSpan.Zero)
        {
            _deadline.Cancel();
        }
        else
        {
            _deadline.CancelAfter(after);
        }
    }

    /// <summary>The settings.</summary>
    public IngestionOptions Limits { get; }

    /// <summary>Cancelled at the deadline or when the caller gives up.</summary>
    public CancellationToken Token => _deadline.Token;

    /// <summary>
    /// Throws <see cref="OperationCanceledException"/> when the caller gave up, and a refusal naming
    /// <c>TimeoutSeconds</c> when the deadline passed.
    /// </summary>
    public void Check()
    {
        if (_deadline.IsCancellationRequested)
        {
            _caller.ThrowIfCancellationRequested();
            throw TimedOut();
        }
    }

    /// <summary>The refusal for a deadline that passed.</summary>
    public DocumentRejectedException TimedOut() =>
        Exceeded("TimeoutSeconds", $"Reading the document took longer than {Limits.TimeoutSeconds} s.");

    /// <summary>Counts <paramref name="n"/> more extracted characters; throws when they pass <c>MaxCharacters</c>.</summary>
    public void AddCharacters(long n)
    {
        _characters += n;
        if (_characters > Limits.MaxCharacters)
        {
            throw Exceeded("MaxCharacters", $"The document holds more than {Limits.MaxCharacters} characters of text.");
        }
    }

    /// <summary>A refusal naming the setting <c>Bruno:Ingestion:<paramref name="setting"/></c>.</summary>
    public static DocumentRejectedException Exceeded(string setting, string message) =>
        new($"{message} (limit: Bruno:Ingestion:{setting})", DocumentRejection.LimitExceeded) { Limit = "Bruno:Ingestion:" + setting };

    public void Dispose() => _deadline.Dispose();
}
