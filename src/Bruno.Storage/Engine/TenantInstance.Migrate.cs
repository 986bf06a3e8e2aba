using System.Security.Cryptography;
using Bruno.Storage.Crypto;
using Bruno.Storage.Format;
using Bruno.Storage.Index;

namespace Bruno.Storage.Engine;

/// <summary>Upgrading a format-2 store to format 3 in place, when it opens.</summary>
internal sealed partial class TenantInstance
{
    /// <summary>
    /// Upgrades a format-2 store in one transaction (through the rollback journal): the graph table is created, every
    /// readable segment is rewritten as version 2 (its rows numbered with ordinals from 1 per collection, in segment
    /// order), and user_version becomes 3. A crash or failure at any point leaves the file at format 2,
    /// untouched (the failure is thrown: <see cref="DataUnreadableException"/> for a segment that does not decrypt,
    /// <see cref="StorageFormatException"/> for malformed bytes, or the SQLite error). Segments of owners whose key is
    /// gone are left as they are: nothing can read them, and the open purges them.
    /// </summary>
    private void UpgradeFromFormat2()
    {
        Log.Upgrading(_ctx.Logger, Tenant.Value);
        var specs = _db.LoadCollections().ToDictionary(c => c.Cid, c => c.Spec);
        var next = specs.Keys.ToDictionary(cid => cid, _ => 1L);
        var users = _ring.Users.ToDictionary(u => u.Slot);
        _db.Begin(large: true);
        _db.SpillCache(true); // the whole store changes in one transaction: pages go to the file, the journal keeps the old ones
        try
        {
            _db.UpgradeSchema();
            var sids = new List<long>();
            _db.ReadSegments((sid, _, _, _, _, _) => sids.Add(sid));
            foreach (var sid in sids)
            {
                var (cid, uid, owner, payload) = _db.ReadSegment(sid)!.Value;
                UserKey? user = null;
                if (owner is not null && !users.TryGetValue(new Slot(owner), out user))
                {
                    continue;
                }

                if (!specs.TryGetValue(cid, out var spec))
                {
                    throw new DataUnreadableException($"A segment of tenant '{Tenant}' belongs to no collection: the store was altered.");
                }

                var key = user?.Key ?? _ring.TenantKey;
                var cipher = _loopSealer.For(key);
                var plain = new byte[Math.Max(0, payload.Length - RowCipher.Overhead)];
                if (payload.Length < RowCipher.Overhead || !cipher.TryDecrypt(payload, plain, Aad(cid, uid, owner)))
                {
                    throw new DataUnreadableException($"A segment of tenant '{Tenant}' does not decrypt: the store was altered or its key is wrong.");
                }

                var reader = new SegmentReader(plain);
                if (reader.Version != SegmentWriter.Version1)
                {
                    throw new StorageFormatException($"A segment of version {reader.Version} is in a store of format {TenantDatabase.PreviousFormatVersion}.");
                }

                var writer = _loopSealer.Segment;
                writer.Start();
                var vector = new float[spec.Dimension];
                while (reader.NextRow(out var record))
                {
                    var row = RowCodec.Read(record, vector, user?.User);
                    var ordinal = next[cid]++;
                    var terms = Tokenizer.Analyze(row.Text, out var length);
                    writer.Add(row, ordinal, vector, row.CreatedAt.UtcTicks, terms, length);
                }

                var fresh = RandomNumberGenerator.GetBytes(16);
                var rows = writer.Rows;
                _db.UpdateSegment(sid, fresh, rows, cipher.Encrypt(writer.Finish(), Aad(cid, fresh, owner)));
            }

            // The old segments' pages are zeroed by secure_delete as they are rewritten.
            _db.RemovesRows();
            _db.Commit();
        }
        catch
        {
            _db.Rollback();
            throw;
        }
        finally
        {
            _db.SpillCache(false);
        }
    }
}
