using Bruno.Storage;
using Bruno.Storage.Identity;

namespace Bruno.Core.Tenants;

/// <summary>
/// Creates tenants (catalog record and encrypted store together) and answers whether a tenant may be served.
/// Throws <see cref="TenantExistsException"/> for a taken id and <see cref="ArgumentException"/> for a bad display name.
/// </summary>
public sealed class TenantService(TenantCatalog catalog, StorageEngine engine)
{
    /// <summary>Creates the store first, then the record: a crash in between leaves a store without a record, which a
    /// later create of the same id reuses, never a record without a store.</summary>
    public async Task<TenantRecord> CreateAsync(TenantId id, string displayName)
    {
        if (catalog.Find(id) is not null)
        {
            throw new TenantExistsException(id.Value);
        }

        if (!engine.TenantExists(id))
        {
            await engine.CreateTenantAsync(id);
        }

        return catalog.Create(id, displayName);
    }

    /// <summary>The tenant, or null when unknown.</summary>
    public TenantRecord? Find(TenantId id) => catalog.Find(id);

    /// <summary>Every tenant.</summary>
    public IReadOnlyList<TenantRecord> List() => catalog.List();

    /// <summary>Suspends or resumes a tenant; false when unknown.</summary>
    public bool SetStatus(TenantId id, TenantStatus status) => catalog.SetStatus(id, status);

    /// <summary>The store of an active tenant, reached only through this handle.</summary>
    public TenantStore Store(TenantId id) => engine.Tenant(id);
}
