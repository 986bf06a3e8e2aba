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
    public const string LockFileName = "owner.lock";

    private readonly EngineContext _ctx;
    private readonly FileStream _lockFile;
    private readonly KeyRing _ring;
    private readonly Lock _ringGate = new();
    private readonly TenantDatabase _db;
    private readonly ConcurrentDictionary<string, CollectionState> _collections = new(StringComparer.Ordinal);
    private readonly Channel<WriteOp> _queue = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly byte[] _tenantBytes;
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

    /// <summary>Opens an existing tenant. Throws <see cref="TenantNotFoundException"/>, <see cref="TenantLockedException"/>,
    /// <see cref="DataUnreadableException"/> or <see cref="StorageFormatException"/>.</summary>
    public static TenantInstance Open(EngineContext ctx, TenantId tenant)
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
        try
        {
            var ring = KeyRing.Load(keyPath, tenant, ctx.MasterKey);
            db = TenantDatabase.Open(folder, tenant, ring, create: false);
            var instance = new TenantInstance(ctx, tenant, folder, lockFile, ring, db);
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
            db?.Dispose();
            lockFile.Dispose();
            throw;
        }
    }

    public CollectionState GetCollection(string name) =>
        _collections.TryGetValue(IdentifierRules.ValidateName(name, "collection name"), out var c) ? c : throw new CollectionNotFoundException(name);

    public Task<long> EnqueueAsync(WriteOp op)
    {
        if (!_queue.Writer.TryWrite(op))
        {
            op.Fail(new TenantNotFoundException(Tenant.Value));
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
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var keys = new Dictionary<string, (byte[] Key, byte[]? Slot)>(StringComparer.Ordinal) { [string.Empty] = (_ring.TenantKey, null) };
        foreach (var row in rows)
        {
            if (row is null)
            {
                throw new ArgumentException("A row is null.", nameof(rows));
            }

            var id = IdentifierRules.ValidateRowId(row.Id);
            if (!seen.Add(id))
            {
                throw new ArgumentException($"Row id {IdentifierRules.Describe(id)} appears twice in one batch.", nameof(rows));
            }

            RowValidation.Check(row, spec);
            if (row.UserId is { } user && !keys.ContainsKey(user.Value))
            {
                UserKey key;
                lock (_ringGate)
                {
                    key = _ring.GetOrAdd(user);
                }

                keys[user.Value] = (key.Key, key.Slot.Bytes);
            }
        }

        var analyzed = new AnalyzedRow[rows.Count];
        var prepared = new PreparedRow[rows.Count];
        var vectors = new float[rows.Count * spec.Dimension];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = rows.Count >= 64 ? Environment.ProcessorCount : 1 };
        Unwrapped(() => Parallel.For(
            0,
            rows.Count,
            parallel,
            () => new Sealer(),
            (i, _, sealer) =>
            {
                var row = rows[i];
                var created = row.CreatedAt == default ? now : row.CreatedAt.ToUniversalTime();
                var vector = vectors.AsMemory(i * spec.Dimension, spec.Dimension);
                row.Vector.CopyTo(vector);
                var copy = row with { Vector = vector, CreatedAt = created, Metadata = new Dictionary<string, MetadataValue>(row.Metadata, StringComparer.Ordinal) };
                var (key, slot) = keys[row.UserId?.Value ?? string.Empty];
                var hid = HashId(collection.Cid, row.Id);
                sealer.Buffer.ResetWrittenCount();
                RowCodec.Write(sealer.Buffer, copy, created.UtcTicks);
                prepared[i] = new PreparedRow(hid, slot, sealer.For(key).Encrypt(sealer.Buffer.WrittenSpan, Aad(collection.Cid, hid, slot)));
                analyzed[i] = AnalyzedRow.Of(copy);
                return sealer;
            },
            sealer => sealer.Dispose()));
        return new UpsertOp(collection, prepared, analyzed);
    }

    public DeleteIdsOp PrepareDelete(CollectionState collection, IReadOnlyList<string> ids)
    {
        var distinct = ids.Select(IdentifierRules.ValidateRowId).Distinct(StringComparer.Ordinal).ToArray();
        return new DeleteIdsOp(collection, distinct, [.. distinct.Select(id => HashId(collection.Cid, id))]);
    }

    /// <summary>Runs PRAGMA integrity_check through the write loop's connection (tests and tooling).</summary>
    public async Task<string> IntegrityCheckAsync()
    {
        var op = new IntegrityOp();
        await EnqueueAsync(op);
        return op.Result;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        foreach (var c in _collections.Values)
        {
            c.Dispose();
        }

        _db.Dispose();
        await _lockFile.DisposeAsync();
    }

    private byte[] HashId(int cid, string id)
    {
        var data = new byte[4 + Encoding.UTF8.GetByteCount(id)];
        BitConverter.TryWriteBytes(data, cid);
        Encoding.UTF8.GetBytes(id, data.AsSpan(4));
        return HMACSHA256.HashData(_ring.IdKey, data)[..16];
    }

    /// <summary>Associated data of a row blob: tenant, collection, hashed id, owner slot. Moving a blob anywhere else breaks its tag.</summary>
    private byte[] Aad(int cid, byte[] hid, byte[]? owner)
    {
        var aad = new byte[_tenantBytes.Length + 4 + hid.Length + (owner?.Length ?? 0)];
        _tenantBytes.CopyTo(aad, 0);
        BitConverter.TryWriteBytes(aad.AsSpan(_tenantBytes.Length), cid);
        hid.CopyTo(aad, _tenantBytes.Length + 4);
        owner?.CopyTo(aad, _tenantBytes.Length + 4 + hid.Length);
        return aad;
    }

    /// <summary>Decrypts every row into memory; returns owner slots that have rows but no key (to purge).</summary>
    private List<byte[]> Load()
    {
        var byCid = new Dictionary<int, CollectionState>();
        foreach (var (cid, spec) in _db.LoadCollections())
        {
            var state = new CollectionState(cid, spec, _ctx.IndexSettings);
            byCid[cid] = state;
            _collections[spec.Name] = state;
        }

        // Read and decrypt in one pass with reused buffers, each collection's vectors decoded into one array: the
        // only allocations are what the open tenant keeps.
        var counts = _db.CountRows();
        var pending = byCid.ToDictionary(kv => kv.Key, kv => new List<(StoredRow Row, ReadOnlyMemory<float> Vector)>(counts.GetValueOrDefault(kv.Key)));
        var vectors = byCid.ToDictionary(kv => kv.Key, kv => new float[counts.GetValueOrDefault(kv.Key) * kv.Value.Spec.Dimension]);
        var orphans = new Dictionary<Slot, byte[]>();
        using var sealer = new Sealer();
        var users = _ring.Users.ToDictionary(u => u.Slot);
        _db.ReadRows((cid, hid, owner, payload) =>
        {
            UserKey? user = null;
            if (owner is not null && !users.TryGetValue(new Slot(owner), out user))
            {
                orphans.TryAdd(new Slot(owner), owner);
                return;
            }

            if (!pending.TryGetValue(cid, out var list))
            {
                throw new DataUnreadableException($"A row of tenant '{Tenant}' belongs to no collection: the store was altered.");
            }

            var length = payload.Length - RowCipher.Overhead;
            var plain = sealer.Plain(length);
            if (length < 0 || !sealer.For(user?.Key ?? _ring.TenantKey).TryDecrypt(payload, plain, Aad(cid, hid, owner)))
            {
                throw new DataUnreadableException($"A row of tenant '{Tenant}' does not decrypt: the store was altered or its key is wrong.");
            }

            var dim = byCid[cid].Spec.Dimension;
            var row = RowCodec.Read(plain, vectors[cid], list.Count * dim, out var vector);
            if (vector.Length != dim || row.UserId != user?.User)
            {
                throw new DataUnreadableException($"A row of tenant '{Tenant}' does not match its collection or owner: the store was altered.");
            }

            list.Add((row, vector));
        });

        foreach (var (cid, rows) in pending)
        {
            // Tokenising is the costly part and independent per row: spread it over the cores.
            var analyzed = new AnalyzedRow[rows.Count];
            Parallel.For(0, rows.Count, i => analyzed[i] = AnalyzedRow.Of(rows[i].Row, rows[i].Vector));
            byCid[cid].Apply(analyzed, null);
        }


        return [.. orphans.Values];
    }

    private async Task WriteLoopAsync()
    {
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

            if (++_groups % 64 == 0)
            {
                TryReclaim();
            }
        }
    }

    private void RunGroup(List<WriteOp> group)
    {
        var committed = new List<WriteOp>(group.Count);
        _db.Begin();
        try
        {
            foreach (var op in group)
            {
                _db.Savepoint();
                try
                {
                    ExecuteSql(op);
                    _db.ReleaseSavepoint();
                    committed.Add(op);
                }
                catch (StorageException e)
                {
                    _db.RollbackSavepoint();
                    op.Fail(e);
                }
            }

            _db.Commit();
        }
        catch
        {
            _db.Rollback();
            throw;
        }

        foreach (var op in committed)
        {
            op.Complete(ApplyToMemory(op));
        }
    }

    private void ExecuteSql(WriteOp op)
    {
        switch (op)
        {
            case UpsertOp u:
                foreach (var p in u.Prepared)
                {
                    if (p.Owner is { } owner)
                    {
                        lock (_ringGate)
                        {
                            if (_ring.Find(new Slot(owner)) is null)
                            {
                                throw new StorageException("The row's user was erased while the write was queued; nothing was stored.");
                            }
                        }
                    }

                    _db.Upsert(u.Collection.Cid, p.Hid, p.Owner, p.Payload);
                }

                break;
            case DeleteIdsOp d:
                foreach (var hid in d.Hids)
                {
                    _db.Delete(d.Collection.Cid, hid);
                }

                break;
            case IntegrityOp:
                break;
            default:
                throw new InvalidOperationException("Unexpected operation in a group.");
        }
    }

    private long ApplyToMemory(WriteOp op)
    {
        switch (op)
        {
            case UpsertOp u:
                u.Collection.Apply(u.Rows, null);
                return u.Rows.Length;
            case DeleteIdsOp d:
                return d.Collection.Apply(null, d.Ids);
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
            case EraseUserOp e:
                op.Complete(EraseUser(e.User));
                break;
            case PurgeOwnersOp p:
                InTransaction(() => p.Owners.Sum(o => _db.DeleteOwner(o)));
                op.Complete(p.Owners.Count);
                break;
            default:
                throw new InvalidOperationException("Unexpected barrier operation.");
        }
    }

    private long CreateCollection(CollectionSpec spec)
    {
        if (_collections.TryGetValue(spec.Name, out var existing))
        {
            var have = existing.Spec;
            if (have.Dimension != spec.Dimension || have.Model != spec.Model || have.Metric != spec.Metric)
            {
                throw new CollectionMismatchException(
                    $"Collection '{spec.Name}' holds {have.Dimension}-dimensional {have.Metric} vectors from model '{have.Model}'; it cannot be used with {spec.Dimension} dimensions, {spec.Metric}, model '{spec.Model}'. Re-embed into a new collection to change models.");
            }

            return existing.Cid;
        }

        var cid = InTransaction(() => _db.InsertCollection(spec));
        _collections[spec.Name] = new CollectionState(cid, spec, _ctx.IndexSettings);
        return cid;
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

        public ArrayBufferWriter<byte> Buffer { get; } = new(4096);

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

        [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Tenant {Tenant} has rows of {Count} erased users left by an interrupted erasure; purging them")]
        public static partial void PurgingOrphans(ILogger logger, string tenant, int count);
    }
}
