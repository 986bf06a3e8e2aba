using System.Collections.Concurrent;
using Bruno.Cluster.Remote;
using Bruno.Core.Cluster;
using Bruno.Storage;

namespace Bruno.Cluster;

/// <summary>
/// The clients of the store nodes, one per node for the life of the process, made from each node's address in the
/// catalog when first needed: a gateway's calls to owners, an owner's calls to its replicas. With <paramref name="tls"/>
/// every client presents this process's certificate and accepts only nodes that advertise https://.
/// </summary>
/// <remarks><paramref name="callTimeout"/> bounds each call (the client's default, 30 s, when null).</remarks>
public sealed class NodeClients(Placement placement, ClusterOptions options, ClusterTls? tls = null, TimeSpan? callTimeout = null) : IDisposable
{
    private readonly ConcurrentDictionary<string, RemoteStorageEngine> _nodes = new(StringComparer.Ordinal);

    /// <summary>
    /// The client of a store node by name; throws <see cref="StorageException"/> for a node that never reported, or one
    /// that advertises http:// while this process uses TLS.
    /// </summary>
    public RemoteStorageEngine Get(string name)
    {
        if (_nodes.TryGetValue(name, out var client))
        {
            return client;
        }

        var node = placement.Node(name) ?? throw new StorageException($"Store node '{name}' is not known to the catalog.");
        if (tls is not null && node.Url.Scheme != Uri.UriSchemeHttps)
        {
            throw new StorageException($"Store node '{name}' advertises {node.Url}, but this process reaches store nodes over TLS only (Bruno:Cluster:Tls): set the node's Bruno:Cluster:Tls and an https:// AdvertiseUrl.");
        }

        var fresh = new RemoteStorageEngine(node.Name, node.Url, options.Token!, tls?.CreateHandler()) { CallTimeout = callTimeout ?? RemoteStorageEngine.DefaultCallTimeout };
        if (_nodes.TryAdd(name, fresh))
        {
            return fresh;
        }

        fresh.Dispose();
        return _nodes[name];
    }

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        foreach (var client in _nodes.Values)
        {
            client.Dispose();
        }
    }
}
