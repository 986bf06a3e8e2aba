using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Bruno.Storage.Format;

/// <summary>
/// The plaintext of a stored vector (format 3, table <c>vectors</c>): its floats, IEEE 754 little-endian, nothing else
/// (the dimension is the collection's). Sealed on its own under its owner's key.
/// </summary>
internal static class VectorCodec
{
    public static int Length(int dimension) => dimension * 4;

    public static void Encode(ReadOnlySpan<float> vector, Span<byte> plain)
    {
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(vector).CopyTo(plain);
            return;
        }

        for (var i = 0; i < vector.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(plain[(i * 4)..], BitConverter.SingleToInt32Bits(vector[i]));
        }
    }

    /// <summary>Decodes into <paramref name="vector"/>; throws <see cref="StorageFormatException"/> when the length is not the dimension's.</summary>
    public static void Decode(ReadOnlySpan<byte> plain, Span<float> vector)
    {
        if (plain.Length != vector.Length * 4)
        {
            throw new StorageFormatException($"A stored vector has {plain.Length} bytes where its collection's dimension needs {vector.Length * 4}.");
        }

        if (BitConverter.IsLittleEndian)
        {
            plain.CopyTo(MemoryMarshal.AsBytes(vector));
            return;
        }

        for (var i = 0; i < vector.Length; i++)
        {
            vector[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadInt32LittleEndian(plain[(i * 4)..]));
        }
    }
}
