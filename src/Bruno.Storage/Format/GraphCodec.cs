using System.Buffers;
using System.Buffers.Binary;

namespace Bruno.Storage.Format;

/// <summary>
/// A collection's HNSW graph as stored (format 3, decision 0044): the ordinals of its nodes in node order, and per node
/// its neighbour lists by level (node indices). It holds no row content: only ordinals and links.
/// </summary>
internal sealed class GraphCheckpoint
{
    public required int M { get; init; }

    public required int Dimension { get; init; }

    /// <summary>The entry node (index into <see cref="Ordinals"/>), -1 for an empty graph.</summary>
    public required int Entry { get; init; }

    public required long[] Ordinals { get; init; }

    /// <summary>Per node, per level (0 = the bottom), the indices of its neighbours, each below <see cref="Count"/>.</summary>
    public required int[][][] Links { get; init; }

    public int Count => Ordinals.Length;
}

/// <summary>
/// The plaintext of a stored graph, in chunks of <see cref="NodesPerChunk"/> nodes (integers little-endian, varint =
/// LEB128). Chunk 0 is the header, chunks 1..n hold the nodes:
/// <code>
/// header: u8 version (1) | u32 M | u32 dimension | u32 node count | i32 entry node (-1: none) | u32 node chunks
/// chunk:  per node: u64 ordinal | u8 levels (top level + 1) | per level: varint n, n × varint neighbour node index
/// </code>
/// Readers throw <see cref="StorageFormatException"/> on malformed bytes; the engine then rebuilds the graph.
/// </summary>
internal static class GraphCodec
{
    public const byte Version = 1;
    public const int NodesPerChunk = 16_384;
    private const int HeaderLength = 1 + 4 + 4 + 4 + 4 + 4;

    public static byte[] Header(int m, int dimension, int count, int entry, int chunks)
    {
        var h = new byte[HeaderLength];
        h[0] = Version;
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(1), m);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(5), dimension);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(9), count);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(13), entry);
        BinaryPrimitives.WriteInt32LittleEndian(h.AsSpan(17), chunks);
        return h;
    }

    public static int ChunksFor(int count) => (count + NodesPerChunk - 1) / NodesPerChunk;

    /// <summary>Encodes nodes [<paramref name="from"/>, <paramref name="to"/>); links to nodes at or above <paramref name="count"/> are left out.</summary>
    public static byte[] Chunk(IReadOnlyList<long> ordinals, Func<int, int[][]> links, int from, int to, int count)
    {
        var w = new ArrayBufferWriter<byte>((to - from) * 64);
        for (var node = from; node < to; node++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(w.GetSpan(8), ordinals[node]);
            w.Advance(8);
            var levels = links(node);
            w.GetSpan(1)[0] = (byte)levels.Length;
            w.Advance(1);
            foreach (var level in levels)
            {
                var n = 0;
                foreach (var x in level)
                {
                    n += x < count ? 1 : 0;
                }

                RowCodec.WriteVarint(w, (uint)n);
                foreach (var x in level)
                {
                    if (x < count)
                    {
                        RowCodec.WriteVarint(w, (uint)x);
                    }
                }
            }
        }

        return w.WrittenSpan.ToArray();
    }

    public static (int M, int Dimension, int Count, int Entry, int Chunks) ReadHeader(ReadOnlySpan<byte> h)
    {
        if (h.Length != HeaderLength || h[0] != Version)
        {
            throw new StorageFormatException(h.Length == 0 ? "A graph header is empty." : $"Graph format version {h[0]} is not supported (this engine reads {Version}).");
        }

        var m = BinaryPrimitives.ReadInt32LittleEndian(h[1..]);
        var dimension = BinaryPrimitives.ReadInt32LittleEndian(h[5..]);
        var count = BinaryPrimitives.ReadInt32LittleEndian(h[9..]);
        var entry = BinaryPrimitives.ReadInt32LittleEndian(h[13..]);
        var chunks = BinaryPrimitives.ReadInt32LittleEndian(h[17..]);
        if (m < 2 || count < 0 || entry < -1 || entry >= count || (count > 0 && entry < 0) || chunks != ChunksFor(count))
        {
            throw new StorageFormatException("A graph header is inconsistent.");
        }

        return (m, dimension, count, entry, chunks);
    }

    /// <summary>Decodes nodes [<paramref name="from"/>, <paramref name="to"/>) into the arrays; every neighbour must be a node below <paramref name="count"/>.</summary>
    public static void ReadChunk(ReadOnlySpan<byte> data, int from, int to, int count, long[] ordinals, int[][][] links)
    {
        var pos = 0;
        for (var node = from; node < to; node++)
        {
            if (data.Length - pos < 9)
            {
                throw new StorageFormatException("A graph chunk is truncated.");
            }

            ordinals[node] = BinaryPrimitives.ReadInt64LittleEndian(data[pos..]);
            int levels = data[pos + 8];
            pos += 9;
            if (levels == 0 || ordinals[node] is < 1 or > SegmentWriter.MaxOrdinal)
            {
                throw new StorageFormatException("A graph node is malformed.");
            }

            var node3 = new int[levels][];
            for (var l = 0; l < levels; l++)
            {
                var n = ReadVarint(data, ref pos);
                if (n > 4096)
                {
                    throw new StorageFormatException("A graph node has too many neighbours.");
                }

                var list = new int[n];
                for (var i = 0; i < n; i++)
                {
                    var x = ReadVarint(data, ref pos);
                    list[i] = x < count ? x : throw new StorageFormatException("A graph node names a node that does not exist.");
                }

                node3[l] = list;
            }

            links[node] = node3;
        }

        if (pos != data.Length)
        {
            throw new StorageFormatException("A graph chunk has bytes after its end.");
        }
    }

    private static int ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        uint v = 0;
        for (var shift = 0; shift < 35; shift += 7)
        {
            if (pos >= data.Length)
            {
                throw new StorageFormatException("A graph chunk is truncated.");
            }

            var b = data[pos++];
            v |= (uint)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return v <= int.MaxValue ? (int)v : throw new StorageFormatException("A graph chunk holds an out-of-range number.");
            }
        }

        throw new StorageFormatException("A graph chunk holds a malformed number.");
    }
}
