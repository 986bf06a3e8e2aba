using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text.Json;

namespace Bruno.Server.Hosting.Logging;

/// <summary>How a structured property's name becomes a JSON field: snake_case, with aliases, some names dropped.</summary>
internal static class FieldNames
{
    /// <summary>The well-known fields, in the order they are written (after the entry's own).</summary>
    public static readonly string[] Known = ["tenant_id", "request_id", "trace_id", "span_id", "route", "method", "status", "latency_ms"];

    /// <summary>Names the formatter writes itself: a property of the same name is not written again.</summary>
    private static readonly FrozenSet<string> Reserved = FrozenSet.Create(StringComparer.Ordinal, "timestamp", "level", "message", "category", "event_id", "event_name", "exception");

    private static readonly FrozenDictionary<string, string> Aliases = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["tenant"] = "tenant_id",
        ["status_code"] = "status",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Raw paths and URLs can carry personal data; connection and parent ids add nothing a trace id does not.
    /// Each maps to what stands for it in a message.</summary>
    private static readonly FrozenDictionary<string, string> Dropped = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["path"] = "[path]",
        ["request_path"] = "[path]",
        ["url"] = "[url]",
        ["uri"] = "[url]",
        ["request_url"] = "[url]",
        ["request_uri"] = "[url]",
        ["query_string"] = "[query]",
        ["connection_id"] = "[id]",
        ["parent_id"] = "[id]",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private const int MaxCached = 4096;
    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);

    /// <summary>The JSON name of property <paramref name="key"/>; null when it is not written (dropped or reserved).</summary>
    public static string? Of(string key)
    {
        var name = SnakeCase(key);
        return Reserved.Contains(name) || Dropped.ContainsKey(name) ? null : name;
    }

    /// <summary>What stands in a message for the value of <paramref name="key"/> when that property is dropped; else null.</summary>
    public static string? PlaceholderOf(string key) => Dropped.GetValueOrDefault(SnakeCase(key));

    public static bool IsKnown(string name) => Array.IndexOf(Known, name) >= 0;

    private static string SnakeCase(string key)
    {
        if (Cache.TryGetValue(key, out var name))
        {
            return name;
        }

        name = JsonNamingPolicy.SnakeCaseLower.ConvertName(key);
        name = Aliases.GetValueOrDefault(name, name);
        if (Cache.Count < MaxCached)
        {
            Cache.TryAdd(key, name);
        }

        return name;
    }
}
