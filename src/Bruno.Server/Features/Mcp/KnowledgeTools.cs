using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Server.Features.Documents;
using Bruno.Server.Features.Query;
using ModelContextProtocol.Server;

namespace Bruno.Server.Features.Mcp;

/// <summary>What <c>search_knowledge</c> returns: the body of <c>POST /api/v1/search</c>.</summary>
internal sealed record SearchResult(IReadOnlyList<Source> Sources);

/// <summary>
/// The knowledge tools: the same services as <c>/api/v1/search</c>, <c>/api/v1/query</c> and <c>/api/v1/documents</c>,
/// with the same argument names (<c>top_k</c>, <c>session_id</c>, <c>after</c>, <c>limit</c>). Argument names are
/// snake_case on the wire, as in the HTTP API, hence the parameters' names.
/// </summary>
[McpServerToolType, McpScope(Scopes.Query)]
internal sealed class KnowledgeTools(McpCaller caller, AskService ask, DocumentService documents, TenantService tenants, Core.Metering.LlmBudget budget, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options)
{
    [McpServerTool(Name = "search_knowledge", Title = "Search the knowledge base", UseStructuredContent = true, ReadOnly = true, Idempotent = true), Description("Searches the tenant's documents (vector and full text, fused, then re-ranked) and returns the passages that clear the tenant's relevance bar, best first, with their sources and relevance (0-1).")]
    public async Task<SearchResult> SearchKnowledgeAsync(
        [Description("What to look for (1-4,000 characters)."), StringLength(AskService.MaxQuestionLength, MinimumLength = 1)] string query,
        [Description("How many passages at most (1-20; the tenant's setting when absent)."), Range(1, 20)] int? top_k = null,
        CancellationToken cancellationToken = default)
    {
        var (who, store) = await caller.RequireAsync();
        return new SearchResult(await Search.RunAsync(ask, store, who.Viewer, query, top_k, tenants.RetrievalFor(who.Tenant), cancellationToken));
    }

    [McpServerTool(Name = "ask_agent", Title = "Ask the knowledge base", UseStructuredContent = true, ReadOnly = true), Description("Answers a question from the tenant's documents, with numbered citations of its sources.")]
    public async Task<Answer> AskAgentAsync(
        [Description("The question (1-4,000 characters)."), StringLength(AskService.MaxQuestionLength, MinimumLength = 1)] string question,
        [Description("A conversation id to keep turns together (from an earlier answer)."), StringLength(128, MinimumLength = 1)] string? session_id = null,
        [Description("How many passages to answer from at most (1-20; the tenant's setting when absent)."), Range(1, 20)] int? top_k = null,
        CancellationToken cancellationToken = default)
    {
        var (who, store) = await caller.RequireAsync();
        if (ask.Generates)
        {
            budget.EnsureAvailable(who.Tenant, caller.CurrentPlan); // the LLM-token level of the limits
        }

        var traceContent = options.Value.Telemetry.TraceContentTenants.Contains(who.Tenant.Value, StringComparer.Ordinal);
        return await ask.AskAsync(store, new Question(question, session_id, top_k) { Viewer = who.Viewer, Retrieval = tenants.RetrievalFor(who.Tenant), User = who.User, TraceContent = traceContent }, cancellationToken);
    }

    [McpServerTool(Name = "list_documents", Title = "List documents", UseStructuredContent = true, ReadOnly = true, Idempotent = true), Description("Lists the tenant's documents the caller may read, in id order, a page at a time; 'next' is the 'after' of the following page (null at the end).")]
    public async Task<DocumentPage> ListDocumentsAsync(
        [Description("Start after this document id (the last id of the previous page)."), StringLength(128, MinimumLength = 1)] string? after = null,
        [Description("Page size (1-200, default 50)."), Range(1, 200)] int? limit = null)
    {
        var (who, store) = await caller.RequireAsync();
        var size = limit ?? 50;
        return DocumentPage.Of(await documents.ListAsync(store, who.Viewer, after, size, readableOnly: true), size);
    }
}
