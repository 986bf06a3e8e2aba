using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage;

/// <summary>
/// The stores of many tenants. Implemented here by <see cref="StorageEngine"/> (in this process, on this machine's
/// disk); Bruno.Cluster adds <c>RemoteStorageEngine</c> (a store node reached over the internal gRPC API) and, on a
/// gateway, <c>RoutedStorage</c>, which sends each tenant's calls to the remote engine of its owner. The services above
/// cannot tell them apart.
/// </summary>
/// <remarks>
/// Every operation may throw the <see cref="StorageException"/> subtypes the local engine throws; a remote one adds
/// <see cref="StoreUnavailableException"/> (the owner of the tenant cannot be reached; a write may or may not have
/// been applied, and repeating it is safe) and <see cref="TenantFencedException"/> (the tenant is being moved: the
/// write was not applied).
/// </remarks>
public interface IStorageEngine
{
    /// <summary>Tenant stores open in this process (0 for a process that keeps none).</summary>
    int OpenTenantCount { get; }

    /// <summary>Creates a tenant's store and keys. Throws <see cref="TenantAlreadyExistsException"/> if it exists.</summary>
    Task CreateTenantAsync(TenantId tenant, CancellationToken ct = default);

    /// <summary>Whether the tenant exists (has a key ring).</summary>
    Task<bool> TenantExistsAsync(TenantId tenant, CancellationToken ct = default);

    /// <summary>A handle on one tenant's store. Cheap; nothing is opened or called until the first operation.</summary>
    ITenantStore Tenant(TenantId tenant);

    /// <summary>
    /// Erases a tenant by destroying its key ring, then removes its files, and says what was erased. Idempotent:
    /// erasing again reports that nothing existed.
    /// </summary>
    Task<TenantErasure> EraseTenantAsync(TenantId tenant, CancellationToken ct = default);

    /// <summary>Closes one tenant's store (offloading it): memory is released, files stay.</summary>
    Task CloseTenantAsync(TenantId tenant, CancellationToken ct = default);

    /// <summary>Bytes the tenant's files take on disk, read without opening it (0 when it has none).</summary>
    Task<long> BytesOnDiskAsync(TenantId tenant, CancellationToken ct = default);
}

/// <summary>
/// The only way to one tenant's data: every operation is scoped to <see cref="Id"/> and cannot reach another tenant.
/// Failures are those listed on <see cref="IStorageEngine"/> and <see cref="TenantStore"/>.
/// </summary>
public interface ITenantStore
{
    /// <summary>The tenant this handle is scoped to.</summary>
    TenantId Id { get; }

    /// <summary>Creates the collection, or checks that the existing one has the same dimension, model and metric.</summary>
    Task<ITenantCollection> EnsureCollectionAsync(CollectionSpec spec, CancellationToken ct = default);

    /// <summary>A handle on an existing collection; operations throw <see cref="CollectionNotFoundException"/> if it does not exist.</summary>
    ITenantCollection Collection(string name);

    /// <summary>The tenant's collections.</summary>
    Task<IReadOnlyList<CollectionSpec>> ListCollectionsAsync(CancellationToken ct = default);

    /// <summary>Live rows per collection, and bytes the tenant's files take on disk.</summary>
    Task<TenantStats> GetStatsAsync(CancellationToken ct = default);

    /// <summary>Erases one user (key first, then rows). Returns the number of rows removed.</summary>
    Task<long> EraseUserAsync(UserId user, CancellationToken ct = default);

    /// <summary>Runs the integrity check of the tenant's file: "ok" when sound.</summary>
    Task<string> CheckIntegrityAsync(CancellationToken ct = default);
}

/// <summary>One collection of one tenant; see <see cref="TenantCollection"/> for the rules of each operation.</summary>
public interface ITenantCollection
{
    /// <summary>The tenant.</summary>
    TenantId Tenant { get; }

    /// <summary>The collection name.</summary>
    string Name { get; }

    /// <summary>Inserts or replaces rows by id, all or nothing; durable when the task completes.</summary>
    Task<long> UpsertAsync(IReadOnlyList<StoredRow> rows, CancellationToken ct = default);

    /// <summary>Upserts <paramref name="rows"/> and deletes <paramref name="deleteIds"/> as one atomic operation.</summary>
    Task<long> ReplaceAsync(IReadOnlyList<StoredRow> rows, IReadOnlyList<string> deleteIds, CancellationToken ct = default);

    /// <summary>Deletes rows by id; returns how many existed.</summary>
    Task<long> DeleteAsync(IReadOnlyList<string> ids, CancellationToken ct = default);

    /// <summary>Deletes every row matching the filter; returns how many were deleted.</summary>
    Task<long> DeleteWhereAsync(Filter filter, CancellationToken ct = default);

    /// <summary>Gives the rows matching the filter new readers (null: the whole tenant) without new vectors; returns how many changed.</summary>
    Task<long> UpdateReadersAsync(Filter filter, IReadOnlyList<Principal>? readers, CancellationToken ct = default);

    /// <summary>The row with this id, or null.</summary>
    Task<StoredRow?> GetAsync(string id, CancellationToken ct = default);

    /// <summary>Rows matching the filter (all rows when null).</summary>
    Task<long> CountAsync(Filter? filter = null, CancellationToken ct = default);

    /// <summary>One page of matching rows in id order after <paramref name="after"/>; at most <paramref name="limit"/> (1-1,000).</summary>
    Task<IReadOnlyList<StoredRow>> ListAsync(Filter filter, string? after, int limit, CancellationToken ct = default);

    /// <summary>The newest matching rows, newest first; at most <paramref name="limit"/> (1-1,000).</summary>
    Task<IReadOnlyList<StoredRow>> LatestAsync(Filter filter, int limit, CancellationToken ct = default);

    /// <summary>The users that own at least one row, in ordinal order.</summary>
    Task<IReadOnlyList<UserId>> UsersAsync(CancellationToken ct = default);

    /// <summary>Every live row, in no particular order (export and verification).</summary>
    Task<IReadOnlyList<StoredRow>> ReadAllAsync(CancellationToken ct = default);

    /// <summary>Searches the collection; see <see cref="SearchRequest"/>.</summary>
    Task<IReadOnlyList<SearchHit>> SearchAsync(SearchRequest request, CancellationToken ct = default);
}
