using Bruno.Core.Documents;
using Bruno.Core.Identity;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.WebConsole;

/// <summary>
/// The document forms of the console (upload several files, change who may read one, delete one): each calls
/// <see cref="DocumentService"/> with the session's <see cref="Viewer"/>, exactly as the API's endpoints do, records the
/// same audit events (denials included), and answers with the documents page and a short result code.
/// </summary>
internal static class ConsoleDocuments
{
    public static void MapConsoleDocuments(this WebApplication app)
    {
        app.MapPost("/console/documents/upload", UploadAsync).RequireAuthorization(ConsoleFeature.QueryPolicy).ExcludeFromDescription();
        app.MapPost("/console/documents/access", AccessAsync).RequireAuthorization(ConsoleFeature.QueryPolicy).ExcludeFromDescription();
        app.MapPost("/console/documents/delete", DeleteAsync).RequireAuthorization(ConsoleFeature.QueryPolicy).ExcludeFromDescription();
    }

    /// <summary>Stores every file of the form (each on its own: one refused file does not stop the others).</summary>
    private static async Task<IResult> UploadAsync(HttpContext http, DocumentService documents, Core.Tenants.TenantService tenants, AuditTrail audit)
    {
        var admitted = ConsoleFeature.Admitted(http);
        var caller = admitted.Caller;
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        DocumentAccess? access;
        try
        {
            access = string.IsNullOrWhiteSpace(form["access"]) ? null : DocumentAccess.Parse(form["access"].ToString().Split([',', ' '], StringSplitOptions.RemoveEmptyEntries));
        }
        catch (DocumentRejectedException)
        {
            return Back("error=invalid");
        }

        int stored = 0, refused = 0;
        var denied = false;
        foreach (var file in form.Files)
        {
            try
            {
                var type = Documents.DocumentEndpoints.TypeOf(file.FileName);
                documents.CheckSize(type, file.Length);
                using var buffer = new MemoryStream((int)file.Length);
                await file.CopyToAsync(buffer, http.RequestAborted);
                await documents.PutFileAsync(tenants.Store(caller.Tenant), caller.Viewer, new DocumentFile(IdOf(file.FileName), null, type, buffer.GetBuffer().AsMemory(0, (int)buffer.Length))
                {
                    Quota = admitted.Plan.DocumentQuota,
                    Access = access,
                }, http.RequestAborted);
                await audit.RecordAsync(http, caller.Tenant, "document.put", "POST /console/documents/upload " + IdOf(file.FileName));
                stored++;
            }
            catch (AccessDeniedException)
            {
                await audit.RecordAsync(http, caller.Tenant, "document.put", "POST /console/documents/upload " + IdOf(file.FileName), Core.Audit.AuditResults.Denied);
                denied = true;
                refused++;
            }
            catch (Exception e) when (e is DocumentRejectedException or QuotaExceededException or Core.Documents.IngestionBusyException)
            {
                refused++;
            }
        }

        return Back($"uploaded={stored}&refused={refused}" + (denied ? "&error=denied" : string.Empty));
    }

    private static async Task<IResult> AccessAsync(HttpContext http, DocumentService documents, Core.Tenants.TenantService tenants, AuditTrail audit) =>
        await ChangeAsync(http, audit, "document.access", async (caller, form) =>
        {
            var access = DocumentAccess.Parse(form["access"].ToString().Split([',', ' '], StringSplitOptions.RemoveEmptyEntries));
            return await documents.SetAccessAsync(tenants.Store(caller.Tenant), caller.Viewer, form["id"].ToString(), access, http.RequestAborted) is null ? "error=notfound" : "changed=access";
        });

    private static async Task<IResult> DeleteAsync(HttpContext http, DocumentService documents, Core.Tenants.TenantService tenants, AuditTrail audit) =>
        await ChangeAsync(http, audit, "document.delete", async (caller, form) =>
            await documents.DeleteAsync(tenants.Store(caller.Tenant), caller.Viewer, form["id"].ToString()) ? "changed=deleted" : "error=notfound");

    /// <summary>One change of one document: checked, done, audited (success or denial), answered with a result code.</summary>
    private static async Task<IResult> ChangeAsync(HttpContext http, AuditTrail audit, string action, Func<Caller, IFormCollection, Task<string>> change)
    {
        var admitted = ConsoleFeature.Admitted(http);
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var resource = $"POST {http.Request.Path} {form["id"]}";
        try
        {
            var result = await change(admitted.Caller, form);
            if (result.StartsWith("changed", StringComparison.Ordinal))
            {
                await audit.RecordAsync(http, admitted.Caller.Tenant, action, resource);
            }

            return Back(result);
        }
        catch (AccessDeniedException)
        {
            await audit.RecordAsync(http, admitted.Caller.Tenant, action, resource, Core.Audit.AuditResults.Denied);
            return Back("error=denied");
        }
        catch (DocumentRejectedException)
        {
            return Back("error=invalid");
        }
    }

    private static IResult Back(string query) => Results.Redirect("/console/documents?" + query);

    /// <summary>A document id from a file's name: its letters, digits, '.', '_' and '-' (others made '_'), at most 128.</summary>
    internal static string IdOf(string fileName)
    {
        var name = Path.GetFileName(fileName);
        var id = new string([.. name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_')]).TrimStart('.', '_', '-');
        id = id.Length > 128 ? id[..128] : id;
        return id.Length == 0 ? "document" : id;
    }
}
