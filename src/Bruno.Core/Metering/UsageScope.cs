using Microsoft.Extensions.AI;

namespace Bruno.Core.Metering;

/// <summary>
/// What one request consumes, collected as it runs: the host opens a scope around the request, and the metered model
/// wrappers add the tokens they see to the scope of the code calling them (an async-local, so concurrent requests never
/// mix). Once the request is admitted for a tenant, the host attaches a sink and every addition goes to it at once
/// (so usage is recorded before the answer that caused it reaches the client); what came before is handed over then.
/// Outside a scope (background jobs) nothing is collected. Thread-safe.
/// </summary>
public sealed class UsageScope : IDisposable
{
    private static readonly AsyncLocal<UsageScope?> Ambient = new();
    private readonly UsageScope? _outer;
    private readonly object _gate = new();
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private Action<string, long>? _sink;

    private UsageScope(UsageScope? outer) => _outer = outer;

    /// <summary>The scope of the running code, if any.</summary>
    public static UsageScope? Current => Ambient.Value;

    /// <summary>Opens a scope for the code that follows (until disposed).</summary>
    public static UsageScope Begin()
    {
        var scope = new UsageScope(Ambient.Value);
        Ambient.Value = scope;
        return scope;
    }

    /// <summary>Adds language-model tokens.</summary>
    public void AddLlm(long prompt, long completion)
    {
        Add(UsageKinds.LlmPromptTokens, prompt);
        Add(UsageKinds.LlmCompletionTokens, completion);
    }

    /// <summary>Adds embedded tokens.</summary>
    public void AddEmbedding(long tokens) => Add(UsageKinds.EmbeddingTokens, tokens);

    /// <summary>Sends every addition from now on to <paramref name="sink"/> (kind, quantity), and what was added so far.</summary>
    public void Attach(Action<string, long> sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        KeyValuePair<string, long>[] earlier;
        lock (_gate)
        {
            _sink = sink;
            earlier = [.. _counts];
        }

        foreach (var (kind, quantity) in earlier)
        {
            sink(kind, quantity);
        }
    }

    /// <summary>The counts so far, by kind.</summary>
    public Snapshot Read()
    {
        lock (_gate)
        {
            return new(_counts.GetValueOrDefault(UsageKinds.LlmPromptTokens), _counts.GetValueOrDefault(UsageKinds.LlmCompletionTokens), _counts.GetValueOrDefault(UsageKinds.EmbeddingTokens));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Ambient.Value == this)
        {
            Ambient.Value = _outer;
        }
    }

    private void Add(string kind, long quantity)
    {
        if (quantity <= 0)
        {
            return;
        }

        Action<string, long>? sink;
        lock (_gate)
        {
            _counts[kind] = _counts.GetValueOrDefault(kind) + quantity;
            sink = _sink;
        }

        sink?.Invoke(kind, quantity);
    }

    /// <summary>Counts of a scope.</summary>
    public sealed record Snapshot(long LlmPromptTokens, long LlmCompletionTokens, long EmbeddingTokens);
}

/// <summary>
/// Counts the tokens of an embedding model into the current <see cref="UsageScope"/>: the model's own count when it
/// reports one, else an estimate of four characters a token.
/// </summary>
public sealed class MeteredEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> inner)
    : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
{
    /// <inheritdoc />
    public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var inputs = values as IReadOnlyCollection<string> ?? [.. values];
        var result = await base.GenerateAsync(inputs, options, cancellationToken);
        UsageScope.Current?.AddEmbedding(result.Usage?.InputTokenCount ?? inputs.Sum(EstimateTokens));
        return result;
    }

    /// <summary>About four characters a token (at least one per text).</summary>
    public static long EstimateTokens(string text) => Math.Max(1, (text?.Length ?? 0) / 4);
}

/// <summary>
/// Counts the tokens of a chat model into the current <see cref="UsageScope"/>: the usage the model reports, else an
/// estimate of four characters a token of the messages sent and the text received.
/// </summary>
public sealed class MeteredChatClient(IChatClient inner) : DelegatingChatClient(inner)
{
    /// <inheritdoc />
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var sent = messages as IReadOnlyCollection<ChatMessage> ?? [.. messages];
        var response = await base.GetResponseAsync(sent, options, cancellationToken);
        Count(response.Usage, sent, response.Text);
        return response;
    }

    /// <inheritdoc />
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var sent = messages as IReadOnlyCollection<ChatMessage> ?? [.. messages];
        UsageDetails? reported = null;
        var received = new System.Text.StringBuilder();
        try
        {
            await foreach (var update in base.GetStreamingResponseAsync(sent, options, cancellationToken))
            {
                foreach (var u in update.Contents.OfType<UsageContent>())
                {
                    reported = u.Details;
                }

                received.Append(update.Text);
                yield return update;
            }
        }
        finally
        {
            // counted also when the stream is cut: what was sent and received was consumed
            Count(reported, sent, received.ToString());
        }
    }

    private static void Count(UsageDetails? reported, IReadOnlyCollection<ChatMessage> sent, string received) =>
        UsageScope.Current?.AddLlm(
            reported?.InputTokenCount ?? sent.Sum(m => MeteredEmbeddingGenerator.EstimateTokens(m.Text)),
            reported?.OutputTokenCount ?? (received.Length == 0 ? 0 : MeteredEmbeddingGenerator.EstimateTokens(received)));
}
