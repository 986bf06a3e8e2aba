using System.Text;

namespace Bruno.Storage.Identity;

/// <summary>Validation shared by the identifier types: row ids, collection names and metadata keys.</summary>
public static class IdentifierRules
{
    /// <summary>Longest accepted row id.</summary>
    public const int MaxRowIdLength = 256;

    /// <summary>Longest accepted collection name or metadata key.</summary>
    public const int MaxNameLength = 64;

    /// <summary>
    /// Throws <see cref="InvalidIdentifierException"/> unless <paramref name="id"/> is a row id: 1-256 characters,
    /// no control characters (so no NUL), no surrogate halves. Row ids are opaque to the engine and never reach a
    /// path or a query in clear.
    /// </summary>
    public static string ValidateRowId(string? id)
    {
        if (id is null || id.Length is 0 or > MaxRowIdLength || !IsCleanText(id))
        {
            throw new InvalidIdentifierException("row id", Describe(id), "1-256 characters without control characters");
        }

        return id;
    }

    /// <summary>
    /// Throws <see cref="InvalidIdentifierException"/> unless <paramref name="name"/> is a lower-case name:
    /// a letter, then up to 63 of a-z, 0-9 and '_'. Used for collection names and metadata keys.
    /// </summary>
    public static string ValidateName(string? name, string what)
    {
        if (name is null || name.Length is 0 or > MaxNameLength || name[0] is < 'a' or > 'z')
        {
            throw new InvalidIdentifierException(what, Describe(name), "a-z first, then up to 63 of a-z, 0-9 and '_'");
        }

        foreach (var c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                throw new InvalidIdentifierException(what, Describe(name), "a-z first, then up to 63 of a-z, 0-9 and '_'");
            }
        }

        return name;
    }

    internal static bool IsCleanText(string s)
    {
        foreach (var r in s.EnumerateRunes())
        {
            if (Rune.IsControl(r) || r == Rune.ReplacementChar)
            {
                return false;
            }
        }

        // EnumerateRunes maps lone surrogates to U+FFFD, rejected above.
        return true;
    }

    /// <summary>A short, printable description of a rejected value for error messages (never the whole value).</summary>
    internal static string Describe(string? value)
    {
        if (value is null)
        {
            return "null";
        }

        if (value.Length == 0)
        {
            return "an empty string";
        }

        var sb = new StringBuilder("\"");
        foreach (var c in value.AsSpan(0, Math.Min(value.Length, 24)))
        {
            sb.Append(char.IsControl(c) || char.IsSurrogate(c) ? '?' : c);
        }

        sb.Append(value.Length > 24 ? $"...\" ({value.Length} characters)" : "\"");
        return sb.ToString();
    }
}
