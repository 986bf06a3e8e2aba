using Bruno.Core.Metering;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Metering;

/// <summary>
/// Usage and cost: any tenant's for the platform's admins (<c>/admin/v1/tenants/{id}/usage?month=yyyy-MM</c>, JSON, or
/// CSV with <c>format=csv</c> or <c>Accept: text/csv</c>), a tenant's own for its admins (<c>/api/v1/usage</c>). What
/// is still queued is written first, so a report includes every request answered before it.
/// </summary>
internal static class UsageEndpoints
{
    public static void MapUsageEndpoints(this ApiGroups api)
    {
        api.Platform.MapGet("/tenants/{id}/usage", async (string id, string? month, string? format, HttpContext http, UsageService usage, UsageMeter meter, CpuShares cpu, CancellationToken ct) =>
            TenantId.TryParse(id, out var tenant) && await CurrentAsync(tenant, month, usage, meter, cpu, ct) is { } report
                ? Render(report, format, http)
                : TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such tenant."));

        api.Tenant.MapGet("/usage", async (string? month, string? format, HttpContext http, Caller caller, UsageService usage, UsageMeter meter, CpuShares cpu, CancellationToken ct) =>
            Render((await CurrentAsync(caller.Tenant, month, usage, meter, cpu, ct))!, format, http))
            .RequireAuthorization(Policies.Admin);
    }

    /// <summary>The report after this hour's storage sample, the CPU shares so far and everything queued are written.</summary>
    private static async Task<UsageReport?> CurrentAsync(TenantId tenant, string? month, UsageService usage, UsageMeter meter, CpuShares cpu, CancellationToken ct)
    {
        if (month is not null)
        {
            _ = UsageMeter.Month(month); // a malformed month is refused before anything else
        }

        await usage.SampleStorageAsync(meter.Now, tenant, ct);
        cpu.Apportion();
        await meter.FlushAsync(ct);
        return usage.Report(tenant, month);
    }

    private static IResult Render(UsageReport report, string? format, HttpContext http) =>
        format == "csv" || (format is null && http.Request.Headers.Accept.Any(a => a?.Contains("text/csv", StringComparison.OrdinalIgnoreCase) == true))
            ? TypedResults.Text(UsageService.Csv(report), "text/csv")
            : format is null or "json" ? TypedResults.Ok(report)
            : throw new ArgumentException("format must be json or csv.");
}
