using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Grpc.Core;
using Grpc.Net.Client;
using P = Bruno.Cluster.Remote.Protocol;

namespace Bruno.Cluster.Remote;

/// <summary>
/// The tenants of one store node, reached over its internal gRPC API (<see cref="StoreNodeService"/>). Behaves like the
/// local <see cref="StorageEngine"/>: the same results and the same exception types. When the node cannot be reached
/// every call throws <see cref="StoreUnavailableException"/>; a write refused because the tenant is moving throws
/// <see cref="TenantFencedException"/> and applied nothing. Thread-safe; one instance per node, kept for the process.
/// </summary>
public sealed class RemoteStorageEngine : IStorageEngine, IDisposable
{
    /// <summary>Largest message either side accepts (a page of 1,000 rows with long texts fits).</summary>
    public const int MaxMessageBytes = 64 * 1024 * 1024;

    private readonly GrpcChannel _channel;
    private readonly Metadata _auth;

    /// <summary>
    /// A client of the node called <paramref name="node"/> at <paramref name="address"/> (http:// for h2c on the cluster
    /// network, https:// for TLS), presenting <paramref name="token"/>. <paramref name="handler"/> replaces the default
    /// socket handler: <see cref="ClusterTls.CreateHandler"/> for mutual TLS, or a test's.
    /// </summary>
    public RemoteStorageEngine(string node, Uri address, string token, HttpMessageHandler? handler = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        ArgumentNullException.ThrowIfNull(address);
        ArgumentException.ThrowIfNullOrEmpty(token);
        Node = node;
        Address = address;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler ?? SocketHandler(),
            DisposeHttpClient = true,
            MaxReceiveMessageSize = MaxMessageBytes,
            MaxSendMessageSize = MaxMessageBytes,
        });
        Client = new P.StoreNode.StoreNodeClient(_channel);
        _auth = new Metadata { { StoreNodeService.AuthorizationHeader, "Bearer " + token } };
    }

    /// <summary>The node's name.</summary>
    public string Node { get; }

    /// <summary>Where the node is reached.</summary>
    public Uri Address { get; }

    internal P.StoreNode.StoreNodeClient Client { get; }

    /// <inheritdoc/>
    public int OpenTenantCount => 0;

    /// <summary>
    /// The socket handler a node's client uses (cleartext h2c unless <see cref="ClusterTls"/> adds its TLS options). With
    /// a connect callback of its own, the socket handler is used per call as by any HttpClient: a node that is down fails
    /// each call at once (503 for its tenants), and the first call after it restarts connects. Without one, the channel
    /// tracks the connection itself and backs off reconnecting (a second at first, two minutes at most), failing calls
    /// for that long after the node is back.
    /// </summary>
    internal static SocketsHttpHandler SocketHandler() => new()
    {
        EnableMultipleHttp2Connections = true,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        KeepAlivePingDelay = TimeSpan.FromSeconds(20),
        KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        ConnectTimeout = TimeSpan.FromSeconds(2),
        ConnectCallback = ConnectAsync,
    };

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, ct);
            return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>How long one call may take before the node counts as unavailable for it (copies of whole tenants excepted).</summary>
    public TimeSpan CallTimeout { get; init; } = DefaultCallTimeout;

    /// <summary>The default of <see cref="CallTimeout"/>: 30 s.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(30);

    internal CallOptions Options(CancellationToken ct, bool deadline = true) =>
        new(_auth, deadline: deadline ? DateTime.UtcNow + CallTimeout : null, cancellationToken: ct);

    /// <summary>Runs one call, turning the wire's failures back into the engine's exceptions.</summary>
    internal async Task<T> Call<T>(TenantId? tenant, Func<CallOptions, AsyncUnaryCall<T>> call, CancellationToken ct)
    {
        try
        {
            return await call(Options(ct));
        }
        catch (RpcException e)
        {
            ct.ThrowIfCancellationRequested();
            throw RemoteErrors.FromRpc(e, tenant, Node);
        }
    }

    /// <summary>The node's load (tenants, rows, bytes).</summary>
    public async Task<StoreLoad> LoadAsync(CancellationToken ct = default)
    {
        var s = await Call(null, o => Client.StatusAsync(new P.Empty(), o), ct);
        return new StoreLoad(s.Tenants, s.Rows, s.Bytes, s.OpenTenants);
    }

    /// <summary>Fences the tenant's writes on the node (see <see cref="StorageEngine.FenceAsync"/>).</summary>
    public Task FenceAsync(TenantId tenant, CancellationToken ct = default) => Call(tenant, o => Client.FenceAsync(Ref(tenant), o), ct);

    /// <summary>Tells the node to read the tenant's placement again now (after a promotion).</summary>
    public Task RefreshAsync(TenantId tenant, CancellationToken ct = default) => Call(tenant, o => Client.RefreshAsync(Ref(tenant), o), ct);

    /// <summary>Lifts the fence (see <see cref="StorageEngine.UnfenceAsync"/>).</summary>
    public Task UnfenceAsync(TenantId tenant, CancellationToken ct = default) => Call(tenant, o => Client.UnfenceAsync(Ref(tenant), o), ct);

    /// <summary>
    /// Copies a fenced tenant from this node to <paramref name="target"/>: the files stream from here through this process
    /// to the target, which adopts them whole or not at all. Returns the bytes copied.
    /// </summary>
    public async Task<long> CopyTenantToAsync(TenantId tenant, RemoteStorageEngine target, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(target);
        long bytes = 0;
        try
        {
            using var export = Client.Export(Ref(tenant), Options(ct, deadline: false)); // as long as the tenant's size needs
            using var import = target.Client.Import(target.Options(ct, deadline: false));
            await foreach (var chunk in export.ResponseStream.ReadAllAsync(ct))
            {
                bytes += chunk.Data.Length;
                await import.RequestStream.WriteAsync(chunk, ct);
            }

            await import.RequestStream.CompleteAsync();
            await import.ResponseAsync;
            return bytes;
        }
        catch (RpcException e)
        {
            ct.ThrowIfCancellationRequested();
            throw RemoteErrors.FromRpc(e, tenant, Node);
        }
    }

    /// <inheritdoc/>
    public Task CreateTenantAsync(TenantId tenant, CancellationToken ct = default) => Call(tenant, o => Client.CreateTenantAsync(Ref(tenant), o), ct);

    /// <inheritdoc/>
    public async Task<bool> TenantExistsAsync(TenantId tenant, CancellationToken ct = default) =>
        (await Call(tenant, o => Client.TenantExistsAsync(Ref(tenant), o), ct)).Value;

    /// <inheritdoc/>
    public ITenantStore Tenant(TenantId tenant)
    {
        _ = tenant.Value;
        return new RemoteTenantStore(this, tenant);
    }

    /// <inheritdoc/>
    public async Task<TenantErasure> EraseTenantAsync(TenantId tenant, CancellationToken ct = default)
    {
        var e = await Call(tenant, o => Client.EraseTenantAsync(Ref(tenant), o), ct);
        return new TenantErasure(e.Existed, e.Files, e.Bytes, e.KeyRingSha256.Length == 0 ? null : e.KeyRingSha256);
    }

    /// <inheritdoc/>
    public Task CloseTenantAsync(TenantId tenant, CancellationToken ct = default) => Call(tenant, o => Client.CloseTenantAsync(Ref(tenant), o), ct);

    /// <inheritdoc/>
    public async Task<long> BytesOnDiskAsync(TenantId tenant, CancellationToken ct = default) =>
        (await Call(tenant, o => Client.BytesOnDiskAsync(Ref(tenant), o), ct)).Value;

    internal static P.TenantRef Ref(TenantId tenant) => new() { Tenant = tenant.Value };

    /// <summary>Closes the connection to the node.</summary>
    public void Dispose() => _channel.Dispose();
}

/// <summary>One tenant on a store node.</summary>
internal sealed class RemoteTenantStore(RemoteStorageEngine node, TenantId id) : ITenantStore
{
    public TenantId Id { get; } = id;

    private P.TenantRef Ref => RemoteStorageEngine.Ref(Id);

    public async Task<ITenantCollection> EnsureCollectionAsync(CollectionSpec spec, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        await node.Call(Id, o => node.Client.EnsureCollectionAsync(new P.EnsureCollectionRequest { Tenant = Id.Value, Spec = Wire.Spec(spec) }, o), ct);
        return Collection(spec.Name);
    }

    public ITenantCollection Collection(string name) => new RemoteTenantCollection(node, Id, IdentifierRules.ValidateName(name, "collection name"));

    public async Task<IReadOnlyList<CollectionSpec>> ListCollectionsAsync(CancellationToken ct = default) =>
        [.. (await node.Call(Id, o => node.Client.ListCollectionsAsync(Ref, o), ct)).Specs.Select(Wire.Spec)];

    public async Task<TenantStats> GetStatsAsync(CancellationToken ct = default)
    {
        var s = await node.Call(Id, o => node.Client.GetStatsAsync(Ref, o), ct);
        return new TenantStats(s.Rows, s.BytesOnDisk, s.Collections.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
    }

    public async Task<long> EraseUserAsync(UserId user, CancellationToken ct = default) =>
        (await node.Call(Id, o => node.Client.EraseUserAsync(new P.UserRef { Tenant = Id.Value, User = user.Value }, o), ct)).Value;

    public async Task<string> CheckIntegrityAsync(CancellationToken ct = default) =>
        (await node.Call(Id, o => node.Client.CheckIntegrityAsync(Ref, o), ct)).Value;
}

/// <summary>One collection of one tenant on a store node.</summary>
internal sealed class RemoteTenantCollection(RemoteStorageEngine node, TenantId tenant, string name) : ITenantCollection
{
    public TenantId Tenant { get; } = tenant;

    public string Name { get; } = name;

    public Task<long> UpsertAsync(IReadOnlyList<StoredRow> rows, CancellationToken ct = default) => ReplaceAsync(rows, [], ct);

    public async Task<long> ReplaceAsync(IReadOnlyList<StoredRow> rows, IReadOnlyList<string> deleteIds, CancellationToken ct = default)
    {
        if (!TenantCollection.IsBatch(rows, deleteIds))
        {
            return 0;
        }

        var request = new P.ReplaceRequest { Tenant = Tenant.Value, Collection = Name };
        request.Rows.AddRange(rows.Select(r => Wire.Row(r ?? throw new ArgumentException("A row is null.", nameof(rows)))));
        request.DeleteIds.AddRange(deleteIds.Select(IdentifierRules.ValidateRowId));
        return (await node.Call(Tenant, o => node.Client.ReplaceAsync(request, o), ct)).Value;
    }

    public async Task<long> DeleteAsync(IReadOnlyList<string> ids, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var request = new P.DeleteRequest { Tenant = Tenant.Value, Collection = Name };
        request.Ids.AddRange(ids.Select(IdentifierRules.ValidateRowId));
        return (await node.Call(Tenant, o => node.Client.DeleteAsync(request, o), ct)).Value;
    }

    public async Task<long> DeleteWhereAsync(Filter filter, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return (await node.Call(Tenant, o => node.Client.DeleteWhereAsync(new P.FilterRequest { Tenant = Tenant.Value, Collection = Name, Filter = Wire.Filter(filter) }, o), ct)).Value;
    }

    public async Task<long> UpdateReadersAsync(Filter filter, IReadOnlyList<Principal>? readers, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var request = new P.UpdateReadersRequest { Tenant = Tenant.Value, Collection = Name, Filter = Wire.Filter(filter), Readers = Wire.Readers(TenantCollection.CheckReaders(readers)) };
        return (await node.Call(Tenant, o => node.Client.UpdateReadersAsync(request, o), ct)).Value;
    }

    public async Task<StoredRow?> GetAsync(string id, CancellationToken ct = default)
    {
        IdentifierRules.ValidateRowId(id);
        var rows = await node.Call(Tenant, o => node.Client.GetAsync(new P.GetRequest { Tenant = Tenant.Value, Collection = Name, Id = id }, o), ct);
        return rows.Rows.Count == 0 ? null : Wire.Row(rows.Rows[0]);
    }

    public async Task<long> CountAsync(Filter? filter = null, CancellationToken ct = default) =>
        (await node.Call(Tenant, o => node.Client.CountRowsAsync(new P.FilterRequest { Tenant = Tenant.Value, Collection = Name, Filter = Wire.Filter(filter ?? Filter.All) }, o), ct)).Value;

    public async Task<IReadOnlyList<StoredRow>> ListAsync(Filter filter, string? after, int limit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var request = new P.ListRequest { Tenant = Tenant.Value, Collection = Name, Filter = Wire.Filter(filter), Limit = limit };
        if (after is not null)
        {
            request.After = IdentifierRules.ValidateRowId(after);
        }

        return Wire.Rows(await node.Call(Tenant, o => node.Client.ListAsync(request, o), ct));
    }

    public async Task<IReadOnlyList<StoredRow>> LatestAsync(Filter filter, int limit, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var request = new P.ListRequest { Tenant = Tenant.Value, Collection = Name, Filter = Wire.Filter(filter), Limit = limit };
        return Wire.Rows(await node.Call(Tenant, o => node.Client.LatestAsync(request, o), ct));
    }

    public async Task<IReadOnlyList<UserId>> UsersAsync(CancellationToken ct = default) =>
        [.. (await node.Call(Tenant, o => node.Client.UsersAsync(new P.CollectionRef { Tenant = Tenant.Value, Collection = Name }, o), ct)).Users.Select(UserId.Parse)];

    /// <summary>Pages through the collection 1,000 rows at a time (each page one call).</summary>
    public async Task<IReadOnlyList<StoredRow>> ReadAllAsync(CancellationToken ct = default)
    {
        var all = new List<StoredRow>();
        string? after = null;
        while (true)
        {
            var page = await ListAsync(Filter.All, after, SearchRequest.MaxK, ct);
            all.AddRange(page);
            if (page.Count < SearchRequest.MaxK)
            {
                return all;
            }

            after = page[^1].Id;
        }
    }

    public async Task<IReadOnlyList<SearchHit>> SearchAsync(SearchRequest request, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.Filter);
        var reply = await node.Call(Tenant, o => node.Client.SearchAsync(Wire.Search(Tenant, Name, request), o), ct);
        if (request.Timings is { } t)
        {
            (t.Vector, t.FullText, t.Fusion) = (TimeSpan.FromTicks(reply.VectorTicks), TimeSpan.FromTicks(reply.FullTextTicks), TimeSpan.FromTicks(reply.FusionTicks));
        }

        if (request.Statistics is { } s)
        {
            (s.Rows, s.AverageLength) = (reply.Rows, reply.AverageLength);
            foreach (var (term, df) in reply.DocumentFrequency)
            {
                s.DocumentFrequency[term] = df;
            }
        }

        return [.. reply.Hits.Select(Wire.Hit)];
    }
}
