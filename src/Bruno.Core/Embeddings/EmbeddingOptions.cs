namespace Bruno.Core.Embeddings;

/// <summary>
/// Which model turns text into vectors (section <c>Bruno:Embeddings</c>). Checked by <see cref="EmbeddingOptionsValidator"/>.
/// </summary>
public sealed class EmbeddingOptions
{
    /// <summary><c>local</c> (all-MiniLM-L6-v2 in-process), <c>ollama</c> or <c>openai</c> (OpenAI-compatible).</summary>
    public string Provider { get; set; } = "local";

    /// <summary>Base address of the endpoint for ollama and openai.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Model name (e.g. nomic-embed-text).</summary>
    public string? Model { get; set; }

    /// <summary>Its output dimension (e.g. 768 for nomic-embed-text).</summary>
    public int Dimension { get; set; }

    /// <summary>API key for OpenAI-compatible endpoints.</summary>
    public string? ApiKey { get; set; }

    /// <summary>True when the local model is used.</summary>
    public bool Local => string.Equals(Provider, "local", StringComparison.OrdinalIgnoreCase);
}
