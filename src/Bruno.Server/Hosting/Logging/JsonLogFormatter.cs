using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Hosting.Logging;

/// <summary>Options of <see cref="JsonLogFormatter"/>: scopes are included unless turned off. The timestamp is always
/// UTC ISO 8601 with milliseconds, whatever <see cref="ConsoleFormatterOptions.TimestampFormat"/> and
/// <see cref="ConsoleFormatterOptions.UseUtcTimestamp"/> say.</summary>
public sealed class JsonLogFormatterOptions : ConsoleFormatterOptions
{
    /// <summary>Options with scopes included.</summary>
    public JsonLogFormatterOptions() => IncludeScopes = true;
}

/// <summary>
/// Writes each log entry as one line of JSON: <c>timestamp</c>, <c>level</c>, <c>message</c>, <c>category</c>,
/// <c>event_id</c>, <c>event_name</c>, then <c>tenant_id</c>, <c>request_id</c>, <c>trace_id</c>, <c>span_id</c>,
/// <c>route</c>, <c>method</c>, <c>status</c>, <c>latency_ms</c> when present, then every other property, then
/// <c>exception</c> (<c>type</c>, <c>message</c>, <c>stack</c>, <c>inner</c>).
/// </summary>
/// <remarks>
/// Properties come from the entry's state, then its scopes (innermost first), then <see cref="Activity.Current"/> for the
/// trace and span ids when neither gave one; the first of a name wins. Names become snake_case (<c>Tenant</c> becomes
/// <c>tenant_id</c>, <c>StatusCode</c> <c>status</c>). Paths, URLs, query strings, connection and parent ids are never
/// written, and a message that showed such a property shows a placeholder (<c>[path]</c>) instead. Numbers and booleans
/// are JSON numbers and booleans; all other text — the message, values, the exception's message and stack — passes
/// through <see cref="Redactor"/>. The formatter never throws: a value whose conversion to text fails is written as
/// <c>[unprintable]</c>, and if the entry cannot be written at all a minimal line says so.
/// </remarks>
public sealed class JsonLogFormatter : ConsoleFormatter
{
    /// <summary>The formatter's name, for <see cref="ConsoleLoggerOptions.FormatterName"/>.</summary>
    public const string FormatterName = "bruno-json";

    private const string OriginalFormat = "{OriginalFormat}";
    private const int MaxExceptionDepth = 4;
    private const int MaxRetainedBytes = 256 * 1024;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };
    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdef");
    [ThreadStatic]
    private static Scratch? _scratch;

    private readonly Func<JsonLogFormatterOptions> _options;

    /// <summary>A formatter reading its options from <paramref name="options"/> (the console logger's way).</summary>
    public JsonLogFormatter(IOptionsMonitor<JsonLogFormatterOptions> options)
        : base(FormatterName)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = () => options.CurrentValue;
    }

    /// <summary>A formatter with fixed <paramref name="options"/> (tests, other sinks).</summary>
    public JsonLogFormatter(JsonLogFormatterOptions options)
        : base(FormatterName)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = () => options;
    }

    /// <inheritdoc />
    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        if (logEntry.LogLevel == LogLevel.None)
        {
            return;
        }

        var scratch = _scratch is { Busy: false } s ? s : _scratch = new Scratch(); // a new one if a value's ToString logs
        scratch.Busy = true;
        try
        {
            ReadOnlySpan<byte> json;
            try
            {
                Build(logEntry, scopeProvider, scratch);
                json = scratch.Buffer.WrittenSpan;
            }
            catch (Exception e)
            {
                // the formatter must not throw into the code that logs: a minimal line says the entry was lost
                scratch.Reset();
                Minimal(logEntry, e, scratch);
                json = scratch.Buffer.WrittenSpan;
            }

            var chars = ArrayPool<char>.Shared.Rent(Encoding.UTF8.GetMaxCharCount(json.Length) + Environment.NewLine.Length);
            try
            {
                var n = Encoding.UTF8.GetChars(json, chars);
                Environment.NewLine.CopyTo(chars.AsSpan(n));
                textWriter.Write(chars.AsSpan(0, n + Environment.NewLine.Length));
            }
            finally
            {
                ArrayPool<char>.Shared.Return(chars);
            }
        }
        catch (Exception)
        {
            // even the minimal line failed (or the writer did): the entry is lost rather than the caller failing
        }
        finally
        {
            scratch.Reset();
            scratch.Busy = false;
        }
    }

    private void Build<TState>(in LogEntry<TState> entry, IExternalScopeProvider? scopes, Scratch s)
    {
        var state = entry.State as IReadOnlyList<KeyValuePair<string, object?>>;
        if (state is not null)
        {
            Collect(state, s, fromState: true);
        }

        if (scopes is not null && _options().IncludeScopes)
        {
            scopes.ForEachScope(static (scope, list) => list.Add(scope), s.Scopes);
            for (var i = s.Scopes.Count - 1; i >= 0; i--)
            {
                if (s.Scopes[i] is IEnumerable<KeyValuePair<string, object?>> pairs)
                {
                    Collect(pairs, s, fromState: false);
                }
            }
        }

        if (s.IndexOf("trace_id") < 0 && s.IndexOf("span_id") < 0 && Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            s.Fields.Add(("trace_id", activity.TraceId));
            s.Fields.Add(("span_id", activity.SpanId));
        }

        var w = s.Writer;
        w.WriteStartObject();
        Span<char> stamp = stackalloc char[32];
        DateTime.UtcNow.TryFormat(stamp, out var length, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        w.WriteString("timestamp", stamp[..length]);
        w.WriteString("level", Level(entry.LogLevel));
        w.WriteString("message", Redactor.Redact(Message(entry, state, s)));
        w.WriteString("category", entry.Category);
        if (entry.EventId.Id != 0)
        {
            w.WriteNumber("event_id", entry.EventId.Id);
        }

        if (!string.IsNullOrEmpty(entry.EventId.Name))
        {
            w.WriteString("event_name", entry.EventId.Name);
        }

        foreach (var name in FieldNames.Known)
        {
            if (s.IndexOf(name) is var i and >= 0)
            {
                Value(w, s.Fields[i].Name, s.Fields[i].Value);
            }
        }

        foreach (var (name, value) in s.Fields)
        {
            if (!FieldNames.IsKnown(name))
            {
                Value(w, name, value);
            }
        }

        if (entry.Exception is { } exception)
        {
            w.WritePropertyName("exception");
            Exception(w, exception, 0);
        }

        w.WriteEndObject();
        w.Flush();
    }

    /// <summary>Adds the pairs not seen yet; a source whose pairs cannot be read adds what it gave until it failed.</summary>
    private static void Collect(IEnumerable<KeyValuePair<string, object?>> pairs, Scratch s, bool fromState)
    {
        try
        {
            CollectAll(pairs, s, fromState);
        }
        catch (Exception)
        {
            // the entry is still written, with the other sources' properties
        }
    }

    private static void CollectAll(IEnumerable<KeyValuePair<string, object?>> pairs, Scratch s, bool fromState)
    {
        foreach (var (key, value) in pairs)
        {
            if (string.IsNullOrEmpty(key) || key == OriginalFormat)
            {
                continue;
            }

            var name = FieldNames.Of(key);
            if (name is null)
            {
                s.Dropped |= fromState && FieldNames.PlaceholderOf(key) is not null;
                continue;
            }

            if (s.IndexOf(name) < 0)
            {
                s.Fields.Add((name, value));
            }
        }
    }

    /// <summary>The formatted message; rendered from the template when a dropped property would show in it, or when the
    /// entry's own formatter fails.</summary>
    private static string Message<TState>(in LogEntry<TState> entry, IReadOnlyList<KeyValuePair<string, object?>>? state, Scratch s)
    {
        var template = Template(state);
        if (s.Dropped && template is not null)
        {
            return MessageTemplate.Render(template, state!);
        }

        try
        {
            return entry.Formatter?.Invoke(entry.State, entry.Exception) ?? MessageTemplate.Text(entry.State);
        }
        catch (Exception)
        {
            return template is not null ? MessageTemplate.Render(template, state!) : MessageTemplate.Unprintable;
        }
    }

    private static string? Template(IReadOnlyList<KeyValuePair<string, object?>>? state)
    {
        if (state is null)
        {
            return null;
        }

        try
        {
            // the logging library puts it last; look from the end
            for (var i = state.Count - 1; i >= 0; i--)
            {
                if (state[i].Key == OriginalFormat)
                {
                    return state[i].Value as string;
                }
            }
        }
        catch (Exception)
        {
            // a state that cannot be indexed has no usable template
        }

        return null;
    }

    private static void Value(Utf8JsonWriter w, string name, object? value)
    {
        switch (value)
        {
            case null:
                w.WriteNull(name);
                break;
            case string text:
                w.WriteString(name, IsId(name, text) ? text : Redactor.Redact(text));
                break;
            case bool b:
                w.WriteBoolean(name, b);
                break;
            case int n:
                w.WriteNumber(name, n);
                break;
            case long n:
                w.WriteNumber(name, n);
                break;
            case short n:
                w.WriteNumber(name, n);
                break;
            case byte n:
                w.WriteNumber(name, n);
                break;
            case sbyte n:
                w.WriteNumber(name, n);
                break;
            case ushort n:
                w.WriteNumber(name, n);
                break;
            case uint n:
                w.WriteNumber(name, n);
                break;
            case ulong n:
                w.WriteNumber(name, n);
                break;
            case decimal n:
                w.WriteNumber(name, n);
                break;
            case double n when double.IsFinite(n):
                w.WriteNumber(name, n);
                break;
            case float n when float.IsFinite(n):
                w.WriteNumber(name, n);
                break;
            case ActivityTraceId id:
                w.WriteString(name, id.ToHexString());
                break;
            case ActivitySpanId id:
                w.WriteString(name, id.ToHexString());
                break;
            case DateTimeOffset time:
                w.WriteString(name, time);
                break;
            case DateTime time:
                w.WriteString(name, time);
                break;
            case Guid id:
                w.WriteString(name, id);
                break;
            default:
                w.WriteString(name, Redactor.Redact(MessageTemplate.Text(value)));
                break;
        }
    }

    /// <summary>A trace or span id in its W3C form is written as it is (a span id of 16 digits could pass for a card).</summary>
    private static bool IsId(string name, string text) =>
        (name == "trace_id" ? text.Length == 32 : name == "span_id" && text.Length == 16) && !text.AsSpan().ContainsAnyExcept(HexDigits);

    private static void Exception(Utf8JsonWriter w, Exception e, int depth)
    {
        w.WriteStartObject();
        w.WriteString("type", e.GetType().FullName);
        w.WriteString("message", Redactor.Redact(Safe(() => e.Message)));
        var stack = Safe(() => e.StackTrace ?? string.Empty);
        if (stack.Length > 0)
        {
            w.WriteString("stack", Redactor.Redact(stack));
        }

        if (e.InnerException is { } inner && depth < MaxExceptionDepth)
        {
            w.WritePropertyName("inner");
            Exception(w, inner, depth + 1);
        }

        w.WriteEndObject();
    }

    private static string Safe(Func<string> text)
    {
        try
        {
            return text();
        }
        catch (Exception)
        {
            return MessageTemplate.Unprintable;
        }
    }

    /// <summary>The line written when the entry itself could not be: no value of the entry, only that it failed.</summary>
    private static void Minimal<TState>(in LogEntry<TState> entry, Exception failure, Scratch s)
    {
        var w = s.Writer;
        w.WriteStartObject();
        w.WriteString("timestamp", DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteString("level", Level(entry.LogLevel));
        w.WriteString("message", "[log entry could not be formatted: " + failure.GetType().Name + "]");
        w.WriteString("category", entry.Category);
        if (entry.EventId.Id != 0)
        {
            w.WriteNumber("event_id", entry.EventId.Id);
        }

        w.WriteEndObject();
        w.Flush();
    }

    private static string Level(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "error",
        LogLevel.Critical => "critical",
        _ => "none",
    };

    /// <summary>Per-thread buffers and lists, reused from entry to entry.</summary>
    private sealed class Scratch
    {
        public Scratch() => Writer = new Utf8JsonWriter(Buffer, WriterOptions);

        public ArrayBufferWriter<byte> Buffer { get; private set; } = new(1024);

        public Utf8JsonWriter Writer { get; }

        public List<(string Name, object? Value)> Fields { get; } = [];

        public List<object?> Scopes { get; } = [];

        /// <summary>True when the state had a property that is not written (its value must not show in the message).</summary>
        public bool Dropped { get; set; }

        public bool Busy { get; set; }

        public int IndexOf(string name)
        {
            for (var i = 0; i < Fields.Count; i++)
            {
                if (Fields[i].Name == name)
                {
                    return i;
                }
            }

            return -1;
        }

        public void Reset()
        {
            Fields.Clear();
            Scopes.Clear();
            Dropped = false;
            if (Buffer.Capacity > MaxRetainedBytes)
            {
                Buffer = new ArrayBufferWriter<byte>(1024);
                Writer.Reset(Buffer);
            }
            else
            {
                Buffer.ResetWrittenCount();
                Writer.Reset();
            }
        }
    }
}
