using System.ClientModel;
using Microsoft.Extensions.AI;

namespace Bruno.Core.Agents;

/// <summary>Creates the configured chat client: Ollama (OllamaSharp) or any OpenAI-compatible endpoint; null for none.</summary>
public static class ChatClients
{
    /// <summary>The client for <paramref name="options"/>, or null when no provider is configured.</summary>
    public static IChatClient? Create(ChatModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return null;
        }

        var endpoint = new Uri(options.Endpoint!);
        return options.Provider.ToLowerInvariant() switch
        {
            // Timeouts are applied per answer by AskService; the HttpClient must not cut a long stream on its own.
            "ollama" => new OllamaSharp.OllamaApiClient(new HttpClient { BaseAddress = endpoint, Timeout = Timeout.InfiniteTimeSpan }, options.Model!),
            _ => new OpenAI.Chat.ChatClient(options.Model!, new ApiKeyCredential(options.ApiKey ?? "unused"), new OpenAI.OpenAIClientOptions { Endpoint = endpoint }).AsIChatClient(),
        };
    }
}
