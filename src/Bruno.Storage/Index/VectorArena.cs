using System.Numerics.Tensors;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>
/// Vectors of one collection by slot, in blocks of <see cref="BlockSlots"/> contiguous vectors (fast scans, and growth
/// never copies what is stored: only the first block grows by doubling, so a small collection stays small). Slots are
/// append-only and a slot's values never change, so a reader holding an older block table still sees correct values for
/// every slot it knows about. One writer (under the collection's write lock), any number of readers.
/// </summary>
internal sealed class VectorArena(int dimension, VectorMetric metric)
{
    private const int BlockShift = 10;
    private const int BlockSlots = 1 << BlockShift;
    private const int SlotMask = BlockSlots - 1;
    private volatile Block[] _blocks = [new Block(dimension, 8)];
    private volatile int _count;

    public int Dimension => dimension;

    /// <summary>Slots written so far (published after the values).</summary>
    public int Count => _count;

    public ReadOnlySpan<float> Get(int slot) => _blocks[slot >> BlockShift].Data.AsSpan((slot & SlotMask) * dimension, dimension);

    public float NormOf(int slot) => _blocks[slot >> BlockShift].Norms[slot & SlotMask];

    /// <summary>
    /// A read-only view of a slot's vector, for handing rows to callers without copying it: a slot's values never change
    /// once it is counted, and a block replaced by growth or a generation replaced by compaction stays as it was for as
    /// long as a view holds it.
    /// </summary>
    public ReadOnlyMemory<float> Memory(int slot) => _blocks[slot >> BlockShift].Data.AsMemory((slot & SlotMask) * dimension, dimension);

    public int Append(ReadOnlySpan<float> vector)
    {
        var slot = _count;
        Reserve(slot + 1);
        var block = _blocks[slot >> BlockShift];
        vector.CopyTo(block.Data.AsSpan((slot & SlotMask) * dimension, dimension));
        block.Norms[slot & SlotMask] = TensorPrimitives.Norm(vector);
        _count = slot + 1;
        return slot;
    }

    /// <summary>Makes room for <paramref name="slots"/> vectors in all: adds blocks, or grows the first one (publishing a copy).</summary>
    public void Reserve(int slots)
    {
        var blocks = _blocks;
        if (!BlockTable.Holds(blocks.Length, blocks[0].Capacity, slots))
        {
            _blocks = BlockTable.Grow(blocks, slots, _count, b => b.Capacity, c => new Block(dimension, c), (from, to, count) =>
            {
                from.Data.AsSpan(0, count * dimension).CopyTo(to.Data);
                from.Norms.AsSpan(0, count).CopyTo(to.Norms);
            });
        }
    }

    /// <summary>Similarity of a query (with its norm) to a slot: dot product, or cosine.</summary>
    public float Similarity(ReadOnlySpan<float> query, float queryNorm, int slot)
    {
        var block = _blocks[slot >> BlockShift];
        var dot = TensorPrimitives.Dot(query, block.Data.AsSpan((slot & SlotMask) * dimension, dimension));
        if (metric == VectorMetric.Dot)
        {
            return dot;
        }

        var denom = queryNorm * block.Norms[slot & SlotMask];
        return denom > 0 ? dot / denom : 0;
    }

    public float Similarity(int a, int b) => Similarity(Get(a), NormOf(a), b);

    /// <summary>
    /// Writes a slot while a tenant opens (vectors arrive in key order, not slot order), before any reader exists: room
    /// must be made first (<see cref="Reserve"/>; a slot beyond it throws <see cref="IndexOutOfRangeException"/>), and
    /// <see cref="PublishLoaded"/> counts the slots once all are written. Different slots may be written from several
    /// threads at once.
    /// </summary>
    public void SetLoaded(int slot, ReadOnlySpan<float> vector)
    {
        var block = _blocks[slot >> BlockShift];
        vector.CopyTo(block.Data.AsSpan((slot & SlotMask) * dimension, dimension));
        block.Norms[slot & SlotMask] = TensorPrimitives.Norm(vector);
    }

    /// <summary>Ends a load: slots [0, <paramref name="count"/>) were written by <see cref="SetLoaded"/>.</summary>
    public void PublishLoaded(int count) => _count = count;

    private sealed class Block(int dimension, int capacity)
    {
        public int Capacity => capacity;

        // Not zeroed: a slot is written before it is counted, and nothing reads past the count.
        public float[] Data { get; } = GC.AllocateUninitializedArray<float>(dimension * capacity);

        public float[] Norms { get; } = GC.AllocateUninitializedArray<float>(capacity);
    }
}
