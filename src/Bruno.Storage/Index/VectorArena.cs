using System.Numerics.Tensors;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>
/// Vectors of one collection by slot, in one contiguous array (fast scans). Slots are append-only and a slot's values never
/// change, so a reader holding an older array still sees correct values for every slot it knows about; growth publishes a
/// larger copy. One writer (under the collection's write lock), any number of readers.
/// </summary>
internal sealed class VectorArena(int dimension, VectorMetric metric)
{
    private volatile float[] _data = new float[dimension * 8];
    private volatile float[] _norms = new float[8];
    private volatile int _count;

    public int Dimension => dimension;

    /// <summary>Slots written so far (published after the values).</summary>
    public int Count => _count;

    public ReadOnlySpan<float> Get(int slot) => _data.AsSpan(slot * dimension, dimension);

    public int Append(ReadOnlySpan<float> vector)
    {
        var slot = _count;
        if ((slot + 1) * dimension > _data.Length)
        {
            Reserve(Math.Max(_data.Length / dimension * 2, slot + 1));
        }

        vector.CopyTo(_data.AsSpan(slot * dimension, dimension));
        _norms[slot] = TensorPrimitives.Norm(vector);
        _count = slot + 1;
        return slot;
    }

    /// <summary>Grows the arena (publishing a larger copy) so that it holds at least <paramref name="slots"/> vectors.</summary>
    public void Reserve(int slots)
    {
        if (slots * dimension <= _data.Length)
        {
            return;
        }

        var count = _count;
        var grown = new float[slots * dimension];
        _data.AsSpan(0, count * dimension).CopyTo(grown);
        var norms = new float[slots];
        _norms.AsSpan(0, count).CopyTo(norms);
        _data = grown;
        _norms = norms;
    }

    /// <summary>Similarity of a query (with its norm) to a slot: dot product, or cosine.</summary>
    public float Similarity(ReadOnlySpan<float> query, float queryNorm, int slot)
    {
        var dot = TensorPrimitives.Dot(query, _data.AsSpan(slot * dimension, dimension));
        if (metric == VectorMetric.Dot)
        {
            return dot;
        }

        var denom = queryNorm * _norms[slot];
        return denom > 0 ? dot / denom : 0;
    }

    public float Similarity(int a, int b) => Similarity(Get(a), _norms[a], b);

    public float NormOf(int slot) => _norms[slot];
}
