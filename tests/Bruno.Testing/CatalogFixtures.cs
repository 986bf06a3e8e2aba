using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Testing;

/// <summary>Catalog rows a test needs before the rows it is about: keys, users and placements reference a tenant (migration 2).</summary>
public static class CatalogFixtures
{
    /// <summary>Records each tenant in <paramref name="db"/> as active; returns the database.</summary>
    public static CatalogDatabase WithTenants(this CatalogDatabase db, params string[] ids)
    {
        var catalog = new TenantCatalog(db);
        foreach (var id in ids)
        {
            catalog.Create(TenantId.Parse(id), id);
        }

        return db;
    }
}
