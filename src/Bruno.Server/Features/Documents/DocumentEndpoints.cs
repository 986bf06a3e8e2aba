using System.ComponentModel.DataAnnotations;
using Bruno.Core.Documents;
using Bruno.Server.Tenancy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Bruno.Server.Features.Documents;

/// <summary>
/// Body of a document upload. <c>access</c>: who may read it, <c>["tenant"]</c> or <c>group:NAME</c> and <c>user:ID</c>
/// entries (absent: the list of the document it replaces, else the whole tenant).
/// </summary>
public sealed record DocumentRequest([property: Required] string? Id, string? Title, string? ContentType, [property: Required] string? Content, Dictionary<string, string>? Metadata, IReadOnlyList<string>? Access = null) : TenantBody;

/// <summary>Body of a change of a document's access list: <c>["tenant"]</c>, or <c>group:NAME</c> and <c>user:ID</c> entries.</summary>
public sealed record AccessRequest([property: Required] IReadOnlyList<string>? Access) : TenantBody;

/// <summary>A page of documents; <c>next</c> is the cursor for the following page, null at the end.</summary>
public sealed record DocumentPage(IReadOnlyList<DocumentInfo> Items, string? Next)
{
    /// <summary>The page of <paramref name="items"/> asked for with <paramref name="limit"/>: a full page may have a next one.</summary>
    public static DocumentPage Of(IReadOnlyList<DocumentInfo> items, int limit) => new(items, items.Count == limit && items.Count > 0 ? items[^1].Id : null);
}

/// <summary>
/// The tenant's documents: upload (replace by id), list, show, change who may read, delete. Writes are open to the
/// tenant's editors (the ingest scope), admins, and group admins for their groups' documents: the rules are
/// <see cref="Viewer.CanManage"/>'s, checked in Core, so the route needs only a credential of the tenant.
/// </summary>
internal static class DocumentEndpoints
{
    public static void MapDocumentEndpoints(this ApiGroups api)
    {
        var read = api.Tenant.MapGroup("/documents").RequireAuthorization(Policies.Query);
        // refused (and the denial audited) before the body is read or checked when the caller may write no document at all
        var write = api.Tenant.MapGroup("/documents").AddEndpointFilter(async (context, next) =>
        {
            try
            {
                DocumentService.EnsureMayWrite((Caller.Of(context.HttpContext) ?? throw new InvalidOperationException("The tenant filter did not run.")).Viewer);
            }
            catch (Core.Identity.AccessDeniedException)
            {
                await context.HttpContext.RequestServices.GetRequiredService<AuditTrail>().DeniedAsync(context.HttpContext);
                throw;
            }

            return await next(context);
        });
        // One operation in the API description, two ways in: a JSON body, or a multipart form with a file (both described
        // on the form's operation by the contract; the JSON one is left out of it to keep operation ids unique).
        write.MapPost("/", PutAsync).Accepts<DocumentRequest>("application/json").Produces<DocumentInfo>().ExcludeFromDescription().Audited("document.put");
        // Bearer tokens, no cookies: a cross-site form cannot carry the credential, so no antiforgery token is needed.
        write.MapPost("/", UploadAsync).Accepts<IFormFile>("multipart/form-data").DisableAntiforgery().Produces<DocumentInfo>()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithMetadata(new Contract.AlsoAccepts(typeof(DocumentRequest), "application/json")).Audited("document.put");
        write.MapDelete("/{id}", DeleteAsync).Produces(StatusCodes.Status204NoContent).Audited("document.delete");
        write.MapPut("/{id}/access", SetAccessAsync).Produces<DocumentInfo>().Audited("document.access");
        read.MapGet("/", ListAsync).Produces<DocumentPage>();
        read.MapGet("/{id}", GetAsync).Produces<DocumentInfo>();
    }

    private static async Task<IResult> PutAsync(DocumentRequest body, [AsParameters] TenantRequest tenant, DocumentService documents, CancellationToken ct)
    {
        var input = new DocumentInput(body.Id ?? string.Empty, body.Title, body.ContentType ?? "text/plain", body.Content ?? string.Empty, body.Metadata)
        {
            Quota = tenant.Plan.DocumentQuota,
            Access = body.Access is null ? null : DocumentAccess.Parse(body.Access),
        };
        var info = await documents.PutAsync(tenant.Store, tenant.Caller.Viewer, input, ct);
        return TypedResults.Ok(info);
    }

    /// <summary>Multipart upload: a <c>file</c> part (its Content-Type, else its extension, gives the type), fields
    /// <c>id</c> (default: the file name), <c>title</c>, <c>metadata</c> (a JSON object of strings) and <c>access</c>
    /// (entries separated by commas or spaces).</summary>
    private static async Task<IResult> UploadAsync(IFormFile file, [FromForm] string? id, [FromForm] string? title, [FromForm] string? metadata, [FromForm] string? access, [AsParameters] TenantRequest tenant, DocumentService documents, CancellationToken ct)
    {
        var viewer = tenant.Caller.Viewer;
        var readers = access is null ? null : DocumentAccess.Parse(access.Split([',', ' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
        Dictionary<string, string>? meta = null;
        if (!string.IsNullOrEmpty(metadata))
        {
            try
            {
                meta = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, string>>(metadata);
            }
            catch (System.Text.Json.JsonException)
            {
                throw new DocumentRejectedException("The metadata field must be a JSON object of strings.", DocumentRejection.Invalid);
            }
        }

        var type = string.IsNullOrEmpty(file.ContentType) || file.ContentType == "application/octet-stream" ? TypeOf(file.FileName) : file.ContentType;
        documents.CheckSize(type, file.Length); // refused before the file is read into memory

        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer, ct);
        var info = await documents.PutFileAsync(tenant.Store, viewer, new DocumentFile(id ?? Path.GetFileNameWithoutExtension(file.FileName), title, type, buffer.GetBuffer().AsMemory(0, (int)buffer.Length), meta)
        {
            Quota = tenant.Plan.DocumentQuota,
            Access = readers,
        }, ct);
        return TypedResults.Ok(info);
    }

    internal static string TypeOf(string fileName) => Path.GetExtension(fileName).ToLowerInvariant() switch
    {
        ".md" or ".markdown" => "text/markdown",
        ".html" or ".htm" => "text/html",
        ".pdf" => "application/pdf",
        ".txt" => "text/plain",
        _ => "application/octet-stream",
    };

    private static async Task<IResult> ListAsync([AsParameters] TenantRequest tenant, DocumentService documents, string? after, int? limit)
    {
        var size = Math.Clamp(limit ?? 50, 1, 200);
        var items = await documents.ListAsync(tenant.Store, tenant.Caller.Viewer, after, size);
        return TypedResults.Ok(DocumentPage.Of(items, size));
    }

    private static async Task<IResult> GetAsync(string id, [AsParameters] TenantRequest tenant, DocumentService documents) =>
        await documents.GetAsync(tenant.Store, tenant.Caller.Viewer, id) is { } info ? TypedResults.Ok(info) : NoSuchDocument();

    private static async Task<IResult> DeleteAsync(string id, [AsParameters] TenantRequest tenant, DocumentService documents) =>
        await documents.DeleteAsync(tenant.Store, tenant.Caller.Viewer, id) ? TypedResults.NoContent() : NoSuchDocument();

    private static async Task<IResult> SetAccessAsync(string id, AccessRequest body, [AsParameters] TenantRequest tenant, DocumentService documents, CancellationToken ct) =>
        await documents.SetAccessAsync(tenant.Store, tenant.Caller.Viewer, id, DocumentAccess.Parse(body.Access), ct) is { } info ? TypedResults.Ok(info) : NoSuchDocument();

    /// <summary>A document that is not there, or that the caller may neither read nor manage (the same answer: its existence is not told).</summary>
    private static ProblemHttpResult NoSuchDocument() => TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such document.");
}
