using System.Numerics.Tensors;
using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

/// <summary>
/// The quantised vectors of one collection by slot (docs/decisions/0045), laid out as <see cref="VectorArena"/> lays out
/// floats: blocks of 1,024 slots that growth never copies (only the first block grows, by doubling), append-only slots whose
/// values never change, one writer (under the collection's write lock, or the loading thread) and lock-free readers that
/// see every slot below <see cref="Count"/> complete.
/// <para>
/// int8: per slot the codes c (scale s = max |v_i| / 127), s, the vector's float norm ‖v‖ (as the arena computes it) and a
/// radius bounding how far an estimated score can lie from the full-precision one (<see cref="Radius"/>). Binary: per slot
/// the sign bits and ‖v‖.
/// </para>
/// </summary>
internal sealed class CodeArena : IGraphSpace
{
    private const int BlockShift = BlockTable.BlockShift;
    private const int SlotMask = BlockTable.SlotMask;

    /// <summary>Rounds a stored bound up past its own float rounding and the few multiplications it goes through.</summary>
    private const double Inflate = 1 + (1.0 / (1 << 20));

    private readonly int _dimension;
    private readonly int _stride; // sbytes (int8) or ulongs (binary) a slot takes
    private readonly VectorMetric _metric;
    private readonly bool _binary;
    private readonly float _queryFactor; // 1 + 2γ: covers ‖q‖ against its float norm and the radius product's rounding
    private const float DotSlack = 7.5e-40f; // > 2^-130
    private const double CosineSlack = 1.0 / (1L << 30);
    private readonly float[] _cosOfHamming = [];
    private volatile Block[] _blocks;
    private volatile int _count;
    private float[]? _insertBuffer;

    public CodeArena(int dimension, VectorMetric metric, VectorQuantization kind)
    {
        if (kind is not (VectorQuantization.Int8 or VectorQuantization.Binary))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Codes are int8 or binary.");
        }

        (_dimension, _metric, _binary, Kind) = (dimension, metric, kind == VectorQuantization.Binary, kind);
        _stride = _binary ? Quantizer.Words(dimension) : dimension;
        _queryFactor = (float)(1 + (2 * Quantizer.Gamma(dimension)));
        if (_binary)
        {
            // the angle two vectors make is about π·(differing signs)/dimension (Charikar's sign hashing)
            _cosOfHamming = [.. Enumerable.Range(0, dimension + 1).Select(h => MathF.Cos(MathF.PI * h / dimension))];
        }

        _blocks = [new Block(_stride, _binary, 8)];
    }

    public VectorQuantization Kind { get; }

    /// <summary>Slots written so far (published after the values).</summary>
    public int Count => _count;

    /// <summary>Bytes the codes of <paramref name="slots"/> vectors take (the estimate the design compares).</summary>
    public long BytesFor(int slots) => (long)slots * (_binary ? (_stride * 8) + 4 : _stride + 12);

    public int Append(ReadOnlySpan<float> vector)
    {
        var slot = _count;
        Reserve(slot + 1);
        Write(slot, vector);
        _count = slot + 1;
        return slot;
    }

    /// <summary>Appends a copy of <paramref name="from"/>'s slot (codes, scale, radius and norm as they are; compaction). Returns the new slot.</summary>
    public int AppendCopy(CodeArena from, int slot)
    {
        var fresh = _count;
        Reserve(fresh + 1);
        var (src, i) = (from._blocks[slot >> BlockShift], slot & SlotMask);
        var (dst, j) = (_blocks[fresh >> BlockShift], fresh & SlotMask);
        dst.Norms[j] = src.Norms[i];
        if (_binary)
        {
            src.Bits.AsSpan(i * _stride, _stride).CopyTo(dst.Bits.AsSpan(j * _stride));
        }
        else
        {
            src.Codes.AsSpan(i * _stride, _stride).CopyTo(dst.Codes.AsSpan(j * _stride));
            dst.Scales[j] = src.Scales[i];
            dst.Radii[j] = src.Radii[i];
        }

        _count = fresh + 1;
        return fresh;
    }

    /// <summary>The float32 norm of a slot's full-precision vector (as <see cref="VectorArena.NormOf"/> holds it).</summary>
    public float NormOf(int slot) => _blocks[slot >> BlockShift].Norms[slot & SlotMask];

    /// <summary>
    /// Writes a slot while a tenant opens, before any reader exists (as <see cref="VectorArena.SetLoaded"/>): room must be
    /// made first (<see cref="Reserve"/>), and <see cref="PublishLoaded"/> counts the slots once all are written.
    /// Different slots may be written from several threads at once.
    /// </summary>
    public void SetLoaded(int slot, ReadOnlySpan<float> vector) => Write(slot, vector);

    /// <summary>Ends a load: slots [0, <paramref name="count"/>) were written by <see cref="SetLoaded"/>.</summary>
    public void PublishLoaded(int count) => _count = count;

    /// <summary>Makes room for <paramref name="slots"/> vectors in all: adds blocks, or grows the first one (publishing a copy).</summary>
    public void Reserve(int slots)
    {
        var blocks = _blocks;
        if (!BlockTable.Holds(blocks.Length, blocks[0].Capacity, slots))
        {
            _blocks = BlockTable.Grow(blocks, slots, _count, b => b.Capacity, c => new Block(_stride, _binary, c), (from, to, count) => from.CopyTo(to, count, _stride));
        }
    }

    private void Write(int slot, ReadOnlySpan<float> vector)
    {
        var block = _blocks[slot >> BlockShift];
        var i = slot & SlotMask;
        var norm = TensorPrimitives.Norm(vector);
        block.Norms[i] = norm;
        if (_binary)
        {
            Quantizer.EncodeBits(vector, block.Bits.AsSpan(i * _stride, _stride));
        }
        else
        {
            block.Scales[i] = Quantizer.EncodeInt8(vector, block.Codes.AsSpan(i * _stride, _stride), out var error);
            block.Radii[i] = RadiusOf(error, Quantizer.NormInDouble(vector), norm);
        }
    }

    public GraphQuery Prepare(ReadOnlySpan<float> query, float norm)
    {
        ulong[]? bits = null;
        if (_binary)
        {
            bits = new ulong[_stride];
            Quantizer.EncodeBits(query, bits);
        }

        return new GraphQuery(query.ToArray(), norm, bits, Quantizer.InBoundedRange(norm));
    }

    public GraphQuery QueryOf(int slot)
    {
        var block = _blocks[slot >> BlockShift];
        var i = slot & SlotMask;
        if (_binary)
        {
            return new GraphQuery([], block.Norms[i], block.Bits.AsSpan(i * _stride, _stride).ToArray());
        }

        // the decoded vector ŝ·c: the full-precision one is not read to build the graph
        var buffer = _insertBuffer ??= new float[_dimension];
        var codes = block.Codes.AsSpan(i * _stride, _stride);
        var scale = block.Scales[i];
        for (var d = 0; d < buffer.Length; d++)
        {
            buffer[d] = scale * codes[d];
        }

        return new GraphQuery(buffer, block.Norms[i]);
    }

    /// <summary>The estimated similarity of a query to a slot: q·ŝc (over ‖q‖‖v‖ for cosine), or from the Hamming distance.</summary>
    public float Similarity(GraphQuery query, int slot)
    {
        var block = _blocks[slot >> BlockShift];
        var i = slot & SlotMask;
        if (_binary)
        {
            var cos = _cosOfHamming[Quantizer.Hamming(query.Bits, block.Bits.AsSpan(i * _stride, _stride))];
            return _metric == VectorMetric.Dot ? query.Norm * block.Norms[i] * cos : cos;
        }

        var dot = block.Scales[i] * Quantizer.Dot(query.Vector, block.Codes.AsSpan(i * _stride, _stride));
        if (_metric == VectorMetric.Dot)
        {
            return dot;
        }

        // the same denominator, computed the same way, as VectorArena.Similarity's
        var denom = query.Norm * block.Norms[i];
        return denom > 0 ? dot / denom : 0;
    }

    /// <summary><see cref="Similarity(GraphQuery, int)"/> and <see cref="Radius"/> in one look-up (the int8 exact scan).</summary>
    public float Estimate(GraphQuery query, int slot, out float radius)
    {
        if (_binary || !query.Bounded)
        {
            radius = float.PositiveInfinity;
            return Similarity(query, slot);
        }

        var block = _blocks[slot >> BlockShift];
        var i = slot & SlotMask;
        var dot = block.Scales[i] * Quantizer.Dot(query.Vector, block.Codes.AsSpan(i * _stride, _stride));
        var r = block.Radii[i];
        if (_metric == VectorMetric.Dot)
        {
            radius = (query.Norm * _queryFactor * r) + DotSlack;
            return dot;
        }

        radius = r;
        var denom = query.Norm * block.Norms[i];
        return denom > 0 ? dot / denom : 0;
    }

    public float Similarity(int a, int b)
    {
        var ba = _blocks[a >> BlockShift];
        var bb = _blocks[b >> BlockShift];
        var (ia, ib) = (a & SlotMask, b & SlotMask);
        float cos;
        if (_binary)
        {
            cos = _cosOfHamming[Quantizer.Hamming(ba.Bits.AsSpan(ia * _stride, _stride), bb.Bits.AsSpan(ib * _stride, _stride))];
            return _metric == VectorMetric.Dot ? ba.Norms[ia] * bb.Norms[ib] * cos : cos;
        }

        var dot = ba.Scales[ia] * bb.Scales[ib] * Quantizer.Dot(ba.Codes.AsSpan(ia * _stride, _stride), bb.Codes.AsSpan(ib * _stride, _stride));
        if (_metric == VectorMetric.Dot)
        {
            return dot;
        }

        var denom = ba.Norms[ia] * bb.Norms[ib];
        return denom > 0 ? dot / denom : 0;
    }

    /// <summary>
    /// How far <see cref="Similarity(GraphQuery, int)"/> can lie from the full-precision score
    /// (<see cref="FullVectors.ExactScores"/>) of the same query and slot, either way, float rounding included: for int8 a
    /// proven bound (see <see cref="RadiusOf"/>), for binary +∞ (sign bits bound nothing).
    /// </summary>
    public float Radius(GraphQuery query, int slot)
    {
        if (_binary || !query.Bounded)
        {
            return float.PositiveInfinity;
        }

        var r = _blocks[slot >> BlockShift].Radii[slot & SlotMask];
        return _metric == VectorMetric.Dot ? (query.Norm * _queryFactor * r) + DotSlack : r;
    }

    /// <summary>
    /// The stored part of the int8 bound. Let x = fl(q·v) be the full-precision score's dot product, a = fl(s·fl(Σ q_i c_i))
    /// the estimate's, e = ‖v − s·c‖, γ = <see cref="Quantizer.Gamma"/>. Then
    /// |q·v − q·ŝc| ≤ ‖q‖·e (Cauchy–Schwarz), |x − q·v| ≤ γ‖q‖‖v‖ and |a − q·ŝc| ≤ γ‖q‖‖ŝc‖ ≤ γ‖q‖(‖v‖ + e) (a float dot product
    /// of n terms in any order, FMA or not), so |x − a| ≤ ‖q‖·(e + 2γ(‖v‖ + e)); one more γ‖q‖(‖v‖ + e) covers rounding
    /// a ± radius. Dot: radius = ‖q‖_float·(1 + 2γ)·r with r = (e + 3γ(‖v‖ + e))·(1 + 2^-20), where 1 + 2γ covers the float
    /// norm of q against the true one and the product's rounding. Cosine: both scores divide by the same float
    /// D = fl(‖q‖·‖v‖) ≥ ‖q‖‖v‖(1 − γ), so |x − a|/D ≤ (e + 2γ(‖v‖ + e))(1 + 2γ)/‖v‖, and the two divisions and a ± radius
    /// add at most 8u (scores are at most 1 + 2γ in magnitude): r = ((e + 3γ(‖v‖ + e))(1 + 2γ)/‖v‖ + 8u)·(1 + 2^-20),
    /// independent of the query. A zero vector scores exactly 0 either way (its codes are 0): r = 0.
    /// <para>
    /// Relative error bounds hold only away from float underflow and overflow: they are used when ‖v‖ and ‖q‖ lie within
    /// [2^-50, 2^50] (<see cref="Quantizer.InBoundedRange"/>), where every sum of squares is a normal float and products that
    /// underflow add at most (n + 2)·2^-149 in all, which the absolute slack covers (2^-130 for dot; 2^-30 for cosine, whose
    /// denominator is at least 2^-100). Outside, the radius is +∞: such a row or query is always re-ranked.
    /// </para>
    /// </summary>
    private float RadiusOf(double error, double trueNorm, float norm)
    {
        if (trueNorm == 0)
        {
            return 0;
        }

        if (!Quantizer.InBoundedRange(trueNorm))
        {
            return float.PositiveInfinity;
        }

        var gamma = Quantizer.Gamma(_dimension);
        var r = error + (3 * gamma * (trueNorm + error));
        if (_metric == VectorMetric.Cosine)
        {
            r = (r * (1 + (2 * gamma)) / norm) + (8 * Quantizer.Unit) + CosineSlack;
        }

        return (float)(r * Inflate);
    }

    private sealed class Block
    {
        public Block(int stride, bool binary, int capacity)
        {
            Capacity = capacity;
            Norms = GC.AllocateUninitializedArray<float>(capacity);
            // Not zeroed: a slot is written before it is counted, and nothing reads past the count.
            if (binary)
            {
                Bits = GC.AllocateUninitializedArray<ulong>(stride * capacity);
            }
            else
            {
                Codes = GC.AllocateUninitializedArray<sbyte>(stride * capacity);
                Scales = GC.AllocateUninitializedArray<float>(capacity);
                Radii = GC.AllocateUninitializedArray<float>(capacity);
            }
        }

        public int Capacity { get; }

        public sbyte[] Codes { get; } = [];

        public ulong[] Bits { get; } = [];

        public float[] Scales { get; } = [];

        public float[] Radii { get; } = [];

        public float[] Norms { get; }

        public void CopyTo(Block to, int count, int stride)
        {
            Codes.AsSpan(0, Math.Min(Codes.Length, count * stride)).CopyTo(to.Codes);
            Bits.AsSpan(0, Math.Min(Bits.Length, count * stride)).CopyTo(to.Bits);
            Scales.AsSpan(0, Math.Min(Scales.Length, count)).CopyTo(to.Scales);
            Radii.AsSpan(0, Math.Min(Radii.Length, count)).CopyTo(to.Radii);
            Norms.AsSpan(0, count).CopyTo(to.Norms);
        }
    }
}
