using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Portability;

/// <summary>What an export wrote.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Collections">Collections written.</param>
/// <param name="Rows">Rows written, over all collections.</param>
/// <param name="Bytes">Size of the bundle.</param>
public sealed record BundleSummary(string Tenant, int Collections, long Rows, long Bytes);

/// <summary>A tenant's collections with their row counts and digests (<see cref="TenantBundles.InventoryAsync"/>).</summary>
/// <param name="Tenant">The tenant's id.</param>
/// <param name="Collections">Its collections, in the store's order.</param>
public sealed record TenantInventory(string Tenant, IReadOnlyList<CollectionInventory> Collections);

/// <summary>One collection: its name, rows and the SHA-256 digest of its rows in id order, in hex.</summary>
/// <param name="Name">The collection's name.</param>
/// <param name="Rows">Rows it holds.</param>
/// <param name="Digest">Digest of its rows.</param>
public sealed record CollectionInventory(string Name, long Rows, string Digest);

/// <summary>
/// Portable tenant bundles (docs/decisions/0012): everything a tenant owns in its store — every collection's spec and
/// every row, exactly — and its catalog settings (display name, plan, isolation, compliance, retrieval overrides,
/// memory retention), encrypted under a key derived from an operator's passphrase, in authenticated chunks with a
/// checksum. API keys are not carried: they belong to an installation.
/// </summary>
/// <remarks>
/// Failures: <see cref="ArgumentException"/> for a passphrase or setting that breaks a rule; <see cref="TenantStateException"/>
/// for a tenant that cannot be exported in its state; <see cref="TenantExistsException"/> when the target id is taken;
/// <see cref="BundleException"/> for a bundle that is not one, is of another version, does not open with the passphrase, is
/// truncated or damaged. An import that fails for any reason leaves nothing behind: no catalog record, no store.
/// </remarks>
public sealed partial class TenantBundles(TenantCatalog catalog, TenantService tenants, IStorageEngine engine, IOptions<BrunoOptions> options, ILogger<TenantBundles>? logger = null, TimeProvider? time = null)
{
    /// <summary>Rows read from the store per page while exporting and verifying.</summary>
    private const int PageRows = 1_000;

    /// <summary>Rows written to the store per batch while importing (each batch is one commit).</summary>
    private const int BatchRows = 1_000;

    private const long BatchBytes = 16L << 20;

    private readonly ILogger _logger = logger ?? NullLogger<TenantBundles>.Instance;
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>
    /// Checks the passphrase and the tenant, reads its settings and derives the bundle's key (the slow part, on purpose),
    /// so that every refusal comes before a byte is written. Null when the catalog does not know the tenant; throws
    /// <see cref="TenantStateException"/> unless it is active, suspended or offloaded, and <see cref="ArgumentException"/>
    /// for a passphrase that breaks the rules of <see cref="BundlePassphrase"/>.
    /// </summary>
    public TenantExport? BeginExport(TenantId id, string passphrase)
    {
        BundlePassphrase.Validate(passphrase);
        var record = catalog.Find(id);
        if (record is null)
        {
            return null;
        }

        if (record.Status is not (TenantStatus.Active or TenantStatus.Suspended or TenantStatus.Offloaded))
        {
            throw new TenantStateException($"Cannot export a tenant that is {record.Status.ToString().ToLowerInvariant()} (it must be active, suspended or offloaded).");
        }

        var (retention, consolidated) = catalog.FindMemory(id);
        var settings = new BundleSettings(
            record.DisplayName, record.Profile.Plan, record.Profile.Isolation, record.Profile.Flags, catalog.FindRetrieval(id), retention, consolidated,
            record.Status.ToString().ToLowerInvariant(), record.CreatedAt);
        var salt = RandomNumberGenerator.GetBytes(BundleHeader.SaltBytes);
        var key = BundleKey.Derive(passphrase, salt, BundleHeader.MinIterations);
        var header = new BundleHeader(id, _time.GetUtcNow(), BundleHeader.MinIterations, salt, options.Value.Bundles.ChunkBytes, key.Check);
        return new TenantExport(this, header, key, settings, record.Status == TenantStatus.Offloaded);
    }

    /// <summary>
    /// Creates a tenant from the bundle in <paramref name="bundle"/> (readable and seekable, positioned at the bundle's
    /// start), under <paramref name="target"/> or the id the bundle was exported from. First the whole bundle is read and
    /// checked (passphrase, every chunk, every record, every checksum) with nothing created; then the tenant is recorded as
    /// <c>provisioning</c>, its store created and filled, every collection read back and compared with the bundle's
    /// digests, its settings applied, and only then is it <c>active</c>. Any failure after the record was made removes
    /// the store and the record again (and a crash is undone at the next start by <see cref="TenantService.RecoverAsync"/>).
    /// Returns the active tenant. Fails as the class remarks say.
    /// </summary>
    public async Task<TenantRecord> ImportAsync(Stream bundle, string passphrase, TenantId? target, string actor, CancellationToken ct = default) =>
        await ImportAsync(bundle, passphrase, target, actor, isolation: null, ct);

    /// <summary>
    /// As <see cref="ImportAsync(Stream, string, TenantId?, string, CancellationToken)"/>, with the tenant placed at
    /// <paramref name="isolation"/> instead of the bundle's level (a move between levels); an unknown level is an
    /// <see cref="ArgumentException"/> before anything is created.
    /// </summary>
    public async Task<TenantRecord> ImportAsync(Stream bundle, string passphrase, TenantId? target, string actor, string? isolation, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        if (!bundle.CanRead || !bundle.CanSeek)
        {
            throw new ArgumentException("An import reads the bundle twice: pass a readable, seekable stream.", nameof(bundle));
        }

        BundlePassphrase.Validate(passphrase);
        var start = bundle.Position;
        var (header, headerBytes) = await BundleHeader.ReadAsync(bundle, ct);
        var id = target ?? header.Tenant;
        if (catalog.Find(id) is not null)
        {
            throw new TenantExistsException(id.Value); // before the slow part; creating the record checks again
        }

        using var key = BundleKey.Derive(passphrase, header.Salt, header.Iterations);
        if (!key.Opens(header))
        {
            throw new BundleException(BundleFailure.WrongPassphrase, "The passphrase does not open this bundle.");
        }

        var headerHash = SHA256.HashData(headerBytes);
        BundleContents contents;
        using (var opener = new ChunkOpener(bundle, key.Encryption, headerHash, header.ChunkBytes))
        {
            contents = await ReadPayloadAsync(opener, null, ct);
        }

        var settings = isolation is null ? contents.Settings : contents.Settings with { Isolation = isolation };
        var profile = Profile(settings);
        catalog.Create(id, settings.DisplayName, profile, TenantStatus.Provisioning, actor, TenantCatalog.ImportAction);
        var storeCreated = false;
        try
        {
            try
            {
                await engine.CreateTenantAsync(id, ct);
                storeCreated = true;
            }
            catch (TenantAlreadyExistsException)
            {
                throw new TenantExistsException(id.Value); // a store without a record: not ours to fill, nor to erase
            }

            var store = engine.Tenant(id);
            bundle.Position = start;
            await BundleHeader.ReadAsync(bundle, ct);
            using (var opener = new ChunkOpener(bundle, key.Encryption, headerHash, header.ChunkBytes))
            {
                await ReadPayloadAsync(opener, new StoreSink(store), ct);
            }

            await VerifyAsync(store, contents, ct);
            if (settings.Retrieval is { } retrieval)
            {
                catalog.SetRetrieval(id, retrieval);
            }

            if (settings.MemoryRetentionDays is { } days)
            {
                catalog.SetMemoryRetention(id, days);
            }

            if (settings.MemoryConsolidatedUntil is { } until)
            {
                catalog.SetConsolidatedUntil(id, until);
            }

            var active = catalog.Transition(id, [TenantStatus.Provisioning], TenantStatus.Active, actor)
                ?? throw new TenantStateException($"Tenant '{id.Value}' left provisioning while it was being imported; the import was undone.");
            LogImported(_logger, id.Value, header.Tenant.Value, contents.Collections.Count, contents.Rows);
            return active;
        }
        catch (Exception e)
        {
            try
            {
                await tenants.AbandonImportAsync(id, storeCreated);
                LogUndone(_logger, id.Value, e.GetType().Name);
            }
            catch (Exception undo) when (undo is StorageException or IOException or System.Data.Common.DbException)
            {
                LogUndoFailed(_logger, id.Value, undo); // the next start finishes it (the record is still provisioning)
            }

            throw;
        }
    }

    /// <summary>Writes one export: header, then the payload in sealed chunks, reading each collection page by page.</summary>
    internal async Task<BundleSummary> WriteAsync(BundleHeader header, BundleKey key, BundleSettings settings, bool closeAfter, Stream output, CancellationToken ct)
    {
        var counted = new CountingStream(output);
        var headerBytes = header.Encode();
        await counted.WriteAsync(headerBytes, ct);
        using var sealer = new ChunkSealer(counted, key.Encryption, SHA256.HashData(headerBytes), header.ChunkBytes);
        using var payload = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new ArrayBufferWriter<byte>(64 << 10);

        async Task EmitAsync(bool hashed = true)
        {
            if (hashed)
            {
                payload.AppendData(buffer.WrittenSpan);
            }

            await sealer.WriteAsync(buffer.WrittenMemory, ct);
            buffer.ResetWrittenCount();
        }

        BundleRecords.Tenant(buffer, settings);
        await EmitAsync();
        var store = engine.Tenant(header.Tenant);
        var specs = await store.ListCollectionsAsync(ct);
        long total = 0;
        foreach (var spec in specs)
        {
            BundleRecords.Collection(buffer, spec);
            await EmitAsync();
            using var digest = new RowDigest();
            var collection = store.Collection(spec.Name);
            string? after = null;
            while (true)
            {
                var page = await collection.ListAsync(Filter.All, after, PageRows, ct);
                foreach (var row in page)
                {
                    var start = buffer.WrittenCount;
                    BundleRecords.Row(buffer, row);
                    digest.Add(buffer.WrittenSpan[start..]);
                    if (buffer.WrittenCount >= 1 << 20)
                    {
                        await EmitAsync();
                    }
                }

                if (page.Count < PageRows)
                {
                    break;
                }

                after = page[^1].Id;
            }

            total += digest.Rows;
            BundleRecords.CollectionEnd(buffer, digest.Rows, digest.Finish());
            await EmitAsync();
        }

        BundleRecords.End(buffer, specs.Count, total, payload.GetHashAndReset());
        await EmitAsync(hashed: false);
        await sealer.CompleteAsync(ct);
        if (closeAfter)
        {
            await engine.CloseTenantAsync(header.Tenant, ct); // it was offloaded: leave it closed again
        }

        LogExported(_logger, header.Tenant.Value, specs.Count, total, counted.Written);
        return new BundleSummary(header.Tenant.Value, specs.Count, total, counted.Written);
    }

    /// <summary>The bundle's profile, checked against this installation's plans and rules (nothing is created when it fails).</summary>
    private TenantProfile Profile(BundleSettings settings)
    {
        var profile = new TenantProfile(settings.Plan, settings.Isolation, settings.Compliance);
        try
        {
            profile.Validated(options.Value.Plans.Keys);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The bundle's tenant does not fit this installation: {e.Message}");
        }

        var errors = Retrieval.RetrievalOptionsValidator.Errors(options.Value.Retrieval.With(settings.Retrieval)).ToList();
        if (errors.Count > 0 || settings.MemoryRetentionDays is < 1 or > Tenants.MemoryPolicy.MaxRetentionDays)
        {
            throw new ArgumentException("The bundle's tenant settings do not fit this installation: " + (errors.Count > 0 ? string.Join(" ", errors) : "memory retention out of range."));
        }

        return profile;
    }

    /// <summary>
    /// Reads a whole payload, checking its order, every collection's count and digest, and the payload's checksum;
    /// hands the content to <paramref name="sink"/> as it goes (null: check only).
    /// </summary>
    private static async Task<BundleContents> ReadPayloadAsync(ChunkOpener opener, IBundleSink? sink, CancellationToken ct)
    {
        using var payload = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var lengthBytes = new byte[4];
        byte[] buffer = [];
        long payloadBytes = 0;

        async Task<(RecordType Type, ReadOnlyMemory<byte> Record)> NextAsync()
        {
            await opener.ReadExactlyAsync(lengthBytes, ct);
            var length = BinaryPrimitives.ReadInt32LittleEndian(lengthBytes);
            if (length is < 1 or > BundleRecords.MaxRecordBytes)
            {
                throw BundleException.Damaged("a record has an impossible length.");
            }

            if (buffer.Length < 4 + length)
            {
                buffer = new byte[Math.Max(4 + length, buffer.Length * 2)];
            }

            lengthBytes.CopyTo(buffer, 0);
            await opener.ReadExactlyAsync(buffer.AsMemory(4, length), ct);
            payloadBytes += 4 + length;
            return ((RecordType)buffer[4], buffer.AsMemory(0, 4 + length));
        }

        var (type, record) = await NextAsync();
        if (type != RecordType.Tenant)
        {
            throw BundleException.Damaged("it does not start with its tenant record.");
        }

        payload.AppendData(record.Span);
        var settings = BundleRecords.ReadTenant(record.Span[5..]);
        var collections = new List<BundleCollection>();
        long rows = 0;
        string? previousName = null;
        while (true)
        {
            (type, record) = await NextAsync();
            if (type == RecordType.End)
            {
                var (count, total, hash) = BundleRecords.ReadEnd(record.Span[5..]);
                if (!CryptographicOperations.FixedTimeEquals(hash, payload.GetHashAndReset()))
                {
                    throw BundleException.Damaged("its checksum does not match its content.");
                }

                if (count != collections.Count || total != rows)
                {
                    throw BundleException.Damaged("its totals do not match its content.");
                }

                await opener.EndAsync(ct);
                return new BundleContents(settings, collections, rows, payloadBytes);
            }

            if (type != RecordType.Collection)
            {
                throw BundleException.Damaged("its records are out of order.");
            }

            payload.AppendData(record.Span);
            var spec = BundleRecords.ReadCollection(record.Span[5..]);
            if (previousName is not null && string.CompareOrdinal(spec.Name, previousName) <= 0)
            {
                throw BundleException.Damaged("its collections are out of order.");
            }

            previousName = spec.Name;
            if (sink is not null)
            {
                await sink.CollectionAsync(spec, ct);
            }

            using var digest = new RowDigest();
            string? previousId = null;
            while (true)
            {
                (type, record) = await NextAsync();
                payload.AppendData(record.Span);
                if (type == RecordType.CollectionEnd)
                {
                    var (count, expected) = BundleRecords.ReadCollectionEnd(record.Span[5..]);
                    if (count != digest.Rows || !CryptographicOperations.FixedTimeEquals(expected, digest.Finish()))
                    {
                        throw BundleException.Damaged($"collection '{spec.Name}' does not match its checksum.");
                    }

                    rows += count;
                    collections.Add(new BundleCollection(spec, count, expected));
                    if (sink is not null)
                    {
                        await sink.CollectionEndAsync(ct);
                    }

                    break;
                }

                if (type != RecordType.Row)
                {
                    throw BundleException.Damaged("its records are out of order.");
                }

                var row = BundleRecords.ReadRow(record.Span[5..], spec);
                if (previousId is not null && string.CompareOrdinal(row.Id, previousId) <= 0)
                {
                    throw BundleException.Damaged($"the rows of collection '{spec.Name}' are out of order.");
                }

                previousId = row.Id;
                digest.Add(record.Span);
                if (sink is not null)
                {
                    await sink.RowAsync(row, ct);
                }
            }
        }
    }

    /// <summary>Reads every collection back from the store and compares it with the bundle: same specs, same row digests.</summary>
    private static async Task VerifyAsync(ITenantStore store, BundleContents contents, CancellationToken ct)
    {
        var specs = await store.ListCollectionsAsync(ct);
        if (!specs.SequenceEqual(contents.Collections.Select(c => c.Spec)))
        {
            throw new InvalidOperationException("The imported tenant's collections differ from the bundle's.");
        }

        foreach (var expected in contents.Collections)
        {
            ct.ThrowIfCancellationRequested();
            var (rows, digest) = await DigestAsync(store, expected.Spec.Name, ct);
            if (rows != expected.Rows || !CryptographicOperations.FixedTimeEquals(digest, expected.Digest))
            {
                throw new InvalidOperationException($"Collection '{expected.Spec.Name}' does not read back as the bundle holds it.");
            }
        }
    }

    /// <summary>
    /// Every collection of the tenant with its row count and the digest of its rows (the digest a bundle carries): two
    /// installations holding the same tenant give the same inventory. Null for an unknown or deleted tenant; an
    /// offloaded tenant is opened for it and closed again.
    /// </summary>
    public async Task<TenantInventory?> InventoryAsync(TenantId id, CancellationToken ct = default)
    {
        var record = catalog.Find(id);
        if (record is null || record.Status is TenantStatus.Deleting or TenantStatus.Deleted or TenantStatus.Provisioning)
        {
            return null;
        }

        var store = engine.Tenant(id);
        var collections = new List<CollectionInventory>();
        try
        {
            foreach (var spec in await store.ListCollectionsAsync(ct))
            {
                var (rows, digest) = await DigestAsync(store, spec.Name, ct);
                collections.Add(new CollectionInventory(spec.Name, rows, Convert.ToHexStringLower(digest)));
            }
        }
        finally
        {
            if (record.Status == TenantStatus.Offloaded)
            {
                await engine.CloseTenantAsync(id, CancellationToken.None);
            }
        }

        return new TenantInventory(id.Value, collections);
    }

    private static async Task<(long Rows, byte[] Digest)> DigestAsync(ITenantStore store, string name, CancellationToken ct)
    {
        using var digest = new RowDigest();
        var collection = store.Collection(name);
        string? after = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var page = await collection.ListAsync(Filter.All, after, PageRows, ct);
            foreach (var row in page)
            {
                digest.Add(row);
            }

            if (page.Count < PageRows)
            {
                break;
            }

            after = page[^1].Id;
        }

        return (digest.Rows, digest.Finish());
    }

    [LoggerMessage(EventId = 4020, Level = LogLevel.Information, Message = "Exported tenant {Tenant}: {Collections} collections, {Rows} rows, {Bytes} bytes")]
    private static partial void LogExported(ILogger logger, string tenant, int collections, long rows, long bytes);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Information, Message = "Imported tenant {Tenant} from a bundle of tenant {Source}: {Collections} collections, {Rows} rows")]
    private static partial void LogImported(ILogger logger, string tenant, string source, int collections, long rows);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Import of tenant {Tenant} failed ({Failure}); what it had created was removed")]
    private static partial void LogUndone(ILogger logger, string tenant, string failure);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Import of tenant {Tenant} failed and could not be undone; the next start removes it")]
    private static partial void LogUndoFailed(ILogger logger, string tenant, Exception exception);

    /// <summary>Writes the rows of the second pass into the new store, in batches.</summary>
    private sealed class StoreSink(ITenantStore store) : IBundleSink
    {
        private readonly List<StoredRow> _batch = new(BatchRows);
        private ITenantCollection? _collection;
        private long _bytes;

        public async Task CollectionAsync(CollectionSpec spec, CancellationToken ct) => _collection = await store.EnsureCollectionAsync(spec, ct);

        public async Task RowAsync(StoredRow row, CancellationToken ct)
        {
            _batch.Add(row);
            _bytes += (row.Text.Length * 2L) + (row.Vector.Length * 4L);
            if (_batch.Count >= BatchRows || _bytes >= BatchBytes)
            {
                await FlushAsync(ct);
            }
        }

        public Task CollectionEndAsync(CancellationToken ct) => FlushAsync(ct);

        private async Task FlushAsync(CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            if (_batch.Count > 0)
            {
                await _collection!.UpsertAsync([.. _batch], ct);
                _batch.Clear();
                _bytes = 0;
            }
        }
    }

    /// <summary>Counts the bytes written through it (the response stream of an export cannot say).</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => Written; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Written += count;
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            Written += buffer.Length;
        }
    }
}

/// <summary>
/// An export ready to be written: the tenant's settings read and the bundle's key derived, so that nothing can be
/// refused any more except by failures while writing (the tenant erased meanwhile, the output closed). Rows written to
/// the tenant while the export runs may or may not be in it; suspend the tenant first for a copy of one instant.
/// Dispose to wipe the key.
/// </summary>
public sealed class TenantExport : IDisposable
{
    private readonly TenantBundles _bundles;
    private readonly BundleHeader _header;
    private readonly BundleKey _key;
    private readonly BundleSettings _settings;
    private readonly bool _closeAfter;

    internal TenantExport(TenantBundles bundles, BundleHeader header, BundleKey key, BundleSettings settings, bool closeAfter) =>
        (_bundles, _header, _key, _settings, _closeAfter) = (bundles, header, key, settings, closeAfter);

    /// <summary>The tenant.</summary>
    public TenantId Tenant => _header.Tenant;

    /// <summary>A file name for the bundle: the tenant and the export's time.</summary>
    public string FileName => $"{_header.Tenant.Value}-{_header.CreatedAt.UtcDateTime:yyyyMMdd-HHmmss}.bundle";

    /// <summary>
    /// Writes the bundle to <paramref name="output"/> (asynchronously; it is not flushed to disk, nor closed). Throws the
    /// store's exceptions if the tenant goes away meanwhile; what was written is then an unfinished bundle, which no
    /// import accepts.
    /// </summary>
    public Task<BundleSummary> WriteToAsync(Stream output, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        return _bundles.WriteAsync(_header, _key, _settings, _closeAfter, output, ct);
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
