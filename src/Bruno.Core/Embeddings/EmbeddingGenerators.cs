using System.ClientModel;
using Microsoft.Extensions.AI;

namespace Bruno.Core.Embeddings;

/// <summary>Creates the configured embedding generator: the local MiniLM, Ollama or an OpenAI-compatible endpoint.</summary>
public static class EmbeddingGenerators
{
    /// <summary>The generator for <paramref name="options"/>; its metadata names the model and dimension stored with collections.</summary>
    public static IEmbeddingGenerator<string, Embedding<float>> Create(EmbeddingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Local)
        {
            return new MiniLmEmbeddingGenerator();
        }

        var endpoint = new Uri(options.Endpoint!);
        IEmbeddingGenerator<string, Embedding<float>> inner = string.Equals(options.Provider, "ollama", StringComparison.OrdinalIgnoreCase)
            ? new OllamaSharp.OllamaApiClient(endpoint, options.Model!)
            : new OpenAI.Embeddings.EmbeddingClient(options.Model!, new ApiKeyCredential(options.ApiKey ?? "unused"), new OpenAI.OpenAIClientOptions { Endpoint = endpoint }).AsIEmbeddingGenerator(options.Dimension);
        return new Described(inner, new EmbeddingGeneratorMetadata(options.Provider, endpoint, options.Model, options.Dimension));
    }

    /// <summary>A remote generator whose metadata states the configured model and dimension (what collections record).</summary>
    private sealed class Described(IEmbeddingGenerator<string, Embedding<float>> inner, EmbeddingGeneratorMetadata metadata)
        : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        public override object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? metadata : base.GetService(serviceType, serviceKey);
    }
}
