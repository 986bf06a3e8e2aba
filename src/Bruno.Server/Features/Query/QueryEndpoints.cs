using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Bruno.Core.Agents;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Query;

/// <summary>Body of a question.</summary>
public sealed record QueryRequest(string? Query, string? SessionId, int? TopK) : TenantBody;

/// <summary>
/// An answer as the API returns it (and as the last server-sent event carries it). <c>answered</c> is false when the
/// tenant's documents hold nothing that clears the relevance bar: then <c>sources</c> is empty and <c>suggestions</c>
/// lists the nearest passages.
/// </summary>
public sealed record QueryResponse(string Answer, bool Answered, IReadOnlyList<Source> Sources, IReadOnlyList<Source> Suggestions, double Confidence, string Model, string? TraceId, string SessionId, Usage Usage, string? TurnId)
{
    internal static QueryResponse Of(Answer a) =>
        new(a.Text, a.Answered, a.Sources, a.Suggestions, a.Confidence, a.Model, a.TraceId ?? System.Diagnostics.Activity.Current?.TraceId.ToString(), a.SessionId, a.Usage, a.TurnId);
}

/// <summary>Asking questions of the tenant's knowledge, as one JSON answer or as server-sent events.</summary>
internal static class QueryEndpoints
{
    public static void MapQueryEndpoints(this ApiGroups api)
    {
        api.Tenant.MapPost("/query", AskAsync).RequireAuthorization(Policies.Query);
    }

    private static async Task<IResult> AskAsync(QueryRequest body, [AsParameters] TenantRequest tenant, AskService ask, Core.Metering.LlmBudget budget, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options, HttpContext http, CancellationToken ct)
    {
        var caller = tenant.Caller;
        if (ask.Generates)
        {
            budget.EnsureAvailable(caller.Tenant, tenant.Plan); // the LLM-token level of the limits, and the monthly quota
        }

        var question = new Question(body.Query ?? string.Empty, body.SessionId, body.TopK) { Retrieval = tenant.Retrieval, User = caller.User, TraceContent = options.Value.Telemetry.TraceContentTenants.Contains(caller.Tenant.Value, StringComparer.Ordinal) };
        var events = ask.AskStreamingAsync(tenant.Store, question, ct).GetAsyncEnumerator(ct);
        // The first event comes after validation and retrieval (and, with a model, its first token): a failure there is
        // still a plain problem response with its status code, before any stream has started.
        if (!await events.MoveNextAsync())
        {
            throw new InvalidOperationException("An answer stream ended without an answer.");
        }

        if (!http.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true))
        {
            var answer = events.Current as AnswerDone;
            while (answer is null && await events.MoveNextAsync())
            {
                answer = events.Current as AnswerDone;
            }

            await events.DisposeAsync();
            return TypedResults.Ok(QueryResponse.Of(answer!.Answer));
        }

        return TypedResults.ServerSentEvents(Stream(events, tenant.Admitted.Tracked, ct));
    }

    private static string? TraceId() => System.Diagnostics.Activity.Current?.TraceId.ToString();

    /// <summary>Events <c>delta</c> ({text}) as the answer is written, then <c>done</c> (the whole answer, sources and usage),
    /// or <c>error</c> (a problem document) when the model fails midway.</summary>
    private static async IAsyncEnumerable<SseItem<object>> Stream(IAsyncEnumerator<AnswerEvent> events, TenantWatch.TrackedRequest? tracked, [EnumeratorCancellation] CancellationToken ct)
    {
        await using (events)
        {
            var more = true;
            while (more)
            {
                var item = events.Current switch
                {
                    AnswerDelta d => new SseItem<object>(new { text = d.Text }, "delta"),
                    AnswerDone done => new SseItem<object>(QueryResponse.Of(done.Answer), "done"),
                    _ => throw new InvalidOperationException("Unknown answer event."),
                };
                yield return item;
                SseItem<object>? failure = null;
                try
                {
                    more = await events.MoveNextAsync();
                }
                catch (ModelUnavailableException)
                {
                    failure = new SseItem<object>(new { status = 503, title = "Model unavailable", detail = "The language model stopped answering; try again shortly.", trace_id = TraceId() }, "error");
                    more = false;
                }
                catch (OperationCanceledException) when (tracked?.WasCut == true)
                {
                    failure = new SseItem<object>(new { status = 403, title = "Tenant unavailable", detail = "The tenant of this credential is no longer active.", trace_id = TraceId() }, "error");
                    more = false;
                }

                if (failure is { } f)
                {
                    yield return f;
                }
            }
        }
    }
}
