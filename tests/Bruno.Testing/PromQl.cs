using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Bruno.Testing;

/// <summary>One label matcher of a vector selector: <c>Name Op "Value"</c>, where Op is <c>=</c>, <c>!=</c>, <c>=~</c> or <c>!~</c>.</summary>
public sealed record PromMatcher(string Name, string Op, string Value)
{
    /// <summary>The matcher as PromQL writes it, the value double-quoted.</summary>
    public override string ToString() => Name + Op + PromQl.Quote(Value);
}

/// <summary>
/// One vector selector of a PromQL expression: the metric name (also when written <c>{__name__="x"}</c>; null when the
/// name is not given by one equality matcher) and the other label matchers in the order written.
/// </summary>
public sealed record PromSelector(string? Metric, IReadOnlyList<PromMatcher> Matchers)
{
    /// <summary>The selector as PromQL writes it: <c>metric{a="b",c=~"d"}</c>, the braces left out when there are no matchers.</summary>
    public override string ToString() => (Metric ?? string.Empty) + (Matchers.Count > 0 ? "{" + string.Join(",", Matchers) + "}" : string.Empty);
}

/// <summary>
/// A PromQL reader for tests: it parses a whole expression (operators and their modifiers, aggregations with their
/// grouping, function calls, ranges, subqueries, <c>offset</c> and <c>@</c>, numbers and strings, comments) and returns
/// every vector selector in it. What it cannot parse (unbalanced brackets, an unknown function, a selector without a
/// non-empty matcher, a bad duration, a stray token) throws <see cref="FormatException"/>, so a typo in a dashboard or a
/// rule fails the test that reads it.
/// </summary>
public static partial class PromQl
{
    /// <summary>Every vector selector of <paramref name="expression"/>, in the order written.</summary>
    /// <exception cref="FormatException">The expression is not PromQL this reader understands.</exception>
    public static IReadOnlyList<PromSelector> Selectors(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var parser = new Parser(expression);
        parser.Run();
        return parser.Found;
    }

    /// <summary>True when <paramref name="text"/> is a Prometheus duration such as <c>5m</c>, <c>1h30m</c> or <c>30d</c>.</summary>
    public static bool IsDuration(string text) => !string.IsNullOrEmpty(text) && DurationPattern().IsMatch(text);

    /// <summary><paramref name="value"/> as a double-quoted PromQL string.</summary>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var s = new StringBuilder("\"");
        foreach (var c in value)
        {
            s.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\t' => "\\t",
                _ => c.ToString(),
            });
        }

        return s.Append('"').ToString();
    }

    // The aggregation operators (keywords, any case); topk, bottomk, quantile, count_values, limitk and limit_ratio take a parameter first.
    private static readonly HashSet<string> Aggregations = new(StringComparer.OrdinalIgnoreCase)
    {
        "sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio",
    };

    // Keywords that can never start an operand (and so are never a metric name).
    private static readonly HashSet<string> Keywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "atan2", "offset",
    };

    private static readonly HashSet<string> SetOperators = new(StringComparer.OrdinalIgnoreCase) { "and", "or", "unless", "atan2" };

    // Prometheus' functions (names are case-sensitive).
    private static readonly HashSet<string> Functions = new(StringComparer.Ordinal)
    {
        "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil", "changes",
        "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "day_of_month", "day_of_week", "day_of_year",
        "days_in_month", "deg", "delta", "deriv", "double_exponential_smoothing", "exp", "floor", "histogram_avg", "histogram_count",
        "histogram_fraction", "histogram_quantile", "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters", "hour",
        "idelta", "increase", "info", "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2", "mad_over_time",
        "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad",
        "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc", "sort_desc", "sqrt",
        "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
    };

    [GeneratedRegex("^(?:[0-9]+y)?(?:[0-9]+w)?(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?(?:[0-9]+ms)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    private sealed class Parser(string text)
    {
        private int _pos;

        public List<PromSelector> Found { get; } = [];

        private bool AtEnd => _pos >= text.Length;

        private char Peek => _pos < text.Length ? text[_pos] : '\0';

        private char PeekAt(int offset) => _pos + offset < text.Length ? text[_pos + offset] : '\0';

        public void Run()
        {
            Space();
            if (AtEnd)
            {
                throw Error("an empty expression");
            }

            Expression();
            Space();
            if (!AtEnd)
            {
                throw Error($"unexpected '{Peek}'");
            }
        }

        // operand (binary-operator modifiers operand)*; precedence does not change which selectors there are.
        private void Expression()
        {
            Operand();
            while (BinaryOperator() is { } op)
            {
                Space();
                if (IsComparison(op) && TryKeyword("bool"))
                {
                    Space();
                }

                if (TryKeyword("on") || TryKeyword("ignoring"))
                {
                    LabelList();
                    Space();
                    if (TryKeyword("group_left") || TryKeyword("group_right"))
                    {
                        Space();
                        if (Peek == '(')
                        {
                            LabelList();
                        }
                    }
                }

                Operand();
            }
        }

        private static bool IsComparison(string op) => op is "==" or "!=" or "<" or ">" or "<=" or ">=";

        private string? BinaryOperator()
        {
            Space();
            var two = _pos + 1 < text.Length ? text.Substring(_pos, 2) : string.Empty;
            if (two is "==" or "!=" or "<=" or ">=")
            {
                _pos += 2;
                return two;
            }

            if (Peek is '+' or '-' or '*' or '/' or '%' or '^' or '<' or '>')
            {
                return text[_pos++].ToString();
            }

            if (IdentifierStart(Peek))
            {
                var start = _pos;
                var word = Identifier();
                if (SetOperators.Contains(word))
                {
                    return word.ToLowerInvariant();
                }

                _pos = start;
            }

            return null;
        }

        private void Operand()
        {
            Space();
            var c = Peek;
            switch (c)
            {
                case '\0':
                    throw Error("an operand expected, the expression ended");
                case '+' or '-':
                    _pos++;
                    Operand();
                    return;
                case '(':
                    _pos++;
                    Expression();
                    Expect(')');
                    Postfix(selector: false);
                    return;
                case '{':
                    Selector(null);
                    return;
                case '"' or '\'' or '`':
                    String();
                    return;
            }

            if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(PeekAt(1))))
            {
                Number();
                return;
            }

            if (!IdentifierStart(c))
            {
                throw Error($"unexpected '{c}'");
            }

            var start = _pos;
            var word = Identifier();
            if (word.Equals("inf", StringComparison.OrdinalIgnoreCase) || word.Equals("nan", StringComparison.OrdinalIgnoreCase))
            {
                return;
            }

            if (Aggregations.Contains(word))
            {
                Aggregation(word);
                return;
            }

            if (Keywords.Contains(word))
            {
                _pos = start;
                throw Error($"the keyword '{word}' where an operand was expected");
            }

            Space();
            if (Peek == '(')
            {
                if (!Functions.Contains(word))
                {
                    _pos = start;
                    throw Error($"unknown function '{word}'");
                }

                _pos++;
                Arguments(word, allowNone: true);
                Postfix(selector: false);
                return;
            }

            Selector(word);
        }

        // sum [by|without (labels)] (args) [by|without (labels)]
        private void Aggregation(string name)
        {
            Space();
            var grouped = false;
            if (TryKeyword("by") || TryKeyword("without"))
            {
                LabelList();
                grouped = true;
                Space();
            }

            Expect('(');
            Arguments(name, allowNone: false);
            if (!grouped)
            {
                Space();
                if (TryKeyword("by") || TryKeyword("without"))
                {
                    LabelList();
                }
            }

            Postfix(selector: false);
        }

        // After '(': comma-separated expressions and ')'.
        private void Arguments(string name, bool allowNone)
        {
            Space();
            if (Peek == ')')
            {
                if (!allowNone)
                {
                    throw Error($"'{name}' needs an argument");
                }

                _pos++;
                return;
            }

            while (true)
            {
                Expression();
                Space();
                if (Peek == ',')
                {
                    _pos++;
                    continue;
                }

                Expect(')');
                return;
            }
        }

        // (label, label, ...) after by, without, on, ignoring, group_left, group_right.
        private void LabelList()
        {
            Space();
            Expect('(');
            while (true)
            {
                Space();
                if (Peek == ')')
                {
                    _pos++;
                    return;
                }

                if (Peek is '"' or '\'' or '`')
                {
                    String();
                }
                else if (LabelStart(Peek))
                {
                    LabelName();
                }
                else
                {
                    throw Error("a label name expected");
                }

                Space();
                if (Peek == ',')
                {
                    _pos++;
                }
                else if (Peek != ')')
                {
                    throw Error("',' or ')' expected in a label list");
                }
            }
        }

        private void Selector(string? metric)
        {
            var matchers = new List<PromMatcher>();
            Space();
            if (Peek == '{')
            {
                _pos++;
                while (true)
                {
                    Space();
                    if (Peek == '}')
                    {
                        _pos++;
                        break;
                    }

                    string name;
                    if (Peek is '"' or '\'' or '`')
                    {
                        name = String();
                        Space();
                        if (Peek is ',' or '}')
                        {
                            // {"metric.name", ...}: a quoted metric name alone
                            metric = metric is null ? name : throw Error("the metric name is given twice");
                            if (Peek == ',')
                            {
                                _pos++;
                            }

                            continue;
                        }
                    }
                    else if (LabelStart(Peek))
                    {
                        name = LabelName();
                    }
                    else
                    {
                        throw Error(AtEnd ? "'}' missing" : $"a label name expected, not '{Peek}'");
                    }

                    Space();
                    var op = MatchOperator() ?? throw Error($"a matcher operator (=, !=, =~, !~) expected after '{name}'");
                    Space();
                    if (Peek is not ('"' or '\'' or '`'))
                    {
                        throw Error($"a quoted value expected after '{name}{op}'");
                    }

                    var value = String();
                    if (op is "=~" or "!~")
                    {
                        CheckRegex(value);
                    }

                    matchers.Add(new PromMatcher(name, op, value));
                    Space();
                    if (Peek == ',')
                    {
                        _pos++;
                    }
                    else if (Peek != '}')
                    {
                        throw Error(AtEnd ? "'}' missing" : $"',' or '}}' expected, not '{Peek}'");
                    }
                }
            }

            var named = matchers.FindIndex(m => m.Name == "__name__" && m.Op == "=");
            if (named >= 0)
            {
                if (metric is not null)
                {
                    throw Error("the metric name is given twice");
                }

                metric = matchers[named].Value;
                matchers.RemoveAt(named);
            }

            if (metric is null && matchers.All(MatchesEmpty))
            {
                throw Error("a selector needs a metric name or a matcher that does not match the empty string");
            }

            Found.Add(new PromSelector(metric, matchers));
            Postfix(selector: true);
        }

        // [range] or [range:step] (a subquery), then offset and @ in any order.
        private void Postfix(bool selector)
        {
            Space();
            var subquery = false;
            if (Peek == '[')
            {
                var open = _pos;
                var close = text.IndexOf(']', _pos);
                var nested = text.IndexOf('[', _pos + 1);
                if (close < 0 || (nested >= 0 && nested < close))
                {
                    throw Error("']' missing");
                }

                var inside = text[(open + 1)..close];
                var colon = inside.IndexOf(':', StringComparison.Ordinal);
                var range = (colon < 0 ? inside : inside[..colon]).Trim();
                if (!IsDuration(range))
                {
                    throw Error($"'{range}' is not a duration");
                }

                if (colon >= 0)
                {
                    var step = inside[(colon + 1)..].Trim();
                    if (step.Length > 0 && !IsDuration(step))
                    {
                        throw Error($"'{step}' is not a duration");
                    }

                    subquery = true;
                }
                else if (!selector)
                {
                    throw Error("a range [d] applies to a vector selector only (a subquery is [d:step])");
                }

                _pos = close + 1;
            }

            while (true)
            {
                Space();
                if (TryKeyword("offset"))
                {
                    if (!selector && !subquery)
                    {
                        throw Error("offset applies to a selector or a subquery only");
                    }

                    Space();
                    if (Peek is '-' or '+')
                    {
                        _pos++;
                    }

                    var start = _pos;
                    while (char.IsAsciiLetterOrDigit(Peek))
                    {
                        _pos++;
                    }

                    if (!IsDuration(text[start.._pos]))
                    {
                        _pos = start;
                        throw Error("a duration expected after offset");
                    }
                }
                else if (Peek == '@')
                {
                    if (!selector && !subquery)
                    {
                        throw Error("@ applies to a selector or a subquery only");
                    }

                    _pos++;
                    Space();
                    if (TryKeyword("start") || TryKeyword("end"))
                    {
                        Space();
                        Expect('(');
                        Space();
                        Expect(')');
                    }
                    else
                    {
                        if (Peek is '-' or '+')
                        {
                            _pos++;
                        }

                        if (!char.IsAsciiDigit(Peek) && Peek != '.')
                        {
                            throw Error("a timestamp, start() or end() expected after @");
                        }

                        Number();
                    }
                }
                else
                {
                    return;
                }
            }
        }

        private string? MatchOperator()
        {
            foreach (var op in MatchOperators)
            {
                if (string.CompareOrdinal(text, _pos, op, 0, op.Length) == 0)
                {
                    _pos += op.Length;
                    return op;
                }
            }

            return null;
        }

        private static readonly string[] MatchOperators = ["=~", "!~", "!=", "="];

        private void Number()
        {
            var start = _pos;
            if (Peek == '0' && PeekAt(1) is 'x' or 'X')
            {
                _pos += 2;
                while (char.IsAsciiHexDigit(Peek))
                {
                    _pos++;
                }

                if (_pos == start + 2)
                {
                    throw Error("hex digits expected");
                }
            }
            else
            {
                while (char.IsAsciiDigit(Peek) || Peek == '.')
                {
                    _pos++;
                }

                if (!double.TryParse(text[start.._pos], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
                {
                    throw Error($"'{text[start.._pos]}' is not a number");
                }

                if (Peek is 'e' or 'E')
                {
                    _pos++;
                    if (Peek is '+' or '-')
                    {
                        _pos++;
                    }

                    if (!char.IsAsciiDigit(Peek))
                    {
                        throw Error("an exponent expected");
                    }

                    while (char.IsAsciiDigit(Peek))
                    {
                        _pos++;
                    }
                }
            }

            if (IdentifierStart(Peek) || Peek == '.')
            {
                throw Error($"'{text[start.._pos]}{Peek}' is not a number");
            }
        }

        // A quoted string ("..." or '...' with escapes, `...` raw); returns its value.
        private string String()
        {
            var quote = text[_pos++];
            var value = new StringBuilder();
            while (true)
            {
                if (AtEnd)
                {
                    throw Error("an unterminated string");
                }

                var c = text[_pos++];
                if (c == quote)
                {
                    return value.ToString();
                }

                if (c == '\n' && quote != '`')
                {
                    throw Error("a line break inside a quoted string");
                }

                if (c != '\\' || quote == '`')
                {
                    value.Append(c);
                    continue;
                }

                var e = AtEnd ? '\0' : text[_pos++];
                switch (e)
                {
                    case 'a': value.Append('\a'); break;
                    case 'b': value.Append('\b'); break;
                    case 'f': value.Append('\f'); break;
                    case 'n': value.Append('\n'); break;
                    case 'r': value.Append('\r'); break;
                    case 't': value.Append('\t'); break;
                    case 'v': value.Append('\v'); break;
                    case '\\': value.Append('\\'); break;
                    case 'x': value.Append((char)Digits(2, 16)); break;
                    case 'u': value.Append(char.ConvertFromUtf32(Digits(4, 16))); break;
                    case 'U': value.Append(char.ConvertFromUtf32(Digits(8, 16))); break;
                    case >= '0' and <= '7':
                        _pos--;
                        value.Append((char)Digits(3, 8));
                        break;
                    default:
                        if (e != quote)
                        {
                            _pos--;
                            throw Error($"an unknown escape '\\{e}' in a string");
                        }

                        value.Append(e);
                        break;
                }
            }
        }

        private int Digits(int count, int radix)
        {
            if (_pos + count > text.Length)
            {
                throw Error("an escape cut short");
            }

            var n = 0;
            for (var i = 0; i < count; i++)
            {
                var c = text[_pos + i];
                var d = char.IsAsciiDigit(c) ? c - '0' : char.IsAsciiHexDigit(c) ? char.ToLowerInvariant(c) - 'a' + 10 : radix;
                if (d >= radix)
                {
                    throw Error("a bad digit in an escape");
                }

                n = (n * radix) + d;
            }

            _pos += count;
            if (n > 0x10FFFF || n is >= 0xD800 and <= 0xDFFF)
            {
                throw Error("an escape that is not a character");
            }

            return n;
        }

        // The regular expression of =~ or !~ must compile (Prometheus anchors it: ^(?:re)$).
        private void CheckRegex(string pattern)
        {
            try
            {
                _ = new Regex($"^(?:{pattern})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw Error($"a bad regular expression '{pattern}': {e.Message}");
            }
        }

        private static bool MatchesEmpty(PromMatcher m) => m.Op switch
        {
            "=" => m.Value.Length == 0,
            "!=" => m.Value.Length != 0,
            "=~" => Regex.IsMatch(string.Empty, $"^(?:{m.Value})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)),
            _ => !Regex.IsMatch(string.Empty, $"^(?:{m.Value})$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)),
        };

        private bool TryKeyword(string keyword)
        {
            if (string.Compare(text, _pos, keyword, 0, keyword.Length, StringComparison.OrdinalIgnoreCase) == 0 && !IdentifierPart(PeekAt(keyword.Length)))
            {
                _pos += keyword.Length;
                return true;
            }

            return false;
        }

        private void Expect(char c)
        {
            Space();
            if (Peek != c)
            {
                throw Error(AtEnd ? $"'{c}' missing" : $"'{c}' expected, not '{Peek}'");
            }

            _pos++;
        }

        // Metric names and keywords: [a-zA-Z_:][a-zA-Z0-9_:]*
        private string Identifier()
        {
            var start = _pos;
            while (IdentifierPart(Peek))
            {
                _pos++;
            }

            return text[start.._pos];
        }

        // Label names: [a-zA-Z_][a-zA-Z0-9_]*
        private string LabelName()
        {
            var start = _pos;
            while (char.IsAsciiLetterOrDigit(Peek) || Peek == '_')
            {
                _pos++;
            }

            return text[start.._pos];
        }

        private static bool IdentifierStart(char c) => char.IsAsciiLetter(c) || c is '_' or ':';

        private static bool IdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or ':';

        private static bool LabelStart(char c) => char.IsAsciiLetter(c) || c == '_';

        // Whitespace and # comments to the end of the line.
        private void Space()
        {
            while (!AtEnd)
            {
                if (char.IsWhiteSpace(Peek))
                {
                    _pos++;
                }
                else if (Peek == '#')
                {
                    while (!AtEnd && Peek != '\n')
                    {
                        _pos++;
                    }
                }
                else
                {
                    return;
                }
            }
        }

        private FormatException Error(string message) => new($"PromQL: {message} at offset {_pos} of: {text}");
    }
}
