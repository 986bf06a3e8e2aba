using System.Diagnostics.CodeAnalysis;

namespace Bruno.Storage.Identity;

/// <summary>
/// A tenant identifier, valid by construction: a DNS-1123 label (lower-case letters, digits and '-',
/// starting and ending with a letter or digit, at most 63 characters). Only a valid id can reach a path
/// or a query, because nothing else converts to this type.
/// </summary>
/// <remarks>
/// <see cref="Parse"/> throws <see cref="InvalidIdentifierException"/> for anything else, including
/// "../x", "%2e%2e", absolute paths, NUL, upper case and over-long input; the input is never echoed back in
/// full, so a hostile value cannot flood a log.
/// </remarks>
public readonly record struct TenantId
{
    /// <summary>Longest accepted id: the DNS-1123 label limit.</summary>
    public const int MaxLength = 63;

    private readonly string? _value;

    private TenantId(string value) => _value = value;

    /// <summary>The validated id. Throws <see cref="InvalidOperationException"/> on a default instance.</summary>
    public string Value => _value ?? throw new InvalidOperationException("A default TenantId has no value.");

    /// <summary>Validates <paramref name="value"/>; throws <see cref="InvalidIdentifierException"/> if it is not a DNS-1123 label.</summary>
    public static TenantId Parse(string? value) =>
        TryParse(value, out var id) ? id : throw new InvalidIdentifierException("tenant id", IdentifierRules.Describe(value), "a DNS-1123 label: 1-63 of a-z, 0-9 and '-', starting and ending with a letter or digit");

    /// <summary>Returns false, and a default id, when <paramref name="value"/> is not a DNS-1123 label.</summary>
    public static bool TryParse([NotNullWhen(true)] string? value, out TenantId id)
    {
        id = default;
        if (value is null || value.Length is 0 or > MaxLength)
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            var alnum = c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
            if (!alnum && !(c == '-' && i > 0 && i < value.Length - 1))
            {
                return false;
            }
        }

        id = new TenantId(value);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => _value ?? string.Empty;
}
