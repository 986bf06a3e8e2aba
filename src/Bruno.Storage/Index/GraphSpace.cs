using System.Numerics.Tensors;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>
/// What the HNSW graph and the scans score on: the float32 arena (<see cref="FloatSpace"/>) or a collection's codes
/// (<see cref="CodeArena"/>). Scores are similarities, higher is closer; over codes they are estimates. One writer appends,
/// any number of readers score at the same time.
/// </summary>
internal interface IGraphSpace
{
    /// <summary>Slots written so far.</summary>
    int Count { get; }

    /// <summary>A query made ready for <see cref="Similarity(GraphQuery, int)"/> (copied: the caller's span may go away).</summary>
    GraphQuery Prepare(ReadOnlySpan<float> query, float norm);

    /// <summary>The stored vector of a slot as a query, for inserting it into the graph. The inserting thread only: the buffer is reused.</summary>
    GraphQuery QueryOf(int slot);

    /// <summary>Similarity of a prepared query to a slot (dot or cosine, as the collection's metric says).</summary>
    float Similarity(GraphQuery query, int slot);

    /// <summary>Similarity of two slots.</summary>
    float Similarity(int a, int b);
}

/// <summary>A query prepared for one <see cref="IGraphSpace"/>: the vector with its norm, and its sign bits for binary codes.</summary>
internal sealed class GraphQuery(float[] vector, float norm, ulong[]? bits = null, bool bounded = true)
{
    /// <summary>Whether int8 error bounds hold for this query (its norm is away from float underflow and overflow).</summary>
    public bool Bounded => bounded;

    public float[] Vector => vector;

    public float Norm => norm;

    public ulong[]? Bits => bits;
}

/// <summary>The float32 arena as a graph space: exact scores (the collections without quantisation).</summary>
internal sealed class FloatSpace(VectorArena arena) : IGraphSpace
{
    private float[]? _insertBuffer;

    public int Count => arena.Count;

    public GraphQuery Prepare(ReadOnlySpan<float> query, float norm) => new(query.ToArray(), norm);

    public GraphQuery QueryOf(int slot)
    {
        var buffer = _insertBuffer ??= new float[arena.Dimension];
        arena.Get(slot).CopyTo(buffer);
        return new GraphQuery(buffer, arena.NormOf(slot));
    }

    public float Similarity(GraphQuery query, int slot) => arena.Similarity(query.Vector, query.Norm, slot);

    public float Similarity(int a, int b) => arena.Similarity(a, b);
}

/// <summary>
/// The one door to full-precision vectors (docs/decisions/0045): the re-rank of quantised searches reads through it, a batch
/// of slots a call, and nothing else of the search side reads the full-precision vectors of a quantised collection. It reads
/// them from the collection's spill file (decision 0048), or from the float arena when they are kept in memory. Scores are
/// computed exactly as <see cref="VectorArena.Similarity(ReadOnlySpan{float}, float, int)"/> computes them, so a re-ranked
/// score is bit for bit the score of a collection without quantisation. Safe on any thread; a spilled vector that does not
/// decrypt throws <see cref="DataUnreadableException"/>.
/// </summary>
internal sealed class FullVectors(SlotSimilarity similarity)
{
    /// <summary>Slots callers pass per call at most (a disk read's worth).</summary>
    public const int Batch = 128;

    private long _reads;

    /// <summary>Full-precision vectors read so far (what the re-rank costs; one atomic add a batch).</summary>
    public long Reads => Interlocked.Read(ref _reads);

    /// <summary>Full-precision similarities of <paramref name="query"/> to <paramref name="slots"/>, into <paramref name="scores"/> (same length).</summary>
    public void ExactScores(ReadOnlySpan<float> query, float queryNorm, ReadOnlySpan<int> slots, Span<float> scores)
    {
        Interlocked.Add(ref _reads, slots.Length);
        for (var i = 0; i < slots.Length; i++)
        {
            scores[i] = similarity(query, queryNorm, slots[i]);
        }
    }

    /// <summary>The norm of a query as the exact scores take it.</summary>
    public static float NormOf(ReadOnlySpan<float> query) => TensorPrimitives.Norm(query);
}

/// <summary>The full-precision similarity of a query (with its norm) to a slot.</summary>
internal delegate float SlotSimilarity(ReadOnlySpan<float> query, float queryNorm, int slot);

/// <summary>Makes the in-memory representation a collection's spec asks for.</summary>
internal static class GraphSpaces
{
    /// <summary>The codes of a quantised collection, or null for <see cref="VectorQuantization.None"/> (the arena is scanned itself).</summary>
    public static CodeArena? CodesFor(CollectionSpec spec) =>
        spec.Quantization is VectorQuantization.None ? null : new CodeArena(spec.Dimension, spec.Metric, spec.Quantization);
}
