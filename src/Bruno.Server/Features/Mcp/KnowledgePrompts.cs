using System.ComponentModel;
using System.Text;
using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Server.Features.Query;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// Prompts a user picks in a client: a question to answer from the knowledge base's passages with citations, and a
/// document to summarise. Both read through the same services as the tools (search, documents).
/// </summary>
[McpServerPromptType, McpScope(Scopes.Query)]
internal sealed class KnowledgePrompts(McpCaller caller, AskService ask, DocumentService documents, TenantService tenants)
{
    [McpServerPrompt(Name = "ask_with_citations", Title = "Ask with citations")]
    [Description("Answer a question only from the knowledge base's passages, citing each as [n]; the passages come with the prompt.")]
    public async Task<GetPromptResult> AskWithCitationsAsync([Description("The question (1-4,000 characters).")] string question, CancellationToken cancellationToken)
    {
        var (who, store) = await caller.RequireAsync();
        var sources = await Search.RunAsync(ask, store, who.Viewer, question, null, tenants.RetrievalFor(who.Tenant), cancellationToken);
        var text = new StringBuilder("Answer the question below using only the numbered passages from the knowledge base that follow. ")
            .Append("Cite every statement with its passage's number in brackets, like [1]. If the passages do not answer the question, say that the documents do not answer it.\n\n")
            .Append("Question: ").Append(question.Trim()).Append("\n\n");
        if (sources.Count == 0)
        {
            text.Append("(No passage of the knowledge base is relevant enough.)\n");
        }

        foreach (var s in sources)
        {
            text.Append('[').Append(s.N).Append("] ").Append(s.Title).Append(s.Section.Length > 0 ? " › " + s.Section : string.Empty)
                .Append(" (").Append(DocumentResources.UriPrefix).Append(s.DocumentId).Append(")\n").Append(s.Snippet).Append("\n\n");
        }

        return new GetPromptResult
        {
            Description = $"Answer with citations from {sources.Count} passages",
            Messages = [new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = text.ToString() } }],
        };
    }

    [McpServerPrompt(Name = "summarize_document", Title = "Summarize a document")]
    [Description("Summarise one of the knowledge base's documents; the document comes with the prompt.")]
    public async Task<GetPromptResult> SummarizeDocumentAsync([Description("The document's id (from list_documents or resources/list).")] string id, CancellationToken cancellationToken)
    {
        var (who, store) = await caller.RequireAsync();
        var document = await documents.ReadAsync(store, who.Viewer, id, cancellationToken) ?? throw McpErrors.InvalidParams($"No such document: '{id}'.");
        return new GetPromptResult
        {
            Description = $"Summarise \"{document.Info.Title}\"",
            Messages =
            [
                new PromptMessage { Role = Role.User, Content = new TextContentBlock { Text = $"Summarise the document \"{document.Info.Title}\" below in a few short paragraphs, keeping its key facts and figures." } },
                new PromptMessage
                {
                    Role = Role.User,
                    Content = new EmbeddedResourceBlock { Resource = new TextResourceContents { Uri = DocumentResources.UriPrefix + document.Info.Id, MimeType = "text/markdown", Text = document.Text } },
                },
            ],
        };
    }
}
