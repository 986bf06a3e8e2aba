using Bruno.Storage.Identity;

namespace Bruno.Storage.Model;

/// <summary>
/// A typed filter, the same for every search, count, list and delete: which owners, which metadata conditions (all must
/// hold), a creation-time range, and for whom the rows must be readable (<see cref="Access"/>). It is data, never text: no value in it is ever parsed as a query, so nothing a caller puts
/// into it can change its meaning. Conditions on a key a row does not have, or of another kind, do not match.
/// </summary>
public sealed record Filter
{
    /// <summary>Matches every row.</summary>
    public static Filter All { get; } = new();

    /// <summary>Which rows by owner. Default: every row.</summary>
    public OwnerFilter Owner { get; init; } = OwnerFilter.Any;

    /// <summary>Metadata conditions; a row matches when all hold.</summary>
    public IReadOnlyList<MetadataCondition> Conditions { get; init; } = [];

    /// <summary>Only rows created at or after this instant.</summary>
    public DateTimeOffset? CreatedFrom { get; init; }

    /// <summary>Only rows created before this instant.</summary>
    public DateTimeOffset? CreatedBefore { get; init; }

    /// <summary>
    /// For whom the rows must be readable (<see cref="StoredRow.Readers"/>); null (the default) means no restriction,
    /// for operators and exports. All conditions of a filter hold together: owner, metadata, time and access.
    /// </summary>
    public AccessFilter? Access { get; init; }

    /// <summary>True when the filter admits every row.</summary>
    internal bool MatchesEverything =>
        Owner.IncludeTenantWide && Owner.Users is null && Conditions.Count == 0 && CreatedFrom is null && CreatedBefore is null && Access is null;

    /// <summary>
    /// Rows readable by a caller holding <paramref name="principals"/> (a user and the user's groups): rows without
    /// readers, and rows whose readers name at least one of them. Throws like <see cref="AccessFilter.For"/>.
    /// </summary>
    public static Filter ReadableBy(IReadOnlyCollection<Principal> principals) => new() { Access = AccessFilter.For(principals) };

    /// <summary>This filter, restricted to rows readable by <paramref name="principals"/>. Throws like <see cref="AccessFilter.For"/>.</summary>
    public Filter AndReadableBy(IReadOnlyCollection<Principal> principals) => this with { Access = AccessFilter.For(principals) };

    /// <summary>Rows of one user only.</summary>
    public static Filter ForUser(UserId user) => new() { Owner = OwnerFilter.User(user) };

    /// <summary>Rows shared by the whole tenant only (no owning user).</summary>
    public static Filter TenantWide() => new() { Owner = OwnerFilter.TenantWideOnly };

    /// <summary>Adds an equality condition.</summary>
    public Filter Where(string key, MetadataValue value) => With(new EqualsCondition(key, value));

    /// <summary>Adds a set-membership condition.</summary>
    public Filter WhereIn(string key, params MetadataValue[] values) => With(new InCondition(key, values));

    /// <summary>Adds a range condition; null bounds are open.</summary>
    public Filter WhereBetween(string key, MetadataValue? min, MetadataValue? max, bool minInclusive = true, bool maxInclusive = true) =>
        With(new RangeCondition(key, min, max, minInclusive, maxInclusive));

    /// <summary>Restricts the creation time to [from, before).</summary>
    public Filter CreatedBetween(DateTimeOffset? from, DateTimeOffset? before) => this with { CreatedFrom = from, CreatedBefore = before };

    private Filter With(MetadataCondition c) => this with { Conditions = [.. Conditions, c] };
}

/// <summary>Which owners a filter admits.</summary>
/// <param name="IncludeTenantWide">Whether rows without an owning user match.</param>
/// <param name="Users">Users whose rows match; null means every user.</param>
public sealed record OwnerFilter(bool IncludeTenantWide, IReadOnlyList<UserId>? Users)
{
    /// <summary>Every row, owned or not.</summary>
    public static OwnerFilter Any { get; } = new(true, null);

    /// <summary>Only rows without an owning user.</summary>
    public static OwnerFilter TenantWideOnly { get; } = new(true, []);

    /// <summary>Only the rows of one user.</summary>
    public static OwnerFilter User(UserId user) => new(false, [user]);

    /// <summary>The rows of one user and the rows shared by the tenant.</summary>
    public static OwnerFilter UserAndTenantWide(UserId user) => new(true, [user]);
}

/// <summary>A condition on one metadata key. The key is validated when the condition is made.</summary>
public abstract record MetadataCondition
{
    /// <summary>Creates a condition on <paramref name="key"/>; throws <see cref="InvalidIdentifierException"/> for a bad key.</summary>
    protected MetadataCondition(string key) => Key = IdentifierRules.ValidateName(key, "metadata key");

    /// <summary>The metadata key.</summary>
    public string Key { get; }

    internal abstract bool Matches(MetadataValue value);
}

/// <summary>The value equals <see cref="Value"/> (same kind, same value).</summary>
public sealed record EqualsCondition(string Key, MetadataValue Value) : MetadataCondition(Key)
{
    internal override bool Matches(MetadataValue value) => value.Kind == Value.Kind && value.CompareTo(Value) == 0;
}

/// <summary>The value is one of <see cref="Values"/>; an empty set matches nothing.</summary>
public sealed record InCondition : MetadataCondition
{
    private readonly HashSet<MetadataValue> _set;

    /// <summary>Creates the condition; throws <see cref="ArgumentException"/> for more than 1,024 values.</summary>
    public InCondition(string key, IReadOnlyList<MetadataValue> values)
        : base(key)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count > 1024)
        {
            throw new ArgumentException("A set condition takes at most 1,024 values.", nameof(values));
        }

        Values = values;
        _set = [.. values];
    }

    /// <summary>The accepted values.</summary>
    public IReadOnlyList<MetadataValue> Values { get; }

    internal override bool Matches(MetadataValue value) => _set.Contains(value);
}

/// <summary>The value lies between <see cref="Min"/> and <see cref="Max"/> (null: open) and is of the bounds' kind.</summary>
public sealed record RangeCondition : MetadataCondition
{
    /// <summary>Creates the condition; throws <see cref="ArgumentException"/> when the bounds are of different kinds or both null.</summary>
    public RangeCondition(string key, MetadataValue? min, MetadataValue? max, bool minInclusive = true, bool maxInclusive = true)
        : base(key)
    {
        if (min is null && max is null)
        {
            throw new ArgumentException("A range needs at least one bound.");
        }

        if (min is { } a && max is { } b && a.Kind != b.Kind)
        {
            throw new ArgumentException("Both bounds of a range must be of the same kind.");
        }

        (Min, Max, MinInclusive, MaxInclusive) = (min, max, minInclusive, maxInclusive);
    }

    /// <summary>Lower bound, or null.</summary>
    public MetadataValue? Min { get; }

    /// <summary>Upper bound, or null.</summary>
    public MetadataValue? Max { get; }

    /// <summary>Whether the lower bound itself matches.</summary>
    public bool MinInclusive { get; }

    /// <summary>Whether the upper bound itself matches.</summary>
    public bool MaxInclusive { get; }

    internal override bool Matches(MetadataValue value)
    {
        if (Min is { } min)
        {
            if (value.Kind != min.Kind)
            {
                return false;
            }

            var c = value.CompareTo(min);
            if (c < 0 || (c == 0 && !MinInclusive))
            {
                return false;
            }
        }

        if (Max is { } max)
        {
            if (value.Kind != max.Kind)
            {
                return false;
            }

            var c = value.CompareTo(max);
            if (c > 0 || (c == 0 && !MaxInclusive))
            {
                return false;
            }
        }

        return true;
    }
}
