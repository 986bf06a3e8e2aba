using Bruno.Core.Audit;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Audit;

/// <summary>
/// Reading audit logs: the platform's admins any tenant's (<c>/admin/v1/tenants/{tenant}/audit</c>), a tenant's admins
/// their own (<c>/api/v1/audit</c>); filters by action, actor, result and time, paged by position. Checkpoints are
/// listed (to keep off the machine) and can be signed on demand; the public key that verifies them is published.
/// </summary>
internal static class AuditEndpoints
{
    public static void MapAuditEndpoints(this ApiGroups api)
    {
        var platform = api.Platform.MapGroup("/tenants/{tenant}/audit");
        platform.MapGet("/", async (string tenant, [AsParameters] AuditQueryParameters filter, TenantService tenants, AuditLog log) =>
            TenantRoutes.Live(tenant, tenants) is { } id ? (IResult)TypedResults.Ok(await log.ReadAsync(id, filter.ToQuery())) : TenantRoutes.NotFound()).Produces<AuditPage>();
        platform.MapGet("/checkpoints", (string tenant, TenantService tenants, AuditLog log) =>
            TenantRoutes.Live(tenant, tenants) is { } id ? (IResult)TypedResults.Ok(log.Checkpoints(id)) : TenantRoutes.NotFound()).Produces<IReadOnlyList<AuditCheckpoint>>();
        platform.MapPost("/checkpoints", async (string tenant, TenantService tenants, AuditLog log) =>
            TenantRoutes.Live(tenant, tenants) is { } id ? (await log.CheckpointAsync(id) is { } c ? TypedResults.Ok(c) : (IResult)TypedResults.NoContent()) : TenantRoutes.NotFound())
            .Produces<AuditCheckpoint>().Produces(StatusCodes.Status204NoContent);
        api.Platform.MapGet("/audit/public-key", (AuditLog log) => TypedResults.Text(log.PublicKeyPem + "\n", "application/x-pem-file"))
            .Produces<string>(StatusCodes.Status200OK, "application/x-pem-file");

        api.Tenant.MapGet("/audit", async ([AsParameters] AuditQueryParameters filter, Caller caller, AuditLog log) => TypedResults.Ok(await log.ReadAsync(caller.Tenant, filter.ToQuery())))
            .RequireAuthorization(Policies.Audit);
    }
}

/// <summary>Query-string filters of an audit read.</summary>
internal sealed record AuditQueryParameters(string? Action, string? Actor, string? Result, DateTimeOffset? From, DateTimeOffset? To, long? After, int? Limit)
{
    public AuditQuery ToQuery()
    {
        if (Limit is < 1 or > 1000)
        {
            throw new ArgumentException("limit must be between 1 and 1000.");
        }

        if (After is < 0)
        {
            throw new ArgumentException("after must be a position (0 or more).");
        }

        return new AuditQuery { Action = Action, Actor = Actor, Result = Result, From = From, To = To, After = After ?? 0, Limit = Limit ?? 100 };
    }
}
