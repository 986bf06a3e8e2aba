using System.ComponentModel.DataAnnotations;
using Bruno.Core.Agents;
using Bruno.Core.Retrieval;
using Bruno.Server.Tenancy;
using Bruno.Storage;

namespace Bruno.Server.Features.Query;

/// <summary>Body of a search.</summary>
public sealed record SearchRequestBody([property: Required] string? Query, int? TopK) : TenantBody;

/// <summary>The passages that clear the tenant's relevance bar, best first.</summary>
public sealed record SearchResponse(IReadOnlyList<Source> Sources);

/// <summary><c>POST /api/v1/search</c> and the MCP tool <c>search_knowledge</c>: retrieval without an answer (the passages that clear the relevance bar).</summary>
internal static class Search
{
    public static void MapSearchEndpoints(this ApiGroups api) =>
        api.Tenant.MapPost("/search", async (SearchRequestBody body, [AsParameters] TenantRequest tenant, AskService ask, CancellationToken ct) =>
            TypedResults.Ok(new SearchResponse(await RunAsync(ask, tenant.Store, tenant.Caller.Viewer, body.Query ?? string.Empty, body.TopK, tenant.Retrieval, ct))))
            .RequireAuthorization(Policies.Query);

    /// <summary>The passages for <paramref name="query"/> among the documents <paramref name="viewer"/> may read, as sources; the same checks as a question.</summary>
    public static async Task<IReadOnlyList<Source>> RunAsync(AskService ask, ITenantStore store, Core.Documents.Viewer viewer, string query, int? topK, RetrievalOptions retrieval, CancellationToken ct) =>
        [.. (await ask.RetrieveAsync(store, viewer, query, topK, retrieval, ct)).Select(p => p.Source)];
}
