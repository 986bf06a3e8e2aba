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

    public CollectionState(int cid, CollectionSpec spec, IndexSettings settings)
    {
        (Cid, Spec, _settings) = (cid, spec, settings);
        _g = new Generation(spec);
    }

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
        _lock.Dispose();
        _closing.Dispose();
        _indexerWake.Dispose();
    }

    /// <summary>One held change: a slot that was added (<paramref name="Row"/> null) or the row a slot held before it was killed.</summary>
    private readonly record struct Undo(int Slot, StoredRow? Row);

    private sealed class OwnerList
    {
        public List<int> Slots { get; } = [];

        public int Live { get; set; }
    }

    /// <summary>One generation of slots; compaction replaces it whole.</summary>
    private sealed class Generation(CollectionSpec spec)
    {
#pragma warning disable SA1401, CA1051 // plain mutable state owned by the enclosing class
        public StoredRow?[] Rows = [];
        public int[] Lengths = [];

        /// <summary>Each slot's persistent ordinal (kept after the slot dies: a graph node keeps its ordinal).</summary>
        public long[] Ordinals = [];
#pragma warning restore SA1401, CA1051

        public VectorArena Arena { get; } = new(spec.Dimension, spec.Metric);

        /// <summary>The quantised vectors (int8 or binary), or null when the collection keeps float32 only.</summary>
        public CodeArena? Codes { get; } = GraphSpaces.CodesFor(spec);

        /// <summary>What scans and the graph score on: the codes, or the arena itself.</summary>
        public IGraphSpace Space => field ??= (IGraphSpace?)Codes ?? new FloatSpace(Arena);

        /// <summary>The door to full-precision vectors, for re-ranking (docs/decisions/0045).</summary>
        public FullVectors Full => field ??= new FullVectors(Arena);

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

        /// <summary>Stores a slot's vector: in the arena and, for a quantised collection, as codes. Returns the slot.</summary>
        public int AppendVector(ReadOnlySpan<float> vector)
        {
            Codes?.Append(vector);
            return Arena.Append(vector);
        }

        /// <summary>Writes a slot's vector while the tenant opens (both representations; see <see cref="VectorArena.SetLoaded"/>).</summary>
        public void SetLoadedVector(int slot, ReadOnlySpan<float> vector)
        {
            Arena.SetLoaded(slot, vector);
            Codes?.SetLoaded(slot, vector);
        }

        /// <summary>Makes room for <paramref name="slots"/> vectors in both representations (loading).</summary>
        public void ReserveVectors(int slots)
        {
            Arena.Reserve(slots);
            Codes?.Reserve(slots);
        }

        /// <summary>Ends a load of the vectors: slots [0, <paramref name="count"/>) were written.</summary>
        public void PublishLoaded(int count)
        {
            Arena.PublishLoaded(count);
            Codes?.PublishLoaded(count);
        }

        /// <summary>Grows the slot arrays and the arena to hold <paramref name="more"/> rows beyond those present.</summary>
        public void Reserve(int more)
        {
            var want = Arena.Count + more;
            Arena.Reserve(want);
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

    public static AnalyzedRow Of(StoredRow row) => Of(row, row.Vector);

    public static AnalyzedRow Of(StoredRow row, ReadOnlyMemory<float> vector) => new(row, vector, Tokenizer.Analyze(row.Text, out var length), length);
}

/// <summary>Index tuning shared by the collections of an engine.</summary>
internal sealed record IndexSettings(int AnnThreshold, int HnswM, int HnswEfConstruction, int HnswEfSearch, int FilteredExactRows = 9_000);
