using System.ComponentModel;
using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Server.Features.Query;
using ModelContextProtocol.Server;

namespace Bruno.Server.Features.Mcp;

/// <summary>The knowledge tools: the same services as <c>/api/v1/search</c>, <c>/api/v1/query</c> and <c>/api/v1/documents</c>.</summary>
[McpServerToolType]
internal sealed class KnowledgeTools(McpCaller caller, AskService ask, DocumentService documents, TenantService tenants, Core.Metering.LlmBudget budget, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options)
{
    [McpServerTool(Name = "search_knowledge", Title = "Search the knowledge base", UseStructuredContent = true, ReadOnly = true, Idempotent = true), Description("Searches the tenant's documents (vector and full text, fused, then re-ranked) and returns the passages that clear the tenant's relevance bar, best first, with their sources and relevance (0-1).")]
    public Task<IReadOnlyList<Source>> SearchKnowledgeAsync(
        [Description("What to look for (1-4,000 characters).")] string query,
        [Description("How many passages (1-20, default 5).")] int? topK = null,
        CancellationToken cancellationToken = default) =>
        caller.RunAsync(async () =>
        {
            var (who, store) = await caller.RequireAsync(Scopes.Query);
            return await Search.RunAsync(ask, store, query, topK, tenants.RetrievalFor(who.Tenant), cancellationToken);
        });

    [McpServerTool(Name = "ask_agent", Title = "Ask the knowledge base", UseStructuredContent = true, ReadOnly = true), Description("Answers a question from the tenant's documents, with numbered citations of its sources.")]
    public Task<Answer> AskAgentAsync(
        [Description("The question (1-4,000 characters).")] string question,
        [Description("A conversation id to keep turns together (optional).")] string? sessionId = null,
        CancellationToken cancellationToken = default) =>
        caller.RunAsync(async () =>
        {
            var (who, store) = await caller.RequireAsync(Scopes.Query);
            if (ask.Generates)
            {
                budget.EnsureAvailable(who.Tenant, caller.CurrentPlan); // the LLM-token level of the limits
            }

            return await ask.AskAsync(store, new Question(question, sessionId) { Retrieval = tenants.RetrievalFor(who.Tenant), User = who.User, TraceContent = options.Value.Telemetry.TraceContentTenants.Contains(who.Tenant.Value, StringComparer.Ordinal) }, cancellationToken);
        });

    [McpServerTool(Name = "list_documents", Title = "List documents", UseStructuredContent = true, ReadOnly = true, Idempotent = true), Description("Lists the tenant's documents in id order, a page at a time.")]
    public Task<IReadOnlyList<DocumentInfo>> ListDocumentsAsync(
        [Description("Start after this document id (from the previous page).")] string? after = null,
        [Description("Page size (1-200, default 50).")] int? limit = null) =>
        caller.RunAsync(async () =>
        {
            var (_, store) = await caller.RequireAsync(Scopes.Query);
            return await documents.ListAsync(store, after, Math.Clamp(limit ?? 50, 1, 200));
        });
}
