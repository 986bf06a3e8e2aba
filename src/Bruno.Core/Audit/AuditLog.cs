using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Core.Audit;

/// <summary>Which entries to read: filters (all optional, combined with AND), a position to start after, and a page size.</summary>
public sealed record AuditQuery
{
    /// <summary>Only this action.</summary>
    public string? Action { get; init; }

    /// <summary>Only this actor.</summary>
    public string? Actor { get; init; }

    /// <summary>Only this result.</summary>
    public string? Result { get; init; }

    /// <summary>Only entries at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Only entries before this time.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Start after this position (0: from the start).</summary>
    public long After { get; init; }

    /// <summary>Page size, 1-1,000.</summary>
    public int Limit { get; init; } = 100;
}

/// <summary>One page of entries and where the next starts (null at the end).</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long? Next);

/// <summary>What a verification of a tenant's log found: how many entries and checkpoints it checked, and every problem.</summary>
public sealed record AuditVerification(int Entries, int Checkpoints, IReadOnlyList<AuditFinding> Findings)
{
    /// <summary>Whether the log is intact (no finding).</summary>
    public bool Intact => Findings.Count == 0;
}

/// <summary>
/// Each tenant's tamper-evident audit log. Entries live in the tenant's own encrypted store (collection
/// <c>audit</c>, one row per entry, erased with the tenant); each hashes the one before, and signed checkpoints of the
/// head are written to the catalog every <see cref="CheckpointEvery"/> entries and by <see cref="CheckpointAsync"/>.
/// Appends of one tenant are serialised; each is durable when its task completes. Throws what the store throws
/// (<see cref="TenantNotFoundException"/> for a tenant without a store, <see cref="StorageException"/> otherwise),
/// having written nothing.
/// </summary>
public sealed class AuditLog
{
    /// <summary>The collection of the tenant's store that holds the log.</summary>
    public const string CollectionName = "audit";

    /// <summary>A checkpoint is signed after this many entries.</summary>
    public const int CheckpointEvery = 100;

    private static readonly CollectionSpec Spec = new(CollectionName, 1, "none", VectorMetric.Dot);
    private static readonly ReadOnlyMemory<float> NoVector = new[] { 1f };

    private readonly TenantService _tenants;
    private readonly CatalogDatabase _db;
    private readonly PlatformSigner _signer;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<TenantId, Head> _heads = new();

    /// <summary>The log over <paramref name="tenants"/>' stores, with checkpoints in <paramref name="db"/>.</summary>
    public AuditLog(TenantService tenants, CatalogDatabase db, PlatformSigner signer, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        (_tenants, _db, _signer, _time) = (tenants, db, signer, time ?? TimeProvider.System);
    }

    /// <summary>The public key that signs this installation's checkpoints.</summary>
    public string PublicKeyPem => _signer.PublicKeyPem;

    /// <summary>Appends one entry; returns it (with its position and hash).</summary>
    public async Task<AuditEntry> AppendAsync(TenantId tenant, AuditEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var head = _heads.GetOrAdd(tenant, _ => new Head());
        await head.Gate.WaitAsync();
        try
        {
            // Gateways share tenants: the next position is taken under a lock every process sharing the catalog honours,
            // and the head is checked against the store inside it, so two processes never write the same position.
            await using var shared = await _db.LockAsync("audit:" + tenant.Value);
            var collection = await _tenants.Store(tenant).EnsureCollectionAsync(Spec);
            if (!head.Loaded || !await IsHeadAsync(collection, head.Last))
            {
                head.Last = (await collection.LatestAsync(Filter.All, 1)).Select(Parse).FirstOrDefault();
                head.Loaded = true;
            }

            var flags = _tenants.Find(tenant)?.Profile.Flags ?? [];
            var entry = AuditEntry.Next(head.Last, _time.GetUtcNow(), tenant.Value, Clean(e), flags);
            await collection.UpsertAsync([ToRow(entry)]);
            head.Last = entry;
            if (entry.Seq % CheckpointEvery == 0)
            {
                Sign(tenant, entry);
            }

            return entry;
        }
        catch
        {
            head.Loaded = false; // the store may have changed under us (erased, imported): read the head again next time
            throw;
        }
        finally
        {
            head.Gate.Release();
        }
    }

    /// <summary>One page of entries matching <paramref name="query"/>, in log order.</summary>
    public async Task<AuditPage> ReadAsync(TenantId tenant, AuditQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(query.Limit, 1000);
        ArgumentOutOfRangeException.ThrowIfNegative(query.After);
        var filter = Filter.All.CreatedBetween(query.From, query.To);
        foreach (var (key, value) in new[] { ("action", query.Action), ("actor", query.Actor), ("result", query.Result) })
        {
            if (value is not null)
            {
                filter = filter.Where(key, MetadataValue.String(value));
            }
        }

        var collection = await _tenants.Store(tenant).EnsureCollectionAsync(Spec);
        var rows = await collection.ListAsync(filter, query.After == 0 ? null : RowId(query.After), query.Limit);
        var entries = rows.Select(Parse).ToList();
        return new AuditPage(entries, entries.Count == query.Limit ? entries[^1].Seq : null);
    }

    /// <summary>Every entry, in stored order (for verification and export).</summary>
    public async Task<IReadOnlyList<AuditEntry>> ReadAllAsync(TenantId tenant)
    {
        var collection = await _tenants.Store(tenant).EnsureCollectionAsync(Spec);
        return [.. (await collection.ReadAllAsync()).OrderBy(r => r.Id, StringComparer.Ordinal).Select(Parse)];
    }

    /// <summary>
    /// Checks the tenant's whole log against its chain and its signed checkpoints (<see cref="AuditVerifier"/>), with
    /// this installation's public key as the one trusted to have signed them (every process of an installation signs
    /// with the same key). A stored row that is not an entry at all is a finding too, at its position.
    /// </summary>
    public async Task<AuditVerification> VerifyAsync(TenantId tenant)
    {
        var collection = await _tenants.Store(tenant).EnsureCollectionAsync(Spec);
        var entries = new List<AuditEntry>();
        var unreadable = new List<AuditFinding>();
        foreach (var row in (await collection.ReadAllAsync()).OrderBy(r => r.Id, StringComparer.Ordinal))
        {
            try
            {
                entries.Add(Parse(row));
            }
            catch (JsonException)
            {
                unreadable.Add(new AuditFinding(long.TryParse(row.Id, NumberStyles.None, CultureInfo.InvariantCulture, out var seq) ? seq : 0, "entry cannot be read (the row is not an audit entry)"));
            }
        }

        var checkpoints = Checkpoints(tenant);
        var trusted = TrustedKey.FromPem(_signer.PublicKeyPem);
        try
        {
            var findings = AuditVerifier.Verify(tenant.Value, entries, checkpoints, [trusted]);
            return new AuditVerification(entries.Count + unreadable.Count, checkpoints.Count, [.. findings.Concat(unreadable).OrderBy(f => f.Seq)]);
        }
        finally
        {
            trusted.Key.Dispose();
        }
    }

    /// <summary>The tenant's signed checkpoints, oldest first.</summary>
    public IReadOnlyList<AuditCheckpoint> Checkpoints(TenantId tenant) => _db.Query(
        "SELECT tenant, seq, hash, at, key_id, signature FROM audit_checkpoints WHERE tenant = @t ORDER BY seq;",
        r => new AuditCheckpoint(r.GetString(0), r.GetInt64(1), r.GetString(2), new DateTimeOffset(r.GetInt64(3), TimeSpan.Zero), r.GetString(4), r.GetString(5)),
        ("@t", tenant.Value));

    /// <summary>Signs a checkpoint of the log's current head unless one exists; null for an empty log.</summary>
    public async Task<AuditCheckpoint?> CheckpointAsync(TenantId tenant)
    {
        var head = _heads.GetOrAdd(tenant, _ => new Head());
        await head.Gate.WaitAsync();
        try
        {
            // Gateways share tenants: the next position is taken under a lock every process sharing the catalog honours,
            // and the head is checked against the store inside it, so two processes never write the same position.
            await using var shared = await _db.LockAsync("audit:" + tenant.Value);
            var collection = await _tenants.Store(tenant).EnsureCollectionAsync(Spec);
            var last = (await collection.LatestAsync(Filter.All, 1)).Select(Parse).FirstOrDefault();
            return last is null ? null : Sign(tenant, last);
        }
        finally
        {
            head.Gate.Release();
        }
    }

    /// <summary>
    /// Removes the entries older than <paramref name="before"/> (retention), after signing a checkpoint of the last one
    /// removed so that what remains still verifies. Returns how many were removed.
    /// </summary>
    public async Task<long> PruneAsync(TenantId tenant, DateTimeOffset before)
    {
        var head = _heads.GetOrAdd(tenant, _ => new Head());
        await head.Gate.WaitAsync();
        try
        {
            // Gateways share tenants: the next position is taken under a lock every process sharing the catalog honours,
            // and the head is checked against the store inside it, so two processes never write the same position.
            await using var shared = await _db.LockAsync("audit:" + tenant.Value);
            var collection = await _tenants.Store(tenant).EnsureCollectionAsync(Spec);
            var old = Filter.All.CreatedBetween(null, before);
            var lastOld = (await collection.LatestAsync(old, 1)).Select(Parse).FirstOrDefault();
            if (lastOld is null)
            {
                return 0;
            }

            Sign(tenant, lastOld);
            return await collection.DeleteWhereAsync(old);
        }
        finally
        {
            head.Gate.Release();
        }
    }

    /// <summary>Forgets cached heads of a tenant whose store was replaced or erased.</summary>
    public void Forget(TenantId tenant) => _heads.TryRemove(tenant, out _);

    /// <summary>The stored row of an entry (id: the position, 19 digits, so id order is log order).</summary>
    public static StoredRow ToRow(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new StoredRow
        {
            Id = RowId(entry.Seq),
            Text = JsonSerializer.Serialize(entry, AuditJson.Options),
            Vector = NoVector,
            CreatedAt = entry.At,
            Metadata = new Dictionary<string, MetadataValue>
            {
                ["action"] = MetadataValue.String(entry.Action),
                ["actor"] = MetadataValue.String(entry.Actor),
                ["result"] = MetadataValue.String(entry.Result),
            },
        };
    }

    /// <summary>
    /// The tenant's last audit entry as <c>seq:hash</c> (what an erasure receipt says the log ended with), or null when
    /// the tenant has no store, no log, or a log that cannot be read any more (the receipt then says so).
    /// </summary>
    public static async Task<string?> HeadAsync(IStorageEngine engine, TenantId tenant)
    {
        ArgumentNullException.ThrowIfNull(engine);
        try
        {
            if (!await engine.TenantExistsAsync(tenant) || await engine.Tenant(tenant).Collection(CollectionName).LatestAsync(Filter.All, 1) is not [var last, ..])
            {
                return null;
            }

            var entry = Parse(last);
            return $"{entry.Seq}:{entry.Hash}";
        }
        catch (StorageException)
        {
            return null;
        }
    }

    /// <summary>Reads an entry back from its row; throws <see cref="JsonException"/> for a row that is not one.</summary>
    public static AuditEntry Parse(StoredRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return JsonSerializer.Deserialize<AuditEntry>(row.Text, AuditJson.Options) ?? throw new JsonException("empty audit row");
    }

    /// <summary>Whether <paramref name="last"/> is still the newest entry (another process may have appended since).</summary>
    private static async Task<bool> IsHeadAsync(ITenantCollection collection, AuditEntry? last) =>
        await collection.GetAsync(RowId((last?.Seq ?? 0) + 1)) is null
        && (last is null ? await collection.CountAsync() == 0 : (await collection.GetAsync(RowId(last.Seq)))?.Text == JsonSerializer.Serialize(last, AuditJson.Options));

    private static string RowId(long seq) => seq.ToString("D19", CultureInfo.InvariantCulture);

    private static AuditEvent Clean(AuditEvent e) => e with
    {
        Actor = Bound(e.Actor),
        Action = Bound(e.Action),
        Resource = Bound(e.Resource),
        Result = Bound(e.Result),
        RequestId = e.RequestId is null ? null : Bound(e.RequestId),
    };

    private static string Bound(string? s)
    {
        var clean = new string((s ?? string.Empty).Where(ch => !char.IsControl(ch)).Take(256).ToArray());
        return clean.Length == 0 ? "-" : clean;
    }

    private AuditCheckpoint Sign(TenantId tenant, AuditEntry entry)
    {
        var at = _time.GetUtcNow();
        var checkpoint = new AuditCheckpoint(tenant.Value, entry.Seq, entry.Hash, new DateTimeOffset(at.UtcTicks, TimeSpan.Zero), _signer.KeyId,
            _signer.Sign(AuditCheckpoint.SignedBytes(tenant.Value, entry.Seq, entry.Hash, at)));
        _db.Execute(
            "INSERT INTO audit_checkpoints(tenant, seq, hash, at, key_id, signature) VALUES (@t, @s, @h, @a, @k, @g) ON CONFLICT (tenant, seq) DO NOTHING;",
            ("@t", tenant.Value), ("@s", entry.Seq), ("@h", entry.Hash), ("@a", checkpoint.At.UtcTicks), ("@k", checkpoint.KeyId), ("@g", checkpoint.Signature));
        return Checkpoints(tenant).First(c => c.Seq == entry.Seq);
    }

    private sealed class Head
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public bool Loaded { get; set; }

        public AuditEntry? Last { get; set; }
    }
}

/// <summary>The JSON form of audit entries and checkpoints (snake_case), shared by the store, the API and the CLI.</summary>
public static class AuditJson
{
    /// <summary>Serializer options.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
