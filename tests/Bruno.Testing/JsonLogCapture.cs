using System.Text.Json;
using Bruno.Server.Hosting.Logging;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bruno.Testing;

/// <summary>
/// A logger provider that writes every entry with the production <see cref="JsonLogFormatter"/> (scopes included) into
/// memory, so tests can assert on the lines the server would print: add it with
/// <c>services.AddLogging(b =&gt; b.AddProvider(capture))</c>. Thread-safe. <see cref="Entries"/> throws
/// <see cref="JsonException"/> when a line is not valid JSON (which is a failure of the formatter).
/// </summary>
public sealed class JsonLogCapture : ILoggerProvider, ISupportExternalScope
{
    private readonly JsonLogFormatter _formatter = new(new JsonLogFormatterOptions { IncludeScopes = true });
    private readonly List<string> _output = [];
    private readonly Lock _lock = new();
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    /// <summary>Entries below this level are not captured.</summary>
    public LogLevel MinimumLevel { get; init; } = LogLevel.Trace;

    /// <summary>What the formatter wrote for each entry so far, newline included (a copy).</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_lock)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>Each entry's line, without its newline (a copy).</summary>
    public IReadOnlyList<string> Lines => [.. Output.Select(o => o.TrimEnd('\r', '\n'))];

    /// <summary>Each entry's line, parsed.</summary>
    public IReadOnlyList<JsonElement> Entries => [.. Lines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    /// <summary>The parsed entries with event id <paramref name="eventId"/>.</summary>
    public IReadOnlyList<JsonElement> WithEventId(int eventId) =>
        [.. Entries.Where(e => e.TryGetProperty("event_id", out var id) && id.ValueKind == JsonValueKind.Number && id.GetInt32() == eventId)];

    /// <summary>Forgets what was captured.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _output.Clear();
        }
    }

    public ILogger CreateLogger(string categoryName) => new CaptureLogger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private void Write<TState>(in LogEntry<TState> entry)
    {
        using var text = new StringWriter();
        _formatter.Write(entry, _scopes, text);
        var output = text.ToString();
        if (output.Length == 0)
        {
            return;
        }

        lock (_lock)
        {
            _output.Add(output);
        }
    }

    private sealed class CaptureLogger(JsonLogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner.MinimumLevel;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter));
            }
        }
    }
}
