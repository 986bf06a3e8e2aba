namespace Bruno.Storage;

/// <summary>Base type of every failure the engine reports on purpose. Messages are safe to show an operator: they name
/// the tenant and the rule broken, never key material or row contents.</summary>
public class StorageException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The tenant has no store on this engine (never created, or erased).</summary>
public sealed class TenantNotFoundException(string tenantId)
    : StorageException($"Tenant '{tenantId}' does not exist in this store.");

/// <summary>The tenant was created before and cannot be created again.</summary>
public sealed class TenantAlreadyExistsException(string tenantId)
    : StorageException($"Tenant '{tenantId}' already exists.");

/// <summary>Another process holds the tenant's folder. Only one process may own a tenant at a time.</summary>
public sealed class TenantLockedException(string tenantId, Exception? inner = null)
    : StorageException($"Tenant '{tenantId}' is open in another process; one process owns a tenant folder at a time.", inner);

/// <summary>Data could not be decrypted: its key was destroyed (erasure), the master key is wrong, or the bytes were altered.</summary>
public sealed class DataUnreadableException(string message, Exception? inner = null) : StorageException(message, inner);

/// <summary>The on-disk format is newer than this engine, or the folder is not a Bruno store.</summary>
public sealed class StorageFormatException(string message) : StorageException(message);

/// <summary>A collection was used with a vector dimension or embedding model other than the one it was created with.</summary>
public sealed class CollectionMismatchException(string message) : StorageException(message);

/// <summary>The collection does not exist in this tenant.</summary>
public sealed class CollectionNotFoundException(string collection)
    : StorageException($"Collection '{collection}' does not exist.");

/// <summary>
/// The store node that owns the tenant could not be reached (down, restarting, cut off, or too slow to answer). The
/// request was not answered. A write whose connection broke after it was sent may have been applied: writes are by row
/// id, so sending it again is safe. Callers answer 503 with a Retry-After.
/// </summary>
public sealed class StoreUnavailableException(string tenantId, string node, Exception? inner = null)
    : StorageException($"The store node '{node}' holding tenant '{tenantId}' is unavailable; try again shortly.", inner)
{
    /// <summary>The node that could not be reached.</summary>
    public string Node { get; } = node;
}

/// <summary>The tenant is being moved to another store node: this write was refused and nothing of it was applied.</summary>
public sealed class TenantFencedException(string tenantId)
    : StorageException($"Tenant '{tenantId}' is being moved between store nodes; writes resume in a moment.");
