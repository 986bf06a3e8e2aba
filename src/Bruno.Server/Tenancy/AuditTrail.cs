using Bruno.Core.Audit;
using Bruno.Storage.Identity;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Records security-relevant events of a request in its tenant's audit log: the actor and request id come from the
/// request. An event that cannot be recorded (the tenant's store is gone or locked elsewhere) is logged as an error and
/// does not fail the request it describes.
/// </summary>
internal sealed partial class AuditTrail(AuditLog log, ILogger<AuditTrail> logger)
{
    /// <summary>Records <paramref name="action"/> on <paramref name="resource"/> by the request's caller.</summary>
    public Task RecordAsync(HttpContext http, TenantId tenant, string action, string resource, string result = AuditResults.Success) =>
        RecordAsync(tenant, new AuditEvent(ActorOf(http), action, resource, result, http.TraceIdentifier));

    /// <summary>Records an event as given.</summary>
    public async Task RecordAsync(TenantId tenant, AuditEvent e)
    {
        try
        {
            await log.AppendAsync(tenant, e);
        }
        catch (Exception ex) when (ex is Bruno.Storage.StorageException or System.Data.Common.DbException or IOException)
        {
            LogNotRecorded(logger, e.Action, tenant.Value, ex.GetType().Name);
        }
    }

    /// <summary>Records an authorisation denial of an authenticated tenant caller (the platform's own callers have no tenant log).</summary>
    public Task DeniedAsync(HttpContext http)
    {
        var caller = Caller.From(http.User);
        return caller is null ? Task.CompletedTask : RecordAsync(http, caller.Tenant, "auth.denied", $"{http.Request.Method} {http.Request.Path}", AuditResults.Denied);
    }

    /// <summary>Who the request acts as: the token's subject, prefixed <c>operator:</c> for platform tokens.</summary>
    public static string ActorOf(HttpContext http)
    {
        var caller = Caller.From(http.User);
        if (caller is not null)
        {
            return caller.User.Value;
        }

        var sub = http.User.FindFirst("sub")?.Value;
        return sub is null ? "anonymous" : "operator:" + sub;
    }

    [LoggerMessage(EventId = 3401, Level = LogLevel.Error, Message = "Could not record audit event {Action} of tenant {Tenant}: {Error}")]
    private static partial void LogNotRecorded(ILogger logger, string action, string tenant, string error);
}

/// <summary>Marks an endpoint whose successful calls are recorded in the tenant's audit log as <see cref="Action"/>.</summary>
internal sealed record AuditedAttribute(string Action);

/// <summary>
/// Records calls of <see cref="AuditedAttribute"/> endpoints that succeeded (status below 400) or were refused for
/// authorisation (403) in the audit log of the tenant they act on: the route's <c>{id}</c> or <c>{tenant}</c> for the
/// platform's API, the caller's tenant otherwise. The resource is the request's method and path.
/// </summary>
internal sealed class AuditedFilter(AuditTrail trail) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var result = await next(context);
        var http = context.HttpContext;
        if (http.GetEndpoint()?.Metadata.GetMetadata<AuditedAttribute>() is not { } audited)
        {
            return result;
        }

        var status = (result as IStatusCodeHttpResult)?.StatusCode ?? http.Response.StatusCode;
        var routeTenant = (http.Request.RouteValues["tenant"] ?? http.Request.RouteValues["id"]) as string;
        TenantId? tenant = TenantId.TryParse(routeTenant, out var t) ? t : Caller.From(http.User)?.Tenant;
        if (tenant is { } id && (status < 400 || status == StatusCodes.Status403Forbidden))
        {
            await trail.RecordAsync(http, id, audited.Action, $"{http.Request.Method} {http.Request.Path}", status < 400 ? AuditResults.Success : AuditResults.Denied);
        }

        return result;
    }
}

/// <summary>Endpoint conventions for auditing.</summary>
internal static class AuditConventions
{
    /// <summary>Records successful calls of the endpoint as <paramref name="action"/>.</summary>
    public static TBuilder Audited<TBuilder>(this TBuilder builder, string action)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AuditedAttribute(action)).AddEndpointFilter<TBuilder, AuditedFilter>();
}
