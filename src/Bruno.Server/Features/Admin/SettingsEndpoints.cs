using Bruno.Core.Retrieval;
using Bruno.Core.Tenants;
using Bruno.Server.Features.Audit;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Admin;

/// <summary>A tenant's retrieval numbers: read the ones in force, replace the tenant's overrides (null keeps the default).</summary>
internal static class SettingsEndpoints
{
    public static void MapSettingsEndpoints(this IEndpointRouteBuilder app)
    {
        var platform = app.MapGroup("/admin/v1/tenants/{tenant}/settings/retrieval").RequireAuthorization(Hosting.Hosting.PlatformPolicy);
        platform.MapGet("/", (string tenant, TenantService tenants) => Known(tenant, tenants, id => TypedResults.Ok(tenants.RetrievalFor(id))));
        platform.MapPut("/", (string tenant, RetrievalOverrides body, TenantService tenants) => Known(tenant, tenants, id => Set(id, body, tenants))).Audited("settings.retrieval");

        var own = app.MapGroup("/api/v1/settings/retrieval").ForTenant();
        own.MapGet("/", (Caller caller, TenantService tenants) => TypedResults.Ok(tenants.RetrievalFor(caller.Tenant))).RequireAuthorization(Hosting.Hosting.QueryPolicy);
        own.MapPut("/", (RetrievalOverrides body, Caller caller, TenantService tenants) => Set(caller.Tenant, body, tenants)).RequireAuthorization(Hosting.Hosting.AdminPolicy).Audited("settings.retrieval");
    }

    private static IResult Known(string tenant, TenantService tenants, Func<TenantId, IResult> then) =>
        TenantId.TryParse(tenant, out var id) && tenants.Find(id) is not null ? then(id) : TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such tenant.");

    private static IResult Set(TenantId id, RetrievalOverrides body, TenantService tenants) =>
        tenants.SetRetrieval(id, body) is RetrievalOptions effective ? TypedResults.Ok(effective) : TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such tenant.");
}
