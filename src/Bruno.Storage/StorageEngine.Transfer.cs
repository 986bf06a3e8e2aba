using Bruno.Storage.Engine;
using Bruno.Storage.Format;
using Bruno.Storage.Identity;

namespace Bruno.Storage;

/// <summary>Moving a tenant's files between engines (store nodes) that share a master key.</summary>
public sealed partial class StorageEngine
{
    /// <summary>The name a tenant's key ring travels under in a <see cref="SnapshotAsync"/> folder.</summary>
    public const string KeyRingFileName = "key-ring";

    /// <summary>
    /// What this engine holds, for placing new tenants on the least loaded node: tenants, live rows and bytes on disk.
    /// Reads no row: open tenants report their counts, closed ones are counted in their files.
    /// </summary>
    public StoreLoad Load()
    {
        var tenants = ListTenants();
        long rows = 0, bytes = 0;
        foreach (var t in tenants)
        {
            rows += _cache.Rows(t, () => TenantDatabase.CountRows(_ctx.TenantFolder(t))) ?? 0;
            bytes += BytesOnDisk(t);
        }

        return new StoreLoad(tenants.Count, rows, bytes, OpenTenantCount);
    }

    /// <summary>Whether writes to the tenant are fenced (<see cref="FenceAsync"/>).</summary>
    public bool IsFenced(TenantId tenant) => _cache.IsFenced(tenant);

    /// <summary>
    /// Fences the tenant's writes (they throw <see cref="TenantFencedException"/>, having applied nothing) and waits for
    /// those in flight. The fence is recorded on disk, so it holds across a restart, until <see cref="UnfenceAsync"/> or
    /// erasure. Reads keep working. Throws <see cref="TenantNotFoundException"/> for a tenant this engine does not hold.
    /// </summary>
    public async Task FenceAsync(TenantId tenant, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        if (!TenantExists(tenant))
        {
            throw new TenantNotFoundException(tenant.Value);
        }

        await _cache.SetFenceAsync(tenant, fenced: true);
    }

    /// <summary>Lifts the fence of <see cref="FenceAsync"/> (a move that failed). Idempotent.</summary>
    public Task UnfenceAsync(TenantId tenant) => _cache.SetFenceAsync(tenant, fenced: false);

    /// <summary>
    /// Copies a fenced tenant's files (its wrapped key ring as <see cref="KeyRingFileName"/> and its folder's files, the
    /// lock file excepted) into a new folder under the engine's transfer folder, and returns that folder; the caller
    /// deletes it. The copy is taken with the tenant closed, so it is consistent. Throws <see cref="StorageException"/>
    /// when the tenant is not fenced (a copy of a store still taking writes would miss some) and
    /// <see cref="TenantNotFoundException"/> when it does not exist.
    /// </summary>
    public Task<string> SnapshotAsync(TenantId tenant, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        if (!IsFenced(tenant))
        {
            throw new StorageException($"Tenant '{tenant}' must be fenced before its files are copied.");
        }

        return _cache.RunExclusiveAsync(tenant, () =>
        {
            var key = _ctx.KeyPath(tenant);
            if (!File.Exists(key))
            {
                throw new TenantNotFoundException(tenant.Value);
            }

            var target = NewTransferFolder();
            File.Copy(key, Path.Combine(target, KeyRingFileName));
            var folder = _ctx.TenantFolder(tenant);
            Dirs.EnsureRealDirectory(folder, tenant);
            foreach (var file in Directory.EnumerateFiles(folder))
            {
                var name = Path.GetFileName(file);
                if (name != TenantInstance.LockFileName)
                {
                    File.Copy(file, Path.Combine(target, name));
                }
            }

            return target;
        });
    }

    /// <summary>
    /// A new empty folder (0700) under the transfer folder, for receiving a tenant's files before <see cref="AdoptAsync"/>.
    /// </summary>
    public string NewTransferFolder()
    {
        Directory.CreateDirectory(_ctx.TransferFolder, Dirs.OwnerOnly);
        var folder = Path.Combine(_ctx.TransferFolder, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder, Dirs.OwnerOnly);
        return folder;
    }

    /// <summary>
    /// Takes over a tenant from a folder made by <see cref="SnapshotAsync"/> on another engine (and received into
    /// <see cref="NewTransferFolder"/> here): every file is fsynced, the folder becomes the tenant's folder, then the key
    /// ring is put in place, last, so a crash in between leaves no tenant rather than half of one. The tenant is opened
    /// once to prove the copy decrypts with this engine's master key; when it does not, nothing of it is kept. Throws
    /// <see cref="TenantAlreadyExistsException"/> when this engine already holds the tenant, and
    /// <see cref="StorageFormatException"/> for a folder without a key ring.
    /// </summary>
    public async Task AdoptAsync(TenantId tenant, string transferFolder, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var source = Path.GetFullPath(transferFolder);
        if (Path.GetDirectoryName(source) != _ctx.TransferFolder || !Directory.Exists(source))
        {
            throw new ArgumentException("Adopt takes a folder made by NewTransferFolder.", nameof(transferFolder));
        }

        var ring = Path.Combine(source, KeyRingFileName);
        if (!File.Exists(ring))
        {
            throw new StorageFormatException($"The copy of tenant '{tenant}' has no key ring.");
        }

        await _cache.RunExclusiveAsync(tenant, () =>
        {
            var key = _ctx.KeyPath(tenant);
            var folder = _ctx.TenantFolder(tenant);
            if (File.Exists(key))
            {
                throw new TenantAlreadyExistsException(tenant.Value);
            }

            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true); // a folder without a key: left by an earlier adopt that crashed
            }

            var bytes = File.ReadAllBytes(ring);
            Durable.Shred(ring);
            foreach (var file in Directory.EnumerateFiles(source))
            {
                using var fs = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
                fs.Flush(flushToDisk: true);
            }

            Durable.SyncDirectory(source);
            Directory.Move(source, folder);
            Durable.SyncDirectory(_ctx.TenantsRoot);
            Durable.WriteNew(key, bytes); // last: until the key ring is there, the tenant does not exist here
            DropFence(tenant); // a tenant that comes back to a node it left is not fenced here any more
        });

        try
        {
            _ = await Tenant(tenant).ListCollectionsAsync(ct); // opens it: the key ring unwraps and the files decrypt
        }
        catch (DataUnreadableException)
        {
            await EraseTenantAsync(tenant, CancellationToken.None);
            throw;
        }
    }

    /// <summary>Deletes every transfer folder (call at start: what is there belongs to transfers that were cut off).</summary>
    public void ClearTransfers()
    {
        if (Directory.Exists(_ctx.TransferFolder))
        {
            foreach (var folder in Directory.EnumerateDirectories(_ctx.TransferFolder))
            {
                DeleteTransferFolder(folder);
            }
        }
    }

    /// <summary>
    /// Deletes a transfer folder, overwriting the key ring copy in it first (like erasure does): a copy of a tenant's
    /// key ring is never left readable on disk. Missing folders are ignored.
    /// </summary>
    public static void DeleteTransferFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return;
        }

        Durable.Shred(Path.Combine(folder, KeyRingFileName));
        Directory.Delete(folder, recursive: true);
    }

    private void DropFence(TenantId tenant)
    {
        if (_cache.IsFenced(tenant) || File.Exists(Path.Combine(_ctx.FenceFolder, tenant.Value)))
        {
            _ = _cache.SetFenceAsync(tenant, fenced: false); // unfencing completes synchronously
        }
    }
}

/// <summary>How much one engine (store node) holds.</summary>
/// <param name="Tenants">Tenants it holds.</param>
/// <param name="Rows">Their live rows.</param>
/// <param name="Bytes">Bytes their files take.</param>
/// <param name="OpenTenants">Tenants open in memory now.</param>
public sealed record StoreLoad(int Tenants, long Rows, long Bytes, int OpenTenants);
