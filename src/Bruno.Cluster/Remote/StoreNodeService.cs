using System.Security.Cryptography;
using System.Text;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Bruno.Storage.Telemetry;
using Google.Protobuf;
using Grpc.Core;
using P = Bruno.Cluster.Remote.Protocol;

namespace Bruno.Cluster.Remote;

/// <summary>
/// A store node's internal API: serves the tenants of one local <see cref="StorageEngine"/> to gateways, and the
/// fencing and file copies that move a tenant to another node. Every call must carry the cluster's shared token
/// (<c>bruno-cluster-token: Bearer …</c>); a call without it gets <c>Unauthenticated</c> and touches nothing. Failures cross
/// the wire as the engine's own exception types (<see cref="RemoteErrors"/>); unexpected ones as a generic error.
/// </summary>
public sealed class StoreNodeService : P.StoreNode.StoreNodeBase
{
    private const int ChunkBytes = 256 * 1024;
    private readonly StorageEngine _engine;
    private readonly byte[] _tokenHash;
    private readonly string _node;
    private readonly NodeReplication? _replication;

    /// <summary>
    /// Serves <paramref name="engine"/> as node <paramref name="node"/>; <paramref name="token"/> must be at least 32
    /// characters. With <paramref name="replication"/>, gateways' calls are served only for tenants the catalog places
    /// here, and writes go to the tenant's replica too (<see cref="NodeReplication"/>); without, every tenant on the
    /// engine is served as it is.
    /// </summary>
    public StoreNodeService(StorageEngine engine, string node, string token, NodeReplication? replication = null)
    {
        _replication = replication;
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        if (string.IsNullOrEmpty(token) || token.Length < 32)
        {
            throw new ArgumentException("The cluster token must be at least 32 characters.", nameof(token));
        }

        (_engine, _node, _tokenHash) = (engine, node, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>
    /// The metadata key the token travels in (as <c>Bearer …</c>). Not <c>authorization</c>: the node's HTTP pipeline
    /// would try every call's token as a user's credential first.
    /// </summary>
    public const string AuthorizationHeader = "bruno-cluster-token";

    private async Task<T> Run<T>(ServerCallContext context, Func<Task<T>> call)
    {
        Authorize(context);
        try
        {
            return await call();
        }
        catch (Exception e) when (e is not RpcException)
        {
            throw RemoteErrors.ToRpc(e);
        }
    }

    private void Authorize(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue(AuthorizationHeader);
        var presented = header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header[7..] : string.Empty;
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _tokenHash))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "A store node answers only callers holding the cluster token."));
        }
    }

    private static readonly P.Empty Nothing = new();

    private TenantStore Store(string tenant) => _engine.Tenant(TenantId.Parse(tenant));

    private TenantCollection Collection(string tenant, string collection) => Store(tenant).Collection(collection);

    /// <summary>A gateway's read: only of a tenant this node owns or holds in sync.</summary>
    private TenantStore Reading(string tenant)
    {
        var id = TenantId.Parse(tenant);
        _replication?.CheckRead(id);
        return _engine.Tenant(id);
    }

    private TenantCollection Reading(string tenant, string collection) => Reading(tenant).Collection(collection);

    /// <summary>Applies one write to the local engine (a gateway's, or one the owner replicated here).</summary>
    private async Task<long> Apply(P.ReplicatedWrite w)
    {
        switch (w.OpCase)
        {
            case P.ReplicatedWrite.OpOneofCase.Replace:
                var r = w.Replace;
                return await Collection(r.Tenant, r.Collection).ReplaceAsync([.. r.Rows.Select(Wire.Row)], [.. r.DeleteIds], CancellationToken.None);
            case P.ReplicatedWrite.OpOneofCase.Delete:
                return await Collection(w.Delete.Tenant, w.Delete.Collection).DeleteAsync([.. w.Delete.Ids], CancellationToken.None);
            case P.ReplicatedWrite.OpOneofCase.DeleteWhere:
                return await Collection(w.DeleteWhere.Tenant, w.DeleteWhere.Collection).DeleteWhereAsync(Wire.Filter(w.DeleteWhere.Filter), CancellationToken.None);
            case P.ReplicatedWrite.OpOneofCase.UpdateReaders:
                var u = w.UpdateReaders;
                return await Collection(u.Tenant, u.Collection).UpdateReadersAsync(Wire.Filter(u.Filter), Wire.Readers(u.Readers), CancellationToken.None);
            case P.ReplicatedWrite.OpOneofCase.EnsureCollection:
                await Store(w.EnsureCollection.Tenant).EnsureCollectionAsync(Wire.Spec(w.EnsureCollection.Spec ?? throw new ArgumentException("No collection spec.")), CancellationToken.None);
                return 0;
            case P.ReplicatedWrite.OpOneofCase.EraseUser:
                return await Store(w.EraseUser.Tenant).EraseUserAsync(UserId.Parse(w.EraseUser.User), CancellationToken.None);
            default:
                throw new ArgumentException("A replicated write names no operation.");
        }
    }

    /// <summary>A gateway's write: applied here, and on the tenant's replica when it has one in sync.</summary>
    private Task<long> Write(string tenant, P.ReplicatedWrite w)
    {
        var id = TenantId.Parse(tenant);
        if (w.Replace is { } replace)
        {
            // the time a row is written is decided once, here, so that the replica keeps the same
            var now = DateTimeOffset.UtcNow.UtcTicks;
            foreach (var row in replace.Rows.Where(r => r.CreatedTicks == 0))
            {
                row.CreatedTicks = now;
            }
        }

        return _replication is null ? Apply(w) : _replication.WriteAsync(id, w, () => Apply(w));
    }

    /// <inheritdoc/>
    public override Task<P.Empty> Refresh(P.TenantRef request, ServerCallContext context) => Run(context, () =>
    {
        _replication?.Refresh(TenantId.Parse(request.Tenant));
        return Task.FromResult(Nothing);
    });

    /// <inheritdoc/>
    public override Task<P.Count> Replicate(P.ReplicatedWrite request, ServerCallContext context) => Run(context, async () =>
        new P.Count { Value = await (_replication ?? throw new InvalidOperationException("This node takes no replicas.")).ApplyAsync(request, () => Apply(request)) });

    /// <inheritdoc/>
    public override Task<P.Empty> CreateTenant(P.TenantRef request, ServerCallContext context) => Run(context, async () =>
    {
        var tenant = TenantId.Parse(request.Tenant);
        await _engine.CreateTenantAsync(tenant, context.CancellationToken);
        _replication?.Forget(tenant);
        return Nothing;
    });

    /// <inheritdoc/>
    public override Task<P.Flag> TenantExists(P.TenantRef request, ServerCallContext context) =>
        Run(context, () => Task.FromResult(new P.Flag { Value = _engine.TenantExists(TenantId.Parse(request.Tenant)) }));

    /// <inheritdoc/>
    public override Task<P.Erasure> EraseTenant(P.TenantRef request, ServerCallContext context) => Run(context, async () =>
    {
        var tenant = TenantId.Parse(request.Tenant);
        var e = await _engine.EraseTenantAsync(tenant, CancellationToken.None); // never half-cancelled
        _replication?.Forget(tenant);
        return new P.Erasure { Existed = e.Existed, Files = e.Files, Bytes = e.Bytes, KeyRingSha256 = e.KeyRingSha256 ?? string.Empty };
    });

    /// <inheritdoc/>
    public override Task<P.Empty> CloseTenant(P.TenantRef request, ServerCallContext context) =>
        Run(context, async () => { await _engine.CloseTenantAsync(TenantId.Parse(request.Tenant)); return Nothing; });

    /// <inheritdoc/>
    public override Task<P.Count> BytesOnDisk(P.TenantRef request, ServerCallContext context) =>
        Run(context, () => Task.FromResult(new P.Count { Value = _engine.BytesOnDisk(TenantId.Parse(request.Tenant)) })); // of whatever copy is here

    /// <inheritdoc/>
    public override Task<P.Empty> EnsureCollection(P.EnsureCollectionRequest request, ServerCallContext context) => Run(context, async () =>
    {
        // A collection that exists here exists on the replica too, alike (its creation was replicated, or the replica was
        // copied from this one): the engine only checks the spec against it, which the replica would answer the same
        // way, so nothing is sent. Gateways ensure a collection before most writes (a question records its turn so), and
        // each would otherwise hold the tenant's writes for a round trip to the replica.
        if (_replication is not null && request.Spec is { } asked)
        {
            var store = Reading(request.Tenant);
            var spec = Wire.Spec(asked);
            if ((await store.ListCollectionsAsync()).Any(c => c.Name == spec.Name))
            {
                await store.EnsureCollectionAsync(spec); // CollectionMismatchException when it differs; writes nothing
                return Nothing;
            }
        }

        await Write(request.Tenant, new P.ReplicatedWrite { EnsureCollection = request });
        return Nothing;
    });

    /// <inheritdoc/>
    public override Task<P.CollectionList> ListCollections(P.TenantRef request, ServerCallContext context) => Run(context, async () =>
    {
        var list = new P.CollectionList();
        list.Specs.AddRange((await Reading(request.Tenant).ListCollectionsAsync(context.CancellationToken)).Select(Wire.Spec));
        return list;
    });

    /// <inheritdoc/>
    public override Task<P.Stats> GetStats(P.TenantRef request, ServerCallContext context) => Run(context, async () =>
    {
        var s = await Reading(request.Tenant).GetStatsAsync(context.CancellationToken);
        var reply = new P.Stats { Rows = s.Rows, BytesOnDisk = s.BytesOnDisk };
        foreach (var (name, rows) in s.Collections)
        {
            reply.Collections[name] = rows;
        }

        return reply;
    });

    /// <inheritdoc/>
    public override Task<P.Count> EraseUser(P.UserRef request, ServerCallContext context) =>
        Run(context, async () => new P.Count { Value = await Write(request.Tenant, new P.ReplicatedWrite { EraseUser = request }) });

    /// <inheritdoc/>
    public override Task<P.Text> CheckIntegrity(P.TenantRef request, ServerCallContext context) =>
        Run(context, async () => new P.Text { Value = await Reading(request.Tenant).CheckIntegrityAsync(context.CancellationToken) });

    // Writes are not cancelled once they reach the engine: a write is applied whole or not at all, and the caller that
    // went away learns nothing either way (it answered its client with an error already).

    /// <inheritdoc/>
    public override Task<P.Count> Replace(P.ReplaceRequest request, ServerCallContext context) => Run(context, async () =>
        new P.Count { Value = await Write(request.Tenant, new P.ReplicatedWrite { Replace = request }) });

    /// <inheritdoc/>
    public override Task<P.Count> Delete(P.DeleteRequest request, ServerCallContext context) => Run(context, async () =>
        new P.Count { Value = await Write(request.Tenant, new P.ReplicatedWrite { Delete = request }) });

    /// <inheritdoc/>
    public override Task<P.Count> DeleteWhere(P.FilterRequest request, ServerCallContext context) => Run(context, async () =>
        new P.Count { Value = await Write(request.Tenant, new P.ReplicatedWrite { DeleteWhere = request }) });

    /// <inheritdoc/>
    public override Task<P.Count> UpdateReaders(P.UpdateReadersRequest request, ServerCallContext context) => Run(context, async () =>
        new P.Count { Value = await Write(request.Tenant, new P.ReplicatedWrite { UpdateReaders = request }) });

    /// <inheritdoc/>
    public override Task<P.RowList> Get(P.GetRequest request, ServerCallContext context) => Run(context, async () =>
        await Reading(request.Tenant, request.Collection).GetAsync(request.Id, context.CancellationToken) is { } row ? Wire.Rows([row]) : new P.RowList());

    /// <inheritdoc/>
    public override Task<P.Count> CountRows(P.FilterRequest request, ServerCallContext context) => Run(context, async () =>
        new P.Count { Value = await Reading(request.Tenant, request.Collection).CountAsync(Wire.Filter(request.Filter), context.CancellationToken) });

    /// <inheritdoc/>
    public override Task<P.RowList> List(P.ListRequest request, ServerCallContext context) => Run(context, async () =>
        Wire.Rows(await Reading(request.Tenant, request.Collection).ListAsync(Wire.Filter(request.Filter), request.HasAfter ? request.After : null, request.Limit, context.CancellationToken)));

    /// <inheritdoc/>
    public override Task<P.RowList> Latest(P.ListRequest request, ServerCallContext context) => Run(context, async () =>
        Wire.Rows(await Reading(request.Tenant, request.Collection).LatestAsync(Wire.Filter(request.Filter), request.Limit, context.CancellationToken)));

    /// <inheritdoc/>
    public override Task<P.UserList> Users(P.CollectionRef request, ServerCallContext context) => Run(context, async () =>
    {
        var list = new P.UserList();
        list.Users.AddRange((await Reading(request.Tenant, request.Collection).UsersAsync(context.CancellationToken)).Select(u => u.Value));
        return list;
    });

    /// <inheritdoc/>
    public override Task<P.SearchReply> Search(P.SearchRequest request, ServerCallContext context) => Run(context, async () =>
    {
        var timings = new SearchTimings();
        var statistics = request.Statistics ? new TermStatistics() : null;
        var hits = await Reading(request.Tenant, request.Collection).SearchAsync(Wire.Search(request, timings, statistics), context.CancellationToken);
        var reply = new P.SearchReply { VectorTicks = timings.Vector.Ticks, FullTextTicks = timings.FullText.Ticks, FusionTicks = timings.Fusion.Ticks };
        if (statistics is not null)
        {
            (reply.Rows, reply.AverageLength) = (statistics.Rows, statistics.AverageLength);
            reply.DocumentFrequency.Add(statistics.DocumentFrequency);
        }

        reply.Hits.AddRange(hits.Select(Wire.Hit));
        return reply;
    });

    /// <inheritdoc/>
    public override Task<P.NodeStatus> Status(P.Empty request, ServerCallContext context) => Run(context, () =>
    {
        var load = _engine.Load();
        return Task.FromResult(new P.NodeStatus { Node = _node, Tenants = load.Tenants, Rows = load.Rows, Bytes = load.Bytes, OpenTenants = load.OpenTenants });
    });

    /// <inheritdoc/>
    public override Task<P.Empty> Fence(P.TenantRef request, ServerCallContext context) => Run(context, async () =>
    {
        var tenant = TenantId.Parse(request.Tenant);
        if (_replication is null)
        {
            await _engine.FenceAsync(tenant, context.CancellationToken);
        }
        else
        {
            // after the write being replicated, if any: a fenced tenant's copies are alike
            await _replication.ExclusiveAsync(tenant, async () => { await _engine.FenceAsync(tenant, context.CancellationToken); return true; });
        }

        return Nothing;
    });

    /// <inheritdoc/>
    public override Task<P.Empty> Unfence(P.TenantRef request, ServerCallContext context) => Run(context, async () =>
    {
        var tenant = TenantId.Parse(request.Tenant);
        _replication?.Forget(tenant); // a move or a replica build changed the placement: the next write reads it again
        await _engine.UnfenceAsync(tenant);
        return Nothing;
    });

    /// <inheritdoc/>
    public override Task Export(P.TenantRef request, IServerStreamWriter<P.FileChunk> responseStream, ServerCallContext context) => Run(context, async () =>
    {
        var tenant = TenantId.Parse(request.Tenant);
        var folder = await _engine.SnapshotAsync(tenant, context.CancellationToken);
        try
        {
            var buffer = new byte[ChunkBytes];
            foreach (var file in Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal))
            {
                await using var fs = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, ChunkBytes, FileOptions.Asynchronous | FileOptions.SequentialScan);
                var name = Path.GetFileName(file);
                while (true)
                {
                    var n = await fs.ReadAsync(buffer, context.CancellationToken);
                    var last = fs.Position == fs.Length;
                    await responseStream.WriteAsync(new P.FileChunk { Tenant = tenant.Value, File = name, Data = ByteString.CopyFrom(buffer, 0, n), Last = last }, context.CancellationToken);
                    if (last)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            StorageEngine.DeleteTransferFolder(folder);
        }

        return true;
    });

    /// <inheritdoc/>
    public override Task<P.Empty> Import(IAsyncStreamReader<P.FileChunk> requestStream, ServerCallContext context) => Run(context, async () =>
    {
        var folder = _engine.NewTransferFolder();
        try
        {
            TenantId? tenant = null;
            FileStream? current = null;
            try
            {
                while (await requestStream.MoveNext(context.CancellationToken))
                {
                    var chunk = requestStream.Current;
                    var id = TenantId.Parse(chunk.Tenant);
                    if (tenant is { } t && t != id)
                    {
                        throw new ArgumentException("An import carries one tenant.");
                    }

                    tenant = id;
                    if (current is null)
                    {
                        var name = chunk.File;
                        if (name.Length is 0 or > 100 || name.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) || name.StartsWith('.'))
                        {
                            throw new ArgumentException("A file name in an import is not a plain file name.");
                        }

                        current = new FileStream(Path.Combine(folder, name), new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
                    }

                    await current.WriteAsync(chunk.Data.Memory, context.CancellationToken);
                    if (chunk.Last)
                    {
                        await current.DisposeAsync();
                        current = null;
                    }
                }
            }
            finally
            {
                if (current is not null)
                {
                    await current.DisposeAsync();
                }
            }

            if (tenant is not { } adopted || current is not null)
            {
                throw new ArgumentException("The import ended before its files did.");
            }

            await _engine.AdoptAsync(adopted, folder, CancellationToken.None);
            _replication?.Forget(adopted);
            return Nothing;
        }
        finally
        {
            StorageEngine.DeleteTransferFolder(folder); // gone already when adopted
        }
    });
}
