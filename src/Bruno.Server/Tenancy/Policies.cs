using Bruno.Core.Identity;

namespace Bruno.Server.Tenancy;

/// <summary>
/// The authorisation policies of the doors, by name. Tenant policies need a credential of a tenant (and a scope);
/// platform policies a credential of no tenant (an operator's, or a metrics scraper's).
/// </summary>
internal static class Policies
{
    public const string Tenant = "tenant";
    public const string Query = "scope:" + Scopes.Query;
    public const string Ingest = "scope:" + Scopes.Ingest;
    public const string Memory = "scope:" + Scopes.Memory;
    public const string Admin = "scope:" + Scopes.Admin;

    /// <summary>Reading the tenant's audit log, usage and insights: the audit scope (an auditor's) or the admin scope.</summary>
    public const string Audit = "scope:" + Scopes.Audit;
    public const string Platform = "scope:" + Scopes.PlatformAdmin;
    public const string Metrics = "scope:" + Scopes.Metrics;
}

/// <summary>
/// The API groups every feature maps into: <see cref="Tenant"/> (<c>/api/v1</c>) and <see cref="OpenAi"/> (<c>/v1</c>,
/// the OpenAI-compatible door) carry the tenant policy and admission once for all their endpoints;
/// <see cref="Platform"/> (<c>/admin/v1</c>) the platform policy. A feature adds only its scope. <see cref="App"/> is
/// for what belongs to none (MCP has its own admission, health is anonymous).
/// </summary>
internal sealed record ApiGroups(IEndpointRouteBuilder App, RouteGroupBuilder Tenant, RouteGroupBuilder Platform, RouteGroupBuilder OpenAi)
{
    /// <summary>Creates the groups on <paramref name="app"/>.</summary>
    public static ApiGroups On(IEndpointRouteBuilder app) =>
        new(app, app.MapGroup("/api/v1").ForTenant(), app.MapGroup("/admin/v1").RequireAuthorization(Policies.Platform), app.MapGroup("/v1").ForTenant());
}
