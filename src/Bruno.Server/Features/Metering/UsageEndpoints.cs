using Bruno.Core.Metering;
using Bruno.Server.Features.Contract;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Metering;

/// <summary>
/// Usage and cost: any tenant's for the platform's admins (<c>/admin/v1/tenants/{tenant}/usage?month=yyyy-MM</c>, JSON, or
/// CSV with <c>format=csv</c> or <c>Accept: text/csv</c>), a tenant's own for its admins (<c>/api/v1/usage</c>). What
/// is still queued is written first, so a report includes every request answered before it.
/// </summary>
internal static class UsageEndpoints
{
    public static void MapUsageEndpoints(this ApiGroups api)
    {
        api.Platform.MapGet("/tenants/{tenant}/usage", async (string tenant, string? month, string? format, HttpContext http, UsageService usage, UsageMeter meter, CpuShares cpu, CancellationToken ct) =>
            TenantId.TryParse(tenant, out var id) && await CurrentAsync(id, month, usage, meter, cpu, ct) is { } report
                ? Render(report, format, http)
                : TenantRoutes.NotFound()).Report();

        api.Tenant.MapGet("/usage", async (string? month, string? format, HttpContext http, Caller caller, UsageService usage, UsageMeter meter, CpuShares cpu, CancellationToken ct) =>
            Render((await CurrentAsync(caller.Tenant, month, usage, meter, cpu, ct))!, format, http))
            .Report().RequireAuthorization(Policies.Audit);
    }

    /// <summary>The report as JSON, or as CSV on request.</summary>
    private static RouteHandlerBuilder Report(this RouteHandlerBuilder builder) =>
        builder.Produces<UsageReport>().AlsoProduces<string>("text/csv");

    /// <summary>The report after this hour's storage sample, the CPU shares so far and everything queued are written.</summary>
    internal static async Task<UsageReport?> CurrentAsync(TenantId tenant, string? month, UsageService usage, UsageMeter meter, CpuShares cpu, CancellationToken ct)
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
