using Bruno.Core;
using Bruno.Core.Retrieval;
using Bruno.Core.Tenants;
using Bruno.Server.Hosting;
using Bruno.Storage;

namespace Bruno.Server.Tenancy;

/// <summary>
/// A request admitted for a tenant, kept as a feature of its <see cref="HttpContext"/>: who calls, the tenant's record
/// and plan, the rate-limit decision that let it in (released when the response completes) and the tracking that cuts
/// it when the tenant stops being active.
/// </summary>
internal sealed record AdmittedRequest(Caller Caller, TenantRecord Record, PlanOptions Plan, LimitDecision Lease, TenantWatch.TrackedRequest Tracked);

/// <summary>What admission decided: the admitted request, or the refusal (with the limit decision when a rate limit refused).</summary>
internal readonly record struct AdmissionResult(AdmittedRequest? Admitted, Refusal? Refusal, LimitDecision? Decision);

/// <summary>
/// The one way a request reaches a tenant, whatever the door (HTTP API, MCP, the doors to come): the caller from the
/// verified credential, the tenant's state in the catalog, the plan's request limits (a penalty that starts is audited
/// before the refusal is answered), the plan's user count, metering, and tracking so that suspending or deleting the
/// tenant cuts the request. Admitting the same request twice returns the first admission. Refusals are
/// <see cref="Refusal"/> values; each door maps them once (<see cref="Refusals.Problem"/>, MCP errors).
/// </summary>
internal sealed class Admission(TenantService tenants, TenantWatch watch, RequestLimits limits, AuditTrail trail, TenantUsers users, Core.Metering.UsageMeter meter, Microsoft.Extensions.Options.IOptions<BrunoOptions> options)
{
    /// <summary>The admitted request of <paramref name="http"/>, or null when it was not admitted.</summary>
    public static AdmittedRequest? Of(HttpContext http) => http.Features.Get<AdmittedRequest>();

    /// <summary>
    /// Admits <paramref name="http"/>'s request for the tenant of its credential. <paramref name="onCut"/> runs if the
    /// tenant stops being active while the request runs (the request's token is cancelled either way).
    /// </summary>
    public async ValueTask<AdmissionResult> AdmitAsync(HttpContext http, Action? onCut = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (Of(http) is { } already)
        {
            return new AdmissionResult(already, null, already.Lease);
        }

        var caller = Caller.Of(http);
        if (caller is null)
        {
            return new AdmissionResult(null, new Refusal(RefusalKind.Unauthenticated, "A valid bearer token or API key is required."), null);
        }

        var (refusal, record) = tenants.Admit(caller.Tenant);
        if (refusal is not null)
        {
            if (refusal.Kind != RefusalKind.TenantUnknown)
            {
                RequestRecord.Identify(http, caller.Tenant, caller.User); // a tenant that exists: its refusals are its own to see
            }

            return new AdmissionResult(null, refusal, null);
        }

        RequestRecord.Identify(http, caller.Tenant, caller.User);
        var plan = options.Value.Plans.GetValueOrDefault(record!.Profile.Plan) ?? options.Value.Plans["default"];
        var decision = limits.TryAcquire(caller, record.Profile.Plan);
        if (!http.Response.HasStarted)
        {
            LimitHeaders.Write(http.Response, decision); // an MCP stream may have sent its headers before a tool runs
        }

        if (!decision.Allowed)
        {
            RequestRecord.Refused(http, decision.Level);
            if (decision.PenaltyStarted)
            {
                await trail.RecordAsync(http, caller.Tenant, "limits.penalty", $"client {caller.User.Value}", Core.Audit.AuditResults.Denied);
            }

            return new AdmissionResult(null, new Refusal(RefusalKind.RateLimited, decision.Detail) { RetryAfter = decision.RetryAfter, Limit = decision.Level }, decision);
        }

        http.Response.OnCompleted(() =>
        {
            limits.Release(caller);
            return Task.CompletedTask;
        });
        try
        {
            users.Admit(caller.Tenant, caller.User, plan.MaxUsers); // a new user past the plan's count is refused
        }
        catch (Core.Documents.QuotaExceededException e)
        {
            RequestRecord.QuotaRefused(http, e.Quota);
            return new AdmissionResult(null, new Refusal(RefusalKind.QuotaExceeded, e.Message) { Limit = e.Quota }, decision);
        }

        if (Core.Metering.UsageScope.Current is { } usage)
        {
            // the request's usage scope (opened by the metering middleware) counts for the tenant from now on, under a
            // fresh request id, so that a replay counts once
            meter.Attach(usage, caller.Tenant, "r" + Guid.NewGuid().ToString("N"));
        }

        // while it runs, the request is cut if its tenant stops being active
        var tracked = watch.Track(caller.Tenant, onCut, http.RequestAborted);
        http.Response.RegisterForDispose(tracked); // until the response is written (a stream outlives the handler)
        var admitted = new AdmittedRequest(caller, record, plan, decision, tracked);
        http.Features.Set(admitted);
        return new AdmissionResult(admitted, null, decision);
    }

    /// <summary>The store of an admitted request's tenant.</summary>
    public ITenantStore Store(AdmittedRequest admitted)
    {
        ArgumentNullException.ThrowIfNull(admitted);
        return tenants.Store(admitted.Caller.Tenant);
    }

    /// <summary>Why a request whose tenant was cut while it ran is refused now.</summary>
    public Refusal Cut(AdmittedRequest admitted)
    {
        ArgumentNullException.ThrowIfNull(admitted);
        return tenants.Refusal(admitted.Caller.Tenant) ?? Refusal.NoLongerActive;
    }
}

/// <summary>
/// The tenant side of a tenant endpoint's parameters, bound with <c>[AsParameters]</c>: the caller, the tenant's store,
/// plan and retrieval settings, all from the request's admission (the tenant filter runs before the handler). Handlers
/// take this instead of reaching the store through the service locator themselves.
/// </summary>
internal readonly struct TenantRequest
{
    /// <summary>The request (bound by the framework).</summary>
    public HttpContext Http { get; init; }

    /// <summary>The tenants (bound from the services).</summary>
    public TenantService Tenants { get; init; }

    /// <summary>The request's admission; throws when the endpoint is not behind the tenant filter.</summary>
    public AdmittedRequest Admitted => Admission.Of(Http) ?? throw new InvalidOperationException("The tenant filter did not run for this endpoint.");

    /// <summary>Who calls.</summary>
    public Caller Caller => Admitted.Caller;

    /// <summary>The caller's tenant's store.</summary>
    public ITenantStore Store => Tenants.Store(Admitted.Caller.Tenant);

    /// <summary>The tenant's plan.</summary>
    public PlanOptions Plan => Admitted.Plan;

    /// <summary>The tenant's retrieval settings.</summary>
    public RetrievalOptions Retrieval => Tenants.RetrievalFor(Admitted.Caller.Tenant);
}
