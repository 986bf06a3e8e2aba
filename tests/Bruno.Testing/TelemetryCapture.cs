using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;

namespace Bruno.Testing;

/// <summary>
/// The server's finished spans, through OpenTelemetry's in-memory exporter, and a way to wait for the ones a test
/// needs (a span ends after its response reached the client). Every server in the test process exports every span
/// of the process: filter by trace id.
/// </summary>
public sealed class SpanCapture
{
    private readonly List<Activity> _spans = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Adds the exporter to the server's tracer provider (pass to <see cref="RunningServer.StartAsync"/>'s services).</summary>
    public void Register(IServiceCollection services) =>
        services.ConfigureOpenTelemetryTracerProvider(b => b.AddInMemoryExporter(new Sink(this)));

    /// <summary>The spans of <paramref name="traceId"/> once <paramref name="done"/> holds for them (or the test's token fires).</summary>
    public async Task<IReadOnlyList<Activity>> WaitAsync(ActivityTraceId traceId, Func<IReadOnlyList<Activity>, bool> done, CancellationToken ct)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var spans = _spans.Where(s => s.TraceId == traceId).ToList();
                if (done(spans))
                {
                    return spans;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(ct);
        }
    }

    /// <summary>Every span captured so far.</summary>
    public IReadOnlyList<Activity> All
    {
        get
        {
            lock (_gate)
            {
                return [.. _spans];
            }
        }
    }

    private void Add(Activity span)
    {
        TaskCompletionSource old;
        lock (_gate)
        {
            _spans.Add(span);
            old = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        old.TrySetResult();
    }

    /// <summary>A collection the in-memory exporter appends to.</summary>
    private sealed class Sink(SpanCapture owner) : ICollection<Activity>
    {
        public int Count => owner.All.Count;

        public bool IsReadOnly => false;

        public void Add(Activity item) => owner.Add(item);

        public void Clear() => throw new NotSupportedException();

        public bool Contains(Activity item) => owner.All.Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => owner.All.ToList().CopyTo(array, arrayIndex);

        public bool Remove(Activity item) => throw new NotSupportedException();

        public IEnumerator<Activity> GetEnumerator() => owner.All.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>One sample of a Prometheus text exposition: name, labels, value.</summary>
public sealed record PromSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>The label's value, or null.</summary>
    public string? this[string label] => Labels.GetValueOrDefault(label);

    /// <summary>Parses the text exposition format (comments skipped; label values unescaped).</summary>
    public static IReadOnlyList<PromSample> Parse(string text)
    {
        var samples = new List<PromSample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            try
            {
                samples.Add(ParseLine(line));
            }
            catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or FormatException)
            {
                throw new FormatException($"Not a Prometheus sample: {line}", e);
            }
        }

        return samples;
    }

    private static PromSample ParseLine(string line)
    {
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            string name;
            int rest;
            if (brace >= 0 && brace < space)
            {
                name = line[..brace];
                var i = brace + 1;
                while (line[i] != '}')
                {
                    var eq = line.IndexOf('=', i);
                    var key = line[i..eq];
                    var value = new System.Text.StringBuilder();
                    var j = eq + 2; // past ="
                    while (line[j] != '"')
                    {
                        if (line[j] == '\\')
                        {
                            j++;
                            value.Append(line[j] == 'n' ? '\n' : line[j]);
                        }
                        else
                        {
                            value.Append(line[j]);
                        }

                        j++;
                    }

                    labels[key] = value.ToString();
                    i = j + 1;
                    if (line[i] == ',')
                    {
                        i++;
                    }
                }

                rest = i + 2;
            }
            else
            {
                name = line[..space];
                rest = space + 1;
            }

            var number = line[rest..].Split(' ')[0];
            return new PromSample(name, labels, number switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(number, CultureInfo.InvariantCulture),
            });
        }
    }
}
