using System.ComponentModel.DataAnnotations;
using System.Net.ServerSentEvents;
using Bruno.Core.Agents;
using Bruno.Server.Features.Contract;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Query;

/// <summary>Body of a question.</summary>
public sealed record QueryRequest([property: Required] string? Query, string? SessionId, int? TopK) : TenantBody;

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
        api.Tenant.MapPost("/query", AskAsync).RequireAuthorization(Policies.Query)
            .Produces<QueryResponse>().AlsoProduces<string>("text/event-stream"); // events with Accept: text/event-stream
    }

    private static async Task<IResult> AskAsync(QueryRequest body, [AsParameters] TenantRequest tenant, AskService ask, Core.Metering.LlmBudget budget, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options, HttpContext http, CancellationToken ct)
    {
        var caller = tenant.Caller;
        if (ask.Generates)
        {
            budget.EnsureAvailable(caller.Tenant, tenant.Plan); // the LLM-token level of the limits, and the monthly quota
        }

        var question = new Question(body.Query ?? string.Empty, body.SessionId, body.TopK) { Viewer = caller.Viewer, Retrieval = tenant.Retrieval, User = caller.User, TraceContent = options.Value.Telemetry.TraceContentTenants.Contains(caller.Tenant.Value, StringComparer.Ordinal) };
        var events = await AnswerStream.StartAsync(ask.AskStreamingAsync(tenant.Store, question, ct), ct);
        if (!http.Request.Headers.Accept.Any(a => a?.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase) == true))
        {
            return TypedResults.Ok(QueryResponse.Of(await AnswerStream.FinishAsync(events)));
        }

        return TypedResults.ServerSentEvents(Stream(events, tenant.Admitted.Tracked));
    }

    /// <summary>Events <c>delta</c> ({text}) as the answer is written, then <c>done</c> (the whole answer, sources and usage),
    /// or <c>error</c> (a problem document with its trace id) when the model fails midway or the tenant is cut.</summary>
    private static async IAsyncEnumerable<SseItem<object>> Stream(IAsyncEnumerator<AnswerEvent> events, TenantWatch.TrackedRequest? tracked)
    {
        await foreach (var (e, failure) in AnswerStream.ReadAsync(events, tracked))
        {
            yield return (e, failure) switch
            {
                (AnswerDelta d, _) => new SseItem<object>(new { text = d.Text }, "delta"),
                (AnswerDone done, _) => new SseItem<object>(QueryResponse.Of(done.Answer), "done"),
                (_, { } f) => new SseItem<object>(new { status = f.Status, title = f.Title, detail = f.Detail, trace_id = System.Diagnostics.Activity.Current?.TraceId.ToString() }, "error"),
                _ => throw new InvalidOperationException("Unknown answer event."),
            };
        }
    }
}
