using System.ComponentModel.DataAnnotations;
using System.Net.ServerSentEvents;
using System.Text.Json;
using System.Text.Json.Serialization;
using Bruno.Core.Agents;
using Bruno.Server.Features.Contract;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.OpenAi;

/// <summary>One message of a conversation as OpenAI's chat API sends it: text, or a list of parts of which the text ones count.</summary>
public sealed record ChatMessage([property: Required] string? Role, JsonElement Content);

/// <summary>What OpenAI's <c>stream_options</c> may ask: a last chunk with the usage.</summary>
public sealed record ChatStreamOptions(bool? IncludeUsage);

/// <summary>
/// Body of <c>POST /v1/chat/completions</c>: the fields Bruno reads. Sampling settings (temperature, max tokens…) are
/// accepted and left to the tenant's configured model; nothing here names a tenant (the credential does).
/// </summary>
public sealed record ChatCompletionRequest([property: Required] string? Model, [property: Required] IReadOnlyList<ChatMessage>? Messages, bool? Stream, ChatStreamOptions? StreamOptions) : TenantBody;

/// <summary>A model as <c>GET /v1/models</c> lists it.</summary>
public sealed record OpenAiModel(string Id, string Object, long Created, string OwnedBy);

/// <summary>The list <c>GET /v1/models</c> returns.</summary>
public sealed record OpenAiModelList(string Object, IReadOnlyList<OpenAiModel> Data);

/// <summary>A passage an answer rests on, as the structured <c>citations</c> field carries it (the text names them [n]).</summary>
public sealed record Citation(int Index, string DocumentId, string Title, string Section, string Snippet, double Score, int? Page);

/// <summary>Token counts in OpenAI's shape.</summary>
public sealed record CompletionUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>The assistant's message.</summary>
public sealed record AssistantMessage(string Role, string Content);

/// <summary>One choice of a completion.</summary>
public sealed record CompletionChoice(int Index, AssistantMessage Message, string FinishReason);

/// <summary>
/// A whole completion (<c>chat.completion</c>), with Bruno's additions: <c>citations</c> (the passages the answer rests
/// on) and <c>answered</c> (false when the tenant's documents hold nothing that clears the relevance bar).
/// </summary>
public sealed record ChatCompletion(string Id, string Object, long Created, string Model, IReadOnlyList<CompletionChoice> Choices, CompletionUsage Usage, IReadOnlyList<Citation> Citations, bool Answered);

/// <summary>The change one chunk carries.</summary>
public sealed record ChunkDelta(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);

/// <summary>One choice of a chunk.</summary>
public sealed record ChunkChoice(int Index, ChunkDelta Delta, string? FinishReason);

/// <summary>
/// One chunk of a streamed completion (<c>chat.completion.chunk</c>). The last content chunk carries
/// <c>finish_reason</c> and <c>citations</c>; with <c>stream_options.include_usage</c>, one more chunk with no choices
/// carries <c>usage</c>.
/// </summary>
public sealed record ChatCompletionChunk(
    string Id,
    string Object,
    long Created,
    string Model,
    IReadOnlyList<ChunkChoice> Choices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CompletionUsage? Usage,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<Citation>? Citations);

/// <summary>
/// The OpenAI-compatible door: <c>GET /v1/models</c> lists one model, the tenant's knowledge (<c>bruno-{tenant}</c>),
/// and <c>POST /v1/chat/completions</c> answers the conversation's last user message from it, as one completion or as
/// OpenAI's chunk stream, with the citations in the text and as a field. Admission, limits, metering and audit are the
/// ones of every door (the <c>/v1</c> group is a tenant group); an API key is a bearer token here as everywhere. Errors
/// are problem documents that also carry OpenAI's <c>error</c> object, which the SDKs read.
/// </summary>
internal static class OpenAiEndpoints
{
    /// <summary>The prefix of a tenant's model id.</summary>
    public const string ModelPrefix = "bruno-";

    public static void MapOpenAiEndpoints(this ApiGroups api)
    {
        api.OpenAi.MapGet("/models", (Caller caller) => TypedResults.Ok(new OpenAiModelList("list", [Model(caller)])))
            .RequireAuthorization(Policies.Query);
        api.OpenAi.MapPost("/chat/completions", CompleteAsync).RequireAuthorization(Policies.Query)
            .Produces<ChatCompletion>().AlsoProduces<ChatCompletionChunk>("text/event-stream"); // chunks with "stream": true
    }

    /// <summary>The tenant's one model.</summary>
    private static OpenAiModel Model(Caller caller) => new(ModelPrefix + caller.Tenant.Value, "model", 0, "bruno");

    private static async Task<IResult> CompleteAsync(ChatCompletionRequest body, [AsParameters] TenantRequest tenant, AskService ask, Core.Metering.LlmBudget budget, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options, CancellationToken ct)
    {
        var caller = tenant.Caller;
        var model = ModelPrefix + caller.Tenant.Value;
        if (!string.Equals(body.Model, model, StringComparison.Ordinal))
        {
            // another tenant's model is answered as a model that does not exist: its name says nothing either way
            return Error(404, "Model not found", $"The model '{Bounded(body.Model)}' does not exist; this credential's model is '{model}'.", "invalid_request_error", "model_not_found", "model");
        }

        if (Question(body.Messages) is not { } text)
        {
            return Error(400, "Invalid request", "messages must end with a user message whose content is text.", "invalid_request_error", "invalid_messages", "messages");
        }

        if (ask.Generates)
        {
            budget.EnsureAvailable(caller.Tenant, tenant.Plan);
        }

        var question = new Question(text) { Viewer = caller.Viewer, Retrieval = tenant.Retrieval, User = caller.User, TraceContent = options.Value.Telemetry.TraceContentTenants.Contains(caller.Tenant.Value, StringComparer.Ordinal) };
        var id = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var events = await Query.AnswerStream.StartAsync(ask.AskStreamingAsync(tenant.Store, question, ct), ct);
        if (body.Stream != true)
        {
            var answer = await Query.AnswerStream.FinishAsync(events);
            return TypedResults.Ok(new ChatCompletion(
                id, "chat.completion", created, model, [new CompletionChoice(0, new AssistantMessage("assistant", answer.Text + SourcesBlock(answer)), "stop")], UsageOf(answer), Citations(answer), answer.Answered));
        }

        return TypedResults.ServerSentEvents(Chunks(events, id, created, model, body.StreamOptions?.IncludeUsage == true, tenant.Admitted.Tracked));
    }

    /// <summary>The chunks: the role, the answer's text as it is written, the sources block, the finish (with the
    /// citations), the usage when asked, then <c>[DONE]</c>. A failure midway ends the stream with an error chunk.</summary>
    private static async IAsyncEnumerable<SseItem<string>> Chunks(IAsyncEnumerator<AnswerEvent> events, string id, long created, string model, bool includeUsage, TenantWatch.TrackedRequest? tracked)
    {
        yield return Data(Chunk(new ChunkDelta("assistant", string.Empty), null));
        await foreach (var (e, failure) in Query.AnswerStream.ReadAsync(events, tracked))
        {
            if (e is AnswerDelta { Text.Length: > 0 } d)
            {
                yield return Data(Chunk(new ChunkDelta(null, d.Text), null));
            }
            else if (e is AnswerDone done)
            {
                var sources = SourcesBlock(done.Answer);
                if (sources.Length > 0)
                {
                    yield return Data(Chunk(new ChunkDelta(null, sources), null));
                }

                yield return Data(Chunk(new ChunkDelta(null, null), "stop") with { Citations = Citations(done.Answer) });
                if (includeUsage)
                {
                    yield return Data(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [], UsageOf(done.Answer), null));
                }
            }
            else if (failure is not null)
            {
                yield return new SseItem<string>(ErrorJson(failure.Detail, failure.Status == 503 ? "server_error" : "permission_error", failure.Status == 503 ? "model_unavailable" : "tenant_unavailable"));
            }
        }

        yield return new SseItem<string>("[DONE]");

        ChatCompletionChunk Chunk(ChunkDelta delta, string? finish) =>
            new(id, "chat.completion.chunk", created, model, [new ChunkChoice(0, delta, finish)], null, null);
    }

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static SseItem<string> Data(ChatCompletionChunk chunk) => new(JsonSerializer.Serialize(chunk, Json));

    private static string ErrorJson(string message, string type, string code) =>
        JsonSerializer.Serialize(new { error = new { message, type, code, trace_id = System.Diagnostics.Activity.Current?.TraceId.ToString() } }, Json);

    /// <summary>The text of the last message, when it is the user's: a string, or the text parts of a list joined.</summary>
    internal static string? Question(IReadOnlyList<ChatMessage>? messages)
    {
        if (messages is not [.., var last] || !string.Equals(last.Role, "user", StringComparison.Ordinal))
        {
            return null;
        }

        var text = last.Content.ValueKind switch
        {
            JsonValueKind.String => last.Content.GetString(),
            JsonValueKind.Array => string.Join("\n", last.Content.EnumerateArray()
                .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "text" && p.TryGetProperty("text", out var x) && x.ValueKind == JsonValueKind.String)
                .Select(p => p.GetProperty("text").GetString())),
            _ => null,
        };
        return string.IsNullOrWhiteSpace(text) ? null : text;
    }

    /// <summary>The sources the answer cites, as a block after its text: <c>[n] Title — Section (p. N)</c>, one a line.</summary>
    private static string SourcesBlock(Answer answer) =>
        answer.Sources.Count == 0 ? string.Empty
        : "\n\nSources:\n" + string.Join("\n", answer.Sources.Select(s => $"[{s.N}] {s.Title}{(s.Section.Length > 0 ? " — " + s.Section : string.Empty)}{(s.Page is { } p ? $" (p. {p})" : string.Empty)}"));

    private static List<Citation> Citations(Answer answer) =>
        [.. answer.Sources.Select(s => new Citation(s.N, s.DocumentId, s.Title, s.Section, s.Snippet, s.Score, s.Page))];

    private static CompletionUsage UsageOf(Answer answer) =>
        new(answer.Usage.PromptTokens, answer.Usage.CompletionTokens, answer.Usage.PromptTokens + answer.Usage.CompletionTokens);

    /// <summary>A problem document that also carries OpenAI's <c>error</c> object (what the OpenAI SDKs show).</summary>
    private static IResult Error(int status, string title, string detail, string type, string code, string? param) =>
        Hosting.Problems.Result(status, title, detail, new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["error"] = new Dictionary<string, object?>(StringComparer.Ordinal) { ["message"] = detail, ["type"] = type, ["code"] = code, ["param"] = param },
        });

    private static string Bounded(string? value) => value is null ? string.Empty : value.Length <= 80 ? value : value[..80] + "…";
}
