using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Server.Tenancy;

/// <summary>The platform API's reading of a tenant named in its route: a valid id of a tenant that is not deleted, else 404.</summary>
internal static class TenantRoutes
{
    /// <summary>The tenant, or null when the id is malformed, unknown or deleted.</summary>
    public static TenantId? Live(string? id, TenantService tenants) =>
        TenantId.TryParse(id, out var tenant) && tenants.Find(tenant) is { Status: not TenantStatus.Deleted } ? tenant : null;

    /// <summary><paramref name="then"/> for a valid id of a tenant the catalog knows (deleted ones included), else 404.</summary>
    public static IResult Known(string? id, TenantService tenants, Func<TenantId, IResult> then) =>
        TenantId.TryParse(id, out var tenant) && tenants.Find(tenant) is not null ? then(tenant) : NotFound();

    /// <summary>The 404 answer for a tenant that is not there.</summary>
    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotFound() =>
        TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such tenant.");
}

/// <summary>Marks an endpoint that reaches a tenant: behind <see cref="Policies.Tenant"/> and admitted by
/// <see cref="TenantFilter"/> (an endpoint test checks every endpoint is this, platform-only or explicitly anonymous).</summary>
internal sealed class TenantEndpointMetadata
{
    public static readonly TenantEndpointMetadata Instance = new();

    private TenantEndpointMetadata()
    {
    }
}

/// <summary>How the tenant API group (<see cref="ApiGroups.Tenant"/>) is declared.</summary>
internal static class TenantEndpoints
{
    /// <summary>
    /// Puts <paramref name="builder"/> behind a credential of a tenant (<see cref="Policies.Tenant"/>) and the tenant
    /// filter (admission, the other-tenant check), and marks it so the endpoint test can tell.
    /// </summary>
    public static TBuilder ForTenant<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.RequireAuthorization(Policies.Tenant);
        builder.AddEndpointFilter<TBuilder, TenantFilter>();
        builder.WithMetadata(TenantEndpointMetadata.Instance);
        return builder;
    }
}
