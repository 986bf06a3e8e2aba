using Bruno.Core.Tenants;
using Bruno.Server.Hosting;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Guards every tenant endpoint: the caller's tenant must exist and be active (else 403), and a request that names
/// another tenant anywhere — header, query string or body — is answered 404, as if that tenant did not exist, and logged.
/// </summary>
internal sealed partial class TenantFilter(TenantService tenants, ILogger<TenantFilter> logger) : IEndpointFilter
{
    private static readonly string[] TenantHeaders = ["X-Tenant-Id", "X-Tenant", "Tenant-Id"];
    private static readonly string[] TenantQueryKeys = ["tenant", "tenant_id", "tenantId"];

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var caller = Caller.From(http.User);
        if (caller is null)
        {
            return Problems.Result(StatusCodes.Status401Unauthorized, "Unauthorized", "A valid bearer token is required.");
        }

        var named = TenantHeaders.SelectMany(h => http.Request.Headers[h].AsEnumerable())
            .Concat(TenantQueryKeys.SelectMany(k => http.Request.Query[k].AsEnumerable()))
            .Concat(context.Arguments.OfType<INamesTenant>().Select(b => b.TenantId))
            .Concat(http.Request.HasFormContentType ? TenantQueryKeys.SelectMany(k => http.Request.Form[k].AsEnumerable()) : [])
            .Where(v => !string.IsNullOrEmpty(v));
        if (named.Any(v => !string.Equals(v, caller.Tenant.Value, StringComparison.Ordinal)))
        {
            LogOverride(logger, caller.Tenant.Value, caller.User.Value, http.Request.Path);
            return Problems.Result(StatusCodes.Status404NotFound, "Not found", "No such resource.");
        }

        if (tenants.Refusal(caller.Tenant) is { } refusal)
        {
            return Problems.Result(StatusCodes.Status403Forbidden, refusal.Contains("suspended", StringComparison.Ordinal) ? "Tenant suspended" : "Tenant unknown", refusal);
        }

        return await next(context);
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Tenant override attempt: caller of tenant {Tenant} (user {User}) named another tenant on {Path}")]
    private static partial void LogOverride(ILogger logger, string tenant, string user, PathString path);
}
