using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>Filtering: the slots a filter can match and the test a row must pass.</summary>
internal sealed partial class CollectionState
{
    private static int CandidateCount(Generation g, Filter filter)
    {
        if (filter.Owner.Users is not { } users)
        {
            return g.Live;
        }

        var n = filter.Owner.IncludeTenantWide ? g.OwnerSlots.GetValueOrDefault(string.Empty)?.Live ?? 0 : 0;
        foreach (var u in users)
        {
            n += g.OwnerSlots.GetValueOrDefault(u.Value)?.Live ?? 0;
        }

        return n;
    }

    /// <summary>Slots that can match the filter's owner part: the owners' slot lists when users are named, otherwise every slot.</summary>
    private static IEnumerable<int> CandidateSlots(Generation g, Filter filter) =>
        filter.Owner.Users is null ? Enumerable.Range(0, g.Arena.Count) : OwnerLists(g, filter).SelectMany(l => l.Slots);

    /// <summary>The slot lists of the owners a filter names (users, and the tenant-wide rows when included).</summary>
    private static List<OwnerList> OwnerLists(Generation g, Filter filter)
    {
        var owners = filter.Owner.Users!.Select(u => u.Value).Distinct(StringComparer.Ordinal).ToList();
        if (filter.Owner.IncludeTenantWide)
        {
            owners.Add(string.Empty);
        }

        return [.. owners.Select(o => g.OwnerSlots.GetValueOrDefault(o)).OfType<OwnerList>()];
    }

    private static bool Accept(Generation g, int slot, Filter filter)
    {
        var row = g.Rows[slot];
        if (row is null)
        {
            return false;
        }

        if (filter.MatchesEverything)
        {
            return true;
        }

        var owner = filter.Owner;
        if (row.UserId is { } user)
        {
            if (owner.Users is { } users && !Contains(users, user))
            {
                return false;
            }
        }
        else if (!owner.IncludeTenantWide)
        {
            return false;
        }

        if ((filter.CreatedFrom is { } from && row.CreatedAt < from) || (filter.CreatedBefore is { } before && row.CreatedAt >= before))
        {
            return false;
        }

        // indexed, not foreach: enumerating the interface would allocate an enumerator for every row of a scan
        var conditions = filter.Conditions;
        for (var i = 0; i < conditions.Count; i++)
        {
            var c = conditions[i];
            if (!row.Metadata.TryGetValue(c.Key, out var value) || !c.Matches(value))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Contains(IReadOnlyList<UserId> users, UserId user)
    {
        for (var i = 0; i < users.Count; i++)
        {
            if (users[i] == user)
            {
                return true;
            }
        }

        return false;
    }
}
