using System.Buffers;
using System.Text;
using Bruno.Storage.Crypto;
using Bruno.Storage.Format;
using Bruno.Storage.Index;
using Bruno.Storage.Model;

namespace Bruno.Storage.Engine;

/// <summary>Opening a tenant: the stored graphs read, every segment read, decrypted and indexed in memory.</summary>
internal sealed partial class TenantInstance
{
    /// <summary>
    /// Decrypts every segment into memory, rows and their vectors placed at the slots of their stored graph's nodes (decision
    /// 0044); returns owner slots that have segments but no key (to purge). Throws <see cref="DataUnreadableException"/>
    /// or <see cref="StorageFormatException"/> when the store was altered; an unreadable graph is only rebuilt.
    /// </summary>
    private List<byte[]> Load()
    {
        var byCid = new Dictionary<int, CollectionState>();
        var counts = _db.CountRows();
        _map.Reserve(counts.Values.Sum());
        foreach (var (cid, spec) in _db.LoadCollections())
        {
            var state = new CollectionState(cid, spec, _ctx.IndexSettings, Folder) { CheckpointWanted = QueueCheckpoint };
            byCid[cid] = state;
            _collections[spec.Name] = state;
            var graph = ReadGraph(cid, spec.Name, out var unreadable);
            state.BeginLoad(graph, counts.GetValueOrDefault(cid), unreadable);
        }

        // The BM25 index is built from the segments' term blocks after the rows are in (on another thread for a larger
        // tenant, after the open returns): the load keeps both cores, and text searches read the blocks until it is built.
        var blocks = byCid.Keys.ToDictionary(cid => cid, _ => new List<TermBlock>());

        // In batches of segments, pipelined: this thread reads a batch (SQLite) and indexes the one before it (rows and
        // vectors into the collections, term blocks kept for the BM25 builder) while another decrypts and decodes the batch
        // just read. Batches are bounded: a large tenant is never held twice.
        var orphans = new Dictionary<Slot, byte[]>();
        var users = _ring.Users.ToDictionary(u => u.Slot);
        var all = new List<List<Decrypted>>();
        var batch = new List<Decrypted>();
        var batchBytes = 0L;
        var loader = new SegmentLoader(byCid, blocks);
        Task<List<Decrypted>>? decoding = null;
        void Flush(bool last)
        {
            var ready = batch;
            batch = [];
            batchBytes = 0;
            all.Add(ready);
            if (last && decoding is null)
            {
                IndexBatch(DecryptAndDecode(ready, byCid), loader); // a small tenant: nothing to overlap with
                return;
            }

            var next = OnOwnThread(() => DecryptAndDecode(ready, byCid));
            if (decoding is not null)
            {
                IndexBatch(decoding.GetAwaiter().GetResult(), loader);
            }

            decoding = next;
        }

        try
        {
            _db.ReadSegments((sid, cid, uid, ownerBytes, declaredRows, payload) =>
            {
                UserKey? user = null;
                var owner = ownerBytes.IsEmpty ? null : ownerBytes.ToArray();
                if (owner is not null && !users.TryGetValue(new Slot(owner), out user))
                {
                    orphans.TryAdd(new Slot(owner), owner);
                    return;
                }

                if (!byCid.ContainsKey(cid))
                {
                    throw new DataUnreadableException($"A segment of tenant '{Tenant}' belongs to no collection: the store was altered.");
                }

                var sealedCopy = ArrayPool<byte>.Shared.Rent(payload.Length);
                payload.CopyTo(sealedCopy);
                batch.Add(new Decrypted(sid, cid, owner, user, uid.ToArray(), sealedCopy, payload.Length) { DeclaredRows = declaredRows });
                batchBytes += payload.Length;
                if (batchBytes >= LoadBatchBytes)
                {
                    Flush(last: false);
                }
            });
            Flush(last: true);
            if (decoding is not null)
            {
                IndexBatch(decoding.GetAwaiter().GetResult(), loader);
            }
        }
        finally
        {
            try
            {
                decoding?.Wait();
            }
            catch (AggregateException)
            {
                // already reported through the batch that failed
            }

            foreach (var d in all.SelectMany(b => b).Concat(batch))
            {
                d.ReturnBuffers();
            }
        }

        foreach (var state in byCid.Values)
        {
            state.Loaded();
        }

        foreach (var (cid, list) in blocks)
        {
            byCid[cid].BeginTextBuild([.. list]);
        }

        Task text;
        if (counts.Values.Sum() >= TextThreadRows)
        {
            text = Task.Run(async () =>
            {
                if (_ctx.TextBuildGate is { } gate)
                {
                    await gate; // tests: searches in the window before the index is built
                }

                BuildText(byCid, blocks);
            });
        }
        else
        {
            BuildText(byCid, blocks); // a small tenant: at once, on this thread (it throws here)
            text = Task.CompletedTask;
        }

        TextReady = text;
        return [.. orphans.Values];
    }

    /// <summary>Decrypts and decodes a batch of segments (on as many cores as are free).</summary>
    private List<Decrypted> DecryptAndDecode(List<Decrypted> batch, Dictionary<int, CollectionState> byCid)
    {
        Unwrapped(() => Parallel.For(
            0,
            batch.Count,
            new ParallelOptions { MaxDegreeOfParallelism = batch.Count > 1 ? Environment.ProcessorCount : 1 },
            () => new Sealer(),
            (i, _, sealer) =>
            {
                var d = batch[i];
                var length = d.SealedLength - RowCipher.Overhead;
                d.Plain = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                d.Length = length;
                if (length < 0 || !sealer.For(d.User?.Key ?? _ring.TenantKey).TryDecrypt(d.Sealed.AsSpan(0, d.SealedLength), d.Plain.AsSpan(0, length), Aad(d.Cid, d.Uid, d.Owner)))
                {
                    throw new DataUnreadableException($"A segment of tenant '{Tenant}' does not decrypt: the store was altered or its key is wrong.");
                }

                var state = byCid[d.Cid];
                Decode(state.Spec.Dimension, d);
                if (d.Rows.Length != d.DeclaredRows)
                {
                    // The count stored beside the segment sized the collection's arrays: it must be the sealed one.
                    throw new DataUnreadableException($"A segment of tenant '{Tenant}' holds another number of rows than recorded: the store was altered.");
                }

                // An int8 collection's full-precision vectors go to its spill file here, on the decrypting threads (decision 0048).
                d.Records = state.SpillVectors(d.Vectors.AsSpan(0, d.Rows.Length * state.Spec.Dimension), d.Ordinals);

                return sealer;
            },
            sealer => sealer.Dispose()));
        return batch;
    }

    /// <summary>
    /// Adds a decoded batch to the collections and the segment map, in order, keeps a copy of each segment's term block
    /// for the BM25 index (built after the open, <see cref="BuildText"/>), and gives the batch's buffers back.
    /// </summary>
    private void IndexBatch(List<Decrypted> batch, SegmentLoader loader)
    {
        loader.AssignSlots(batch);
        for (var i = 0; i < batch.Count; i++)
        {
            var d = batch[i];
            loader.IndexRows(d);
            if (d.Rows.Length == 0 || !_map.TryLoad(d.Sid, new SegmentInfo(d.Cid, d.Owner, d.Rows.Length), d.Rows.Select(r => r.Id)))
            {
                throw new DataUnreadableException($"A segment of tenant '{Tenant}' is empty or repeats a row: the store was altered.");
            }

            // The segment's header (version, row count) and its term block: what SegmentReader needs to resume at the terms.
            var block = new byte[TermBlock.TermsAt + d.Length - d.TermsAt];
            d.Plain.AsSpan(0, TermBlock.TermsAt).CopyTo(block);
            d.Plain.AsSpan(d.TermsAt, d.Length - d.TermsAt).CopyTo(block.AsSpan(TermBlock.TermsAt));
            loader.KeepTerms(d.Cid, new TermBlock(block, d.Slots));
        }

        foreach (var d in batch)
        {
            d.ReturnBuffers();
        }
    }

    /// <summary>
    /// Builds the BM25 index (postings, document lengths, statistics) of the collections just loaded from their term
    /// blocks, into the generations the rows were loaded into; text searches read the blocks until it is done. Throws
    /// <see cref="StorageFormatException"/> for a malformed term block (a store altered by someone holding its keys, or
    /// a bug): text searches then fail with it, reading the same block.
    /// </summary>
    private static void BuildText(Dictionary<int, CollectionState> collections, Dictionary<int, List<TermBlock>> blocks)
    {
        var built = false;
        try
        {
            var loader = new SegmentLoader(collections, blocks);
            foreach (var (cid, list) in blocks)
            {
                for (var i = 0; i < list.Count; i++)
                {
                    loader.IndexTerms(cid, list[i].Block, TermBlock.TermsAt, list[i].Slots);
                    if ((i + 1) % 64 == 0)
                    {
                        loader.FlushPostings();
                    }
                }

                loader.FlushPostings();
            }

            built = true;
        }
        finally
        {
            foreach (var c in collections.Values)
            {
                c.EndTextLoad(built);
            }
        }
    }

    /// <summary>Tenants with fewer rows build their BM25 index at the end of the load, on the loading thread.</summary>
    private const int TextThreadRows = 512;

    /// <summary>Decodes the rows of a decrypted segment, their ordinals, and their vectors into one pooled array. Throws <see cref="StorageFormatException"/> for malformed bytes.</summary>
    private static void Decode(int dimension, Decrypted d)
    {
        var reader = new SegmentReader(d.Plain.AsSpan(0, d.Length));
        if (reader.Version != SegmentWriter.Version)
        {
            throw new StorageFormatException($"A segment of version {reader.Version} is in a store of format {TenantDatabase.FormatVersion}.");
        }

        d.Rows = new StoredRow[reader.Rows <= d.Length ? reader.Rows : throw new StorageFormatException("A segment is truncated.")];
        d.Ordinals = new long[d.Rows.Length];
        d.Vectors = ArrayPool<float>.Shared.Rent(Math.Max(1, d.Rows.Length * dimension));
        var i = 0;
        while (reader.NextRow(out var record, out var ordinal))
        {
            d.Rows[i] = RowCodec.Read(record, d.Vectors.AsSpan(i * dimension, dimension), d.User?.User);
            d.Ordinals[i] = ordinal;
            i++;
        }

        d.TermsAt = reader.Position;
    }

    /// <summary>A segment being loaded: its sealed bytes, then its plaintext and decoded rows. The arrays are pooled.</summary>
    private sealed class Decrypted(long sid, int cid, byte[]? owner, UserKey? user, byte[] uid, byte[] sealedBytes, int sealedLength)
    {
        public long Sid => sid;

        public int Cid => cid;

        public byte[]? Owner => owner;

        public UserKey? User => user;

        public byte[] Uid => uid;

        public byte[] Sealed { get; private set; } = sealedBytes;

        public int SealedLength => sealedLength;

        public byte[] Plain { get; set; } = [];

        public int Length { get; set; }

        public StoredRow[] Rows { get; set; } = [];

        public float[] Vectors { get; set; } = [];

        /// <summary>The rows' ordinals, then (once assigned) their slots.</summary>
        public long[] Ordinals { get; set; } = [];

        public int[] Slots { get; set; } = [];

        public int TermsAt { get; set; }

        /// <summary>The spill records of the rows' vectors, or null when they stay in memory.</summary>
        public int[]? Records { get; set; }

        /// <summary>The row count stored in clear beside the segment (checked against the sealed one).</summary>
        public int DeclaredRows { get; init; }

        public void ReturnBuffers()
        {
            Return(Sealed);
            Return(Plain);
            Sealed = Plain = [];
            if (Vectors.Length > 0)
            {
                ArrayPool<float>.Shared.Return(Vectors);
                Vectors = [];
            }
        }

        private static void Return(byte[] a)
        {
            if (a.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(a);
            }
        }
    }

    /// <summary>Adds decoded segments to their collections while a tenant opens (one thread).</summary>
    private sealed class SegmentLoader(Dictionary<int, CollectionState> collections, Dictionary<int, List<TermBlock>> blocks)
    {
        private readonly List<int> _termIds = [];
        private readonly Dictionary<int, (List<int> Terms, List<int> Slots, List<int> Tfs)> _postings = [];
        private readonly char[] _chars = new char[4 * Tokenizer.MaxTermLength];

        /// <summary>Keeps a loaded segment's term block for the BM25 index and the text searches before it.</summary>
        public void KeepTerms(int cid, TermBlock block) => blocks[cid].Add(block);

        /// <summary>The slot of each row of the batch: its graph node's, or the next free one (<see cref="CollectionState.SlotFor"/>).</summary>
        public void AssignSlots(List<Decrypted> batch)
        {
            foreach (var d in batch)
            {
                var state = collections[d.Cid];
                d.Slots = new int[d.Rows.Length];
                for (var i = 0; i < d.Rows.Length; i++)
                {
                    d.Slots[i] = state.SlotFor(d.Ordinals[i]);
                }
            }
        }

        /// <summary>Adds the segment's rows and vectors to its collection, at the slots assigned to them.</summary>
        public void IndexRows(Decrypted d)
        {
            var state = collections[d.Cid];
            var dimension = state.Spec.Dimension;
            for (var i = 0; i < d.Rows.Length; i++)
            {
                state.AddLoaded(d.Slots[i], d.Rows[i], d.Ordinals[i], d.Vectors.AsSpan(i * dimension, dimension), d.Records?[i] ?? -1);
            }
        }

        /// <summary>Adds the segment's postings: its term table maps to the index's term ids once, so nothing is tokenised.</summary>
        public void IndexTerms(int cid, ReadOnlySpan<byte> segment, int termsAt, int[] slots)
        {
            var state = collections[cid];
            var reader = new SegmentReader(segment, termsAt);
            _termIds.Clear();
            while (reader.NextTerm(out var term))
            {
                if (term.Length > _chars.Length)
                {
                    throw new StorageFormatException("A segment holds an over-long term.");
                }

                var n = Ascii.ToUtf16(term, _chars, out var written) == OperationStatus.Done ? written : Encoding.UTF8.GetChars(term, _chars);
                _termIds.Add(state.TermId(_chars.AsSpan(0, n)));
            }

            if (!_postings.TryGetValue(cid, out var postings))
            {
                _postings[cid] = postings = ([], [], []);
            }

            for (var r = 0; r < slots.Length; r++)
            {
                state.AddLoadedDocument(slots[r], reader.NextNumber());
                var n = reader.NextNumber();
                for (var j = 0; j < n; j++)
                {
                    var index = reader.NextNumber();
                    postings.Terms.Add(index < _termIds.Count ? _termIds[index] : throw new StorageFormatException("A segment names a term it does not hold."));
                    postings.Slots.Add(slots[r]);
                    postings.Tfs.Add(reader.NextNumber());
                }
            }

            reader.End();
        }

        /// <summary>Adds the postings gathered from a batch of segments, each term's list grown once.</summary>
        public void FlushPostings()
        {
            foreach (var (cid, (terms, slots, tfs)) in _postings)
            {
                collections[cid].AddLoadedPostings(
                    System.Runtime.InteropServices.CollectionsMarshal.AsSpan(terms),
                    System.Runtime.InteropServices.CollectionsMarshal.AsSpan(slots),
                    System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tfs));
                terms.Clear();
                slots.Clear();
                tfs.Clear();
            }
        }
    }
}
