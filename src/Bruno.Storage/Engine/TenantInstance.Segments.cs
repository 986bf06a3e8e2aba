using System.Security.Cryptography;
using Bruno.Storage.Crypto;
using Bruno.Storage.Format;
using Bruno.Storage.Index;

namespace Bruno.Storage.Engine;

/// <summary>Keeping segments whole: rewriting those that lose rows, merging small ones.</summary>
internal sealed partial class TenantInstance
{
    /// <summary>Rewrites the segments holding any of <paramref name="ids"/> without them, so no deleted row stays on disk.</summary>
    private void RemoveRows(int cid, IEnumerable<string> ids, SegmentChanges changes)
    {
        var bySegment = new Dictionary<long, HashSet<string>>();
        foreach (var id in ids)
        {
            if (_map.SidOf(cid, id, changes) is { } sid)
            {
                if (!bySegment.TryGetValue(sid, out var set))
                {
                    bySegment[sid] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(id);
            }
        }

        foreach (var (sid, remove) in bySegment)
        {
            Rewrite(sid, changes, keep: id => !remove.Contains(id));
        }
    }

    /// <summary>
    /// Reads segment <paramref name="sid"/> (as this transaction sees it), keeps the rows <paramref name="keep"/> accepts
    /// and stores them again under a new segment id and nonce, each under its ordinal; deletes the segment when none is
    /// kept. Returns the rows kept with their ordinals when
    /// <paramref name="collect"/> is set (the segment is then deleted: the caller writes them into new segments).
    /// </summary>
    private List<(long Ordinal, byte[] Row)> Rewrite(long sid, SegmentChanges changes, Func<string, bool> keep, bool collect = false)
    {
        var stored = _db.ReadSegment(sid) ?? throw new StorageException("A segment the engine placed a row in is missing; the store was altered.");
        var (cid, uid, owner, payload) = stored;
        var info = new SegmentInfo(cid, owner, 0);
        byte[] key;
        lock (_ringGate)
        {
            key = owner is null ? _ring.TenantKey : _ring.Find(new Slot(owner))?.Key ?? [];
        }

        var kept = new List<(long, byte[])>();
        var writer = _loopSealer.Segment;
        writer.Start();
        if (key.Length > 0)
        {
            var plain = _loopSealer.Plain(payload.Length - RowCipher.Overhead);
            if (!_loopSealer.For(key).TryDecrypt(payload, plain, Aad(cid, uid, owner)))
            {
                throw new DataUnreadableException($"A segment of tenant '{Tenant}' does not decrypt: the store was altered.");
            }

            var reader = new SegmentReader(plain);
            if (reader.Version != SegmentWriter.Version)
            {
                throw new StorageFormatException($"A segment of version {reader.Version} is in a store of format {TenantDatabase.FormatVersion}.");
            }

            while (reader.NextRow(out var record, out var ordinal))
            {
                var id = RowCodec.ReadId(record);
                if (!keep(id))
                {
                    changes.Ids[(cid, id)] = null;
                    _db.RemovesRows();
                }
                else if (collect)
                {
                    kept.Add((ordinal, record.ToArray())); // the caller writes these into new segments
                }
                else
                {
                    AddKept(writer, ordinal, record);
                }
            }
        }

        // A segment whose owner's key is gone holds nothing readable: it is dropped whole.
        if (writer.Rows == 0 || collect)
        {
            _db.DeleteSegment(sid);
            changes.Segments[sid] = info;
        }
        else
        {
            var fresh = RandomNumberGenerator.GetBytes(16);
            _db.UpdateSegment(sid, fresh, writer.Rows, _loopSealer.For(key).Encrypt(writer.Finish(), Aad(cid, fresh, owner)));
            changes.Segments[sid] = info with { Rows = writer.Rows };
        }

        return kept;
    }

    /// <summary>Adds a row kept from another segment under its ordinal, with its terms analysed again from its text.</summary>
    private static void AddKept(SegmentWriter writer, long ordinal, ReadOnlySpan<byte> record)
    {
        var terms = Tokenizer.Analyze(RowCodec.Read(record).Text, out var length);
        writer.AddEncoded(ordinal, record, terms, length);
    }

    /// <summary>
    /// Merges the small segments of owners that have accumulated many (row-by-row writes), in one transaction of its
    /// own; nothing visible changes. Runs in the write loop between groups, so callers never schedule it.
    /// </summary>
    private void MergeSmallSegments()
    {
        foreach (var (cid, ownerKey) in _map.MergeCandidates())
        {
            var changes = new SegmentChanges();
            InTransaction(() =>
            {
                byte[]? owner = null;
                var rows = new List<(long Ordinal, byte[] Row)>();
                foreach (var sid in _map.SmallSegments(cid, ownerKey))
                {
                    owner = _map.Segment(sid, null)!.Owner;
                    rows.AddRange(Rewrite(sid, changes, keep: _ => true, collect: true));
                }

                byte[] key;
                lock (_ringGate)
                {
                    key = owner is null ? _ring.TenantKey : _ring.Find(new Slot(owner))?.Key ?? [];
                }

                if (key.Length == 0)
                {
                    return 0; // the owner was erased: its segments were just dropped
                }

                foreach (var chunk in rows.Chunk(SegmentRows))
                {
                    var writer = _loopSealer.Segment;
                    writer.Start();
                    foreach (var (ordinal, record) in chunk)
                    {
                        AddKept(writer, ordinal, record);
                    }

                    var uid = RandomNumberGenerator.GetBytes(16);
                    var sid = _db.InsertSegment(cid, uid, owner, chunk.Length, _loopSealer.For(key).Encrypt(writer.Finish(), Aad(cid, uid, owner)));
                    changes.Segments[sid] = new SegmentInfo(cid, owner, chunk.Length);
                    foreach (var (_, record) in chunk)
                    {
                        changes.Ids[(cid, RowCodec.ReadId(record))] = sid;
                    }
                }

                return 0;
            });
            _map.Apply(changes);
        }
    }
}
