using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Observability;

/// <summary>
/// A tenant's own request log and error summary: <c>GET /api/v1/insights</c> for its admins (scope admin; the tenant
/// comes from the credential), and <c>GET /admin/v1/tenants/{tenant}/insights</c> for the platform. Query: <c>limit</c>
/// (1-1000, default 100) and <c>errors_only</c>.
/// </summary>
internal static class InsightsEndpoints
{
    public static void MapInsightsEndpoints(this ApiGroups api)
    {
        api.Tenant.MapGet("/insights", (int? limit, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "errors_only")] bool? errorsOnly, Caller caller, InsightsLog log) =>
                TypedResults.Ok(log.Report(caller.Tenant, Limit(limit), errorsOnly ?? false)))
            .RequireAuthorization(Policies.Audit);
        api.Platform.MapGet("/tenants/{tenant}/insights", (string tenant, int? limit, [Microsoft.AspNetCore.Mvc.FromQuery(Name = "errors_only")] bool? errorsOnly, TenantService tenants, InsightsLog log) =>
                TenantRoutes.Known(tenant, tenants, id => TypedResults.Ok(log.Report(id, Limit(limit), errorsOnly ?? false))))
            .Produces<InsightsReport>();
    }

    private static int Limit(int? limit) =>
        limit is null ? 100 : limit is >= 1 and <= InsightsLog.Capacity ? limit.Value : throw new ArgumentException($"limit must be between 1 and {InsightsLog.Capacity}.");
}
