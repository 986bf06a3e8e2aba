using System.Text.RegularExpressions;

namespace Bruno.Server.Hosting.Logging;

/// <summary>
/// Replaces personal data and credentials in text bound for the logs: e-mail addresses (<c>[email]</c>), phone numbers
/// (<c>[phone]</c>), payment card numbers that pass the Luhn check (<c>[card]</c>; 13-19 digits, alone or in groups,
/// starting with 2-6 or 8 as the payment networks' do), US social security numbers (<c>[ssn]</c>), and tokens (<c>[token]</c>): JWTs, Bruno API keys, <c>Bearer</c> credentials and the values of
/// <c>password=</c>, <c>secret=</c>, <c>token=</c>, <c>api_key=</c> style pairs, whose key is kept.
/// </summary>
/// <remarks>
/// Identifiers the logs need are left as they are: trace and span ids, GUIDs, ISO-8601 timestamps, small numbers,
/// versions, addresses with ports, route templates, tenant ids and hex digests. <see cref="Redact"/> never throws: when
/// the patterns take longer than their time limit (1 s per match, wall-clock: generous, because a thread of a busy
/// machine can wait that long for a core, and a line lost to the limit is lost to the logs) on some input, the whole
/// text is replaced by <see cref="Unchecked"/> (it fails closed, never leaking what it could not check). Thread-safe.
/// </remarks>
public static partial class Redactor
{
    /// <summary>What a text becomes when it could not be checked in time.</summary>
    public const string Unchecked = "[redacted]";

    private const int TimeoutMilliseconds = 1000;
    private const RegexOptions Options = RegexOptions.ExplicitCapture | RegexOptions.CultureInvariant | RegexOptions.IgnorePatternWhitespace;

    private static readonly MatchEvaluator TokenReplacement = Token;
    private static readonly MatchEvaluator NumberReplacement = Number;

    /// <summary>
    /// <paramref name="text"/> with its secrets replaced; the same instance when there was nothing to replace, and
    /// <see cref="Unchecked"/> when the check ran out of time. Null or empty text is returned as it is.
    /// </summary>
    public static string Redact(string text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        // One pass per kind, each only when the text has the character or word every match of that kind needs; what a
        // pass writes ([token], [email]...) holds nothing a later pass takes.
        try
        {
            var result = text;
            if (result.Contains("eyJ", StringComparison.Ordinal) || result.Contains("brk_", StringComparison.Ordinal) || result.Contains("earer", StringComparison.Ordinal))
            {
                result = Tokens().Replace(result, TokenReplacement);
            }

            if (result.AsSpan().IndexOfAny('=', ':') >= 0)
            {
                result = Pairs().Replace(result, TokenReplacement);
            }

            if (result.Contains('@', StringComparison.Ordinal))
            {
                result = Emails().Replace(result, "[email]");
            }

            if (result.AsSpan().IndexOfAnyInRange('0', '9') >= 0)
            {
                result = Numbers().Replace(result, NumberReplacement);
            }

            return string.Equals(result, text, StringComparison.Ordinal) ? text : result;
        }
        catch (RegexMatchTimeoutException)
        {
            return Unchecked;
        }
    }

    /// <summary>A token, or the value of a pair or bearer credential (what names it is kept).</summary>
    private static string Token(Match m)
    {
        var value = m.Groups["value"];
        if (!value.Success)
        {
            return "[token]";
        }

        var at = value.Index - m.Index;
        return value.Length == 0 ? m.Value : string.Concat(m.ValueSpan[..at], "[token]", m.ValueSpan[(at + value.Length)..]);
    }

    private static string Number(Match m) =>
        m.Groups["card"].Success ? Card(m.Value)
        : m.Groups["ssn"].Success ? "[ssn]"
        : CountDigits(m.Value) is >= 8 and <= 15 ? "[phone]" : m.Value;

    /// <summary><c>[card]</c> when the digits pass the Luhn check; else, for a grouped number, the longest prefix of whole
    /// groups that does (a card number followed by its security code); else the text unchanged. Only numbers in the
    /// payment networks' ranges (first digit 2-6 or 8) are taken: 13-digit Unix times in milliseconds start with 1.</summary>
    private static string Card(string text)
    {
        if (text[0] is not ('2' or '3' or '4' or '5' or '6' or '8'))
        {
            return text;
        }

        if (Luhn(text))
        {
            return "[card]";
        }

        for (var end = text.Length - 1; end > 0; end--)
        {
            if (text[end] is ' ' or '-' && CountDigits(text.AsSpan(0, end)) >= 13 && Luhn(text.AsSpan(0, end)))
            {
                return string.Concat("[card]", text.AsSpan(end));
            }
        }

        return text;
    }

    private static bool Luhn(ReadOnlySpan<char> text)
    {
        var sum = 0;
        var count = 0;
        for (var i = text.Length - 1; i >= 0; i--)
        {
            if (!char.IsAsciiDigit(text[i]))
            {
                continue;
            }

            var d = text[i] - '0';
            if (count % 2 == 1)
            {
                d *= 2;
                if (d > 9)
                {
                    d -= 9;
                }
            }

            sum += d;
            count++;
        }

        return count is >= 13 and <= 19 && sum % 10 == 0;
    }

    private static int CountDigits(ReadOnlySpan<char> text)
    {
        var n = 0;
        foreach (var c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                n++;
            }
        }

        return n;
    }

    // Digits are [0-9], not \d, so that other scripts' digits are not taken for numbers; the lookarounds keep a match from
    // starting or ending inside a longer word, number or hex string (trace ids, digests, GUIDs).
    [GeneratedRegex("""
        (?<jwt>(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+){0,2})
        |(?<key>(?<![A-Za-z0-9])brk_[A-Za-z0-9_-]+)
        |(?<bearer>(?<![A-Za-z0-9])[Bb]earer[\x20\t]+
            (?![A-Za-z][a-z]*[.,;:!?)]*(?:\s|$))           # "a bearer token is required": a word, not a credential
            (?<value>[^\s"'<>,;]+))
        """, Options, TimeoutMilliseconds)]
    private static partial Regex Tokens();

    // A key that ends in one of these words (client_secret, db.password, X-Api-Key), then = or :, then the value: quoted
    // (also JSON-escaped quotes), or up to a space or separator.
    [GeneratedRegex("""
        (?i:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)
        (?:\\?["'])?[\x20\t]*[=:][\x20\t]*
        (?:\\?"(?<value>[^"\\\r\n]*)|'(?<value>[^'\r\n]*)'|(?<value>[^\s&,;"'\\]+))
        """, Options, TimeoutMilliseconds)]
    private static partial Regex Pairs();

    [GeneratedRegex("""
        (?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}
        """, Options, TimeoutMilliseconds)]
    private static partial Regex Emails();

    // Cards: 13-19 digits alone, in groups of four (the last shorter), or 4-6-5/4-6-4 (Amex, Diners); the Luhn check and
    // the first digit are checked in code. Phones: international (+country, groups) and national forms with separators.
    [GeneratedRegex("""
        (?<ssn>(?<![\w-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![\w-]))
        |(?<card>(?<![\w.,+-])
            (?:[0-9]{13,19}
              |[0-9]{4}(?<sep>[\x20-])[0-9]{4}\k<sep>[0-9]{4}\k<sep>[0-9]{1,4}(?:\k<sep>[0-9]{1,3})?
              |[0-9]{4}(?<amex>[\x20-])[0-9]{6}\k<amex>[0-9]{4,5})
            (?![\w-]|[.,][0-9]))
        |(?<phone>
            (?:(?<![\w+])\+[0-9]{1,3}(?:[\x20.-]?\([0-9]{1,4}\)[0-9]{0,5})?(?:[\x20.-][0-9]{1,5}){1,6}
              |(?<![\w+])\+[0-9]{8,15}
              |(?<![\w.+-])(?:\([0-9]{3}\)[\x20.-]?|[0-9]{3}[\x20.-])[0-9]{3}[\x20.-][0-9]{4}
              |(?<![\w.+-])0[0-9]{1,4}[\x20-][0-9]{3,4}[\x20-][0-9]{3,4}
              |(?<![\w.+-])0[0-9](?:[\x20.-][0-9]{2}){4})
            (?![\w-]|[.,-]?[0-9]))
        """, Options, TimeoutMilliseconds)]
    private static partial Regex Numbers();
}
