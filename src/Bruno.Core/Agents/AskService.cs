using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text;
using Bruno.Core.Documents;
using Bruno.Core.Telemetry;
using Bruno.Storage;
using Bruno.Storage.Model;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Agents;

/// <summary>A question.</summary>
public sealed record Question(string Query, string? SessionId = null, int? TopK = null)
{
    /// <summary>The asking user: the answered turn goes into their memory, and their memory into the prompt.</summary>
    public Storage.Identity.UserId? User { get; init; }

    /// <summary>The tenant's retrieval settings (null: the service's).</summary>
    public RetrievalOptions? Retrieval { get; init; }

    /// <summary>When true (an operator's switch for one tenant), the prompt and the answer are added to the
    /// <c>generate</c> span as events; otherwise no question, passage or answer text is ever put on a span.</summary>
    public bool TraceContent { get; init; }
}

/// <summary>A passage an answer cites, numbered as in the answer's <c>[n]</c> markers.</summary>
public sealed record Source(int N, string DocumentId, string Title, string Section, string ChunkId, double Score, string Snippet);

/// <summary>Token counts of a generated answer (zero for the extractive answerer).</summary>
public sealed record Usage(int PromptTokens, int CompletionTokens);

/// <summary>An answer with its sources.</summary>
public sealed record Answer(string Text, IReadOnlyList<Source> Sources, double Confidence, string Model, string SessionId, Usage Usage, string? TraceId)
{
    /// <summary>The turn this answer was stored as in the user's memory (for feedback), if it was.</summary>
    public string? TurnId { get; init; }
}

/// <summary>
/// Answers questions from a tenant's knowledge: dense and BM25 candidates (top 20 each) fused by reciprocal rank
/// (k = 60), near-duplicates dropped (cosine &gt; 0.95), the best 5 kept, then an answer composed from them with
/// <c>[n]</c> citations. Without a chat model the answer is extractive (the best sentences of the passages). Throws
/// <see cref="ArgumentException"/> for an empty or over-long question.
/// </summary>
public sealed class AskService(IEmbeddingGenerator<string, Embedding<float>> embedder, DocumentService documents, IOptions<BrunoOptions> options, IChatClient? chat = null, Memory.MemoryService? memory = null)
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
        var passages = await RetrieveAsync(store, text, vector, question.TopK, question.Retrieval, record: true);
        query?.SetTag("bruno.rag.passages", passages.Count);
        var sources = passages.Select(p => p.Source).ToList();
        Answer final;
        IReadOnlyList<Memory.Preference> preferences = [];
        if (chat is null || passages.Count == 0)
        {
            started = Stopwatch.GetTimestamp();
            using (var generate = BrunoTelemetry.Start("generate", tenant))
            {
                generate?.SetTag("gen_ai.request.model", ExtractiveModel);
                var (answer, confidence) = Extractive(text, passages);
                if (question.TraceContent)
                {
                    generate?.AddEvent(Content("gen_ai.content.completion", "gen_ai.completion", answer));
                }

                final = new Answer(answer, sources, confidence, ExtractiveModel, session, new Usage(0, 0), traceId);
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

            var opts = options.Value.Chat;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(opts.TimeoutSeconds));
            var chatOptions = new ChatOptions
            {
                Temperature = opts.Temperature,
                TopP = 0.9f,
                MaxOutputTokens = opts.MaxOutputTokens,
                StopSequences = ["USER:", "CONTEXT:"],
            };
            var written = new StringBuilder();
            var usage = new Usage(0, 0);
            var model = opts.Model ?? "unknown";
            var prompt = PromptBuilder.Build(text, passages, remembered, preferences);
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
            await using var updates = Guard(chat.GetStreamingResponseAsync(prompt, chatOptions, timeout.Token), () => ct.IsCancellationRequested, timeout.Token).GetAsyncEnumerator(timeout.Token);
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
            var cited = sources.Count(s => generated.Contains($"[{s.N}]", StringComparison.Ordinal));
            var grounded = sources.Count == 0 ? 0 : Math.Round(Math.Min(1.0, cited / (double)Math.Min(3, sources.Count)), 2);
            final = new Answer(generated, sources, grounded, model, session, usage, traceId);
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

    /// <summary>Turns any failure of the model (not the caller's cancellation) into <see cref="ModelUnavailableException"/>.</summary>
    private static async IAsyncEnumerable<ChatResponseUpdate> Guard(IAsyncEnumerable<ChatResponseUpdate> source, Func<bool> callerCancelled, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken token = default)
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
                        break;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !callerCancelled())
                {
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

    /// <summary>The passages an answer would use, best first, numbered from 1. Throws <see cref="ArgumentException"/> like a question.</summary>
    public async Task<IReadOnlyList<Passage>> RetrieveAsync(ITenantStore store, string query, int? topK, RetrievalOptions? retrieval = null, CancellationToken ct = default)
    {
        var text = Validated(query);
        return await RetrieveAsync(store, text, (await embedder.GenerateAsync([text], cancellationToken: ct))[0].Vector, topK, retrieval, record: false);
    }

    private static ActivityEvent Content(string name, string key, string text) =>
        new(name, tags: new ActivityTagsCollection { [key] = text });

    private static string Validated(string? query)
    {
        var text = query?.Trim() ?? string.Empty;
        return text.Length is 0 or > MaxQuestionLength || text.Contains('\0', StringComparison.Ordinal)
            ? throw new ArgumentException($"A question has 1-{MaxQuestionLength} characters.")
            : text;
    }

    /// <summary>Hybrid search, near-duplicates dropped, context budget applied; <paramref name="record"/>: stage metrics of a question.</summary>
    private async Task<IReadOnlyList<Passage>> RetrieveAsync(ITenantStore store, string query, ReadOnlyMemory<float> vector, int? topK, RetrievalOptions? retrieval, bool record)
    {
        var timings = record ? new Storage.Telemetry.SearchTimings() : null;
        var opts = retrieval ?? options.Value.Retrieval;
        var final = Math.Clamp(topK ?? opts.FinalCount, 1, opts.CandidatesPerList);
        var collection = await documents.CollectionAsync(store);
        var hits = await collection.SearchAsync(new SearchRequest
        {
            Mode = SearchMode.Hybrid,
            Vector = vector,
            Text = query,
            K = opts.CandidatesPerList,
            CandidatesPerList = opts.CandidatesPerList,
            RrfK = opts.RrfK,
            Filter = Filter.All.Where("kind", "chunk"),
            Timings = timings,
        });
        if (timings is not null)
        {
            BrunoTelemetry.Stage(store.Id, BrunoTelemetry.Stages.VectorSearch, timings.Vector);
            BrunoTelemetry.Stage(store.Id, BrunoTelemetry.Stages.KeywordSearch, timings.FullText);
            BrunoTelemetry.Stage(store.Id, BrunoTelemetry.Stages.Fusion, timings.Fusion);
        }

        var kept = new List<SearchHit>();
        foreach (var hit in hits)
        {
            if (kept.Count == final)
            {
                break;
            }

            if (kept.All(k => TensorPrimitives.CosineSimilarity(k.Row.Vector.Span, hit.Row.Vector.Span) <= opts.DuplicateSimilarity))
            {
                kept.Add(hit);
            }
        }

        // The context budget (characters / 4 tokens) bounds what the answer may draw from.
        var budget = opts.ContextTokens * 4;
        var passages = new List<Passage>();
        foreach (var hit in kept)
        {
            if (budget <= 0)
            {
                break;
            }

            var body = hit.Row.Text.Length <= budget ? hit.Row.Text : hit.Row.Text[..budget];
            budget -= body.Length;
            var m = hit.Row.Metadata;
            var n = passages.Count + 1;
            passages.Add(new Passage(body, new Source(n, m["document_id"].AsString, m["title"].AsString, m["section"].AsString, hit.Row.Id, Math.Round(hit.Score, 6), Snippet(body))));
        }

        if (record)
        {
            BrunoTelemetry.Retrieved(store.Id, [.. passages.Select(p => p.Source.Score)]);
        }

        return passages;
    }

    /// <summary>
    /// Picks, from the passages, the sentences that share the most words with the question (at most three, at least half
    /// as many shared words as the best, in passage order), each followed by its passage's citation. Confidence: the share of the question's words the answer covers.
    /// </summary>
    internal static (string Answer, double Confidence) Extractive(string question, IReadOnlyList<Passage> passages)
    {
        if (passages.Count == 0)
        {
            return ("I found nothing in this tenant's documents about that.", 0);
        }

        var asked = Words(question);
        var scored = new List<(double Score, int Overlap, int Passage, int Order, string Sentence)>();
        var order = 0;
        for (var p = 0; p < passages.Count; p++)
        {
            foreach (var sentence in Sentences(passages[p].Text))
            {
                if (sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length < 3)
                {
                    continue; // headings and fragments say nothing on their own
                }

                var words = Words(sentence);
                var overlap = asked.Count(words.Contains);
                scored.Add((overlap + (1.0 / (p + 2)), overlap, p, order++, sentence));
            }
        }

        if (scored.Count == 0)
        {
            return (passages[0].Source.Snippet + " [1]", 0);
        }

        // Sentences that share at least half as many words with the question as the best one does (at least one).
        var top = scored.Max(s => s.Overlap);
        var best = scored.Where(s => top == 0 || s.Overlap * 2 >= top).OrderByDescending(s => s.Score).Take(top == 0 ? 1 : 3).OrderBy(s => s.Order).ToList();
        var answer = new StringBuilder();
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in best)
        {
            answer.Append(s.Sentence.Trim()).Append(" [").Append(passages[s.Passage].Source.N).Append("] ");
            covered.UnionWith(Words(s.Sentence).Where(asked.Contains));
        }

        var confidence = asked.Count == 0 ? 0 : Math.Round((double)covered.Count / asked.Count, 2);
        return (answer.ToString().Trim(), confidence);
    }

    private static IReadOnlySet<string> Words(string text) => TextTerms.Of(text);

    private static IEnumerable<string> Sentences(string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' || (text[i] is '.' or '!' or '?' && (i + 1 == text.Length || char.IsWhiteSpace(text[i + 1]))))
            {
                if (i + 1 - start > 1)
                {
                    yield return text[start..(i + 1)];
                }

                start = i + 1;
            }
        }

        if (start < text.Length && text[start..].Trim().Length > 0)
        {
            yield return text[start..];
        }
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
