namespace Bruno.Core.Agents;

/// <summary>
/// Which chat model writes answers (section <c>Bruno:Chat</c>). Checked by <see cref="ChatModelOptionsValidator"/>.
/// </summary>
public sealed class ChatModelOptions
{
    /// <summary><c>none</c> (extractive answers), <c>ollama</c> or <c>openai</c> (any OpenAI-compatible endpoint).</summary>
    public string Provider { get; set; } = "none";

    /// <summary>Base address of the endpoint (e.g. http://ollama:11434, https://api.openai.com/v1).</summary>
    public string? Endpoint { get; set; }

    /// <summary>Model name (e.g. llama3.1:8b).</summary>
    public string? Model { get; set; }

    /// <summary>API key for OpenAI-compatible endpoints (from the environment or a secret, never appsettings in Git).</summary>
    public string? ApiKey { get; set; }

    /// <summary>Seconds to wait for the model before answering 503.</summary>
    public int TimeoutSeconds { get; set; } = 120;

    /// <summary>Sampling temperature (the original design's 0.7).</summary>
    public float Temperature { get; set; } = 0.7f;

    /// <summary>Most tokens an answer may have (the original design's 1,000).</summary>
    public int MaxOutputTokens { get; set; } = 1_000;

    /// <summary>True when a chat model is configured.</summary>
    public bool Enabled => !string.Equals(Provider, "none", StringComparison.OrdinalIgnoreCase);
}
