using System.Net;
using Bruno.Cluster.Remote;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Bruno.Storage.Telemetry;
using Bruno.Testing;

namespace Bruno.Cluster.Tests;

/// <summary>
/// A store node (<c>--role store</c>, in process, on real Kestrel and HTTP/2) reached through
/// <see cref="RemoteStorageEngine"/>: the same answers as the local engine for the same operations, the engine's own
/// exception types across the wire, the cluster token required, and nothing but health and metrics on its main port.
/// </summary>
public sealed class RemoteStoreTests : IAsyncLifetime
{
    private const string Token = "store-test-token-0123456789abcdefghij";
    private readonly string _localRoot = Path.Combine(Path.GetTempPath(), "bruno-local-" + Guid.NewGuid().ToString("N"));
    private RunningServer _node = null!;
    private RemoteStorageEngine _remote = null!;
    private StorageEngine _local = null!;
    private Uri _grpc = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var catalog = TestPostgres.NewDatabase();
        (_node, var port) = await RunningServer.StartOnFreePortAsync(port => new Dictionary<string, string?>
        {
            ["Bruno:Cluster:Role"] = "store",
            ["Bruno:Cluster:NodeName"] = "store-1",
            ["Bruno:Cluster:AdvertiseUrl"] = $"http://127.0.0.1:{port}",
            ["Bruno:Cluster:StorePort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Bruno:Cluster:StoreBind"] = "127.0.0.1",
            ["Bruno:Cluster:Token"] = Token,
            ["Bruno:Catalog:Provider"] = "postgres",
            ["Bruno:Catalog:ConnectionString"] = catalog,
        });
        _grpc = new Uri($"http://127.0.0.1:{port}");
        _remote = new RemoteStorageEngine("store-1", _grpc, Token);
        _local = new StorageEngine(new StorageEngineOptions { DataRoot = _localRoot, MasterKey = MasterKey.Generate() });
    }

    public async ValueTask DisposeAsync()
    {
        _remote.Dispose();
        await _local.DisposeAsync();
        await _node.DisposeAsync();
        Directory.Delete(_localRoot, recursive: true);
    }

    private static TenantId NewTenant() => TenantId.Parse($"rs-{Guid.NewGuid():N}"[..20]);

    private static float[] Vector(int seed)
    {
        var v = new float[8];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = MathF.Sin((seed * 7) + (i * 1.3f)) + 1.5f;
        }

        return v;
    }

    private static StoredRow Row(int i) => new()
    {
        Id = $"row-{i:D4}",
        Text = $"Row {i} tells of the river crossing number {i % 9} and the ferry.",
        Vector = Vector(i),
        UserId = i % 4 == 0 ? UserId.Parse("alice") : i % 4 == 1 ? UserId.Parse("bob") : null,
        Metadata = new Dictionary<string, MetadataValue>
        {
            ["kind"] = i % 2 == 0 ? "even" : "odd",
            ["n"] = (double)i,
            ["at"] = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddHours(i),
            ["flag"] = i % 5 == 0,
        },
        CreatedAt = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(i),
        Readers = (i % 3) switch { 0 => [GroupX], 1 => [GroupY, Principal.User(UserId.Parse("alice"))], _ => null },
    };

    private static readonly Principal GroupX = Principal.Group("group-x");
    private static readonly Principal GroupY = Principal.Group("Group.Y");

    /// <summary>Everything a caller sees of a set of rows, to compare engines by.</summary>
    private static string Describe(IEnumerable<StoredRow> rows) => string.Join('\n', rows.Select(r =>
        $"{r.Id}|{r.Text}|{string.Join(',', r.Vector.ToArray())}|{r.UserId?.Value}|{r.CreatedAt.UtcTicks}|{string.Join(';', r.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={m.Value}"))}|{(r.Readers is null ? "tenant" : string.Join(',', r.Readers))}"));

    private static async Task<string> ExerciseAsync(IStorageEngine engine, TenantId tenant)
    {
        var ct = Ct;
        await engine.CreateTenantAsync(tenant, ct);
        var store = engine.Tenant(tenant);
        var c = await store.EnsureCollectionAsync(new CollectionSpec("chunks", 8, "test-model"), ct);
        await store.EnsureCollectionAsync(new CollectionSpec("floats", 8, "test-model", VectorMetric.Dot, VectorQuantization.None), ct); // the choice crosses the wire
        await store.EnsureCollectionAsync(new CollectionSpec("bits", 8, "test-model", VectorMetric.Cosine, VectorQuantization.Binary), ct);
        var log = new List<string>();
        for (var batch = 0; batch < 3; batch++)
        {
            log.Add("upsert " + await c.UpsertAsync([.. Enumerable.Range(batch * 500, 500).Select(Row)], ct));
        }

        log.Add("replace " + await c.ReplaceAsync([Row(5) with { Text = "Replaced row five about the mill." }], ["row-0006", "row-9999"], ct));
        log.Add("delete " + await c.DeleteAsync(["row-0007", "row-0008"], ct));
        log.Add("delete-where " + await c.DeleteWhereAsync(Filter.All.WhereBetween("n", 1400.0, null), ct));
        log.Add("update-readers " + await c.UpdateReadersAsync(Filter.All.WhereBetween("n", 10.0, 20.0), [GroupY], ct));
        log.Add("get " + Describe([(await c.GetAsync("row-0005", ct))!]) + " missing " + (await c.GetAsync("row-0006", ct) is null));
        var filters = new[]
        {
            Filter.All,
            Filter.ForUser(UserId.Parse("alice")),
            Filter.TenantWide(),
            new Filter { Owner = OwnerFilter.UserAndTenantWide(UserId.Parse("bob")) },
            Filter.All.Where("kind", "odd").Where("flag", true),
            Filter.All.WhereIn("n", 1.0, 2.0, 3.0, 500.0),
            Filter.All.WhereBetween("at", new DateTimeOffset(2026, 1, 2, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 1, 3, 0, 0, 0, TimeSpan.Zero), maxInclusive: false),
            Filter.All.CreatedBetween(new DateTimeOffset(2026, 2, 1, 2, 0, 0, TimeSpan.Zero), null),
            Filter.ReadableBy([GroupX]),
            Filter.ForUser(UserId.Parse("bob")).AndReadableBy([GroupY, Principal.User(UserId.Parse("alice"))]),
            Filter.ReadableBy([]),
        };
        foreach (var f in filters)
        {
            log.Add("count " + await c.CountAsync(f, ct));
            log.Add("page " + Describe(await c.ListAsync(f, "row-0100", 7, ct)));
            log.Add("latest " + Describe(await c.LatestAsync(f, 5, ct)));
        }

        log.Add("users " + string.Join(',', await c.UsersAsync(ct)));
        log.Add("all " + Describe((await c.ReadAllAsync(ct)).OrderBy(r => r.Id, StringComparer.Ordinal))); // in no set order; more than one page of 1,000 on the wire
        foreach (var request in new[]
        {
            new SearchRequest { Mode = SearchMode.Vector, Vector = Vector(42), K = 10, Exact = true },
            new SearchRequest { Mode = SearchMode.Vector, Vector = Vector(42), K = 10, Filter = Filter.ReadableBy([GroupX]) },
            new SearchRequest { Mode = SearchMode.FullText, Text = "ferry crossing 4", K = 10, Filter = Filter.All.Where("kind", "even") },
            new SearchRequest { Mode = SearchMode.Hybrid, Text = "mill", Vector = Vector(5), K = 5, Filter = Filter.ForUser(UserId.Parse("bob")), CandidatesPerList = 40, RrfK = 30 },
        })
        {
            var timings = new SearchTimings();
            var statistics = new TermStatistics();
            var hits = await c.SearchAsync(request with { Timings = timings, Statistics = statistics }, ct);
            log.Add("search " + string.Join(',', hits.Select(h => $"{h.Row.Id}:{h.Score}:{h.VectorRank}:{h.TextRank}")) + " timed " + (timings.Vector + timings.FullText > TimeSpan.Zero)
                + $" terms {statistics.Rows} {statistics.AverageLength:0.###} " + string.Join(',', statistics.DocumentFrequency.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
        }

        log.Add("erase-user " + await store.EraseUserAsync(UserId.Parse("alice"), ct));
        var stats = await store.GetStatsAsync(ct);
        log.Add($"stats {stats.Rows} {string.Join(',', stats.Collections.Select(p => $"{p.Key}={p.Value}"))} bytes>0 {stats.BytesOnDisk > 0} disk>0 {await engine.BytesOnDiskAsync(tenant, ct) > 0}");
        log.Add("collections " + string.Join(',', (await store.ListCollectionsAsync(ct)).Select(s => $"{s.Name}/{s.Dimension}/{s.Model}/{s.Metric}/{s.Quantization}")));
        log.Add("integrity " + await store.CheckIntegrityAsync(ct));
        await engine.CloseTenantAsync(tenant, ct);
        log.Add("after-close " + await c.CountAsync(ct: ct));
        var erased = await engine.EraseTenantAsync(tenant, ct);
        log.Add($"erased {erased.Existed} {erased.Files > 0} {erased.KeyRingSha256?.Length} exists {await engine.TenantExistsAsync(tenant, ct)}");
        log.Add("erased-again " + (await engine.EraseTenantAsync(tenant, ct)).Existed);
        return string.Join('\n', log);
    }

    [Fact]
    public void ACollectionSpec_OnTheWire_KeepsItsQuantisation_AndAnUnknownOneIsRefused()
    {
        foreach (var q in Enum.GetValues<VectorQuantization>())
        {
            var spec = new CollectionSpec("c", 8, "m", VectorMetric.Dot, q);
            Assert.Equal(spec, Wire.Spec(Wire.Spec(spec)));
        }

        // a sender from before quantisation says nothing: the default
        Assert.Equal(VectorQuantization.Int8, Wire.Spec(new Bruno.Cluster.Remote.Protocol.CollectionSpec { Name = "c", Dimension = 8, Model = "m" }).Quantization);
        var e = Assert.Throws<ArgumentException>(() => Wire.Spec(new Bruno.Cluster.Remote.Protocol.CollectionSpec { Name = "c", Dimension = 8, Model = "m", Quantization = 9 }));
        Assert.Contains("quantization", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoteEngine_AnswersExactlyLikeTheLocalOne()
    {
        var tenant = NewTenant();
        var local = await ExerciseAsync(_local, tenant);
        var remote = await ExerciseAsync(_remote, tenant);
        var lines = local.Split('\n').Zip(remote.Split('\n')).ToList();
        var at = lines.FindIndex(p => p.First != p.Second);
        var op = at < 0 ? string.Empty : lines.Take(at + 1).Select(p => p.First).Last(l => !l.StartsWith("row-", StringComparison.Ordinal));
        Assert.True(at < 0, $"in '{op[..Math.Min(op.Length, 40)]}'\nlocal:  {(at < 0 ? null : lines[at].First)}\nremote: {(at < 0 ? null : lines[at].Second)}");
        Assert.Equal(local, remote);
        Assert.Contains("timed True", remote, StringComparison.Ordinal); // stage timings come back with the hits
        Assert.Contains("|user:alice,group:Group.Y\n", remote, StringComparison.Ordinal); // readers travel with the rows
        Assert.Contains("update-readers 11\n", remote, StringComparison.Ordinal);
        Assert.Contains("floats/8/test-model/Dot/None", remote, StringComparison.Ordinal); // each collection keeps its quantisation
        Assert.Contains("bits/8/test-model/Cosine/Binary", remote, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_CrossTheWire_AsTheEngineOwnTypes_HavingWrittenNothing()
    {
        var tenant = NewTenant();
        await Assert.ThrowsAsync<TenantNotFoundException>(() => _remote.Tenant(tenant).ListCollectionsAsync(Ct));
        await _remote.CreateTenantAsync(tenant, Ct);
        await Assert.ThrowsAsync<TenantAlreadyExistsException>(() => _remote.CreateTenantAsync(tenant, Ct));
        var store = _remote.Tenant(tenant);
        await Assert.ThrowsAsync<CollectionNotFoundException>(() => store.Collection("nope").CountAsync(ct: Ct));
        var c = await store.EnsureCollectionAsync(new CollectionSpec("chunks", 8, "test-model"), Ct);
        await Assert.ThrowsAsync<CollectionMismatchException>(() => store.EnsureCollectionAsync(new CollectionSpec("chunks", 16, "test-model"), Ct));

        // the node validates what the wire carried exactly as the local engine validates a call
        var badKey = Row(1) with { Metadata = new Dictionary<string, MetadataValue> { ["Bad Key!"] = "x" } };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => c.UpsertAsync([Row(2), badKey], Ct));
        Assert.Contains("metadata key", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<CollectionMismatchException>(() => c.UpsertAsync([Row(3) with { Vector = new float[3] }], Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => c.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = "", K = 5 }, Ct));
        Assert.Equal(0, await c.CountAsync(ct: Ct)); // the batches were refused whole

        await c.UpsertAsync([Row(4)], Ct);
        await _remote.FenceAsync(tenant, Ct);
        await Assert.ThrowsAsync<TenantFencedException>(() => c.UpsertAsync([Row(5)], Ct));
        Assert.Equal(1, await c.CountAsync(ct: Ct)); // reads go on while fenced
        await _remote.UnfenceAsync(tenant, Ct);
        Assert.Equal(1, await c.UpsertAsync([Row(5)], Ct));
    }

    [Fact]
    public void AWriteAnOwnerCouldNotAcknowledge_CrossesTheWireAsUnavailable_NotAsAStorageFault()
    {
        // issue 23's partition test: an owner whose replica and catalog were both unreachable threw this, and the
        // gateway answered 500 because it crossed the wire as a generic storage error
        var sent = RemoteErrors.ToRpc(new StoreUnavailableException("acme", "store-1"));
        Assert.Equal(Grpc.Core.StatusCode.Unavailable, sent.StatusCode);
        var received = RemoteErrors.FromRpc(sent, TenantId.Parse("acme"), "store-1");
        var unavailable = Assert.IsType<StoreUnavailableException>(received);
        Assert.Equal("store-1", unavailable.Node);
    }

    [Fact]
    public async Task WithoutTheClusterToken_TheNodeRefusesEveryCall_AndChangesNothing()
    {
        var tenant = NewTenant();
        using var intruder = new RemoteStorageEngine("store-1", _grpc, "not-the-token-but-long-enough-0123456789");
        var e = await Assert.ThrowsAsync<StorageException>(() => intruder.CreateTenantAsync(tenant, Ct));
        Assert.Contains("refused this node's credential", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<StorageException>(() => intruder.LoadAsync(Ct));
        Assert.False(await _remote.TenantExistsAsync(tenant, Ct));
    }

    [Fact]
    public async Task TheMainPort_ServesHealthAndNothingOfTheApi()
    {
        using var http = _node.Client();
        using (var health = await http.GetAsync("/healthz", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        foreach (var path in new[] { "/api/v1/documents", "/admin/v1/tenants", "/mcp", "/bruno.store.v1.StoreNode/Status" })
        {
            using var response = await http.GetAsync(path, Ct);
            Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"{path}: {(int)response.StatusCode}");
        }

        var load = await _remote.LoadAsync(Ct);
        Assert.True(load.Tenants >= 0);
    }

    [Fact]
    public async Task ANodeThatIsDown_IsReportedAsUnavailable()
    {
        using var nowhere = new RemoteStorageEngine("store-9", new Uri($"http://127.0.0.1:{BrunoProcess.FreePort()}"), Token);
        var e = await Assert.ThrowsAsync<StoreUnavailableException>(() => nowhere.Tenant(NewTenant()).ListCollectionsAsync(Ct));
        Assert.Equal("store-9", e.Node);
    }
}
