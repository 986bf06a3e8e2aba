using Bruno.Core.Retrieval;
using Bruno.Storage;
using Bruno.Storage.Identity;

namespace Bruno.Core.Tenants;

/// <summary>
/// Creates tenants (catalog record and encrypted store together) and answers whether a tenant may be served.
/// Throws <see cref="TenantExistsException"/> for a taken id and <see cref="ArgumentException"/> for a bad display name.
/// </summary>
public sealed class TenantService(TenantCatalog catalog, IStorageEngine engine, Microsoft.Extensions.Options.IOptions<BrunoOptions> options, ErasureWitness? witness = null, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The retrieval settings in force for <paramref name="id"/>: the service's, with the tenant's overrides.</summary>
    public RetrievalOptions RetrievalFor(TenantId id) => options.Value.Retrieval.With(catalog.FindRetrieval(id));

    /// <summary>
    /// Sets the tenant's retrieval overrides after checking the result; throws <see cref="ArgumentException"/> naming
    /// the bad values (nothing is stored then). Returns the settings now in force, or null for an unknown tenant.
    /// </summary>
    public RetrievalOptions? SetRetrieval(TenantId id, RetrievalOverrides overrides)
    {
        var effective = options.Value.Retrieval.With(overrides);
        var errors = RetrievalOptionsValidator.Errors(effective).Select(e => e.Replace("Bruno:Retrieval:", string.Empty, StringComparison.Ordinal)).ToList();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors));
        }

        return catalog.SetRetrieval(id, overrides) ? effective : null;
    }

    /// <summary>
    /// Creates a tenant: the record in <c>provisioning</c> first, then its encrypted store, then <c>active</c>. A crash
    /// in between leaves a provisioning record that <see cref="RecoverAsync"/> finishes at the next start. Throws
    /// <see cref="TenantExistsException"/> for a taken id (a deleted tenant's id stays taken: its tombstone keeps it)
    /// and <see cref="ArgumentException"/> for a bad name or profile.
    /// </summary>
    public async Task<TenantRecord> CreateAsync(TenantId id, string displayName, TenantProfile? profile = null, string actor = "system")
    {
        profile = (profile ?? new TenantProfile()).Validated(options.Value.Plans.Keys);
        catalog.Create(id, displayName, profile, TenantStatus.Provisioning, actor);
        return await FinishProvisioningAsync(id, actor);
    }

    /// <summary>Why the tenant's requests are refused, or null when it is served (an offloaded tenant is reactivated).</summary>
    public Refusal? Refusal(TenantId id) => Admit(id).Refusal;

    /// <summary>
    /// The admission check of a request: why the tenant is refused (null when it is served; an offloaded tenant is
    /// reactivated) and its record (for its plan). Reads the catalog at most every <see cref="TenantCatalog.RecentFor"/>
    /// per tenant; a change made in this process is seen at once, one made by another process within that time.
    /// </summary>
    public (Refusal? Refusal, TenantRecord? Record) Admit(TenantId id)
    {
        var record = catalog.FindRecent(id);
        if (record?.Status == TenantStatus.Offloaded)
        {
            record = catalog.Transition(id, [TenantStatus.Offloaded], TenantStatus.Active, "request") ?? catalog.Find(id);
        }

        return (Tenants.Refusal.ForStatus(record?.Status), record);
    }

    /// <summary>The tenant, or null when unknown.</summary>
    public TenantRecord? Find(TenantId id) => catalog.Find(id);

    /// <summary>Every tenant, tombstones included.</summary>
    public IReadOnlyList<TenantRecord> List() => catalog.List();

    /// <summary>The tenant's recorded transitions and plan changes.</summary>
    public IReadOnlyList<TenantEvent> Events(TenantId id) => catalog.Events(id);

    /// <summary>Suspends an active or offloaded tenant; null when it is not in one of those states (or unknown).</summary>
    public TenantRecord? Suspend(TenantId id, string actor) => catalog.Transition(id, [TenantStatus.Active, TenantStatus.Offloaded], TenantStatus.Suspended, actor);

    /// <summary>Resumes a suspended tenant, or reactivates an offloaded one; null otherwise.</summary>
    public TenantRecord? Resume(TenantId id, string actor) => catalog.Transition(id, [TenantStatus.Suspended, TenantStatus.Offloaded], TenantStatus.Active, actor);

    /// <summary>Offloads an active tenant: recorded first, then its store is closed (files stay); null when not active.</summary>
    public async Task<TenantRecord?> OffloadAsync(TenantId id, string actor)
    {
        var record = catalog.Transition(id, [TenantStatus.Active], TenantStatus.Offloaded, actor);
        if (record is not null)
        {
            await engine.CloseTenantAsync(id);
        }

        return record;
    }

    /// <summary>Changes the tenant's plan (one of the configured plans); null when the tenant is unknown or deleted.</summary>
    public TenantRecord? SetPlan(TenantId id, string plan, string actor)
    {
        _ = new TenantProfile(plan).Validated(options.Value.Plans.Keys);
        return catalog.SetPlan(id, plan, actor);
    }

    /// <summary>
    /// Deletes a tenant: <c>deleting</c> is recorded first, then its keys are destroyed (every copy of its files,
    /// backups included, becomes unreadable) and its files removed, then <c>deleted</c> (a tombstone). The
    /// <see cref="ErasureWitness"/>, when one is configured, is told before and after the keys go (it keeps the signed
    /// receipt). A crash in between is finished by <see cref="RecoverAsync"/>. Null when the tenant is unknown or already
    /// deleted.
    /// </summary>
    public async Task<TenantRecord?> DeleteAsync(TenantId id, string actor)
    {
        var record = catalog.Transition(id, [TenantStatus.Provisioning, TenantStatus.Active, TenantStatus.Suspended, TenantStatus.Offloaded], TenantStatus.Deleting, actor);
        return record is null ? null : await FinishDeletingAsync(id, actor);
    }

    /// <summary>
    /// Finishes what a crash interrupted: provisioning tenants get their store and become active, except imports, which
    /// are undone (<see cref="AbandonImportAsync"/>: a half-written copy is never served); deleting tenants are erased
    /// and become deleted. Run at start, before requests are served. Returns how many it finished.
    /// </summary>
    /// <param name="settledFor">
    /// Leaves alone tenants whose last change is younger than this: where several processes share the catalog
    /// (gateways), another one may be creating, importing or deleting them right now. Zero in one process.
    /// </param>
    /// <param name="failed">
    /// Told of a tenant that could not be finished now (its store node down, say); the others are still finished, and
    /// the next start tries again. Without it, the first failure is thrown.
    /// </param>
    public async Task<int> RecoverAsync(TimeSpan settledFor = default, Action<TenantId, Exception>? failed = null)
    {
        var done = 0;
        var now = _time.GetUtcNow();
        foreach (var t in catalog.InStatus(TenantStatus.Provisioning, TenantStatus.Deleting))
        {
            var events = catalog.Events(t.Id);
            if (settledFor > TimeSpan.Zero && events.Count > 0 && now - events[^1].At < settledFor)
            {
                continue;
            }

            try
            {
                if (t.Status == TenantStatus.Deleting)
                {
                    await FinishDeletingAsync(t.Id, "recovery");
                }
                else if (events is [{ Action: TenantCatalog.ImportAction }, ..])
                {
                    await AbandonImportAsync(t.Id);
                }
                else
                {
                    await FinishProvisioningAsync(t.Id, "recovery");
                }

                done++;
            }
            catch (Exception e) when (failed is not null && e is StorageException or System.Data.Common.DbException)
            {
                failed(t.Id, e);
            }
        }

        return done;
    }

    /// <summary>Bytes the tenant's store takes on disk, without opening it.</summary>
    public Task<long> BytesOnDiskAsync(TenantId id, CancellationToken ct = default) => engine.BytesOnDiskAsync(id, ct);

    /// <summary>
    /// Undoes an import that did not finish: erases the store it was writing (when <paramref name="eraseStore"/>: only
    /// the import that created the store may erase it) and removes the provisioning record with its events and
    /// settings, so the id is free again. A tenant that has left <c>provisioning</c> meanwhile keeps its record.
    /// </summary>
    public async Task AbandonImportAsync(TenantId id, bool eraseStore = true)
    {
        if (eraseStore)
        {
            await engine.EraseTenantAsync(id);
        }

        catalog.Forget(id);
    }

    /// <summary>The store of a tenant, reached only through this handle.</summary>
    public ITenantStore Store(TenantId id) => engine.Tenant(id);

    private async Task<TenantRecord> FinishProvisioningAsync(TenantId id, string actor)
    {
        if (!await engine.TenantExistsAsync(id))
        {
            try
            {
                await engine.CreateTenantAsync(id);
            }
            catch (TenantAlreadyExistsException)
            {
                // another process finished it meanwhile
            }
        }

        return catalog.Transition(id, [TenantStatus.Provisioning], TenantStatus.Active, actor) ?? catalog.Find(id)!;
    }

    private async Task<TenantRecord> FinishDeletingAsync(TenantId id, string actor)
    {
        var before = witness is null ? null : await witness.BeforeAsync(id);
        var erased = await engine.EraseTenantAsync(id);
        witness?.After(id, actor, erased, before);
        return catalog.Transition(id, [TenantStatus.Deleting], TenantStatus.Deleted, actor) ?? catalog.Find(id)!;
    }
}

/// <summary>
/// What proves a tenant's erasure, told of each one as it happens: <see cref="BeforeAsync"/> reads, before the keys are
/// destroyed, what the proof must name (the audit log's last entry), and <see cref="After"/> keeps the proof (a signed
/// receipt). Core's service registration composes it from the audit trail, so the tenant lifecycle does not depend on
/// it. A failure in <see cref="After"/> propagates: the tenant stays <c>deleting</c> and recovery finishes it.
/// </summary>
/// <param name="BeforeAsync">Reads what the proof names, before the erasure; its result is passed to <paramref name="After"/>.</param>
/// <param name="After">Keeps the proof: the tenant, the actor, what the engine erased, and what <paramref name="BeforeAsync"/> read.</param>
public sealed record ErasureWitness(Func<TenantId, Task<string?>> BeforeAsync, Action<TenantId, string, Storage.Model.TenantErasure, string?> After);
