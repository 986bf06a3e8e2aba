using Bruno.Core;
using Bruno.Core.Tenants;
using Bruno.Server.Features.Observability;
using Bruno.Server.Hosting;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Guards every tenant endpoint: the caller's tenant must exist and be active (else 403), and a request that names
/// another tenant anywhere — header, query string or body — is answered 404, as if that tenant did not exist, and logged.
/// An admitted request then counts against the tenant's plan (429 past a limit, <see cref="Features.Limits.RequestLimits"/>)
/// and is tracked while it runs, so that suspending the tenant cuts it (<see cref="TenantWatch"/>).
/// </summary>
internal sealed partial class TenantFilter(TenantService tenants, TenantWatch watch, Features.Limits.RequestLimits limits, Features.Audit.AuditTrail trail, TenantUsers users, Microsoft.Extensions.Options.IOptions<BrunoOptions> options, ILogger<TenantFilter> logger) : IEndpointFilter
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

        if (NamesAnotherTenant(context, caller.Tenant.Value))
        {
            LogOverride(logger, caller.Tenant.Value, caller.User.Value, Problems.RouteOf(http));
            return Problems.Result(StatusCodes.Status404NotFound, "Not found", "No such resource.");
        }

        var (refusal, record) = tenants.Admit(caller.Tenant);
        if (refusal is not null)
        {
            if (!refusal.Contains("does not exist", StringComparison.Ordinal))
            {
                Telemetry.Identify(http, caller.Tenant, caller.User); // a tenant that exists: its refusals are its own to see
            }

            return Refused(refusal);
        }

        Telemetry.Identify(http, caller.Tenant, caller.User);

        http.Items[typeof(PlanOptions)] = options.Value.Plans.GetValueOrDefault(record!.Profile.Plan) ?? options.Value.Plans["default"];
        var decision = limits.TryAcquire(caller, record.Profile.Plan);
        Features.Limits.LimitHeaders.Write(http.Response, decision);
        if (!decision.Allowed)
        {
            Telemetry.Refused(http, decision.Level);
            if (decision.PenaltyStarted)
            {
                await trail.RecordAsync(http, caller.Tenant, "limits.penalty", $"client {caller.User.Value}", Core.Audit.AuditResults.Denied);
            }

            return Features.Limits.LimitHeaders.Problem(decision);
        }

        http.Response.OnCompleted(() =>
        {
            limits.Release(caller);
            return Task.CompletedTask;
        });
        users.Admit(caller.Tenant, caller.User, PlanOf(http).MaxUsers); // a new user past the plan's count: 403
        Features.Metering.MeteringMiddleware.Admitted(http, caller.Tenant);

        // While it runs, the request is cut if its tenant stops being active: its cancellation token is swapped for
        // one that also fires then (handlers and streams observe it).
        var tracked = watch.Track(caller.Tenant, null, http.RequestAborted);
        http.Response.RegisterForDispose(tracked); // until the response is written (a stream outlives the handler)
        http.Items[typeof(TenantWatch.TrackedRequest)] = tracked;
        for (var i = 0; i < context.Arguments.Count; i++)
        {
            if (context.Arguments[i] is CancellationToken)
            {
                context.Arguments[i] = tracked.Token;
            }
        }

        try
        {
            using var scope = logger.BeginScope(new TenantLogScope(caller.Tenant.Value)); // every log line of the request names its tenant
            return await next(context);
        }
        catch (OperationCanceledException) when (tracked.WasCut && !http.Response.HasStarted)
        {
            return Refused(tenants.Refusal(caller.Tenant) ?? "The tenant of this credential is no longer active.");
        }
    }

    /// <summary>True when a header, query key, form field or bound body names a tenant other than <paramref name="tenant"/>.</summary>
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
        foreach (var h in TenantHeaders)
        {
            if (Other(request.Headers[h], tenant))
            {
                return true;
            }
        }

        foreach (var k in TenantQueryKeys)
        {
            if (Other(request.Query[k], tenant) || (request.HasFormContentType && Other(request.Form[k], tenant)))
            {
                return true;
            }
        }

        foreach (var argument in context.Arguments)
        {
            if (argument is INamesTenant { TenantId: { Length: > 0 } named } && !string.Equals(named, tenant, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The plan of the request's tenant, as this filter read it.</summary>
    internal static PlanOptions PlanOf(HttpContext http) =>
        http.Items[typeof(PlanOptions)] as PlanOptions ?? throw new InvalidOperationException("The tenant filter did not run for this endpoint.");

    /// <summary>The 403 problem for a refused tenant, titled by the reason.</summary>
    internal static IResult Refused(string refusal) =>
        Problems.Result(StatusCodes.Status403Forbidden, refusal.Contains("suspended", StringComparison.Ordinal) ? "Tenant suspended" : refusal.Contains("does not exist", StringComparison.Ordinal) ? "Tenant unknown" : "Tenant unavailable", refusal);

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
