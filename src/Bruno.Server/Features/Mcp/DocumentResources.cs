using System.ComponentModel;
using Bruno.Core.Documents;
using Bruno.Core.Identity;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// The tenant's documents as MCP resources: the template <c>bruno://documents/{id}</c> (the document's text, as
/// Markdown, through the same <see cref="DocumentService"/> as <c>/api/v1/documents/{id}</c>) and the list of them
/// (<c>resources/list</c>, a page of <see cref="PageSize"/> at a time, the cursor being the last id of a page).
/// </summary>
[McpServerResourceType, McpScope(Scopes.Query)]
internal sealed class DocumentResources(McpCaller caller, DocumentService documents)
{
    /// <summary>What a document's URI starts with.</summary>
    public const string UriPrefix = "bruno://documents/";

    /// <summary>Documents per page of <c>resources/list</c>.</summary>
    public const int PageSize = 200;

    private const string Markdown = "text/markdown";

    [McpServerResource(UriTemplate = UriPrefix + "{id}", Name = "document", Title = "A document of the knowledge base", MimeType = Markdown)]
    [Description("The text of one of the tenant's documents as Bruno holds it (Markdown: the title, then each section), by document id.")]
    public async Task<TextResourceContents> ReadAsync(string id, CancellationToken cancellationToken)
    {
        var (who, store) = await caller.RequireAsync();
        var document = await documents.ReadAsync(store, who.Viewer, id, cancellationToken) ?? throw McpErrors.InvalidParams($"No such document: '{id}'.");
        return new TextResourceContents { Uri = UriPrefix + document.Info.Id, MimeType = Markdown, Text = document.Text };
    }

    /// <summary>The <c>resources/list</c> handler: the caller's tenant's documents they may read, in id order (none without the query scope).</summary>
    public static async ValueTask<ListResourcesResult> ListAsync(RequestContext<ListResourcesRequestParams> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!McpDoor.Holds(request, Scopes.Query))
        {
            return new ListResourcesResult();
        }

        var services = request.Services ?? throw new InvalidOperationException("The MCP request has no services.");
        var (who, store) = await services.GetRequiredService<McpCaller>().RequireAsync();
        var page = await services.GetRequiredService<DocumentService>().ListAsync(store, who.Viewer, request.Params?.Cursor, PageSize, readableOnly: true);
        return new ListResourcesResult
        {
            Resources = [.. page.Select(d => new Resource { Uri = UriPrefix + d.Id, Name = d.Id, Title = d.Title, MimeType = Markdown, Size = d.Bytes })],
            NextCursor = page.Count == PageSize ? page[^1].Id : null,
        };
    }
}
