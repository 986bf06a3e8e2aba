using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Yaml;

/// <summary>
/// Writes a JSON document as block-style YAML, byte for byte the same for the same input: keys in the order the node
/// holds them, two-space indentation, LF line ends. A string is written plain only when YAML would read it back as the
/// same string (never as a number, boolean, null, date or flow syntax); otherwise double-quoted with JSON escapes, which
/// YAML reads the same way. Multi-line strings are literal blocks.
/// </summary>
public static class YamlWriter
{
    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", ".nan", ".inf", "-.inf", "+.inf", "<<", "=",
    };

    /// <summary>The YAML text of <paramref name="node"/> (an object), ending in a newline.</summary>
    public static string Write(JsonNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var s = new StringBuilder();
        if (node is JsonObject o && o.Count > 0)
        {
            WriteObject(s, o, 0);
        }
        else
        {
            s.Append(Inline(node)).Append('\n');
        }

        return s.ToString();
    }

    private static void WriteObject(StringBuilder s, JsonObject o, int indent)
    {
        foreach (var (key, value) in o)
        {
            s.Append(' ', indent).Append(Scalar(key)).Append(':');
            WriteValue(s, value, indent);
        }
    }

    // After "key:" or "-": the rest of the line and any nested lines.
    private static void WriteValue(StringBuilder s, JsonNode? value, int indent)
    {
        switch (value)
        {
            case JsonObject child when child.Count > 0:
                s.Append('\n');
                WriteObject(s, child, indent + 2);
                break;
            case JsonArray array when array.Count > 0:
                s.Append('\n');
                WriteArray(s, array, indent);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String && IsBlock(v.GetValue<string>()):
                var text = v.GetValue<string>();
                s.Append(text.EndsWith('\n') ? " |" : " |-").Append('\n');
                foreach (var line in text.TrimEnd('\n').Split('\n'))
                {
                    if (line.Length > 0)
                    {
                        s.Append(' ', indent + 2).Append(line);
                    }

                    s.Append('\n');
                }

                break;
            default:
                s.Append(' ').Append(Inline(value)).Append('\n');
                break;
        }
    }

    private static void WriteArray(StringBuilder s, JsonArray array, int indent)
    {
        foreach (var item in array)
        {
            s.Append(' ', indent).Append('-');
            if (item is JsonObject o && o.Count > 0)
            {
                // the first key on the dash's line, the others under it
                var first = true;
                foreach (var (key, value) in o)
                {
                    if (first)
                    {
                        s.Append(' ').Append(Scalar(key)).Append(':');
                        first = false;
                    }
                    else
                    {
                        s.Append(' ', indent + 2).Append(Scalar(key)).Append(':');
                    }

                    WriteValue(s, value, indent + 2);
                }
            }
            else
            {
                WriteValue(s, item, indent);
            }
        }
    }

    private static string Inline(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "{}",
        JsonArray => "[]",
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.String => Scalar(v.GetValue<string>()),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            JsonValueKind.Number => v.ToJsonString(),
            _ => "null",
        },
        _ => throw new ArgumentException("Unknown JSON node.", nameof(node)),
    };

    /// <summary>A string as a plain scalar when that reads back as the same string, else double-quoted.</summary>
    internal static string Scalar(string value) => IsPlain(value) ? value : Quote(value);

    private static bool IsPlain(string v)
    {
        if (v.Length == 0 || Reserved.Contains(v) || char.IsWhiteSpace(v[0]) || char.IsWhiteSpace(v[^1]))
        {
            return false;
        }

        if ("-?:,[]{}#&*!|>'\"%@`".Contains(v[0], StringComparison.Ordinal) || LooksNumeric(v))
        {
            return false;
        }

        for (var i = 0; i < v.Length; i++)
        {
            var c = v[i];
            if (c < ' ' || c > '~' || c is '#' or '\'' or '"' or '\\' || (c == ':' && (i + 1 == v.Length || v[i + 1] == ' ')) || (c == ' ' && i + 1 < v.Length && v[i + 1] == '#'))
            {
                return false;
            }

            if (c is ',' or '[' or ']' or '{' or '}')
            {
                return false; // harmless in block context, but quoting keeps every reader on the safe side
            }
        }

        return true;
    }

    // Anything a YAML 1.1 or 1.2 reader could take for a number, a date or a time (sexagesimal included).
    private static bool LooksNumeric(string v) =>
        double.TryParse(v.Replace("_", string.Empty, StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out _)
        || v.StartsWith("0x", StringComparison.OrdinalIgnoreCase) || v.StartsWith("0o", StringComparison.OrdinalIgnoreCase)
        || (char.IsDigit(v[0]) && v.All(c => char.IsDigit(c) || c is ':' or '-' or '.' or '_' or 'T' or 't' or 'Z' or 'z' or '+' or ' '));

    private static bool IsBlock(string v) =>
        v.Contains('\n', StringComparison.Ordinal) && !v.StartsWith(' ') && v.All(c => c == '\n' || (c >= ' ' && c != '\u007f'))
        && !v.Split('\n').Any(l => l.EndsWith(' ') || l.EndsWith('\t')) && !v.EndsWith("\n\n", StringComparison.Ordinal);

    private static string Quote(string v) => JsonSerializer.Serialize(v, QuoteOptions);

    private static readonly JsonSerializerOptions QuoteOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
