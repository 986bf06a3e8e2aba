using Bruno.Server.Hosting;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Guards every tenant endpoint of the HTTP API: a request that names another tenant anywhere — header, query string,
/// form or body — is answered 404, as if that tenant did not exist, and logged; every other decision is the
/// <see cref="Admission"/> every door shares (the tenant's state, the plan's limits and users, tracking), its refusals
/// answered by <see cref="Refusals.Problem"/>. While the request runs, its cancellation token also fires when the tenant
/// stops being active (<see cref="TenantWatch"/>), and every log line names the tenant.
/// </summary>
internal sealed partial class TenantFilter(Admission admission, ILogger<TenantFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (Caller.Of(http) is { } caller && NamesAnotherTenant(context, caller.Tenant.Value))
        {
            LogOverride(logger, caller.Tenant.Value, caller.User.Value, Problems.RouteOf(http));
            return Refusals.Problem(new Core.Tenants.Refusal(Core.Tenants.RefusalKind.OtherTenantNamed, "No such resource."));
        }

        var (admitted, refusal, decision) = await admission.AdmitAsync(http);
        if (admitted is null)
        {
            return Refusals.Problem(refusal!, decision);
        }

        for (var i = 0; i < context.Arguments.Count; i++)
        {
            if (context.Arguments[i] is CancellationToken)
            {
                context.Arguments[i] = admitted.Tracked.Token;
            }
        }

        try
        {
            using var scope = logger.BeginScope(new TenantLogScope(admitted.Caller.Tenant.Value)); // every log line of the request names its tenant
            return await next(context);
        }
        catch (OperationCanceledException) when (admitted.Tracked.WasCut && !http.Response.HasStarted)
        {
            return Refusals.Problem(admission.Cut(admitted));
        }
    }

    /// <summary>
    /// True when a header, query key, form field or top-level body key that spells a tenant (<see cref="TenantKeys"/>)
    /// names one other than <paramref name="tenant"/>: any value but the caller's own tenant id, as a string.
    /// </summary>
    private static bool NamesAnotherTenant(EndpointFilterInvocationContext context, string tenant)
    {
        static bool Other(Microsoft.Extensions.Primitives.StringValues values, string tenant)
        {
            foreach (var v in values)
            {
                if (!string.IsNullOrEmpty(v) && !string.Equals(v, tenant, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        var request = context.HttpContext.Request;
        foreach (var (key, values) in request.Headers)
        {
            if (TenantKeys.Names(key) && Other(values, tenant))
            {
                return true;
            }
        }

        foreach (var (key, values) in request.Query)
        {
            if (TenantKeys.Names(key) && Other(values, tenant))
            {
                return true;
            }
        }

        if (request.HasFormContentType)
        {
            foreach (var (key, values) in request.Form)
            {
                if (TenantKeys.Names(key) && Other(values, tenant))
                {
                    return true;
                }
            }
        }

        foreach (var argument in context.Arguments)
        {
            if (argument is TenantBody body && body.TenantValues().Any(v => v.ValueKind != System.Text.Json.JsonValueKind.Null && !(v.ValueKind == System.Text.Json.JsonValueKind.String && string.Equals(v.GetString(), tenant, StringComparison.Ordinal))))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Tenant override attempt: caller of tenant {TenantId} (user {User}) named another tenant on {Route}")]
    private static partial void LogOverride(ILogger logger, string tenantId, string user, string route);
}

/// <summary>A logging scope naming the request's tenant (<c>tenant_id</c> on every line logged inside it).</summary>
internal sealed class TenantLogScope(string tenant) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] => index == 0 ? new("tenant_id", tenant) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => "tenant_id:" + tenant;
}
