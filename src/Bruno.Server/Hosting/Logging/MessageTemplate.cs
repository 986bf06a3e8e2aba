using System.Collections;
using System.Globalization;
using System.Text;

namespace Bruno.Server.Hosting.Logging;

/// <summary>
/// Renders a message template (<c>"Request to {Path} failed"</c>) from an entry's properties, as the logging library does
/// (invariant culture, <c>(null)</c>, sequences joined by ", "), except that a dropped property's hole gets its
/// placeholder and a value that cannot be turned into text gets <see cref="Unprintable"/>. Never throws.
/// </summary>
internal static class MessageTemplate
{
    public const string Unprintable = "[unprintable]";

    private const int MaxItems = 64;

    public static string Render(string template, IReadOnlyList<KeyValuePair<string, object?>> properties)
    {
        var text = new StringBuilder(template.Length + 32);
        var i = 0;
        while (i < template.Length)
        {
            var c = template[i];
            if (c == '}')
            {
                text.Append('}');
                i += i + 1 < template.Length && template[i + 1] == '}' ? 2 : 1;
                continue;
            }

            if (c != '{')
            {
                text.Append(c);
                i++;
                continue;
            }

            if (i + 1 < template.Length && template[i + 1] == '{')
            {
                text.Append('{');
                i += 2;
                continue;
            }

            var close = template.IndexOf('}', i + 1);
            if (close < 0)
            {
                text.Append(template, i, template.Length - i);
                break;
            }

            text.Append(Hole(template.AsSpan(i + 1, close - i - 1), properties) ?? template[i..(close + 1)]);
            i = close + 1;
        }

        return text.ToString();
    }

    /// <summary>The text of one hole (<c>Name[,alignment][:format]</c>); null when no property has its name.</summary>
    private static string? Hole(ReadOnlySpan<char> hole, IReadOnlyList<KeyValuePair<string, object?>> properties)
    {
        var colon = hole.IndexOf(':');
        var format = colon >= 0 ? hole[(colon + 1)..].ToString() : null;
        var head = colon >= 0 ? hole[..colon] : hole;
        var comma = head.IndexOf(',');
        var name = (comma >= 0 ? head[..comma] : head).Trim();
        var alignment = 0;
        if (comma >= 0 && !int.TryParse(head[(comma + 1)..].Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out alignment))
        {
            alignment = 0;
        }

        foreach (var (key, value) in properties)
        {
            if (!name.Equals(key, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var text = FieldNames.PlaceholderOf(key) ?? Text(value, format);
            return alignment switch
            {
                > 0 => text.PadLeft(Math.Min(alignment, 1024)),
                < 0 => text.PadRight(Math.Min(-alignment, 1024)),
                _ => text,
            };
        }

        return null;
    }

    /// <summary>A value as the message shows it; <see cref="Unprintable"/> when its conversion throws.</summary>
    public static string Text(object? value, string? format = null)
    {
        try
        {
            switch (value)
            {
                case null:
                    return "(null)";
                case string s:
                    return s;
                case IFormattable f:
                    return f.ToString(format, CultureInfo.InvariantCulture);
                case IEnumerable items:
                    var joined = new StringBuilder();
                    var n = 0;
                    foreach (var item in items)
                    {
                        if (n++ == MaxItems)
                        {
                            joined.Append(", ...");
                            break;
                        }

                        joined.Append(n > 1 ? ", " : string.Empty).Append(Text(item));
                    }

                    return joined.ToString();
                default:
                    return value.ToString() ?? string.Empty;
            }
        }
        catch (Exception)
        {
            // a log line must not fail because of one value
            return Unprintable;
        }
    }
}
