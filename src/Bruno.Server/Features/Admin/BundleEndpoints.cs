using System.Text;
using Bruno.Core;
using Bruno.Core.Portability;
using Bruno.Server.Hosting;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Features.Admin;

/// <summary>Body of an export: the passphrase the bundle is encrypted under (or send it in <c>X-Bundle-Passphrase</c>).</summary>
public sealed record ExportRequest(string? Passphrase);

/// <summary>
/// Tenant bundles through the admin API (platform-admin tokens only): <c>POST /admin/v1/tenants/{tenant}/export</c> answers
/// the bundle as <c>application/octet-stream</c>; <c>POST /admin/v1/tenants/import[?as=ID][&amp;isolation=LEVEL]</c> takes
/// one as the request body and answers the created tenant (201); <c>GET /admin/v1/tenants/{tenant}/inventory</c> gives every
/// collection's row count and digest, to compare two copies. The passphrase travels in the body or a header, never in
/// the address.
/// </summary>
internal static class BundleEndpoints
{
    /// <summary>The passphrase as text (printable ASCII only, as HTTP headers go).</summary>
    public const string PassphraseHeader = "X-Bundle-Passphrase";

    /// <summary>The passphrase's UTF-8 bytes in base64 (any passphrase; what the CLI sends).</summary>
    public const string PassphraseBase64Header = "X-Bundle-Passphrase-Base64";

    public static void MapBundleEndpoints(this ApiGroups api)
    {
        var group = api.Platform.MapGroup("/tenants");
        group.MapPost("/{tenant}/export", Export).Produces<Stream>(StatusCodes.Status200OK, "application/octet-stream").Audited("tenant.export");
        group.MapPost("/import", ImportAsync).Accepts<Stream>("application/octet-stream").Produces<TenantResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        group.MapGet("/{tenant}/inventory", async (string tenant, TenantBundles bundles, CancellationToken ct) =>
            TenantId.TryParse(tenant, out var tid) && await bundles.InventoryAsync(tid, ct) is { } inventory ? (IResult)TypedResults.Ok(inventory) : NotFound())
            .Produces<TenantInventory>();
    }

    private static IResult Export(string tenant, ExportRequest? body, HttpContext http, TenantBundles bundles, CancellationToken ct)
    {
        if (InAddress(http) is { } refused)
        {
            return refused;
        }

        if (!TenantId.TryParse(tenant, out var tid))
        {
            return NotFound();
        }

        var passphrase = body?.Passphrase ?? FromHeaders(http.Request)
            ?? throw new ArgumentException($"Send the passphrase in the body ({{\"passphrase\": \"...\"}}) or the {PassphraseHeader} header.");
        var export = bundles.BeginExport(tid, passphrase); // every refusal happens here, before the response starts
        if (export is null)
        {
            return NotFound();
        }

        return TypedResults.Stream(
            async stream =>
            {
                using (export)
                {
                    await export.WriteToAsync(stream, ct);
                }
            },
            "application/octet-stream",
            export.FileName);
    }

    private static async Task<IResult> ImportAsync(HttpContext http, TenantBundles bundles, DataDirectory data, IOptions<BrunoOptions> options, AuditTrail audit, CancellationToken ct)
    {
        if (InAddress(http) is { } refused)
        {
            return refused;
        }

        var passphrase = BundlePassphrase.Validate(FromHeaders(http.Request)
            ?? throw new ArgumentException($"Send the bundle's passphrase in the {PassphraseHeader} (or {PassphraseBase64Header}) header."));
        TenantId? target = http.Request.Query["as"] is { Count: > 0 } value ? TenantId.Parse(value.ToString()) : null;
        var isolation = http.Request.Query["isolation"] is { Count: > 0 } level ? level.ToString() : null; // a move between levels

        // The bundle may be far larger than any other request: it is spooled to a 0600 file in the data folder (deleted
        // when closed), because an import reads it twice (check everything first, then write).
        var max = options.Value.Bundles.MaxImportBytes;
        if (http.Request.ContentLength > max)
        {
            return TooLarge(max);
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max;
        }

        await using var spool = data.CreateTempFile();
        await http.Request.Body.CopyToAsync(spool, ct);
        if (spool.Length == 0)
        {
            throw new ArgumentException("The request body must be the bundle (application/octet-stream).");
        }

        spool.Position = 0;
        var record = await bundles.ImportAsync(spool, passphrase, target, http.User.FindFirst("sub")?.Value ?? "operator", isolation, ct);
        await audit.RecordAsync(http, record.Id, "tenant.import", $"tenant {record.Id.Value}"); // continues the imported log
        return TypedResults.Created($"/admin/v1/tenants/{record.Id.Value}", TenantResponse.Of(record));
    }

    /// <summary>A passphrase in the query string would land in access logs: such a request is refused outright.</summary>
    private static IResult? InAddress(HttpContext http) =>
        http.Request.Query.Keys.Any(k => k.Contains("passphrase", StringComparison.OrdinalIgnoreCase))
            ? Problems.Result(StatusCodes.Status400BadRequest, "Invalid request", "Never put a passphrase in the address: send it in the body or a header.")
            : null;

    private static string? FromHeaders(HttpRequest request)
    {
        if (request.Headers[PassphraseBase64Header] is { Count: 1 } encoded)
        {
            try
            {
                return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Convert.FromBase64String(encoded.ToString()));
            }
            catch (Exception e) when (e is FormatException or DecoderFallbackException)
            {
                throw new ArgumentException($"{PassphraseBase64Header} must be the passphrase's UTF-8 bytes in base64.");
            }
        }

        return request.Headers[PassphraseHeader] is { Count: 1 } plain ? plain.ToString() : null;
    }

    private static IResult TooLarge(long max) =>
        Problems.Result(StatusCodes.Status413PayloadTooLarge, "Request too large", $"This service imports bundles of at most {max} bytes (Bruno:Bundles:MaxImportBytes).");

    private static IResult NotFound() => Problems.Result(StatusCodes.Status404NotFound, "Not found", "No such tenant.");
}
