using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>Changing rows: applying, holding, publishing and reverting writes; adding and killing slots; compaction.</summary>
internal sealed partial class CollectionState
{
    /// <summary>Applies committed deletes, then upserts, atomically for readers. Returns how many deleted ids existed.</summary>
    public int Apply(IReadOnlyList<AnalyzedRow>? upserts, IReadOnlyList<string>? deletes)
    {
        Hold();
        int deleted;
        try
        {
            deleted = ApplyHeld(upserts, deletes);
        }
        catch
        {
            Revert(); // a spill write failed (StorageException, disk full): nothing of the change stays
            throw;
        }

        Publish();
        return deleted;
    }

    /// <summary>
    /// Takes the write lock for a change whose commit is not yet known to be durable: readers wait until
    /// <see cref="Publish"/> or <see cref="Revert"/>, which the same thread must call. Changes made meanwhile
    /// (<see cref="ApplyHeld"/>) are logged so that <see cref="Revert"/> can take them back.
    /// </summary>
    public void Hold()
    {
        _lock.EnterWriteLock();
        _undo = [];
    }

    /// <summary>Applies deletes, then upserts, under the lock taken by <see cref="Hold"/>. Returns how many deleted ids existed.</summary>
    public int ApplyHeld(IReadOnlyList<AnalyzedRow>? upserts, IReadOnlyList<string>? deletes)
    {
        var undo = _undo ?? throw new InvalidOperationException("ApplyHeld needs Hold first.");
        if (upserts?.Count >= 256)
        {
            Volatile.Write(ref _bulkUntil, Environment.TickCount64 + 250);
        }

        var deleted = 0;
        var g = _g;
        foreach (var id in deletes ?? [])
        {
            if (g.IdToSlot.Remove(id, out var slot))
            {
                undo.Add(new Undo(slot, g.Rows[slot]));
                Kill(g, slot);
                deleted++;
            }
        }

        foreach (var row in upserts ?? [])
        {
            if (g.IdToSlot.TryGetValue(row.Row.Id, out var old))
            {
                undo.Add(new Undo(old, g.Rows[old]));
                Kill(g, old);
            }

            var owns = _spill is not null && row.Record < 0;
            Add(g, owns ? row with { Record = SpillVectors(row.Vector.Span, [row.Ordinal])![0] } : row);
            undo.Add(new Undo(g.Count - 1, null, owns));
        }

        return deleted;
    }

    /// <summary>Makes the held changes visible (the commit is durable) and releases the lock.</summary>
    public void Publish()
    {
        var undo = _undo;
        _undo = null;
        try
        {
            // The spill records of rows this change removed are freed only now: no reader can reach them any more, and a
            // reverted change would have brought them back.
            if (_spill is not null && undo is not null)
            {
                var g = _g;
                foreach (var (slot, row, _) in undo)
                {
                    if (row is not null && g.Rows[slot] is null)
                    {
                        _spill.Free(g.Records[slot]);
                        g.Records[slot] = -1;
                    }
                }
            }

            if (_g.Dead > 1024 && _g.Dead > _g.Live)
            {
                Compact();
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }

        MaybeStartIndexer();
    }

    /// <summary>
    /// Takes back every held change, newest first (the commit failed), and releases the lock: readers see the
    /// collection exactly as before. Slots added meanwhile stay behind as dead slots, as deleted rows do.
    /// </summary>
    public void Revert()
    {
        try
        {
            var g = _g;
            var undo = _undo ?? [];
            for (var i = undo.Count - 1; i >= 0; i--)
            {
                var (slot, row, owns) = undo[i];
                if (row is null)
                {
                    // an added slot: removed as a delete would remove it (its spill record stays the operation's, unless
                    // the change wrote it)
                    var added = g.Rows[slot]!;
                    g.IdToSlot.Remove(added.Id);
                    Kill(g, slot);
                    if (owns)
                    {
                        _spill!.Free(g.Records[slot]);
                        g.Records[slot] = -1;
                    }
                }
                else
                {
                    // a killed slot: brought back with its postings, which a kill leaves in place
                    g.Rows[slot] = row;
                    g.IdToSlot[row.Id] = slot;
                    g.Text.RestoreText(row.Text, g.Lengths[slot]);
                    g.OwnerSlots[row.UserId?.Value ?? string.Empty].Live++;
                    CountReaders(g, row, +1);
                    g.Live++;
                    g.Dead--;
                }
            }
        }
        finally
        {
            _undo = null;
            _lock.ExitWriteLock();
        }
    }

    private static void Add(Generation g, AnalyzedRow analyzed)
    {
        var (row, vector, terms, length) = analyzed;
        var slot = AddRow(g, row, g.AppendVector(vector.Span, analyzed.Record), analyzed.Ordinal);
        g.Lengths[slot] = length;
        g.Text.Add(slot, terms, length);
    }

    /// <summary>Puts a row in the slot its vector was just appended to (<see cref="Generation.AppendVector"/>).</summary>
    private static int AddRow(Generation g, StoredRow row, int slot, long ordinal)
    {
        if (slot >= g.Rows.Length)
        {
            g.EnsureSlots(Math.Max(16, g.Rows.Length * 2));
        }

        Place(g, slot, row, ordinal);
        return slot;
    }

    /// <summary>Puts a row in a slot of the row indexes (ids, owners, readers); the caller writes its vector.</summary>
    private static void Place(Generation g, int slot, StoredRow row, long ordinal)
    {
        g.Ordinals[slot] = ordinal;
        g.Rows[slot] = row.Vector.IsEmpty ? row : row with { Vector = ReadOnlyMemory<float>.Empty };
        g.IdToSlot[row.Id] = slot;
        var owner = row.UserId?.Value ?? string.Empty;
        if (!g.OwnerSlots.TryGetValue(owner, out var list))
        {
            g.OwnerSlots[owner] = list = new OwnerList();
        }

        list.Slots.Add(slot);
        list.Live++;
        if (ReadersOf(row) is not { } readers)
        {
            g.OpenSlots.Slots.Add(slot);
            g.OpenSlots.Live++;
        }
        else
        {
            foreach (var p in readers)
            {
                if (!g.ReaderSlots.TryGetValue(p, out var readable))
                {
                    g.ReaderSlots[p] = readable = new OwnerList();
                }

                readable.Slots.Add(slot);
                readable.Live++;
            }
        }

        g.Live++;
    }

    /// <summary>Counts a row in (+1) or out (-1) of the live rows of its reader lists; its slot stays listed until compaction.</summary>
    private static void CountReaders(Generation g, StoredRow row, int delta)
    {
        if (ReadersOf(row) is not { } readers)
        {
            g.OpenSlots.Live += delta;
            return;
        }

        foreach (var p in readers)
        {
            g.ReaderSlots[p].Live += delta;
        }
    }

    private static void Kill(Generation g, int slot)
    {
        var row = g.Rows[slot]!;
        // Terms are not kept per row (they would double the memory of the text); a removal analyses the text again.
        g.Text.RemoveText(row.Text, g.Lengths[slot]);
        g.OwnerSlots[row.UserId?.Value ?? string.Empty].Live--;
        CountReaders(g, row, -1);
        g.Rows[slot] = null;
        g.Live--;
        g.Dead++;
    }

    /// <summary>Rebuilds the generation without dead slots; the HNSW graph is rebuilt by the indexer, exact search covers the gap.</summary>
    private void Compact()
    {
        var old = _g;
        var fresh = new Generation(Spec, _spill);
        fresh.Reserve(old.Live);
        for (var s = 0; s < old.Count; s++)
        {
            if (old.Rows[s] is { } row)
            {
                var slot = AddRow(fresh, row, fresh.AppendFrom(old, s), old.Ordinals[s]);
                fresh.Lengths[slot] = fresh.Text.AddText(slot, row.Text);
            }
        }

        _g = fresh;
    }
}
