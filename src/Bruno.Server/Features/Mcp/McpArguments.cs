using System.Globalization;
using System.Text.Json;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// Checks a call's arguments against the input schema the tool advertises, before the tool runs: an argument the
/// schema does not name (<c>tenant_id</c>, <c>topK</c>), a required one missing, a value of the wrong type, a number
/// outside <c>minimum</c>-<c>maximum</c> or a string outside <c>minLength</c>-<c>maxLength</c> is refused with the
/// reason, never ignored or clamped. The subset of JSON Schema Bruno's tools use: flat objects of scalars.
/// </summary>
internal static class McpArguments
{
    /// <summary>Why <paramref name="arguments"/> do not fit <paramref name="schema"/>; null when they do.</summary>
    public static string? Check(JsonElement schema, IDictionary<string, JsonElement>? arguments)
    {
        var properties = schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        var names = properties.ValueKind == JsonValueKind.Object ? properties.EnumerateObject().Select(o => o.Name).ToList() : [];
        foreach (var (name, value) in arguments ?? new Dictionary<string, JsonElement>())
        {
            if (!names.Contains(name, StringComparer.Ordinal))
            {
                var known = names.Count == 0 ? "it takes no arguments" : "it takes " + string.Join(", ", names.Select(n => $"'{n}'"));
                return $"Unknown argument '{Clip(name)}': {known}.";
            }

            if (CheckValue(name, properties.GetProperty(name), value) is { } reason)
            {
                return reason;
            }
        }

        if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in required.EnumerateArray().Select(r => r.GetString()))
            {
                if (name is not null && arguments?.ContainsKey(name) != true)
                {
                    return $"Missing required argument '{name}'.";
                }
            }
        }

        return null;
    }

    private static string? CheckValue(string name, JsonElement schema, JsonElement value)
    {
        var types = !schema.TryGetProperty("type", out var t) ? []
            : t.ValueKind == JsonValueKind.Array ? t.EnumerateArray().Select(e => e.GetString() ?? string.Empty).ToList()
            : [t.GetString() ?? string.Empty];
        var kind = value.ValueKind switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => value.TryGetInt64(out _) ? "integer" : "number",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.Object => "object",
            JsonValueKind.Array => "array",
            _ => "null",
        };
        if (types.Count > 0 && !types.Contains(kind) && !(kind == "integer" && types.Contains("number")))
        {
            var wanted = string.Join(" or ", types.Where(x => x != "null").Select(x => x is "integer" or "object" or "array" ? "an " + x : "a " + x));
            return $"Argument '{name}' must be {wanted}{(types.Contains("null") ? " (or null)" : string.Empty)}, not {(kind == "null" ? "null" : kind is "integer" or "object" or "array" ? "an " + kind : "a " + kind)}.";
        }

        if (kind is "integer" or "number")
        {
            var number = value.GetDouble();
            var min = Number(schema, "minimum");
            var max = Number(schema, "maximum");
            if (number < (min ?? double.MinValue) || number > (max ?? double.MaxValue))
            {
                return $"Argument '{name}' must be {Range(min, max)}; it is {Clip(value.GetRawText())}.";
            }
        }
        else if (kind == "string")
        {
            var length = value.GetString()!.Length;
            var min = Number(schema, "minLength");
            var max = Number(schema, "maxLength");
            if (length < (min ?? 0) || length > (max ?? double.MaxValue))
            {
                return $"Argument '{name}' must have {Range(min, max)} characters; it has {length.ToString(CultureInfo.InvariantCulture)}.";
            }
        }

        return null;
    }

    private static double? Number(JsonElement schema, string keyword) =>
        schema.TryGetProperty(keyword, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    private static string Range(double? min, double? max) => (min, max) switch
    {
        ({ } a, { } b) => $"{a.ToString(CultureInfo.InvariantCulture)}-{b.ToString(CultureInfo.InvariantCulture)}",
        ({ } a, null) => $"at least {a.ToString(CultureInfo.InvariantCulture)}",
        (null, { } b) => $"at most {b.ToString(CultureInfo.InvariantCulture)}",
        _ => "valid",
    };

    private static string Clip(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
