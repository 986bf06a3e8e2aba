using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Server.Tenancy;

/// <summary>The platform API's reading of a tenant named in its route: a valid id of a tenant that is not deleted, else 404.</summary>
internal static class TenantRoutes
{
    /// <summary>The tenant, or null when the id is malformed, unknown or deleted.</summary>
    public static TenantId? Live(string? id, TenantService tenants) =>
        TenantId.TryParse(id, out var tenant) && tenants.Find(tenant) is { Status: not TenantStatus.Deleted } ? tenant : null;

    /// <summary>The 404 answer for a tenant that is not there.</summary>
    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotFound() =>
        TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such tenant.");
}
