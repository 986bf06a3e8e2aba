using Bruno.Storage.Engine;
using Bruno.Storage.Format;
using Bruno.Storage.Identity;
using Bruno.Storage.Index;
using Bruno.Storage.Model;

namespace Bruno.Storage;

/// <summary>
/// The store of every tenant under one data root: <c>tenants/&lt;tenant-id&gt;/</c> (0700) per tenant, each encrypted
/// under the tenant's own key. Tenants open on first use and close when idle or when more than
/// <see cref="StorageEngineOptions.MaxOpenTenants"/> are open, so memory follows the tenants in use, not those that exist.
/// Thread-safe. One engine (one process) owns a tenant at a time; another process gets <see cref="TenantLockedException"/>.
/// </summary>
public sealed partial class StorageEngine : IStorageEngine, IAsyncDisposable
{
    private readonly EngineContext _ctx;
    private readonly TenantCache _cache;

    /// <summary>Creates the engine and its folders (0700). Throws <see cref="ArgumentException"/> for bad options.</summary>
    public StorageEngine(StorageEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.DataRoot);
        ArgumentNullException.ThrowIfNull(options.MasterKey);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxOpenTenants, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.AnnThreshold, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.HnswM, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.FilteredExactRows, 0);
        var root = Path.GetFullPath(options.DataRoot);
        var keys = Path.GetFullPath(options.KeyDirectory ?? Path.Combine(root, "keys"));
        Directory.CreateDirectory(root, Dirs.OwnerOnly);
        Directory.CreateDirectory(Path.Combine(root, "tenants"), Dirs.OwnerOnly);
        Directory.CreateDirectory(keys, Dirs.OwnerOnly);
        _ctx = new EngineContext(root, keys, options.MasterKey, options.TimeProvider, options.Logger,
            new IndexSettings(options.AnnThreshold, options.HnswM, options.HnswEfConstruction, options.HnswEfSearch, options.FilteredExactRows, options.FullVectorsInMemory))
        {
            TextBuildGate = options.TextBuildGate,
        };
        _cache = new TenantCache(_ctx, options.MaxOpenTenants, options.IdleTimeout);
    }

    /// <summary>The data root (full path).</summary>
    public string DataRoot => _ctx.DataRoot;

    /// <summary>How many tenants are open right now.</summary>
    public int OpenTenantCount => _cache.OpenCount;

    /// <summary>Creates a tenant's folder, store and keys. Throws <see cref="TenantAlreadyExistsException"/> if it exists.</summary>
    public Task CreateTenantAsync(TenantId tenant, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        return _cache.RunExclusiveAsync(tenant, () => TenantInstance.Create(_ctx, tenant));
    }

    /// <summary>Whether the tenant exists (has a key ring). Touches no folder.</summary>
    public bool TenantExists(TenantId tenant) => File.Exists(_ctx.KeyPath(tenant));

    /// <inheritdoc/>
    public Task<bool> TenantExistsAsync(TenantId tenant, CancellationToken ct = default) => Task.FromResult(TenantExists(tenant));

    /// <summary>Every tenant that exists, in ordinal order.</summary>
    public IReadOnlyList<TenantId> ListTenants() =>
        [.. Directory.EnumerateFiles(_ctx.KeyDirectory, "*.key")
            .Select(f => Path.GetFileNameWithoutExtension(f))
            .Where(n => TenantId.TryParse(n, out _))
            .Order(StringComparer.Ordinal)
            .Select(TenantId.Parse)];

    /// <summary>A handle on one tenant's store. Cheap; opening happens on first use.</summary>
    public TenantStore Tenant(TenantId tenant)
    {
        _ = tenant.Value; // rejects a default TenantId
        return new TenantStore(_cache, tenant);
    }

    /// <inheritdoc/>
    ITenantStore IStorageEngine.Tenant(TenantId tenant) => Tenant(tenant);

    /// <summary>
    /// Erases a tenant by destroying its key ring (overwritten, unlinked, fsynced), then removes its folder. Every copy of
    /// the folder taken earlier, backups included, can no longer be decrypted. Waits for operations in flight; later
    /// operations get <see cref="TenantNotFoundException"/>. Returns false when the tenant did not exist.
    /// </summary>
    public async Task<bool> DeleteTenantAsync(TenantId tenant) => (await EraseTenantAsync(tenant)).Existed;

    /// <summary>
    /// Erases a tenant like <see cref="DeleteTenantAsync"/> and says what was erased: whether it existed, the files and
    /// bytes of its folder, and the SHA-256 of its key ring as it was just before it was destroyed (so a receipt can name
    /// the key without keeping it). Idempotent: erasing again reports nothing existed.
    /// </summary>
    public Task<TenantErasure> EraseTenantAsync(TenantId tenant, CancellationToken ct = default) => _cache.RunExclusiveAsync(tenant, () => Erase(tenant));

    /// <summary>
    /// Erases the tenant like <see cref="EraseTenantAsync"/> only when its writes are fenced, checked with the tenant held
    /// exclusively (so a copy adopted meanwhile, which is not fenced, is kept). Returns whether it erased.
    /// </summary>
    public Task<bool> EraseIfFencedAsync(TenantId tenant) => EraseIfAsync(tenant, () => _cache.IsFenced(tenant));

    /// <summary>
    /// Erases the tenant like <see cref="EraseTenantAsync"/> only when <paramref name="stillTrue"/> says so, asked with
    /// the tenant held exclusively: nothing else (an adoption, a write) can happen to it between the check and the
    /// erasure. Returns whether it erased.
    /// </summary>
    public async Task<bool> EraseIfAsync(TenantId tenant, Func<bool> stillTrue)
    {
        ArgumentNullException.ThrowIfNull(stillTrue);
        return await _cache.RunExclusiveAsync(tenant, () => File.Exists(_ctx.KeyPath(tenant)) && stillTrue() && Erase(tenant).Existed);
    }

    private TenantErasure Erase(TenantId tenant)
    {
        var keyPath = _ctx.KeyPath(tenant);
        var folder = _ctx.TenantFolder(tenant);
        var existed = File.Exists(keyPath);
        var keyDigest = existed ? Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(keyPath))) : null;
        var files = Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).ToList() : [];
        Durable.Shred(keyPath);
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
            Durable.SyncDirectory(_ctx.TenantsRoot);
        }

        DropFence(tenant);
        return new TenantErasure(existed, files.Count, files.Sum(f => f.Length), keyDigest);
    }

    /// <inheritdoc/>
    public Task<long> BytesOnDiskAsync(TenantId tenant, CancellationToken ct = default) => Task.FromResult(BytesOnDisk(tenant));

    /// <summary>Bytes the tenant's folder takes on disk, read without opening the tenant (0 when it has no folder).</summary>
    public long BytesOnDisk(TenantId tenant)
    {
        var folder = _ctx.TenantFolder(tenant);
        try
        {
            return Directory.Exists(folder) ? new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length) : 0;
        }
        catch (Exception e) when (e is IOException or DirectoryNotFoundException)
        {
            return 0; // erased while being measured
        }
    }

    /// <summary>
    /// Closes one tenant's store (offloading it): waits for operations in flight, releases its memory, keeps its files.
    /// The next operation opens it again.
    /// </summary>
    public Task CloseTenantAsync(TenantId tenant, CancellationToken ct = default) => _cache.RunExclusiveAsync(tenant, () => { });

    /// <summary>Closes every open tenant that no operation is using (benchmarks measure cold opens with it).</summary>
    internal Task CloseUnusedTenantsAsync() => _cache.CloseIdle(all: true);

    /// <summary>Closes every open tenant (flushing nothing: every acknowledged write is already durable).</summary>
    public ValueTask DisposeAsync() => _cache.DisposeAsync();
}
