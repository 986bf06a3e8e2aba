using System.Diagnostics.CodeAnalysis;

namespace Bruno.Storage.Identity;

/// <summary>
/// A user identifier within a tenant, valid by construction: 1-128 characters from a-z, A-Z, 0-9 and
/// <c>. _ @ : + | -</c>, starting with a letter or digit (so "." and ".." are impossible). It covers
/// subjects such as GUIDs, e-mail addresses and "provider|123".
/// </summary>
/// <remarks><see cref="Parse"/> throws <see cref="InvalidIdentifierException"/> for anything else.</remarks>
public readonly record struct UserId
{
    /// <summary>Longest accepted id.</summary>
    public const int MaxLength = 128;

    private readonly string? _value;

    private UserId(string value) => _value = value;

    /// <summary>The validated id. Throws <see cref="InvalidOperationException"/> on a default instance.</summary>
    public string Value => _value ?? throw new InvalidOperationException("A default UserId has no value.");

    /// <summary>Validates <paramref name="value"/>; throws <see cref="InvalidIdentifierException"/> when it is not a safe user id.</summary>
    public static UserId Parse(string? value) =>
        TryParse(value, out var id) ? id : throw new InvalidIdentifierException("user id", IdentifierRules.Describe(value), "1-128 of a-z, A-Z, 0-9 and . _ @ : + | -, starting with a letter or digit");

    /// <summary>Returns false, and a default id, when <paramref name="value"/> is not a safe user id.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out UserId id)
    {
        id = default;
        if (value is null || value.Length is 0 or > MaxLength || !char.IsAsciiLetterOrDigit(value[0]))
        {
            return false;
        }

        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '@' or ':' or '+' or '|' or '-'))
            {
                return false;
            }
        }

        id = new UserId(value);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => _value ?? string.Empty;
}
