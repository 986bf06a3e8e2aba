using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>Reading rows under the read lock: by id, counts, pages, the newest, owners and snapshots.</summary>
internal sealed partial class CollectionState
{
    public StoredRow? Get(string id)
    {
        _lock.EnterReadLock();
        try
        {
            return _g.IdToSlot.TryGetValue(id, out var slot) ? Materialize(_g, slot) : null;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    public long Count(Filter filter)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            if (filter.MatchesEverything)
            {
                return g.Live;
            }

            long n = 0;
            var plan = Plan(g, filter);
            if (plan.Lists is null)
            {
                for (var s = 0; s < g.Count; s++)
                {
                    n += Accept(g, s, filter) ? 1 : 0;
                }
            }
            else
            {
                var cursor = new SlotCursor(g, plan);
                while (cursor.Next(out var s))
                {
                    n += Accept(g, s, filter) ? 1 : 0;
                }
            }

            return n;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Ids of the live rows matching <paramref name="filter"/> (for delete-by-filter, evaluated in the write loop).</summary>
    public List<string> MatchingIds(Filter filter)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            var ids = new List<string>();
            var plan = Plan(g, filter);
            if (plan.Lists is null)
            {
                for (var s = 0; s < g.Count; s++)
                {
                    if (Accept(g, s, filter))
                    {
                        ids.Add(g.Rows[s]!.Id);
                    }
                }
            }
            else
            {
                var cursor = new SlotCursor(g, plan);
                while (cursor.Next(out var s))
                {
                    if (Accept(g, s, filter))
                    {
                        ids.Add(g.Rows[s]!.Id);
                    }
                }
            }

            return ids;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Rows matching the filter with ids after <paramref name="after"/>, in ordinal id order, at most <paramref name="limit"/>.</summary>
    public List<StoredRow> Page(Filter filter, string? after, int limit)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            var ids = new SortedSet<(string Id, int Slot)>(Comparer<(string Id, int Slot)>.Create((a, b) => string.CompareOrdinal(a.Id, b.Id)));
            void Consider(int slot)
            {
                var id = g.Rows[slot]?.Id;
                if (id is null || (after is not null && string.CompareOrdinal(id, after) <= 0) || !Accept(g, slot, filter))
                {
                    return;
                }

                if (ids.Count < limit || string.CompareOrdinal(id, ids.Max.Id) < 0)
                {
                    ids.Add((id, slot));
                    if (ids.Count > limit)
                    {
                        ids.Remove(ids.Max);
                    }
                }
            }

            var plan = Plan(g, filter);
            if (plan.Lists is null)
            {
                for (var s = 0; s < g.Count; s++)
                {
                    Consider(s);
                }
            }
            else
            {
                var cursor = new SlotCursor(g, plan);
                while (cursor.Next(out var s))
                {
                    Consider(s);
                }
            }

            return [.. ids.Select(e => Materialize(g, e.Slot))];
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The newest rows matching the filter (by <see cref="StoredRow.CreatedAt"/>, then id), newest first, at most <paramref name="limit"/>.</summary>
    public List<StoredRow> Latest(Filter filter, int limit)
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            var newest = new PriorityQueue<int, (DateTimeOffset At, string Id)>(limit + 1, NewestComparer);
            void Consider(int slot)
            {
                // rows are mostly appended in time order, so scanning backwards meets the newest first, and once
                // the heap is full an older row is skipped by its time alone, before the filter is evaluated
                if (g.Rows[slot] is not { } row
                    || (newest.Count == limit && newest.TryPeek(out _, out var oldest) && row.CreatedAt < oldest.At)
                    || !Accept(g, slot, filter))
                {
                    return;
                }

                newest.Enqueue(slot, (row.CreatedAt, row.Id));
                if (newest.Count > limit)
                {
                    newest.Dequeue(); // drops the oldest kept
                }
            }

            var plan = Plan(g, filter);
            if (plan.Lists is null)
            {
                for (var s = g.Count - 1; s >= 0; s--)
                {
                    Consider(s);
                }
            }
            else
            {
                var cursor = new SlotCursor(g, plan, backwards: true);
                while (cursor.Next(out var s))
                {
                    Consider(s);
                }
            }

            var list = new List<StoredRow>(newest.Count);
            while (newest.Count > 0)
            {
                list.Add(Materialize(g, newest.Dequeue()));
            }

            list.Reverse();
            return list;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>The users that own at least one live row, in ordinal order (tenant-wide rows are not a user).</summary>
    public List<string> Users()
    {
        _lock.EnterReadLock();
        try
        {
            var users = _g.OwnerSlots.Where(kv => kv.Key.Length > 0 && kv.Value.Live > 0).Select(kv => kv.Key).ToList();
            users.Sort(StringComparer.Ordinal);
            return users;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Every live row (export and tests), materialised under one read lock.</summary>
    public List<StoredRow> Snapshot()
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            var list = new List<StoredRow>(g.Live);
            for (var s = 0; s < g.Count; s++)
            {
                if (g.Rows[s] is not null)
                {
                    list.Add(Materialize(g, s));
                }
            }

            return list;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// A copy of the row for a caller, with its vector as a read-only view of the arena (not copied: ten hits of 384
    /// dimensions were 15 KB of garbage a search), or, for an int8 collection whose vectors are spilled, a copy read
    /// from the spill file (decision 0048; <see cref="DataUnreadableException"/> if it was altered); its readers are
    /// wrapped so the engine's array cannot be changed through it.
    /// </summary>
    private static StoredRow Materialize(Generation g, int slot)
    {
        var row = g.Rows[slot]!;
        return row with { Vector = g.VectorOf(slot), Readers = ReadersOf(row) is { } readers ? Array.AsReadOnly(readers) : null };
    }
}
