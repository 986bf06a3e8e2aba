using System.Diagnostics;
using System.Text;
using Bruno.Core.Documents;
using Bruno.Core.Retrieval;
using Bruno.Core.Telemetry;
using Bruno.Storage;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Agents;

/// <summary>A question.</summary>
public sealed record Question(string Query, string? SessionId = null, int? TopK = null)
{
    /// <summary>Who asks: the answer draws only on the documents they may read.</summary>
    public required Viewer Viewer { get; init; }

    /// <summary>The asking user: the answered turn goes into their memory, and their memory into the prompt.</summary>
    public Storage.Identity.UserId? User { get; init; }

    /// <summary>The tenant's retrieval settings (null: the service's).</summary>
    public RetrievalOptions? Retrieval { get; init; }

    /// <summary>When true (an operator's switch for one tenant), the prompt and the answer are added to the
    /// <c>generate</c> span as events; otherwise no question, passage or answer text is ever put on a span.</summary>
    public bool TraceContent { get; init; }
}

/// <summary>
/// A passage an answer draws on, numbered as in the answer's <c>[n]</c> markers: its document, section and page (PDF;
/// null elsewhere), its relevance (the probability, 0-1, that it comes from a page answering the question) and the
/// start of its text.
/// </summary>
public sealed record Source(int N, string DocumentId, string Title, string Section, string ChunkId, double Score, string Snippet, int? Page = null);

/// <summary>Token counts of a generated answer (zero for the extractive answerer).</summary>
public sealed record Usage(int PromptTokens, int CompletionTokens);

/// <summary>
/// An answer with its sources. <see cref="Answered"/> is false when no passage cleared the relevance bar or the
/// documents are judged unlikely to hold an answer (below the answerability bar): the text then
/// says the documents do not hold the answer, <see cref="Sources"/> is empty (nothing is cited as support) and
/// <see cref="Suggestions"/> lists the nearest passages. <see cref="Confidence"/> is the probability (0-1) that the
/// response is right: for an answer, that it states what was asked; for a refusal, that the documents indeed hold
/// nothing on it.
/// </summary>
public sealed record Answer(string Text, IReadOnlyList<Source> Sources, double Confidence, string Model, string SessionId, Usage Usage, string? TraceId)
{
    /// <summary>The turn this answer was stored as in the user's memory (for feedback), if it was.</summary>
    public string? TurnId { get; init; }

    /// <summary>Whether an answer was given: some passage cleared the relevance bar and the documents likely hold one.</summary>
    public bool Answered { get; init; } = true;

    /// <summary>When not answered: the nearest passages, for the user to look at; never cited as support.</summary>
    public IReadOnlyList<Source> Suggestions { get; init; } = [];
}

/// <summary>
/// Answers questions from a tenant's knowledge: the <see cref="Retriever"/> finds and re-ranks passages and keeps those
/// that clear the relevance bar; an answer is composed from those only, with <c>[n]</c> citations, by the chat model
/// when one is configured, else extractively (<see cref="ExtractiveAnswerer"/>). When none clears the bar, or the
/// answerability model judges that the documents hold no answer (<see cref="RetrievalResult.Answerable"/>), the answer says
/// the documents do not hold one, cites nothing, and offers the nearest passages as suggestions; the chat model is not
/// called. Throws <see cref="ArgumentException"/> for an empty or over-long question.
/// </summary>
public sealed class AskService(IEmbeddingGenerator<string, Embedding<float>> embedder, Retriever retriever, IOptions<BrunoOptions> options, IChatClient? chat = null, Memory.MemoryService? memory = null, ChatHealth? health = null)
{
    /// <summary>Longest question, in characters.</summary>
    public const int MaxQuestionLength = 4_000;

    /// <summary>Model name reported by the extractive answerer.</summary>
    public const string ExtractiveModel = "extractive";

    /// <summary>Whether answers are written by a language model (and so spend tokens).</summary>
    public bool Generates => chat is not null;

    /// <summary>
    /// Retrieves the passages for <paramref name="question"/> and composes the answer: with the chat model when one is
    /// configured, else extractively. Throws <see cref="ModelUnavailableException"/> when the model fails or times out.
    /// </summary>
    public async Task<Answer> AskAsync(ITenantStore store, Question question, CancellationToken ct = default)
    {
        Answer? final = null;
        await foreach (var e in AskStreamingAsync(store, question, ct))
        {
            if (e is AnswerDone done)
            {
                final = done.Answer;
            }
        }

        return final!;
    }

    /// <summary>
    /// The same as <see cref="AskAsync"/>, as a stream: text deltas as the model writes them, then one
    /// <see cref="AnswerDone"/> with the whole answer, its sources and usage. Validation and retrieval happen before the
    /// first event, so their errors are thrown from the first <c>MoveNextAsync</c>.
    /// </summary>
    public async IAsyncEnumerable<AnswerEvent> AskStreamingAsync(ITenantStore store, Question question, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(question);
        var text = Validated(question.Query);

        var session = question.SessionId ?? Guid.NewGuid().ToString("N");
        var tenant = store.Id;
        // An async iterator does not keep Activity.Current across its yields: spans after the first are parented explicitly.
        using var query = BrunoTelemetry.Start("rag_query", tenant);
        var traceId = (query ?? Activity.Current)?.TraceId.ToString();
        ReadOnlyMemory<float> vector;
        var started = Stopwatch.GetTimestamp();
        using (BrunoTelemetry.Start("embed_query", tenant))
        {
            vector = (await embedder.GenerateAsync([text], cancellationToken: ct))[0].Vector;
        }

        BrunoTelemetry.Stage(tenant, BrunoTelemetry.Stages.Embed, Stopwatch.GetElapsedTime(started));
        var opts = question.Retrieval ?? options.Value.Retrieval;
        var retrieval = await RetrieveAsync(store, question.Viewer, text, vector, opts, question.TopK, record: true, ct);
        var passages = retrieval.Answerable(opts) ? retrieval.Passages : [];
        query?.SetTag("bruno.rag.passages", passages.Count);
        var sources = passages.Select((p, i) => SourceOf(p, i + 1)).ToList();
        Answer final;
        IReadOnlyList<Memory.Preference> preferences = [];
        if (passages.Count == 0)
        {
            // nothing cleared the bars: say so, cite nothing, and show where the nearest text is
            final = new Answer(NotInDocuments, [], Math.Round(retrieval.NoAnswer, 2), chat is null ? ExtractiveModel : options.Value.Chat.Model ?? "unknown", session, new Usage(0, 0), traceId)
            {
                Answered = false,
                Suggestions = [.. retrieval.Ranked.DistinctBy(c => c.DocumentId).Take(3).Select((c, i) => SourceOf(c, i + 1))],
            };
            yield return new AnswerDelta(final.Text);
        }
        else if (chat is null)
        {
            started = Stopwatch.GetTimestamp();
            using (var generate = BrunoTelemetry.Start("generate", tenant))
            {
                generate?.SetTag("gen_ai.request.model", ExtractiveModel);
                var composed = ExtractiveAnswerer.Compose(retrieval, opts.AnswerSentences);
                if (question.TraceContent)
                {
                    generate?.AddEvent(Content("gen_ai.content.completion", "gen_ai.completion", composed.Text));
                }

                final = new Answer(composed.Text, sources, Math.Round(ConfidenceModel.Answer(composed.Signals), 2), ExtractiveModel, session, new Usage(0, 0), traceId);
            }

            BrunoTelemetry.Stage(tenant, BrunoTelemetry.Stages.Generate, Stopwatch.GetElapsedTime(started));
            yield return new AnswerDelta(final.Text);
        }
        else
        {
            // The user's own memory only: the last turns of this session and the most similar earlier ones.
            IReadOnlyList<Memory.MemoryItem> remembered = [];
            if (memory is not null && question.User is { } asker)
            {
                using var recall = BrunoTelemetry.Start("memory_recall", tenant);
                var recent = await memory.RecentTurnsAsync(store, asker, session, 3, ct);
                var similar = await memory.RecallAsync(store, asker, text, vector, 3);
                remembered = [.. recent.Concat(similar).DistinctBy(m => m.Id)];
                preferences = await memory.PreferencesAsync(store, asker);
            }

            var chatSettings = options.Value.Chat;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(chatSettings.TimeoutSeconds));
            var chatOptions = new ChatOptions
            {
                Temperature = chatSettings.Temperature,
                TopP = 0.9f,
                MaxOutputTokens = chatSettings.MaxOutputTokens,
                StopSequences = ["USER:", "CONTEXT:"],
            };
            var written = new StringBuilder();
            var usage = new Usage(0, 0);
            var model = chatSettings.Model ?? "unknown";
            var prompt = PromptBuilder.Build(text, Budgeted(passages, sources, opts.ContextTokens), remembered, preferences);
            using var generate = BrunoTelemetry.Source.StartActivity("generate", ActivityKind.Client, query?.Context ?? default);
            generate?.SetTag(BrunoTelemetry.TenantTag, tenant.Value);
            generate?.SetTag("gen_ai.operation.name", "chat");
            generate?.SetTag("gen_ai.request.model", model);
            if (question.TraceContent)
            {
                generate?.AddEvent(Content("gen_ai.content.prompt", "gen_ai.prompt", string.Join("\n", prompt.Select(m => $"{m.Role}: {m.Text}"))));
            }

            started = Stopwatch.GetTimestamp();
            var first = true;
            await using var updates = Guard(chat.GetStreamingResponseAsync(prompt, chatOptions, timeout.Token), () => ct.IsCancellationRequested, health, timeout.Token).GetAsyncEnumerator(timeout.Token);
            while (await updates.MoveNextAsync())
            {
                var update = updates.Current;
                if (first && !string.IsNullOrEmpty(update.Text))
                {
                    first = false;
                    BrunoTelemetry.FirstTokenAfter(tenant, model, Stopwatch.GetElapsedTime(started));
                }

                foreach (var u in update.Contents.OfType<UsageContent>())
                {
                    usage = new Usage((int)(u.Details.InputTokenCount ?? 0), (int)(u.Details.OutputTokenCount ?? 0));
                }

                if (!string.IsNullOrEmpty(update.Text))
                {
                    written.Append(update.Text);
                    yield return new AnswerDelta(update.Text);
                }
            }

            var generated = written.ToString().Trim();
            // the passages cleared the bar; the answer is as good as its support and its citations of it
            var cited = sources.Count(s => generated.Contains($"[{s.N}]", StringComparison.Ordinal));
            var support = ConfidenceModel.Answer(ExtractiveAnswerer.Compose(retrieval, opts.AnswerSentences).Signals);
            final = new Answer(generated, sources, Math.Round(cited == 0 ? support / 2 : support, 2), model, session, usage, traceId);
            BrunoTelemetry.Stage(tenant, BrunoTelemetry.Stages.Generate, Stopwatch.GetElapsedTime(started));
            BrunoTelemetry.Tokens(tenant, model, usage.PromptTokens, usage.CompletionTokens);
            generate?.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
            generate?.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
            if (question.TraceContent)
            {
                generate?.AddEvent(Content("gen_ai.content.completion", "gen_ai.completion", generated));
            }
        }

        if (memory is not null && question.User is { } user)
        {
            using var remember = BrunoTelemetry.Source.StartActivity("memory_record_turn", ActivityKind.Internal, query?.Context ?? default);
            remember?.SetTag(BrunoTelemetry.TenantTag, tenant.Value);
            final = final with { TurnId = await memory.RecordTurnAsync(store, user, session, text, final.Text, sources.Select(s => s.ChunkId), vector, preferences.Select(p => p.Id)) };
        }

        yield return new AnswerDone(final);
    }

    /// <summary>
    /// Turns any failure of the model (not the caller's cancellation) into <see cref="ModelUnavailableException"/>, and
    /// tells <paramref name="health"/> how the call ended.
    /// </summary>
    private static async IAsyncEnumerable<ChatResponseUpdate> Guard(IAsyncEnumerable<ChatResponseUpdate> source, Func<bool> callerCancelled, ChatHealth? health, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token = default)
    {
        var e = source.GetAsyncEnumerator(token);
        try
        {
            while (true)
            {
                try
                {
                    if (!await e.MoveNextAsync())
                    {
                        health?.Succeeded();
                        break;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !callerCancelled())
                {
                    health?.Failed(ex);
                    throw new ModelUnavailableException(ex);
                }

                yield return e.Current;
            }
        }
        finally
        {
            await e.DisposeAsync();
        }
    }

    /// <summary>
    /// The passages that clear the tenant's relevance bar, best first, numbered from 1 (a search: whether they answer
    /// the question is not judged), from the documents <paramref name="viewer"/> may read. Throws
    /// <see cref="ArgumentException"/> like a question.
    /// </summary>
    public async Task<IReadOnlyList<Passage>> RetrieveAsync(ITenantStore store, Viewer viewer, string query, int? topK, RetrievalOptions? retrieval = null, CancellationToken ct = default)
    {
        var text = Validated(query);
        var vector = (await embedder.GenerateAsync([text], cancellationToken: ct))[0].Vector;
        var result = await RetrieveAsync(store, viewer, text, vector, retrieval ?? options.Value.Retrieval, topK, record: false, ct);
        return [.. result.Passages.Select((p, i) => new Passage(p.Body, SourceOf(p, i + 1)))];
    }

    /// <summary>Embeds <paramref name="question"/> and retrieves for it from what <paramref name="viewer"/> may read (evaluation runs and baselines).</summary>
    public async Task<(RetrievalResult Result, ReadOnlyMemory<float> Vector)> RetrieveForEvaluationAsync(ITenantStore store, Viewer viewer, string question, RetrievalOptions retrieval, RankingMode mode, CancellationToken ct = default)
    {
        var text = Validated(question);
        var vector = (await embedder.GenerateAsync([text], cancellationToken: ct))[0].Vector;
        return (await retriever.RetrieveAsync(store, viewer, text, vector, retrieval, mode, null, null, ct), vector);
    }

    /// <summary>The response the service would give for a retrieval (extractive), with its confidence (evaluation runs).</summary>
    public static (string Text, bool Answered, IReadOnlyList<int> Cited, double Confidence) Respond(RetrievalResult retrieval, RetrievalOptions options)
    {
        ArgumentNullException.ThrowIfNull(retrieval);
        ArgumentNullException.ThrowIfNull(options);
        if (!retrieval.Answerable(options))
        {
            return (NotInDocuments, false, [], retrieval.NoAnswer);
        }

        var composed = ExtractiveAnswerer.Compose(retrieval, options.AnswerSentences);
        return (composed.Text, true, composed.Cited, ConfidenceModel.Answer(composed.Signals));
    }

    /// <summary>What an answer says when no passage clears the relevance bar or the documents likely hold no answer.</summary>
    public const string NotInDocuments = "Not in these documents: nothing in this tenant's documents answers that closely enough to quote. The nearest passages are listed as suggestions.";

    private async Task<RetrievalResult> RetrieveAsync(ITenantStore store, Viewer viewer, string text, ReadOnlyMemory<float> vector, RetrievalOptions opts, int? topK, bool record, CancellationToken ct)
    {
        var timings = record ? new Storage.Telemetry.SearchTimings() : null;
        var started = Stopwatch.GetTimestamp();
        var result = await retriever.RetrieveAsync(store, viewer, text, vector, opts, RankingMode.Reranked, timings, topK is { } k ? Math.Clamp(k, 1, opts.RerankCandidates) : null, ct);
        if (timings is not null)
        {
            BrunoTelemetry.Stage(store.Id, BrunoTelemetry.Stages.VectorSearch, timings.Vector);
            BrunoTelemetry.Stage(store.Id, BrunoTelemetry.Stages.KeywordSearch, timings.FullText);
            BrunoTelemetry.Stage(store.Id, BrunoTelemetry.Stages.Fusion, timings.Fusion);
            BrunoTelemetry.Stage(store.Id, BrunoTelemetry.Stages.Rerank, Stopwatch.GetElapsedTime(started) - timings.Vector - timings.FullText - timings.Fusion);
            BrunoTelemetry.Retrieved(store.Id, [.. result.Passages.Select(p => Math.Round(p.Relevance, 6))]);
        }

        return result;
    }

    /// <summary>The passages within the context budget (characters / 4 tokens), for the prompt.</summary>
    private static List<Passage> Budgeted(IReadOnlyList<Candidate> passages, List<Source> sources, int contextTokens)
    {
        var budget = contextTokens * 4;
        var result = new List<Passage>();
        for (var i = 0; i < passages.Count && budget > 0; i++)
        {
            var body = passages[i].Body.Length <= budget ? passages[i].Body : passages[i].Body[..budget];
            budget -= body.Length;
            result.Add(new Passage(body, sources[i]));
        }

        return result;
    }

    private static Source SourceOf(Candidate c, int n) =>
        new(n, c.DocumentId, c.Title, c.Section, c.ChunkId, Math.Round(c.Relevance, 4), Snippet(c.Body), c.Page > 0 ? c.Page : null);

    private static ActivityEvent Content(string name, string key, string text) =>
        new(name, tags: new ActivityTagsCollection { [key] = text });

    private static string Validated(string? query)
    {
        var text = query?.Trim() ?? string.Empty;
        return text.Length is 0 or > MaxQuestionLength || text.Contains('\0', StringComparison.Ordinal)
            ? throw new ArgumentException($"A question has 1-{MaxQuestionLength} characters.")
            : text;
    }

    private static string Snippet(string text) => text.Length <= 240 ? text : text[..240] + "…";
}

/// <summary>One event of a streamed answer.</summary>
public abstract record AnswerEvent;

/// <summary>More text of the answer.</summary>
public sealed record AnswerDelta(string Text) : AnswerEvent;

/// <summary>The end of the answer: all of it, with its sources and usage.</summary>
public sealed record AnswerDone(Answer Answer) : AnswerEvent;

/// <summary>The chat model failed or did not answer in time; retry later (HTTP 503).</summary>
public sealed class ModelUnavailableException(Exception inner) : Exception("The language model is unavailable; try again shortly.", inner);

/// <summary>A retrieved passage with the source it is cited as.</summary>
public sealed record Passage(string Text, Source Source);
