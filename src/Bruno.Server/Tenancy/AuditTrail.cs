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
/// authorisation (403) in the audit log of the tenant they act on: the caller's tenant for a tenant's credential, the
/// route's <c>{tenant}</c> for the platform's API. The resource is the request's method and path.
/// </summary>
internal sealed class AuditedFilter(AuditTrail trail) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        object? result;
        try
        {
            result = await next(context);
        }
        catch (Core.Identity.AccessDeniedException)
        {
            await RecordAsync(context.HttpContext, StatusCodes.Status403Forbidden); // a denial the rules made, answered 403
            throw;
        }

        await RecordAsync(context.HttpContext, (result as IStatusCodeHttpResult)?.StatusCode ?? context.HttpContext.Response.StatusCode);
        return result;
    }

    private async Task RecordAsync(HttpContext http, int status)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<AuditedAttribute>() is not { } audited)
        {
            return;
        }

        // a tenant's caller acts on its own tenant (its routes' {id} names a key, a document, a run — never a tenant); the
        // platform's routes name the tenant {tenant}
        TenantId? tenant = Caller.From(http.User)?.Tenant
            ?? (http.Request.RouteValues["tenant"] is string routeTenant && TenantId.TryParse(routeTenant, out var t) ? t : null);
        if (tenant is { } id && (status < 400 || status == StatusCodes.Status403Forbidden))
        {
            await trail.RecordAsync(http, id, audited.Action, $"{http.Request.Method} {http.Request.Path}", status < 400 ? AuditResults.Success : AuditResults.Denied);
        }
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
