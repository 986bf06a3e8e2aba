namespace Bruno.Storage.Index;

/// <summary>
/// The growth rule of the per-slot arenas (<see cref="VectorArena"/>, <see cref="CodeArena"/>): blocks of
/// <see cref="BlockSlots"/> slots that growth never copies; only a lone first block grows, by doubling (publishing a copy),
/// so a small collection stays small. Callers publish the table returned; readers holding an older one still see every
/// slot they know about.
/// </summary>
internal static class BlockTable
{
    public const int BlockShift = 10;
    public const int BlockSlots = 1 << BlockShift;
    public const int SlotMask = BlockSlots - 1;

    /// <summary>Whether a table of <paramref name="blocks"/> blocks whose first holds <paramref name="firstCapacity"/> slots has room for <paramref name="slots"/>.</summary>
    public static bool Holds(int blocks, int firstCapacity, int slots) => slots <= (blocks == 1 ? firstCapacity : blocks << BlockShift);

    /// <summary>
    /// The table grown to hold <paramref name="slots"/>: the lone first block replaced by a larger copy of its first
    /// <paramref name="count"/> slots (<paramref name="copy"/>), then new full blocks appended (<paramref name="make"/>
    /// takes a capacity).
    /// </summary>
    public static TBlock[] Grow<TBlock>(TBlock[] blocks, int slots, int count, Func<TBlock, int> capacity, Func<int, TBlock> make, Action<TBlock, TBlock, int> copy)
    {
        if (blocks.Length == 1 && capacity(blocks[0]) < BlockSlots)
        {
            var first = make(Math.Min(BlockSlots, Math.Max(slots, capacity(blocks[0]) * 2)));
            copy(blocks[0], first, Math.Min(count, capacity(blocks[0])));
            blocks = [first];
        }

        var need = (slots + BlockSlots - 1) >> BlockShift;
        if (need > blocks.Length)
        {
            var grown = new TBlock[need];
            blocks.CopyTo(grown, 0);
            for (var i = blocks.Length; i < need; i++)
            {
                grown[i] = make(BlockSlots);
            }

            blocks = grown;
        }

        return blocks;
    }
}
