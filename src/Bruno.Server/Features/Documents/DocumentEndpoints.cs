using Bruno.Core.Documents;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Documents;

/// <summary>Body of a document upload.</summary>
public sealed record DocumentRequest(string? Id, string? Title, string? ContentType, string? Content, Dictionary<string, string>? Metadata, string? TenantId) : INamesTenant;

/// <summary>A page of documents; <c>next</c> is the cursor for the following page, null at the end.</summary>
public sealed record DocumentPage(IReadOnlyList<DocumentInfo> Items, string? Next);

/// <summary>The tenant's documents: upload (replace by id), list, show, delete.</summary>
internal static class DocumentEndpoints
{
    public static void MapDocumentEndpoints(this IEndpointRouteBuilder app)
    {
        var read = app.MapGroup("/api/v1/documents").RequireAuthorization(Hosting.Hosting.QueryPolicy).AddEndpointFilter<TenantFilter>();
        var write = app.MapGroup("/api/v1/documents").RequireAuthorization(Hosting.Hosting.IngestPolicy).AddEndpointFilter<TenantFilter>();
        write.MapPost("/", PutAsync);
        write.MapDelete("/{id}", DeleteAsync);
        read.MapGet("/", ListAsync);
        read.MapGet("/{id}", GetAsync);
    }

    private static async Task<IResult> PutAsync(DocumentRequest body, Caller caller, DocumentService documents, TenantService tenants, CancellationToken ct)
    {
        var input = new DocumentInput(body.Id ?? string.Empty, body.Title, body.ContentType ?? "text/plain", body.Content ?? string.Empty, body.Metadata);
        var info = await documents.PutAsync(tenants.Store(caller.Tenant), input, ct);
        return TypedResults.Ok(info);
    }

    private static async Task<IResult> ListAsync(Caller caller, DocumentService documents, TenantService tenants, string? after, int? limit)
    {
        var size = Math.Clamp(limit ?? 50, 1, 200);
        var items = await documents.ListAsync(tenants.Store(caller.Tenant), after, size);
        return TypedResults.Ok(new DocumentPage(items, items.Count == size ? items[^1].Id : null));
    }

    private static async Task<IResult> GetAsync(string id, Caller caller, DocumentService documents, TenantService tenants) =>
        await documents.GetAsync(tenants.Store(caller.Tenant), id) is { } info
            ? TypedResults.Ok(info)
            : TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such document.");

    private static async Task<IResult> DeleteAsync(string id, Caller caller, DocumentService documents, TenantService tenants) =>
        await documents.DeleteAsync(tenants.Store(caller.Tenant), id)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such document.");
}
