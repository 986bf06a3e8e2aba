using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Bruno.Storage.Crypto;
using Bruno.Storage.Format;
using Bruno.Storage.Identity;
using Bruno.Storage.Index;
using Bruno.Storage.Model;
using Microsoft.Extensions.Logging;

namespace Bruno.Storage.Engine;

/// <summary>
/// An open tenant: its folder lock, key ring, database and in-memory collections, and the single write loop that
/// turns queued operations into group commits. Reads never touch the disk.
/// </summary>
internal sealed partial class TenantInstance : IAsyncDisposable
{
    private const int MaxGroupOps = 256;
    private const int MaxGroupRows = 20_000;

    /// <summary>Rows per segment written by one batch; a larger batch of one owner is split.</summary>
    private const int SegmentRows = 256;

    /// <summary>Rows whose vectors one spill write seals (<see cref="CollectionState.SpillVectors"/>).</summary>
    private const int SpillRows = 256;

    /// <summary>
    /// Groups of at least this many rows are applied to memory while their commit runs (see <see cref="Commit"/>), and
    /// commit through the rollback journal rather than the write-ahead log (decision 0040).
    /// </summary>
    private const int OverlapRows = 256;

    /// <summary>Sealed bytes read before they are decrypted and indexed, when a tenant opens.</summary>
    private const long LoadBatchBytes = 4 << 20;

    /// <summary>Domain tag opening the associated data of graph chunks (segments have none: their layout predates it).</summary>
    private static readonly byte[] GraphTag = "bruno/graph/v1"u8.ToArray();
    public const string LockFileName = "owner.lock";

    private readonly EngineContext _ctx;
    private readonly FileStream _lockFile;
    private readonly KeyRing _ring;
    private readonly Lock _ringGate = new();
    private readonly TenantDatabase _db;
    private readonly ConcurrentDictionary<string, CollectionState> _collections = new(StringComparer.Ordinal);
    private readonly Channel<WriteOp> _queue = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly byte[] _tenantBytes;
    private readonly SegmentMap _map = new();
    private readonly Sealer _loopSealer = new(); // used only by the write loop, which runs one step at a time
    private Task _writer = Task.CompletedTask;
    private WriteOp? _held;
    private int _groups;

    private TenantInstance(EngineContext ctx, TenantId tenant, string folder, FileStream lockFile, KeyRing ring, TenantDatabase db)
    {
        (_ctx, Tenant, Folder, _lockFile, _ring, _db) = (ctx, tenant, folder, lockFile, ring, db);
        _tenantBytes = Encoding.UTF8.GetBytes(tenant.Value);
    }

    public TenantId Tenant { get; }

    public string Folder { get; }

    public IReadOnlyDictionary<string, CollectionState> Collections => _collections;

    /// <summary>Creates a tenant's folder, database and key ring. The key ring is written last: it is what makes the tenant exist.</summary>
    public static void Create(EngineContext ctx, TenantId tenant)
    {
        var keyPath = ctx.KeyPath(tenant);
        if (File.Exists(keyPath))
        {
            throw new TenantAlreadyExistsException(tenant.Value);
        }

        var folder = ctx.TenantFolder(tenant);
        if (Directory.Exists(folder))
        {
            // A folder without a key ring is what an interrupted create or erase leaves: unreadable, so remove it.
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(folder, Dirs.OwnerOnly);
        Durable.SyncDirectory(Path.GetDirectoryName(folder)!);
        var ring = KeyRing.CreateUnsaved(keyPath, tenant, ctx.MasterKey);
        TenantDatabase.Open(folder, tenant, ring, create: true).Dispose(); // schema and key check, fsynced

        Durable.SyncDirectory(folder);
        ring.SaveNew();
    }

    /// <summary>Opens an existing tenant, upgrading a format-2 store to format 3 first (in one transaction). Throws
    /// <see cref="TenantNotFoundException"/>, <see cref="TenantLockedException"/>, <see cref="DataUnreadableException"/>
    /// or <see cref="StorageFormatException"/>. Traced as a <c>tenant_open</c> span (docs/observability.md).</summary>
    public static TenantInstance Open(EngineContext ctx, TenantId tenant)
    {
        using var span = Telemetry.SearchTelemetry.Source.StartActivity("tenant_open");
        span?.SetTag("tenant_id", tenant.Value);
        try
        {
            var instance = OpenUntraced(ctx, tenant);
            if (span is not null)
            {
                var collections = instance._collections.Values.ToList();
                span.SetTag("bruno.open.collections", collections.Count);
                span.SetTag("bruno.open.rows", collections.Sum(c => c.LiveCount));
                span.SetTag("bruno.open.graph_nodes_loaded", collections.Sum(c => c.LoadedNodes));
            }

            return instance;
        }
        catch (Exception e)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            span?.SetTag("error.type", e.GetType().Name);
            throw;
        }
    }

    private static TenantInstance OpenUntraced(EngineContext ctx, TenantId tenant)
    {
        var keyPath = ctx.KeyPath(tenant);
        var folder = ctx.TenantFolder(tenant);
        if (!File.Exists(keyPath))
        {
            throw new TenantNotFoundException(tenant.Value);
        }

        Dirs.EnsureRealDirectory(folder, tenant);
        FileStream lockFile;
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

            lockFile = new FileStream(Path.Combine(folder, LockFileName), options);
        }
        catch (IOException e)
        {
            throw new TenantLockedException(tenant.Value, e);
        }

        TenantDatabase? db = null;
        TenantInstance? instance = null;
        try
        {
            var ring = KeyRing.Load(keyPath, tenant, ctx.MasterKey);
            db = TenantDatabase.Open(folder, tenant, ring, create: false);
            instance = new TenantInstance(ctx, tenant, folder, lockFile, ring, db);
            if (db.Version == TenantDatabase.PreviousFormatVersion)
            {
                System.Diagnostics.Activity.Current?.AddEvent(new System.Diagnostics.ActivityEvent("upgrade_from_format_2"));
                instance.UpgradeFromFormat2();
            }

            var orphans = instance.Load();
            instance._writer = Task.Run(instance.WriteLoopAsync);
            if (orphans.Count > 0)
            {
                Log.PurgingOrphans(ctx.Logger, tenant.Value, orphans.Count);
                instance._queue.Writer.TryWrite(new PurgeOwnersOp(orphans));
            }

            return instance;
        }
        catch
        {
            foreach (var c in instance?._collections.Values ?? Enumerable.Empty<CollectionState>())
            {
                c.Dispose(); // their spill files (decision 0048) close now, not when the collector finds them
            }

            db?.Dispose();
            lockFile.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Completes when the BM25 indexes of the collections loaded at open are built (at the end of the load for a small
    /// tenant; for a larger one on a thread of the pool, after the open returns, so the load has both cores). Searches do
    /// not wait for it: until then a text search reads the load's term blocks for its own terms (decision 0046). The write
    /// loop awaits it before its first write. Faulted with <see cref="StorageFormatException"/> when a stored term block is
    /// malformed.
    /// </summary>
    public Task TextReady { get; private set; } = Task.CompletedTask;

    public CollectionState GetCollection(string name) =>
        _collections.TryGetValue(IdentifierRules.ValidateName(name, "collection name"), out var c) ? c : throw new CollectionNotFoundException(name);

    public Task<long> EnqueueAsync(WriteOp op)
    {
        if (!_queue.Writer.TryWrite(op))
        {
            op.Fail(new TenantNotFoundException(Tenant.Value));
            op.Release();
        }

        return op.Done;
    }

    /// <summary>
    /// Validates, encrypts, seals and analyses rows on the caller's threads (in parallel for large batches), so the write
    /// loop only does I/O and index updates. Throws before anything is queued when a row is invalid.
    /// </summary>
    public UpsertOp PrepareUpsert(CollectionState collection, IReadOnlyList<StoredRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var spec = collection.Spec;
        var now = _ctx.Time.GetUtcNow();
        var seen = new HashSet<string>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (row is null)
            {
                throw new ArgumentException("A row is null.", nameof(rows));
            }

            if (row.Id is not null && !seen.Add(row.Id))
            {
                throw new ArgumentException($"Row id {IdentifierRules.Describe(row.Id)} appears twice in one batch.", nameof(rows));
            }
        }

        // Validate, copy and analyse on every core. Vectors and sealed segments live in pooled arrays until the write
        // completes: a batch allocates little beyond the rows the collection keeps.
        var dim = spec.Dimension;
        var analyzed = new AnalyzedRow[rows.Count];
        var firstOrdinal = collection.TakeOrdinals(rows.Count);
        var vectors = ArrayPool<float>.Shared.Rent(Math.Max(1, rows.Count * dim));
        PreparedSegment[] segments = [];
        try
        {
            Unwrapped(() => Parallel.For(0, rows.Count, Spread(rows.Count, 64), i =>
            {
                var row = rows[i];
                IdentifierRules.ValidateRowId(row.Id);
                RowValidation.Check(row, spec);
                var vector = vectors.AsMemory(i * dim, dim);
                row.Vector.Span.CopyTo(vector.Span);
                var copy = new StoredRow
                {
                    Id = row.Id,
                    Text = row.Text,
                    Vector = ReadOnlyMemory<float>.Empty,
                    UserId = row.UserId,
                    Readers = row.Readers is null ? null : AccessFilter.Canonical(row.Readers),
                    CreatedAt = row.CreatedAt == default ? now : row.CreatedAt.ToUniversalTime(),
                    Metadata = row.Metadata.Count == 0 ? StoredRow.NoMetadata : new Dictionary<string, MetadataValue>(row.Metadata, StringComparer.Ordinal),
                };
                analyzed[i] = AnalyzedRow.Of(copy, vector) with { Ordinal = firstOrdinal + i };
            }));

            // An int8 collection's full-precision vectors go to its spill file now (decision 0048), off the write loop, in runs of
            // SpillRows rows sealed on every core; the records are the operation's until its rows are published.
            var runs = (rows.Count + SpillRows - 1) / SpillRows;
            Unwrapped(() => Parallel.For(0, runs, Spread(runs, 2), r =>
            {
                var (start, count) = (r * SpillRows, Math.Min(SpillRows, rows.Count - (r * SpillRows)));
                Span<long> ordinals = stackalloc long[count];
                for (var i = 0; i < count; i++)
                {
                    ordinals[i] = firstOrdinal + start + i;
                }

                var records = collection.SpillVectors(vectors.AsSpan(start * dim, count * dim), ordinals);
                for (var i = 0; records is not null && i < count; i++)
                {
                    analyzed[start + i] = analyzed[start + i] with { Record = records[i] };
                }
            }));

            // Every row is valid: only now are keys created for users seen for the first time.
            var keys = new Dictionary<string, (byte[] Key, byte[]? Slot)>(StringComparer.Ordinal) { [string.Empty] = (_ring.TenantKey, null) };
            foreach (var user in rows.Select(r => r.UserId).OfType<UserId>().Distinct())
            {
                lock (_ringGate)
                {
                    var key = _ring.GetOrAdd(user);
                    keys[user.Value] = (key.Key, key.Slot.Bytes);
                }
            }

            // One segment per owner and per SegmentRows rows, in batch order; sealed in parallel.
            var chunks = new List<int[]>();
            foreach (var owner in Enumerable.Range(0, rows.Count).GroupBy(i => rows[i].UserId?.Value ?? string.Empty, StringComparer.Ordinal))
            {
                chunks.AddRange(owner.Chunk(SegmentRows));
            }

            segments = new PreparedSegment[chunks.Count];
            Unwrapped(() => Parallel.For(
                0,
                chunks.Count,
                Spread(chunks.Count, 2),
                () => new Sealer(),
                (c, _, sealer) =>
                {
                    var chunk = chunks[c];
                    var (key, slot) = keys[rows[chunk[0]].UserId?.Value ?? string.Empty];
                    var writer = sealer.Segment;
                    writer.Start();
                    foreach (var i in chunk)
                    {
                        var a = analyzed[i];
                        writer.Add(a.Row, a.Ordinal, a.Vector.Span, a.Row.CreatedAt.UtcTicks, a.Terms, a.Length);
                    }

                    var uid = RandomNumberGenerator.GetBytes(16);
                    var plain = writer.Finish();
                    var payload = ArrayPool<byte>.Shared.Rent(plain.Length + RowCipher.Overhead);
                    sealer.For(key).Encrypt(plain, Aad(collection.Cid, uid, slot), payload);
                    segments[c] = new PreparedSegment(uid, slot, [.. chunk.Select(i => analyzed[i].Row.Id)], payload, plain.Length + RowCipher.Overhead);
                    return sealer;
                },
                sealer => sealer.Dispose()));
            return new UpsertOp(collection, segments, analyzed, vectors);
        }
        catch
        {
            new UpsertOp(collection, [.. segments.Where(s => s is not null)], analyzed, vectors).Release(); // and the records written
            throw;
        }
    }

    /// <summary>Parallel options: every core for <paramref name="items"/> at or above <paramref name="threshold"/>, else one.</summary>
    private static ParallelOptions Spread(int items, int threshold) =>
        new() { MaxDegreeOfParallelism = items >= threshold ? Environment.ProcessorCount : 1 };

    public static DeleteIdsOp PrepareDelete(CollectionState collection, IReadOnlyList<string> ids) =>
        new(collection, [.. ids.Select(IdentifierRules.ValidateRowId).Distinct(StringComparer.Ordinal)]);

    /// <summary>Runs PRAGMA integrity_check through the write loop's connection (tests and tooling).</summary>
    public async Task<string> IntegrityCheckAsync()
    {
        var op = new IntegrityOp();
        await EnqueueAsync(op);
        return op.Result;
    }

    /// <summary>
    /// Closes the tenant: waits for the write loop to finish what is queued, stops the indexers, writes a checkpoint of
    /// each graph that is ahead of its stored one (a failure is logged: the next open catches up from the older
    /// checkpoint), and releases the files.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        foreach (var c in _collections.Values)
        {
            c.StopIndexer();
        }

        foreach (var c in _collections.Values)
        {
            if (c.GraphAhead)
            {
                try
                {
                    WriteCheckpoint(c);
                }
                catch (Exception e) when (e is StorageException or Microsoft.Data.Sqlite.SqliteException)
                {
                    Log.CheckpointFailed(_ctx.Logger, Tenant.Value, c.Spec.Name, e);
                }
            }
        }

        foreach (var c in _collections.Values)
        {
            c.Dispose();
        }

        _loopSealer.Dispose();
        _db.Dispose();
        await _lockFile.DisposeAsync();
    }

    /// <summary>
    /// Associated data of a segment blob: tenant, collection, the segment's random id and its owner slot. Moving a blob
    /// to another tenant, collection, owner or segment row breaks its tag.
    /// </summary>
    private byte[] Aad(int cid, ReadOnlySpan<byte> uid, ReadOnlySpan<byte> owner)
    {
        var aad = new byte[1 + _tenantBytes.Length + 4 + uid.Length + 1 + owner.Length];
        var span = aad.AsSpan();
        span[0] = (byte)_tenantBytes.Length;
        _tenantBytes.CopyTo(span[1..]);
        var pos = 1 + _tenantBytes.Length;
        BitConverter.TryWriteBytes(span[pos..], cid);
        uid.CopyTo(span[(pos + 4)..]);
        pos += 4 + uid.Length;
        span[pos] = (byte)(owner.IsEmpty ? 0 : 1);
        owner.CopyTo(span[(pos + 1)..]);
        return aad;
    }

    /// <summary>Associated data of a stored graph's chunk: a domain tag, tenant, collection, the checkpoint's random id and the chunk number.</summary>
    private byte[] GraphAad(int cid, ReadOnlySpan<byte> uid, int chunk)
    {
        var aad = TaggedAad(GraphTag, cid, uid.Length + 4, out var pos);
        uid.CopyTo(aad.AsSpan(pos));
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(aad.AsSpan(pos + uid.Length), chunk);
        return aad;
    }

    /// <summary>Associated data starting <c>tag ‖ u8 length ‖ tenant id ‖ cid (4 bytes LE)</c>, with <paramref name="more"/> bytes after it, from <paramref name="pos"/>.</summary>
    private byte[] TaggedAad(byte[] tag, int cid, int more, out int pos)
    {
        var aad = new byte[tag.Length + 1 + _tenantBytes.Length + 4 + more];
        tag.CopyTo(aad, 0);
        aad[tag.Length] = (byte)_tenantBytes.Length;
        _tenantBytes.CopyTo(aad, tag.Length + 1);
        pos = tag.Length + 1 + _tenantBytes.Length;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(aad.AsSpan(pos), cid);
        pos += 4;
        return aad;
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            await TextReady; // writes change the BM25 indexes: they start once the open's are built
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // text searches fail with it; writes go on (their rows are indexed as usual) rather than hang behind it
            Log.TextIndexFailed(_ctx.Logger, Tenant.Value, e);
        }

        var reader = _queue.Reader;
        while (_held is not null || await reader.WaitToReadAsync())
        {
            var group = new List<WriteOp>();
            var rows = 0;
            if (_held is { } held)
            {
                group.Add(held);
                _held = null;
            }

            while (group.Count == 0 || (!group[0].Barrier && group.Count < MaxGroupOps && rows < MaxGroupRows))
            {
                if (!reader.TryRead(out var op))
                {
                    break;
                }

                if (op.Barrier && group.Count > 0)
                {
                    _held = op;
                    break;
                }

                group.Add(op);
                rows += op.RowCount;
            }

            try
            {
                if (group[0].Barrier)
                {
                    RunBarrier(group[0]);
                }
                else
                {
                    RunGroup(group);
                }
            }
            catch (Exception e)
            {
                Log.WriteFailed(_ctx.Logger, Tenant.Value, e);
                foreach (var op in group)
                {
                    op.Fail(e is StorageException or ArgumentException ? e : new StorageException("The write failed; nothing of it was stored.", e));
                }
            }

            foreach (var op in group)
            {
                op.Release();
            }

            try
            {
                MergeSmallSegments();
            }
            catch (Exception e) when (e is StorageException or Microsoft.Data.Sqlite.SqliteException)
            {
                Log.MergeFailed(_ctx.Logger, Tenant.Value, e);
            }

            if (++_groups % 64 == 0)
            {
                TryReclaim();
            }
        }
    }

    /// <summary>
    /// Commits a group of operations in one transaction. When one of them is refused (its user was erased while it was
    /// queued), the transaction is rolled back and every operation runs again alone, so only the refused one fails.
    /// </summary>
    private void RunGroup(List<WriteOp> group)
    {
        try
        {
            Commit(group);
        }
        catch (StorageException) when (group.Count > 1)
        {
            foreach (var op in group)
            {
                try
                {
                    Commit([op]);
                }
                catch (StorageException e)
                {
                    op.Fail(e);
                }
            }
        }
    }

    /// <summary>
    /// Commits a group and applies it to memory. A group of <see cref="OverlapRows"/> rows or more is applied while its
    /// SQL and commit (pages written, fsyncs) run on another thread; the collections' write locks are held until the outcome is
    /// known, so no reader ever sees a row that is not durable, and a failed commit is taken back before they are released.
    /// </summary>
    private void Commit(List<WriteOp> group)
    {
        var changes = new SegmentChanges();
        var results = new long[group.Count];
        var held = new List<CollectionState>();
        var overlap = group.Sum(op => op.RowCount) >= OverlapRows;
        void Write()
        {
            foreach (var op in group)
            {
                ExecuteSql(op, changes);
            }

            _db.Commit();
        }

        _db.Begin(large: overlap);
        try
        {
            if (overlap)
            {
                // The connection, the segment map (read only until the commit) and the loop's sealer are the helper's
                // alone meanwhile; this thread touches only the collections.
                var committing = OnOwnThread(() =>
                {
                    Write();
                    return true;
                });
                Exception? failed = null;
                try
                {
                    for (var i = 0; i < group.Count; i++)
                    {
                        results[i] = ApplyToMemory(group[i], held);
                    }
                }
                catch (Exception e)
                {
                    failed = e;
                }

                committing.GetAwaiter().GetResult();
                if (failed is not null)
                {
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed);
                }
            }
            else
            {
                Write();
            }
        }
        catch
        {
            for (var i = held.Count - 1; i >= 0; i--)
            {
                held[i].Revert();
            }

            _db.Rollback();
            throw;
        }

        foreach (var c in held)
        {
            c.Publish();
        }

        _map.Apply(changes);
        for (var i = 0; i < group.Count; i++)
        {
            group[i].Complete(overlap && group[i] is not IntegrityOp ? results[i] : ApplyToMemory(group[i], null));
        }
    }

    private void ExecuteSql(WriteOp op, SegmentChanges changes)
    {
        switch (op)
        {
            case UpsertOp u:
                foreach (var owner in u.Segments.Select(s => s.Owner).OfType<byte[]>())
                {
                    lock (_ringGate)
                    {
                        if (_ring.Find(new Slot(owner)) is null)
                        {
                            throw new StorageException("The row's user was erased while the write was queued; nothing was stored.");
                        }
                    }
                }

                RemoveRows(u.Collection.Cid, u.Rows.Select(r => r.Row.Id).Concat(u.Deletes), changes);
                foreach (var seg in u.Segments)
                {
                    var sid = _db.InsertSegment(u.Collection.Cid, seg.Uid, seg.Owner, seg.Ids.Length, seg.Payload.AsSpan(0, seg.Length));
                    changes.Segments[sid] = new SegmentInfo(u.Collection.Cid, seg.Owner, seg.Ids.Length);
                    foreach (var id in seg.Ids)
                    {
                        changes.Ids[(u.Collection.Cid, id)] = sid;
                    }
                }

                break;
            case DeleteIdsOp d:
                RemoveRows(d.Collection.Cid, d.Ids, changes);
                break;
            case IntegrityOp:
                break;
            default:
                throw new InvalidOperationException("Unexpected operation in a group.");
        }
    }

    /// <summary>
    /// Applies a committed operation to memory, or, with <paramref name="held"/>, one whose commit is still running: its
    /// collection is then held (added to the list once) until the caller publishes or reverts it.
    /// </summary>
    private long ApplyToMemory(WriteOp op, List<CollectionState>? held)
    {
        CollectionState Held(CollectionState c)
        {
            if (!held!.Contains(c))
            {
                c.Hold();
                held.Add(c);
            }

            return c;
        }

        switch (op)
        {
            case UpsertOp u when held is null:
                u.Collection.Apply(u.Rows, u.Deletes);
                return u.Rows.Length;
            case UpsertOp u:
                Held(u.Collection).ApplyHeld(u.Rows, u.Deletes);
                return u.Rows.Length;
            case DeleteIdsOp d when held is null:
                return d.Collection.Apply(null, d.Ids);
            case DeleteIdsOp d:
                return Held(d.Collection).ApplyHeld(null, d.Ids);
            case IntegrityOp when held is not null:
                return 0; // run once the commit is done: never beside it on the same connection
            case IntegrityOp i:
                i.Result = _db.IntegrityCheck();
                return 0;
            default:
                return 0;
        }
    }

    private void RunBarrier(WriteOp op)
    {
        switch (op)
        {
            case CreateCollectionOp c:
                op.Complete(CreateCollection(c.Spec));
                break;
            case DeleteWhereOp d:
                var ids = d.Collection.MatchingIds(d.Filter);
                var delete = PrepareDelete(d.Collection, ids);
                RunGroup([delete]);
                op.Complete(delete.Done.GetAwaiter().GetResult());
                break;
            case UpdateReadersOp r:
                op.Complete(UpdateReaders(r));
                break;
            case EraseUserOp e:
                op.Complete(EraseUser(e.User));
                break;
            case PurgeOwnersOp p:
                InTransaction(() => p.Owners.Sum(o => _db.DeleteOwner(o)));
                op.Complete(p.Owners.Count);
                break;
            case CheckpointOp k:
                try
                {
                    WriteCheckpoint(k.Collection);
                }
                finally
                {
                    k.Collection.CheckpointDone();
                }

                op.Complete(0);
                break;
            default:
                throw new InvalidOperationException("Unexpected barrier operation.");
        }
    }

    /// <summary>
    /// Rewrites the rows matching the operation's filter with its readers, <see cref="TenantCollection.MaxBatchRows"/>
    /// rows per commit, skipping rows that already have them. Vectors, text, metadata and times come from memory.
    /// </summary>
    private long UpdateReaders(UpdateReadersOp r)
    {
        long changed = 0;
        foreach (var ids in r.Collection.MatchingIds(r.Filter).Chunk(TenantCollection.MaxBatchRows))
        {
            var rows = new List<StoredRow>(ids.Length);
            foreach (var id in ids)
            {
                if (r.Collection.Get(id) is { } row && !SameReaders(row.Readers, r.Readers))
                {
                    rows.Add(row with { Readers = r.Readers });
                }
            }

            if (rows.Count == 0)
            {
                continue;
            }

            var upsert = PrepareUpsert(r.Collection, rows);
            try
            {
                RunGroup([upsert]);
            }
            finally
            {
                upsert.Release();
            }

            changed += upsert.Done.GetAwaiter().GetResult();
        }

        return changed;
    }

    private static bool SameReaders(IReadOnlyList<Principal>? a, Principal[]? b)
    {
        if (a is null || b is null)
        {
            return a is null && b is null;
        }

        if (a.Count != b.Length)
        {
            return false;
        }

        for (var i = 0; i < b.Length; i++)
        {
            if (a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }

    private long CreateCollection(CollectionSpec spec)
    {
        if (_collections.TryGetValue(spec.Name, out var existing))
        {
            CheckSameSpec(existing.Spec, spec);
            return existing.Cid;
        }

        var cid = InTransaction(() => _db.InsertCollection(spec));
        _collections[spec.Name] = new CollectionState(cid, spec, _ctx.IndexSettings, Folder) { CheckpointWanted = QueueCheckpoint };
        return cid;
    }

    /// <summary>Throws <see cref="CollectionMismatchException"/> unless <paramref name="wanted"/> matches the existing collection.</summary>
    public static void CheckSameSpec(CollectionSpec have, CollectionSpec wanted)
    {
        if (have.Dimension != wanted.Dimension || have.Model != wanted.Model || have.Metric != wanted.Metric)
        {
            throw new CollectionMismatchException(
                $"Collection '{wanted.Name}' holds {have.Dimension}-dimensional {have.Metric} vectors from model '{have.Model}'; it cannot be used with {wanted.Dimension} dimensions, {wanted.Metric}, model '{wanted.Model}'. Re-embed into a new collection to change models.");
        }
    }

    private long EraseUser(UserId user)
    {
        UserKey? key;
        lock (_ringGate)
        {
            key = _ring.Find(user);
            if (key is not null)
            {
                // Destroying the key first makes the erasure effective at once and crash-safe: rows left behind by a
                // crash are unreadable and are purged at the next open.
                _ring.Destroy(user);
            }
        }

        if (key is null)
        {
            return 0;
        }

        var removed = InTransaction(() => _db.DeleteOwner(key.Slot.Bytes));
        _map.ForgetOwner(key.Slot.Bytes);
        foreach (var c in _collections.Values)
        {
            c.Apply(null, c.MatchingIds(Filter.ForUser(user)));
        }

        TryReclaim();
        return removed;
    }

    private T InTransaction<T>(Func<T> work)
    {
        _db.Begin();
        try
        {
            var result = work();
            _db.Commit();
            return result;
        }
        catch
        {
            _db.Rollback();
            throw;
        }
    }

    private void TryReclaim()
    {
        try
        {
            _db.ReclaimFreePages();
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            Log.ReclaimFailed(_ctx.Logger, Tenant.Value, e);
        }
    }

    /// <summary>
    /// Runs work on a thread of its own, for a caller that blocks until it is done: waiting on a pool work item from a
    /// pool thread could stall while the pool is short of threads (many tenants opening at once).
    /// </summary>
    private static Task<T> OnOwnThread<T>(Func<T> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    /// <summary>Runs a parallel loop and rethrows its first failure as itself, not wrapped.</summary>
    private static void Unwrapped(Action loop)
    {
        try
        {
            loop();
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    /// <summary>Per-thread cipher instances (AesGcm is not thread-safe) and scratch buffers.</summary>
    private sealed class Sealer : IDisposable
    {
        private readonly Dictionary<byte[], RowCipher> _ciphers = new(ReferenceEqualityComparer.Instance);
        private byte[] _plain = new byte[4096];

        public SegmentWriter Segment { get; } = new();

        public RowCipher For(byte[] key)
        {
            if (!_ciphers.TryGetValue(key, out var cipher))
            {
                _ciphers[key] = cipher = new RowCipher(key);
            }

            return cipher;
        }

        public Span<byte> Plain(int length)
        {
            if (length > _plain.Length)
            {
                _plain = new byte[Math.Max(length, _plain.Length * 2)];
            }

            return _plain.AsSpan(0, Math.Max(0, length));
        }

        public void Dispose()
        {
            foreach (var c in _ciphers.Values)
            {
                c.Dispose();
            }
        }
    }

    private sealed class IntegrityOp : WriteOp
    {
        public string Result { get; set; } = "not run";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "A write to tenant {Tenant} failed; the group was rolled back")]
        public static partial void WriteFailed(ILogger logger, string tenant, Exception exception);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Reclaiming free pages of tenant {Tenant} failed; it is retried later")]
        public static partial void ReclaimFailed(ILogger logger, string tenant, Exception exception);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Merging small segments of tenant {Tenant} failed; it is retried after the next write")]
        public static partial void MergeFailed(ILogger logger, string tenant, Exception exception);

        [LoggerMessage(EventId = 2008, Level = LogLevel.Error, Message = "Building the text index of tenant {Tenant} after its open failed; its text and hybrid searches fail while it is open")]
        public static partial void TextIndexFailed(ILogger logger, string tenant, Exception exception);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Writing the graph checkpoint of collection {Collection} of tenant {Tenant} failed; the next open catches up from the previous one")]
        public static partial void CheckpointFailed(ILogger logger, string tenant, string collection, Exception exception);

        [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "The stored graph of collection {Collection} of tenant {Tenant} is unreadable; it is rebuilt")]
        public static partial void GraphUnreadable(ILogger logger, string tenant, string collection, Exception? exception);

        [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Tenant {Tenant} is in format 2; upgrading it to format 3")]
        public static partial void Upgrading(ILogger logger, string tenant);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Tenant {Tenant} has rows of {Count} erased users left by an interrupted erasure; purging them")]
        public static partial void PurgingOrphans(ILogger logger, string tenant, int count);
    }
}
