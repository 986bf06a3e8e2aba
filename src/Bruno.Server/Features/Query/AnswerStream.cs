using Bruno.Core.Agents;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Query;

/// <summary>Why an answer stream ended early: the status and words of the problem each door writes in its own format.</summary>
internal sealed record StreamFailure(int Status, string Title, string Detail);

/// <summary>
/// An answer as the HTTP doors read it (<c>/api/v1/query</c>, <c>/v1/chat/completions</c>): started before anything
/// is written, then either read to its end or streamed event by event, a failure midway turned into a
/// <see cref="StreamFailure"/> the door writes as its last event.
/// </summary>
internal static class AnswerStream
{
    /// <summary>
    /// Starts the answer: validation and retrieval (and, with a model, its first token) run here, so that their failures
    /// are still plain problem responses with their status, before any stream has started.
    /// </summary>
    public static async Task<IAsyncEnumerator<AnswerEvent>> StartAsync(IAsyncEnumerable<AnswerEvent> answer, CancellationToken ct)
    {
        var events = answer.GetAsyncEnumerator(ct);
        if (!await events.MoveNextAsync())
        {
            await events.DisposeAsync();
            throw new InvalidOperationException("An answer stream ended without an answer.");
        }

        return events;
    }

    /// <summary>The whole answer, the started stream read to its end.</summary>
    public static async Task<Answer> FinishAsync(IAsyncEnumerator<AnswerEvent> events)
    {
        await using (events)
        {
            var done = events.Current as AnswerDone;
            while (done is null && await events.MoveNextAsync())
            {
                done = events.Current as AnswerDone;
            }

            return done?.Answer ?? throw new InvalidOperationException("An answer stream ended without an answer.");
        }
    }

    /// <summary>
    /// The started stream's events, the current one first; when the model stops answering, or the tenant stops being
    /// active (<paramref name="tracked"/> was cut), a last item with the failure instead of an exception.
    /// </summary>
    public static async IAsyncEnumerable<(AnswerEvent? Event, StreamFailure? Failure)> ReadAsync(IAsyncEnumerator<AnswerEvent> events, TenantWatch.TrackedRequest? tracked)
    {
        await using (events)
        {
            var more = true;
            while (more)
            {
                yield return (events.Current, null);
                StreamFailure? failure = null;
                try
                {
                    more = await events.MoveNextAsync();
                }
                catch (ModelUnavailableException)
                {
                    (failure, more) = (new StreamFailure(503, "Model unavailable", "The language model stopped answering; try again shortly."), false);
                }
                catch (OperationCanceledException) when (tracked?.WasCut == true)
                {
                    (failure, more) = (new StreamFailure(403, "Tenant unavailable", "The tenant of this credential is no longer active."), false);
                }

                if (failure is not null)
                {
                    yield return (null, failure);
                }
            }
        }
    }
}
