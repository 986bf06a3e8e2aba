using System.Runtime.InteropServices;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>Filtering: the slots a filter can match and the test a row must pass.</summary>
internal sealed partial class CollectionState
{
    /// <summary>
    /// Where the rows a filter can match are: every slot (<see cref="CandidatePlan.Lists"/> null), the slot lists of the
    /// owners it names, or, when it says for whom (<see cref="Filter.Access"/>), the lists of the caller's principals
    /// and of the rows without readers: whichever holds fewer live rows. The other conditions are checked by
    /// <see cref="Accept"/>; a row on several reader lists is visited once (<see cref="SlotCursor"/>).
    /// </summary>
    private static CandidatePlan Plan(Generation g, Filter filter)
    {
        List<OwnerList>? owners = null;
        var ownerCount = g.Live;
        if (filter.Owner.Users is not null)
        {
            owners = OwnerLists(g, filter);
            ownerCount = LiveOf(owners);
        }

        if (filter.Access is not { } access)
        {
            return new CandidatePlan(owners, false, ownerCount);
        }

        var readers = new List<OwnerList>(access.Principals.Count + 1) { g.OpenSlots };
        for (var i = 0; i < access.Principals.Count; i++)
        {
            if (g.ReaderSlots.TryGetValue(access.Principals[i], out var list))
            {
                readers.Add(list);
            }
        }

        var readerCount = LiveOf(readers);
        return readerCount < ownerCount ? new CandidatePlan(readers, readers.Count > 2, readerCount, ByReaders: true) : new CandidatePlan(owners, false, ownerCount);
    }

    private static int LiveOf(List<OwnerList> lists)
    {
        var n = 0;
        foreach (var l in lists)
        {
            n += l.Live;
        }

        return n;
    }

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

    /// <summary>The readers a row of the engine holds (an array, made by the engine), or null for the whole tenant.</summary>
    private static Principal[]? ReadersOf(StoredRow row) => (Principal[]?)row.Readers;

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

        if (filter.Access is { } access && !access.Admits(ReadersOf(row)))
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

    /// <summary>
    /// The candidate slots of a plan: <paramref name="Lists"/> null means every slot (callers scan the arena in a tight
    /// loop instead); <paramref name="Overlap"/> says a slot can be on several lists; <paramref name="Count"/> is the live
    /// rows of the lists (an upper bound of the matches: overlaps and other conditions are not subtracted);
    /// <paramref name="ByReaders"/> says the caller's reader lists were chosen, i.e. the access filter narrows the rows.
    /// </summary>
    private readonly record struct CandidatePlan(List<OwnerList>? Lists, bool Overlap, int Count, bool ByReaders = false);

    /// <summary>
    /// Walks the slots of a plan's lists, forwards or backwards, each slot once: when lists overlap, a per-thread mark
    /// set (cleared in O(1)) drops repeats. Allocates nothing per slot. Only one cursor per thread at a time.
    /// </summary>
    private ref struct SlotCursor
    {
        private readonly List<OwnerList> _lists;
        private readonly SlotMarks? _seen;
        private readonly bool _backwards;
        private int _list;
        private int _i;
        private ReadOnlySpan<int> _span;

        public SlotCursor(Generation g, CandidatePlan plan, bool backwards = false)
        {
            _lists = plan.Lists!;
            _backwards = backwards;
            _seen = plan.Overlap ? SlotMarks.Rent(SlotMarks.Use.Candidates, g.Count) : null;
            _list = -1;
            _span = [];
            _i = backwards ? -1 : 0;
        }

        public bool Next(out int slot)
        {
            while (true)
            {
                if (_backwards ? _i >= 0 : _i < _span.Length)
                {
                    slot = _span[_i];
                    _i += _backwards ? -1 : 1;
                    if (_seen is null || _seen.Add(slot))
                    {
                        return true;
                    }

                    continue;
                }

                if (++_list >= _lists.Count)
                {
                    slot = -1;
                    return false;
                }

                _span = CollectionsMarshal.AsSpan(_lists[_list].Slots);
                _i = _backwards ? _span.Length - 1 : 0;
            }
        }
    }
}
