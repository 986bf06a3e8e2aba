using System.Security.Cryptography;
using Bruno.Storage.Crypto;
using Bruno.Storage.Format;
using Bruno.Storage.Index;

namespace Bruno.Storage.Engine;

/// <summary>The stored HNSW graph: checkpoints written by the write loop, read at open (decision 0044).</summary>
internal sealed partial class TenantInstance
{
    /// <summary>Test seam: told the tenant, collection and node count of every graph checkpoint once it is committed.</summary>
    internal static Action<string, string, int>? CheckpointWritten { get; set; }

    /// <summary>Queues a checkpoint of <paramref name="collection"/>'s graph for the write loop (called by its indexer).</summary>
    private void QueueCheckpoint(CollectionState collection)
    {
        if (!_queue.Writer.TryWrite(new CheckpointOp(collection)))
        {
            collection.CheckpointDone(); // closing: DisposeAsync writes it
        }
    }

    /// <summary>
    /// Writes the collection's graph as it stands (nodes' ordinals and links, sealed under the tenant key, in chunks) in
    /// place of the stored one, in one transaction: a crash leaves the old checkpoint or the new one. Readers are not
    /// held: the graph is read without the collection's lock (its ordinals are copied under the read lock). Throws
    /// <see cref="StorageException"/> or <see cref="Microsoft.Data.Sqlite.SqliteException"/> when the write fails,
    /// leaving the stored graph as it was.
    /// </summary>
    private void WriteCheckpoint(CollectionState collection)
    {
        if (!collection.GraphAhead || collection.SnapshotGraph() is not { } snapshot)
        {
            return;
        }

        var uid = RandomNumberGenerator.GetBytes(16);
        var count = snapshot.Count;
        var nodeChunks = GraphCodec.ChunksFor(count);
        var cipher = _loopSealer.For(_ring.TenantKey);
        var chunks = new List<byte[]>(nodeChunks + 1)
        {
            cipher.Encrypt(GraphCodec.Header(snapshot.Graph.M, snapshot.Dimension, count, snapshot.Entry, nodeChunks), GraphAad(collection.Cid, uid, 0)),
        };
        for (var k = 0; k < nodeChunks; k++)
        {
            var from = k * GraphCodec.NodesPerChunk;
            var plain = GraphCodec.Chunk(snapshot.Ordinals, snapshot.Graph.LinksOf, from, Math.Min(count, from + GraphCodec.NodesPerChunk), count);
            chunks.Add(cipher.Encrypt(plain, GraphAad(collection.Cid, uid, k + 1)));
        }

        _db.Begin(large: chunks.Sum(c => (long)c.Length) >= 1 << 20);
        try
        {
            _db.ReplaceGraph(collection.Cid, uid, chunks);
            _db.Commit();
        }
        catch
        {
            _db.Rollback();
            throw;
        }

        collection.Checkpointed(snapshot);
        CheckpointWritten?.Invoke(Tenant.Value, collection.Spec.Name, count);
    }

    /// <summary>
    /// Reads collection <paramref name="cid"/>'s stored graph; null when there is none, or when it is unreadable
    /// (<paramref name="unreadable"/> then true: chunks missing, not decrypting or malformed; it is logged and rebuilt).
    /// </summary>
    private GraphCheckpoint? ReadGraph(int cid, string name, out bool unreadable)
    {
        unreadable = false;
        var stored = _db.ReadGraph(cid);
        if (stored.Count == 0)
        {
            return null;
        }

        try
        {
            using var cipher = new RowCipher(_ring.TenantKey);
            var uid = stored[0].Uid;
            byte[] Open(int chunk)
            {
                var (number, chunkUid, payload) = stored[chunk];
                var plain = new byte[Math.Max(0, payload.Length - RowCipher.Overhead)];
                if (number != chunk || !chunkUid.AsSpan().SequenceEqual(uid) || !cipher.TryDecrypt(payload, plain, GraphAad(cid, uid, chunk)))
                {
                    throw new StorageFormatException("A graph chunk is missing or does not decrypt.");
                }

                return plain;
            }

            var (m, dimension, count, entry, chunks) = GraphCodec.ReadHeader(Open(0));
            if (stored.Count != chunks + 1)
            {
                throw new StorageFormatException("A stored graph has another number of chunks than its header says.");
            }

            var ordinals = new long[count];
            var links = new int[count][][];
            for (var k = 0; k < chunks; k++)
            {
                var from = k * GraphCodec.NodesPerChunk;
                GraphCodec.ReadChunk(Open(k + 1), from, Math.Min(count, from + GraphCodec.NodesPerChunk), count, ordinals, links);
            }

            return new GraphCheckpoint { M = m, Dimension = dimension, Entry = entry, Ordinals = ordinals, Links = links };
        }
        catch (StorageFormatException e)
        {
            Log.GraphUnreadable(_ctx.Logger, Tenant.Value, name, e);
            unreadable = true;
            return null;
        }
    }
}
