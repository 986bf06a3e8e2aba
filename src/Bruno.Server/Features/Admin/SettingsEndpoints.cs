using Bruno.Core.Retrieval;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Admin;

/// <summary>A tenant's retrieval numbers: read the ones in force, replace the tenant's overrides (null keeps the default).</summary>
internal static class SettingsEndpoints
{
    public static void MapSettingsEndpoints(this ApiGroups api)
    {
        var platform = api.Platform.MapGroup("/tenants/{tenant}/settings/retrieval");
        platform.MapGet("/", (string tenant, TenantService tenants) => TenantRoutes.Known(tenant, tenants, id => TypedResults.Ok(tenants.RetrievalFor(id)))).Produces<RetrievalOptions>();
        platform.MapPut("/", (string tenant, RetrievalOverrides body, TenantService tenants) => TenantRoutes.Known(tenant, tenants, id => Set(id, body, tenants))).Produces<RetrievalOptions>().Audited("settings.retrieval");

        var own = api.Tenant.MapGroup("/settings/retrieval");
        own.MapGet("/", (Caller caller, TenantService tenants) => TypedResults.Ok(tenants.RetrievalFor(caller.Tenant))).RequireAuthorization(Policies.Query);
        own.MapPut("/", (RetrievalOverrides body, Caller caller, TenantService tenants) => Set(caller.Tenant, body, tenants)).Produces<RetrievalOptions>().RequireAuthorization(Policies.Admin).Audited("settings.retrieval");
    }

    private static IResult Set(TenantId id, RetrievalOverrides body, TenantService tenants) =>
        tenants.SetRetrieval(id, body) is RetrievalOptions effective ? TypedResults.Ok(effective) : TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such tenant.");
}
