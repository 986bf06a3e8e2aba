using Bruno.Storage.Identity;

namespace Bruno.Storage.Model;

/// <summary>
/// The access part of a <see cref="Filter"/>: the principals a caller holds. A row passes when its
/// <see cref="StoredRow.Readers"/> is null (the whole tenant) or names one of them. The engine enumerates only the rows
/// these principals can read (a pre-filter), so a search returns as many hits as there are readable matches.
/// </summary>
public sealed record AccessFilter
{
    /// <summary>Most principals one caller may hold in a filter.</summary>
    public const int MaxPrincipals = 1024;

    private readonly HashSet<Principal> _set;

    private AccessFilter(Principal[] principals)
    {
        Principals = principals;
        _set = [.. principals];
    }

    /// <summary>The caller's principals, without duplicates, users first, then by name (ordinal).</summary>
    public IReadOnlyList<Principal> Principals { get; }

    /// <summary>
    /// The access condition of a caller holding <paramref name="principals"/>; an empty set reads only the rows without
    /// readers. Throws <see cref="ArgumentNullException"/> for null, <see cref="ArgumentException"/> for more than
    /// <see cref="MaxPrincipals"/> or a default <see cref="Principal"/>.
    /// </summary>
    public static AccessFilter For(IReadOnlyCollection<Principal> principals)
    {
        ArgumentNullException.ThrowIfNull(principals);
        if (principals.Count > MaxPrincipals)
        {
            throw new ArgumentException($"An access filter takes at most {MaxPrincipals} principals.", nameof(principals));
        }

        foreach (var p in principals)
        {
            if (!p.IsValid)
            {
                throw new ArgumentException("An access filter holds a default Principal; make each with Principal.User or Principal.Group.", nameof(principals));
            }
        }

        return new AccessFilter(Canonical(principals));
    }

    /// <summary>Whether a row with these readers (null: the whole tenant) is readable.</summary>
    internal bool Admits(Principal[]? readers)
    {
        if (readers is null)
        {
            return true;
        }

        for (var i = 0; i < readers.Length; i++)
        {
            if (_set.Contains(readers[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether <paramref name="principal"/> is one of the caller's.</summary>
    internal bool Holds(Principal principal) => _set.Contains(principal);

    /// <summary>Equal when the same principals are held.</summary>
    public bool Equals(AccessFilter? other) => other is not null && _set.SetEquals(other._set);

    /// <inheritdoc/>
    public override int GetHashCode() => Principals.Count == 0 ? 0 : HashCode.Combine(Principals.Count, Principals[0]);

    /// <summary>A list of principals without duplicates, sorted: how rows keep their readers and filters their principals.</summary>
    internal static Principal[] Canonical(IEnumerable<Principal> principals)
    {
        var list = new SortedSet<Principal>(principals, Principal.Order);
        return [.. list];
    }
}
