using Bruno.Storage.Model;

namespace Bruno.Storage.Index;

// The collection's state, construction and disposal, and the types it is made of. The other parts: CollectionState.Write
// (changing rows), .Read, .Search, .Filter, .Indexer (the HNSW graph kept up to date) and .Load (a tenant opening).

/// <summary>
/// Everything a collection holds in memory while its tenant is open: rows by slot, the vector arena, the owner index,
/// BM25 postings and, above the ANN threshold, an HNSW graph that a background indexer keeps up to date. Writers
/// (the tenant's write loop) take the write lock; searches take the read lock. Every change is applied to all indexes
/// under one lock acquisition, so no reader ever sees a row in one index and not in another.
/// </summary>
internal sealed partial class CollectionState : IDisposable
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly IndexSettings _settings;
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _indexerWake = new(0);

    /// <summary>Rows the graph may lag behind while a bulk load runs (an exact scan of them takes ≈ 12 ms at 384 dimensions).</summary>
    private const int MaxDeferredRows = 100_000;

    /// <summary>Until when (Environment.TickCount64) the collection counts as bulk-loading: set by batches of 256 rows or more.</summary>
    private long _bulkUntil;
    private Generation _g;
    private Task? _indexer;
    private TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private List<Undo>? _undo;

    /// <summary>The next ordinal to hand out (format 3): initialised at open above every ordinal stored, never handed out twice in an open.</summary>
    private long _nextOrdinal = 1;

    private static readonly Comparer<(DateTimeOffset At, string Id)> NewestComparer =
        Comparer<(DateTimeOffset At, string Id)>.Create((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : string.CompareOrdinal(a.Id, b.Id));

    /// <summary>
    /// A collection's state. With <paramref name="folder"/> (the tenant's), an int8 collection keeps its full-precision
    /// vectors in a <see cref="VectorSpill"/> there instead of in memory, unless the settings say otherwise
    /// (docs/decisions/0048; binary codes bound nothing, so a binary collection's exact searches read every candidate and
    /// it keeps them in memory); throws <see cref="StorageException"/> when that file cannot be created.
    /// </summary>
    public CollectionState(int cid, CollectionSpec spec, IndexSettings settings, string? folder = null)
    {
        (Cid, Spec, _settings) = (cid, spec, settings);
        _spill = folder is not null && !settings.FullVectorsInMemory && spec.Quantization == VectorQuantization.Int8 ? new VectorSpill(folder, spec.Dimension) : null;
        _g = new Generation(spec, _spill);
    }

    /// <summary>Where the full-precision vectors live when they are not in memory (null: in the arena).</summary>
    private readonly VectorSpill? _spill;

    /// <summary>
    /// Seals the full-precision vectors of rows about to be written (consecutive in <paramref name="vectors"/>, one per
    /// ordinal) into the collection's spill file, off the write lock; returns their records, or null when the vectors
    /// stay in memory. The records belong to the caller until the rows are published, and must be given back with
    /// <see cref="FreeRecords"/> if they never are. Throws <see cref="StorageException"/> when the file cannot be written
    /// (nothing is kept then).
    /// </summary>
    public int[]? SpillVectors(ReadOnlySpan<float> vectors, ReadOnlySpan<long> ordinals)
    {
        if (_spill is null)
        {
            return null;
        }

        var records = new int[ordinals.Length];
        _spill.Write(vectors, ordinals, records);
        return records;
    }

    /// <summary>Gives back records from <see cref="SpillVectors"/> whose rows were never published (-1 entries are skipped).</summary>
    public void FreeRecords(IEnumerable<int> records)
    {
        foreach (var r in records)
        {
            _spill?.Free(r);
        }
    }

    /// <summary>Full-precision vectors in the spill file (0 when they are kept in memory).</summary>
    internal int SpilledVectors => _spill?.InUse ?? 0;

    /// <summary>Bytes the in-memory float32 vectors take (0 when they are spilled).</summary>
    internal long ArenaBytes => _g.Arena is { } a ? (long)a.Count * a.Dimension * sizeof(float) : 0;

    public int Cid { get; }

    public CollectionSpec Spec { get; }

    /// <summary>
    /// Hands out <paramref name="count"/> consecutive ordinals for rows being sealed (any thread); returns the first.
    /// Throws <see cref="StorageException"/> when the collection has used up its 2^40 ordinals.
    /// </summary>
    public long TakeOrdinals(int count)
    {
        var first = Interlocked.Add(ref _nextOrdinal, count) - count;
        return first + count - 1 <= Format.SegmentWriter.MaxOrdinal ? first : throw new StorageException($"Collection '{Spec.Name}' has used up its row ordinals.");
    }

    public int LiveCount
    {
        get
        {
            _lock.EnterReadLock();
            try
            {
                return _g.Live;
            }
            finally
            {
                _lock.ExitReadLock();
            }
        }
    }

    public void Dispose()
    {
        StopIndexer();
        _spill?.Dispose();
        _lock.Dispose();
        _closing.Dispose();
        _indexerWake.Dispose();
    }

    /// <summary>One held change: a slot that was added (<paramref name="Row"/> null) or the row a slot held before it was killed.</summary>
    /// <remarks><paramref name="OwnsRecord"/>: an added slot whose spill record the change wrote itself (freed if it is reverted).</remarks>
    private readonly record struct Undo(int Slot, StoredRow? Row, bool OwnsRecord = false);

    private sealed class OwnerList
    {
        public List<int> Slots { get; } = [];

        public int Live { get; set; }
    }

    /// <summary>One generation of slots; compaction replaces it whole.</summary>
    private sealed class Generation(CollectionSpec spec, VectorSpill? spill)
    {
#pragma warning disable SA1401, CA1051 // plain mutable state owned by the enclosing class
        public StoredRow?[] Rows = [];
        public int[] Lengths = [];

        /// <summary>Each slot's persistent ordinal (kept after the slot dies: a graph node keeps its ordinal).</summary>
        public long[] Ordinals = [];

        /// <summary>Each slot's record in the collection's spill file (-1: none), when the full-precision vectors are spilled.</summary>
        public int[] Records = [];
#pragma warning restore SA1401, CA1051

        /// <summary>The float32 vectors in memory, or null when they are spilled (an int8 collection, decision 0048).</summary>
        public VectorArena? Arena { get; } = spill is null ? new(spec.Dimension, spec.Metric) : null;

        /// <summary>The quantised vectors (int8 or binary), or null when the collection keeps float32 only.</summary>
        public CodeArena? Codes { get; } = GraphSpaces.CodesFor(spec);

        /// <summary>Slots written so far (published after their vectors).</summary>
        public int Count => Codes?.Count ?? Arena!.Count;

        /// <summary>What scans and the graph score on: the codes, or the arena itself.</summary>
        public IGraphSpace Space => field ??= (IGraphSpace?)Codes ?? new FloatSpace(Arena!);

        /// <summary>The door to full-precision vectors, for re-ranking (docs/decisions/0045, 0048).</summary>
        public FullVectors Full => field ??= new FullVectors(Arena is { } arena ? arena.Similarity : SpilledSimilarity);

        public Dictionary<string, int> IdToSlot { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, OwnerList> OwnerSlots { get; } = new(StringComparer.Ordinal);

        /// <summary>Per principal, the slots of the rows whose readers name it (rows may sit in several lists).</summary>
        public Dictionary<Identity.Principal, OwnerList> ReaderSlots { get; } = [];

        /// <summary>The slots of the rows without readers (readable by the whole tenant).</summary>
        public OwnerList OpenSlots { get; } = new();

        public InvertedIndex Text { get; } = new();

        public Hnsw? Ann { get; set; }

        public int Live { get; set; }

        public int Dead { get; set; }

        /// <summary>
        /// Stores a slot's vector: in the arena, or as the spill record <paramref name="record"/> already written; and, for
        /// a quantised collection, as codes. Returns the slot.
        /// </summary>
        public int AppendVector(ReadOnlySpan<float> vector, int record)
        {
            var slot = Arena?.Append(vector) ?? -1;
            if (Codes is { } codes)
            {
                slot = codes.Append(vector);
            }

            SetRecord(slot, record);
            return slot;
        }

        /// <summary>Compaction: takes a live slot of <paramref name="old"/> (its codes copied, its spill record handed over); returns the slot.</summary>
        public int AppendFrom(Generation old, int slot)
        {
            int fresh;
            if (Arena is { } arena)
            {
                fresh = arena.Append(old.Arena!.Get(slot));
                Codes?.Append(old.Arena.Get(slot));
            }
            else
            {
                fresh = Codes!.AppendCopy(old.Codes!, slot);
            }

            SetRecord(fresh, old.Records.Length > slot ? old.Records[slot] : -1);
            return fresh;
        }

        /// <summary>Writes a slot's vector while the tenant opens (both representations; see <see cref="VectorArena.SetLoaded"/>).</summary>
        public void SetLoadedVector(int slot, ReadOnlySpan<float> vector, int record)
        {
            Arena?.SetLoaded(slot, vector);
            Codes?.SetLoaded(slot, vector);
            SetRecord(slot, record);
        }

        /// <summary>A slot's full-precision vector for a caller: a view of the arena, or a copy read from the spill file.</summary>
        public ReadOnlyMemory<float> VectorOf(int slot)
        {
            if (Arena is { } arena)
            {
                return arena.Memory(slot);
            }

            var vector = new float[spec.Dimension];
            spill!.Read(Records[slot], Ordinals[slot], vector);
            return vector;
        }

        /// <summary>Makes room for <paramref name="slots"/> vectors in both representations (loading).</summary>
        public void ReserveVectors(int slots)
        {
            Arena?.Reserve(slots);
            Codes?.Reserve(slots);
        }

        /// <summary>Ends a load of the vectors: slots [0, <paramref name="count"/>) were written.</summary>
        public void PublishLoaded(int count)
        {
            Arena?.PublishLoaded(count);
            Codes?.PublishLoaded(count);
        }

        /// <summary>Grows the slot arrays and the arena to hold <paramref name="more"/> rows beyond those present.</summary>
        public void Reserve(int more)
        {
            var want = Count + more;
            Arena?.Reserve(want);
            Codes?.Reserve(want);
            IdToSlot.EnsureCapacity(want);
            EnsureSlots(want);
        }

        /// <summary>Grows the slot arrays (not the arena) to hold <paramref name="slots"/> slots.</summary>
        public void EnsureSlots(int slots)
        {
            if (slots > Rows.Length)
            {
                Array.Resize(ref Rows, slots);
                Array.Resize(ref Lengths, slots);
                Array.Resize(ref Ordinals, slots);
                if (spill is not null)
                {
                    Array.Resize(ref Records, slots);
                }
            }
        }

        private void SetRecord(int slot, int record)
        {
            if (spill is not null)
            {
                if (slot >= Records.Length)
                {
                    EnsureSlots(Math.Max(16, Math.Max(slot + 1, Rows.Length * 2)));
                }

                Records[slot] = record;
            }
        }

        /// <summary>The full-precision similarity of a slot read from the spill file, computed as <see cref="VectorArena.Similarity(ReadOnlySpan{float}, float, int)"/> computes it.</summary>
        private float SpilledSimilarity(ReadOnlySpan<float> query, float queryNorm, int slot)
        {
            var rented = spec.Dimension > 1024 ? System.Buffers.ArrayPool<float>.Shared.Rent(spec.Dimension) : null;
            var vector = rented is null ? stackalloc float[spec.Dimension] : rented.AsSpan(0, spec.Dimension);
            try
            {
                spill!.Read(Records[slot], Ordinals[slot], vector);
                var dot = System.Numerics.Tensors.TensorPrimitives.Dot(query, vector);
                if (spec.Metric == VectorMetric.Dot)
                {
                    return dot;
                }

                var denom = queryNorm * Codes!.NormOf(slot);
                return denom > 0 ? dot / denom : 0;
            }
            finally
            {
                if (rented is not null)
                {
                    System.Buffers.ArrayPool<float>.Shared.Return(rented);
                }
            }
        }
    }
}

/// <summary>A row with its BM25 terms, analysed off the write lock (on the caller's thread, or in parallel at open).</summary>
/// <remarks>The vector travels beside the row, so a row decoded without one needs no copy to be indexed.</remarks>
internal readonly record struct AnalyzedRow(StoredRow Row, ReadOnlyMemory<float> Vector, (string Term, int Tf)[] Terms, int Length)
{
    /// <summary>The row's persistent ordinal in its collection (format 3), taken when it was sealed.</summary>
    public long Ordinal { get; init; }

    private readonly int _recordPlusOne; // so that a default row has no record

    /// <summary>Its vector's record in the collection's spill file (<see cref="CollectionState.SpillVectors"/>), or -1.</summary>
    public int Record
    {
        get => _recordPlusOne - 1;
        init => _recordPlusOne = value + 1;
    }

    public static AnalyzedRow Of(StoredRow row) => Of(row, row.Vector);

    public static AnalyzedRow Of(StoredRow row, ReadOnlyMemory<float> vector) => new(row, vector, Tokenizer.Analyze(row.Text, out var length), length);
}

/// <summary>Index tuning shared by the collections of an engine.</summary>
internal sealed record IndexSettings(int AnnThreshold, int HnswM, int HnswEfConstruction, int HnswEfSearch, int FilteredExactRows = 9_000, bool FullVectorsInMemory = false);
