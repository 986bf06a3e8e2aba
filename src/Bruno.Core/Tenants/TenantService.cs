using Bruno.Storage;
using Bruno.Storage.Identity;

namespace Bruno.Core.Tenants;

/// <summary>
/// Creates tenants (catalog record and encrypted store together) and answers whether a tenant may be served.
/// Throws <see cref="TenantExistsException"/> for a taken id and <see cref="ArgumentException"/> for a bad display name.
/// </summary>
public sealed class TenantService(TenantCatalog catalog, StorageEngine engine, Microsoft.Extensions.Options.IOptions<BrunoOptions> options)
{
    /// <summary>The retrieval settings in force for <paramref name="id"/>: the service's, with the tenant's overrides.</summary>
    public RetrievalOptions RetrievalFor(TenantId id) => options.Value.Retrieval.With(catalog.FindRetrieval(id));

    /// <summary>
    /// Sets the tenant's retrieval overrides after checking the result; throws <see cref="ArgumentException"/> naming
    /// the bad values (nothing is stored then). Returns the settings now in force, or null for an unknown tenant.
    /// </summary>
    public RetrievalOptions? SetRetrieval(TenantId id, RetrievalOverrides overrides)
    {
        var effective = options.Value.Retrieval.With(overrides);
        var errors = effective.Validate().Select(e => e.Replace("Bruno:Retrieval:", string.Empty, StringComparison.Ordinal)).ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors));
        }

        return catalog.SetRetrieval(id, overrides) ? effective : null;
    }

    /// <summary>The memory rules in force for <paramref name="id"/>: the tenant's retention, or the service's.</summary>
    public Memory.MemoryPolicy MemoryPolicyFor(TenantId id) => new(catalog.FindMemory(id).RetentionDays ?? options.Value.Memory.RetentionDays);

    /// <summary>
    /// Sets the tenant's memory retention in days (null: the service's default); throws <see cref="ArgumentException"/>
    /// outside 1-3,650. Returns the rules now in force, or null for an unknown tenant. The next consolidation applies it.
    /// </summary>
    public Memory.MemoryPolicy? SetMemoryRetention(TenantId id, int? days)
    {
        if (days is < 1 or > Memory.MemoryPolicy.MaxRetentionDays)
        {
            throw new ArgumentException($"retention_days must be between 1 and {Memory.MemoryPolicy.MaxRetentionDays} (or null for the default).");
        }

        return catalog.SetMemoryRetention(id, days) ? MemoryPolicyFor(id) : null;
    }

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

    /// <summary>Why the tenant's requests are refused (unknown or suspended), or null when it is served.</summary>
    public string? Refusal(TenantId id) => catalog.Find(id) switch
    {
        null => "The tenant of this credential does not exist.",
        { Status: not TenantStatus.Active } => "The tenant of this credential is suspended.",
        _ => null,
    };

    /// <summary>The tenant, or null when unknown.</summary>
    public TenantRecord? Find(TenantId id) => catalog.Find(id);

    /// <summary>Every tenant.</summary>
    public IReadOnlyList<TenantRecord> List() => catalog.List();

    /// <summary>Suspends or resumes a tenant; false when unknown.</summary>
    public bool SetStatus(TenantId id, TenantStatus status) => catalog.SetStatus(id, status);

    /// <summary>The store of an active tenant, reached only through this handle.</summary>
    public TenantStore Store(TenantId id) => engine.Tenant(id);
}
