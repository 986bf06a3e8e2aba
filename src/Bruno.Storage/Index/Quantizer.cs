using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Bruno.Storage.Index;

/// <summary>
/// The kernels of quantised vectors (docs/decisions/0045): int8 scalar codes with a scale per vector, sign bits, and the
/// dot products and Hamming distances over them. Stateless; every method is safe on any thread.
/// </summary>
internal static class Quantizer
{
    /// <summary>Unit roundoff of float32 (2^-24).</summary>
    public const double Unit = 1.0 / (1 << 24);

    /// <summary>
    /// The relative error bound of a float32 dot product of <paramref name="dimension"/> terms in any summation order,
    /// with two more terms' worth to spare (the final scale multiplication and the additions of the bounds): γ_n = n·u / (1 − n·u)
    /// with n = dimension + 2 (Higham, Accuracy and Stability of Numerical Algorithms, §3.1).
    /// </summary>
    public static double Gamma(int dimension) => (dimension + 2) * Unit / (1 - ((dimension + 2) * Unit));

    /// <summary>
    /// Writes the int8 codes of <paramref name="vector"/> (scale = max |v_i| / 127, c_i = round(v_i / scale)) and returns the
    /// scale; <paramref name="error"/> is ‖v − scale·c‖ computed in double from the float scale actually stored. A zero vector
    /// gets scale 0 and codes 0 (error 0).
    /// </summary>
    public static float EncodeInt8(ReadOnlySpan<float> vector, Span<sbyte> codes, out double error)
    {
        var max = vector.IsEmpty ? 0f : MathF.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(vector));
        if (max == 0)
        {
            codes[..vector.Length].Clear();
            error = 0;
            return 0;
        }

        // Eight lanes at a time where the hardware has them: the same division, round-half-to-even and clamp per element as
        // the scalar tail, so the codes do not depend on the path; the error terms are the same, only summed in another order.
        var scale = max / 127f;
        var n = vector.Length;
        var i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            ref var v = ref MemoryMarshal.GetReference(vector);
            var scales = Vector256.Create(scale);
            var scalesWide = Vector256.Create((double)scale);
            var low = Vector256.Create(-127f);
            var high = Vector256.Create(127f);
            var acc = Vector256<double>.Zero;
            Span<int> lanes = stackalloc int[8];
            for (; i <= n - 8; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref v, (nuint)i);
                var c = Vector256.Min(Vector256.Max(Vector256.Round(x / scales), low), high);
                Vector256.ConvertToInt32(c).CopyTo(lanes);
                for (var j = 0; j < 8; j++)
                {
                    codes[i + j] = (sbyte)lanes[j];
                }

                var (xl, xh) = Vector256.Widen(x);
                var (cl, ch) = Vector256.Widen(c);
                var dl = xl - (scalesWide * cl);
                var dh = xh - (scalesWide * ch);
                acc += (dl * dl) + (dh * dh);
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            var c = (sbyte)Math.Clamp(MathF.Round(vector[i] / scale), -127, 127);
            codes[i] = c;
            var d = vector[i] - ((double)scale * c);
            sum += d * d;
        }

        error = Math.Sqrt(sum);
        return scale;
    }

    /// <summary>Σ q_i·c_i in float32 (AVX2 and FMA where present: 16 codes a step, sign-extended and converted in registers).</summary>
    public static float Dot(ReadOnlySpan<float> query, ReadOnlySpan<sbyte> codes)
    {
        var n = query.Length;
        ref var q = ref MemoryMarshal.GetReference(query);
        ref var c = ref MemoryMarshal.GetReference(codes[..n]);
        var i = 0;
        var sum = 0f;
        if (Avx2.IsSupported && Fma.IsSupported && n >= 16)
        {
            var a0 = Vector256<float>.Zero;
            var a1 = Vector256<float>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var b = Vector128.LoadUnsafe(ref c, (nuint)i);
                var lo = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(b));
                var hi = Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(b, 8)));
                a0 = Fma.MultiplyAdd(lo, Vector256.LoadUnsafe(ref q, (nuint)i), a0);
                a1 = Fma.MultiplyAdd(hi, Vector256.LoadUnsafe(ref q, (nuint)(i + 8)), a1);
            }

            sum = Vector256.Sum(a0 + a1);
        }

        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref q, i) * Unsafe.Add(ref c, i);
        }

        return sum;
    }

    /// <summary>Σ a_i·b_i of two code vectors, exact (in int32: |Σ| ≤ 127²·8,192 &lt; 2^31).</summary>
    public static int Dot(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        var n = a.Length;
        ref var x = ref MemoryMarshal.GetReference(a);
        ref var y = ref MemoryMarshal.GetReference(b[..n]);
        var i = 0;
        var sum = 0;
        if (Avx2.IsSupported && n >= 16)
        {
            var acc = Vector256<int>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var wx = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref x, (nuint)i));
                var wy = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref y, (nuint)i));
                acc += Avx2.MultiplyAddAdjacent(wx, wy);
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            sum += Unsafe.Add(ref x, i) * Unsafe.Add(ref y, i);
        }

        return sum;
    }

    /// <summary>‖v‖ computed in double (no underflow or overflow for float inputs).</summary>
    public static double NormInDouble(ReadOnlySpan<float> vector)
    {
        var n = vector.Length;
        var i = 0;
        double sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            ref var v = ref MemoryMarshal.GetReference(vector);
            var acc = Vector256<double>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.LoadUnsafe(ref v, (nuint)i));
                acc += (lo * lo) + (hi * hi);
            }

            sum = Vector256.Sum(acc);
        }

        for (; i < n; i++)
        {
            sum += (double)vector[i] * vector[i];
        }

        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Whether a norm lies within [2^-50, 2^50], where the float arithmetic of scores has the relative error bounds the
    /// int8 radius stands on (CodeArena.RadiusOf).
    /// </summary>
    public static bool InBoundedRange(double norm) => norm is >= 1.0 / (1L << 50) and <= 1L << 50;

    /// <summary>Words of sign bits a vector of <paramref name="dimension"/> takes.</summary>
    public static int Words(int dimension) => (dimension + 63) >> 6;

    /// <summary>Writes the sign bits of <paramref name="vector"/>: bit i is set when v_i &gt; 0 (unused high bits stay 0).</summary>
    public static void EncodeBits(ReadOnlySpan<float> vector, Span<ulong> bits)
    {
        bits[..Words(vector.Length)].Clear();
        for (var i = 0; i < vector.Length; i++)
        {
            if (vector[i] > 0)
            {
                bits[i >> 6] |= 1UL << (i & 63);
            }
        }
    }

    /// <summary>Bits that differ between two sign-bit vectors of the same length.</summary>
    public static int Hamming(ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        var d = 0;
        for (var i = 0; i < a.Length; i++)
        {
            d += BitOperations.PopCount(a[i] ^ b[i]);
        }

        return d;
    }
}
