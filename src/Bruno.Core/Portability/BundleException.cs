namespace Bruno.Core.Portability;

/// <summary>Why a bundle was refused.</summary>
public enum BundleFailure
{
    /// <summary>The file does not start like a Bruno tenant bundle.</summary>
    NotABundle,

    /// <summary>The bundle was written in a format version this build does not read.</summary>
    UnsupportedVersion,

    /// <summary>The passphrase does not open the bundle (or its header's key parameters were altered).</summary>
    WrongPassphrase,

    /// <summary>The file ends before the bundle's final chunk.</summary>
    Truncated,

    /// <summary>A chunk does not authenticate, the chunks are out of order, a checksum does not match, or the content is malformed.</summary>
    Damaged,
}

/// <summary>
/// A bundle was refused before anything was created from it (or after what was created had been removed again).
/// The message is one line, written for the operator, and never holds bundle content or key material.
/// </summary>
public sealed class BundleException(BundleFailure failure, string message) : Exception(message)
{
    /// <summary>Why.</summary>
    public BundleFailure Failure { get; } = failure;

    internal static BundleException Damaged(string what) => new(BundleFailure.Damaged, $"The bundle is damaged or was altered: {what}");

    internal static BundleException Truncated() => new(BundleFailure.Truncated, "The bundle is truncated: the file ends before its final chunk.");
}

/// <summary>The rules a bundle passphrase follows (the same for export and import).</summary>
public static class BundlePassphrase
{
    /// <summary>Fewest characters.</summary>
    public const int MinLength = 12;

    /// <summary>Most characters.</summary>
    public const int MaxLength = 1_024;

    /// <summary>
    /// Returns <paramref name="passphrase"/> when it has 12 to 1,024 characters (Unicode scalar values) and no control
    /// characters; throws <see cref="ArgumentException"/> saying which rule it breaks otherwise (never echoing it).
    /// </summary>
    public static string Validate(string? passphrase)
    {
        if (string.IsNullOrEmpty(passphrase))
        {
            throw new ArgumentException("A bundle passphrase is required.");
        }

        var length = 0;
        foreach (var rune in passphrase.EnumerateRunes())
        {
            if (System.Text.Rune.IsControl(rune) || rune == System.Text.Rune.ReplacementChar)
            {
                throw new ArgumentException("A bundle passphrase cannot hold control characters.");
            }

            length++;
        }

        return length is < MinLength or > MaxLength
            ? throw new ArgumentException($"A bundle passphrase has {MinLength} to {MaxLength} characters.")
            : passphrase;
    }
}
