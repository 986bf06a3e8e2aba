using Bruno.Core.Agents;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Query;

/// <summary>Body of a question.</summary>
public sealed record QueryRequest(string? Query, string? SessionId, int? TopK, string? TenantId) : INamesTenant;

/// <summary>Asking questions of the tenant's knowledge.</summary>
internal static class QueryEndpoints
{
    public static void MapQueryEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/query", AskAsync).RequireAuthorization(Hosting.Hosting.QueryPolicy).AddEndpointFilter<TenantFilter>();
    }

    private static async Task<IResult> AskAsync(QueryRequest body, Caller caller, AskService ask, TenantService tenants, CancellationToken ct)
    {
        var answer = await ask.AskAsync(tenants.Store(caller.Tenant), new Question(body.Query ?? string.Empty, body.SessionId, body.TopK), ct);
        return TypedResults.Ok(new
        {
            answer = answer.Text,
            sources = answer.Sources,
            confidence = answer.Confidence,
            model = answer.Model,
            trace_id = answer.TraceId ?? System.Diagnostics.Activity.Current?.TraceId.ToString(),
            session_id = answer.SessionId,
            usage = answer.Usage,
        });
    }
}
