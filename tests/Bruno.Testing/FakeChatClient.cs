using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Bruno.Testing;

/// <summary>
/// A fake chat model (the one remote service the tests cannot run): it records every prompt it is sent and answers by
/// citing source [1] in three streamed pieces, or fails like an unreachable endpoint when <see cref="Failing"/> is set.
/// </summary>
public sealed class FakeChatClient : IChatClient
{
    /// <summary>Every prompt received, as the concatenated text of its messages, with roles.</summary>
    public ConcurrentQueue<IReadOnlyList<ChatMessage>> Prompts { get; } = new();

    /// <summary>When true, every call fails as a refused connection would.</summary>
    public bool Failing { get; set; }

    /// <summary>When set, each answer stops after its first piece until this task completes (or the call is cancelled).</summary>
    public Task? Gate { get; set; }

    /// <summary>Completed when an answer has sent its first piece and waits at <see cref="Gate"/>.</summary>
    public TaskCompletionSource Waiting { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Makes <see cref="Waiting"/> wait for the next answer again.</summary>
    public void Reset() => Waiting = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The text of every prompt received.</summary>
    public IEnumerable<string> PromptTexts => Prompts.Select(p => string.Join("\n", p.Select(m => $"{m.Role}: {m.Text}")));

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            updates.Add(u);
        }

        return updates.ToChatResponse();
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Prompts.Enqueue([.. messages]);
        await Task.Yield();
        if (Failing)
        {
            throw new HttpRequestException("Connection refused (fake)");
        }

        var first = true;
        foreach (var piece in new[] { "According to the sources, ", "the answer is there ", "[1]." })
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, piece);
            if (first && Gate is { } gate)
            {
                Waiting.TrySetResult();
                await gate.WaitAsync(cancellationToken);
            }

            first = false;
        }

        yield return new ChatResponseUpdate { Contents = [new UsageContent(new UsageDetails { InputTokenCount = 120, OutputTokenCount = 9 })] };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
