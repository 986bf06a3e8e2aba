using System.Globalization;

namespace Bruno.Storage.Model;

/// <summary>The kinds of value a metadata entry can hold. The numbers are persisted: append only.</summary>
public enum MetadataKind : byte
{
    /// <summary>A string.</summary>
    String = 1,

    /// <summary>A 64-bit floating-point number.</summary>
    Number = 2,

    /// <summary>An instant, stored as UTC ticks.</summary>
    Time = 3,

    /// <summary>A boolean.</summary>
    Bool = 4,
}

/// <summary>A typed metadata value. Comparisons in filters only match values of the same kind.</summary>
public readonly record struct MetadataValue : IComparable<MetadataValue>
{
    /// <summary>Longest string value accepted, in characters.</summary>
    public const int MaxStringLength = 4096;

    private readonly string? _string;
    private readonly double _number;

    private MetadataValue(MetadataKind kind, string? s, double n)
    {
        Kind = kind;
        _string = s;
        _number = n;
    }

    /// <summary>The kind of value.</summary>
    public MetadataKind Kind { get; }

    /// <summary>The string; throws <see cref="InvalidOperationException"/> if this is not a string.</summary>
    public string AsString => Kind == MetadataKind.String ? _string! : throw WrongKind(MetadataKind.String);

    /// <summary>The number; throws <see cref="InvalidOperationException"/> if this is not a number.</summary>
    public double AsNumber => Kind == MetadataKind.Number ? _number : throw WrongKind(MetadataKind.Number);

    /// <summary>The instant (UTC); throws <see cref="InvalidOperationException"/> if this is not a time.</summary>
    public DateTimeOffset AsTime => Kind == MetadataKind.Time ? new DateTimeOffset((long)_number, TimeSpan.Zero) : throw WrongKind(MetadataKind.Time);

    /// <summary>The boolean; throws <see cref="InvalidOperationException"/> if this is not a boolean.</summary>
    public bool AsBool => Kind == MetadataKind.Bool ? _number != 0 : throw WrongKind(MetadataKind.Bool);

    internal double RawNumber => _number;

    internal string? RawString => _string;

    /// <summary>A string value; throws <see cref="ArgumentException"/> when it is null, longer than 4,096 characters or holds control characters.</summary>
    public static MetadataValue String(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > MaxStringLength || !Identity.IdentifierRules.IsCleanText(value))
        {
            throw new ArgumentException($"A metadata string must be at most {MaxStringLength} characters without control characters.", nameof(value));
        }

        return new(MetadataKind.String, value, 0);
    }

    /// <summary>A number; throws <see cref="ArgumentException"/> for NaN or infinity.</summary>
    public static MetadataValue Number(double value) =>
        double.IsFinite(value) ? new(MetadataKind.Number, null, value) : throw new ArgumentException("A metadata number must be finite.", nameof(value));

    /// <summary>An instant, kept to the tick in UTC.</summary>
    public static MetadataValue Time(DateTimeOffset value) => new(MetadataKind.Time, null, value.UtcTicks);

    /// <summary>A boolean.</summary>
    public static MetadataValue Bool(bool value) => new(MetadataKind.Bool, null, value ? 1 : 0);

    /// <summary>Implicit conversion from a string.</summary>
    public static implicit operator MetadataValue(string value) => String(value);

    /// <summary>Implicit conversion from a number.</summary>
    public static implicit operator MetadataValue(double value) => Number(value);

    /// <summary>Implicit conversion from an instant.</summary>
    public static implicit operator MetadataValue(DateTimeOffset value) => Time(value);

    /// <summary>Implicit conversion from a boolean.</summary>
    public static implicit operator MetadataValue(bool value) => Bool(value);

    /// <summary>Orders values of one kind; values of different kinds order by kind.</summary>
    public int CompareTo(MetadataValue other) =>
        Kind != other.Kind ? Kind.CompareTo(other.Kind)
        : Kind == MetadataKind.String ? string.CompareOrdinal(_string, other._string)
        : _number.CompareTo(other._number);

    /// <summary>Whether this value is less than another of the same kind.</summary>
    public static bool operator <(MetadataValue left, MetadataValue right) => left.CompareTo(right) < 0;

    /// <summary>Whether this value is greater than another of the same kind.</summary>
    public static bool operator >(MetadataValue left, MetadataValue right) => left.CompareTo(right) > 0;

    /// <summary>Whether this value is at most another of the same kind.</summary>
    public static bool operator <=(MetadataValue left, MetadataValue right) => left.CompareTo(right) <= 0;

    /// <summary>Whether this value is at least another of the same kind.</summary>
    public static bool operator >=(MetadataValue left, MetadataValue right) => left.CompareTo(right) >= 0;

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        MetadataKind.String => _string!,
        MetadataKind.Number => _number.ToString("R", CultureInfo.InvariantCulture),
        MetadataKind.Time => AsTime.ToString("O", CultureInfo.InvariantCulture),
        MetadataKind.Bool => AsBool ? "true" : "false",
        _ => string.Empty,
    };

    private InvalidOperationException WrongKind(MetadataKind wanted) => new($"The metadata value is a {Kind}, not a {wanted}.");
}
