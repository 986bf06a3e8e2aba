namespace Bruno.Storage.Engine;

/// <summary>
/// Where each row of a tenant lives on disk: row id → segment, and each segment's collection, owner and row count.
/// Kept by the write loop only (never read by searches). Changes made inside a transaction are staged in a
/// <see cref="SegmentChanges"/> and applied once it commits, so a rolled-back transaction leaves the map untouched.
/// </summary>
internal sealed class SegmentMap
{
    /// <summary>A segment holding fewer rows than this is merged with its owner's other small ones.</summary>
    public const int SmallRows = 64;

    /// <summary>Merge an owner's small segments once it has this many.</summary>
    public const int MergeAt = 16;

    private readonly Dictionary<(int Cid, string Id), long> _ids = [];
    private readonly Dictionary<long, SegmentInfo> _segments = [];
    private readonly Dictionary<(int Cid, string Owner), int> _small = [];

    /// <summary>Makes room for <paramref name="rows"/> row ids at once (open).</summary>
    public void Reserve(int rows) => _ids.EnsureCapacity(rows);

    /// <summary>Records a segment read at open; false when one of its ids is already placed (the store was altered).</summary>
    public bool TryLoad(long sid, SegmentInfo info, IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            if (!_ids.TryAdd((info.Cid, id), sid))
            {
                return false;
            }
        }

        SetSegment(sid, info);
        return true;
    }

    public long? SidOf(int cid, string id, SegmentChanges? changes)
    {
        if (changes is not null && changes.Ids.TryGetValue((cid, id), out var staged))
        {
            return staged;
        }

        return _ids.TryGetValue((cid, id), out var sid) ? sid : null;
    }

    public SegmentInfo? Segment(long sid, SegmentChanges? changes)
    {
        if (changes is not null && changes.Segments.TryGetValue(sid, out var staged))
        {
            return staged.Rows == 0 ? null : staged;
        }

        return _segments.TryGetValue(sid, out var info) ? info : null;
    }

    /// <summary>Collections and owners with enough small segments to merge.</summary>
    public List<(int Cid, string Owner)> MergeCandidates() => [.. _small.Where(kv => kv.Value >= MergeAt).Select(kv => kv.Key)];

    /// <summary>The small segments of one owner in one collection.</summary>
    public List<long> SmallSegments(int cid, string owner) =>
        [.. _segments.Where(kv => kv.Value.Cid == cid && kv.Value.OwnerKey == owner && kv.Value.Rows < SmallRows).Select(kv => kv.Key)];

    public void Apply(SegmentChanges changes)
    {
        foreach (var (key, sid) in changes.Ids)
        {
            if (sid is { } s)
            {
                _ids[key] = s;
            }
            else
            {
                _ids.Remove(key);
            }
        }

        foreach (var (sid, info) in changes.Segments)
        {
            SetSegment(sid, info);
        }
    }

    /// <summary>Forgets every segment and row of an owner (its segments were deleted with its key).</summary>
    public void ForgetOwner(byte[] owner)
    {
        var key = SegmentInfo.KeyOf(owner);
        foreach (var sid in _segments.Where(kv => kv.Value.OwnerKey == key).Select(kv => kv.Key).ToList())
        {
            SetSegment(sid, _segments[sid] with { Rows = 0 });
        }

        var live = _segments.Keys.ToHashSet();
        foreach (var k in _ids.Where(kv => !live.Contains(kv.Value)).Select(kv => kv.Key).ToList())
        {
            _ids.Remove(k);
        }
    }

    private void SetSegment(long sid, SegmentInfo info)
    {
        if (_segments.Remove(sid, out var old) && old.Rows < SmallRows)
        {
            Count(old, -1);
        }

        if (info.Rows > 0)
        {
            _segments[sid] = info;
            if (info.Rows < SmallRows)
            {
                Count(info, +1);
            }
        }
    }

    private void Count(SegmentInfo info, int delta)
    {
        var key = (info.Cid, info.OwnerKey);
        var n = _small.GetValueOrDefault(key) + delta;
        if (n > 0)
        {
            _small[key] = n;
        }
        else
        {
            _small.Remove(key);
        }
    }
}

/// <summary>A segment's collection, owner slot (null: tenant-wide) and live row count (0: deleted).</summary>
internal sealed record SegmentInfo(int Cid, byte[]? Owner, int Rows)
{
    /// <summary>The owner as a dictionary key: hex of the slot, empty for tenant-wide rows.</summary>
    public string OwnerKey { get; } = KeyOf(Owner);

    public static string KeyOf(byte[]? owner) => owner is null ? string.Empty : Convert.ToHexString(owner);
}

/// <summary>Changes to the <see cref="SegmentMap"/> staged by one transaction (null sid: the row was removed).</summary>
internal sealed class SegmentChanges
{
    public Dictionary<(int Cid, string Id), long?> Ids { get; } = [];

    public Dictionary<long, SegmentInfo> Segments { get; } = [];
}
