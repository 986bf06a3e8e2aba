using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage;
using Bruno.Storage.Identity;
using ModelContextProtocol;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// The caller of an MCP tool: the same verified credential as the HTTP API (the <c>/mcp</c> endpoint requires it), the
/// same tenant checks, and the scope each tool needs. Arguments never name the tenant or the user.
/// </summary>
internal sealed class McpCaller(IHttpContextAccessor http, TenantService tenants, TenantWatch watch, Limits.RequestLimits limits, TenantUsers users, Audit.AuditTrail trail, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options)
{
    /// <summary>The plan of the current call's tenant (after <see cref="Require"/>).</summary>
    public Core.PlanOptions CurrentPlan => http.HttpContext?.Items[typeof(Core.PlanOptions)] as Core.PlanOptions ?? options.Value.Plans["default"];

    private Core.PlanOptions Plan(string name) => options.Value.Plans.GetValueOrDefault(name) ?? options.Value.Plans["default"];

    /// <summary>The caller's store when the caller may use a tool needing <paramref name="scope"/>; else an MCP error.</summary>
    public (Caller Caller, ITenantStore Store) Require(string scope)
    {
        var caller = Caller.From(http.HttpContext?.User ?? new System.Security.Claims.ClaimsPrincipal())
            ?? throw new McpException("A valid bearer token or API key is required.");
        if (!caller.Scopes.Contains(scope))
        {
            throw new McpException($"This tool needs the '{scope}' scope.");
        }

        var (refusal, record) = tenants.Admit(caller.Tenant);
        if (http.HttpContext is { } h && (refusal is null || !refusal.Contains("does not exist", StringComparison.Ordinal)))
        {
            Observability.Telemetry.Identify(h, caller.Tenant, caller.User);
        }

        if (refusal is not null)
        {
            throw new McpException(refusal);
        }

        if (http.HttpContext is { } current && !current.Items.ContainsKey(typeof(Limits.RequestLimits)))
        {
            // a tool call is a request of the tenant's plan, like any HTTP request
            var decision = limits.TryAcquire(caller, record!.Profile.Plan);
            if (!decision.Allowed)
            {
                Observability.Telemetry.Refused(current, decision.Level);
                if (decision.PenaltyStarted)
                {
                    // recorded without holding up the refusal (the trail logs what it cannot record)
                    _ = trail.RecordAsync(current, caller.Tenant, "limits.penalty", $"client {caller.User.Value}", Core.Audit.AuditResults.Denied);
                }

                throw new McpProtocolException(decision.Detail, (McpErrorCode)McpRateLimits.RateLimitedCode);
            }

            current.Items[typeof(Limits.RequestLimits)] = decision;
            current.Response.OnCompleted(() =>
            {
                limits.Release(caller);
                return Task.CompletedTask;
            });
            var plan = Plan(record.Profile.Plan);
            current.Items[typeof(Core.PlanOptions)] = plan;
            try
            {
                users.Admit(caller.Tenant, caller.User, plan.MaxUsers);
            }
            catch (QuotaExceededException e)
            {
                Observability.Telemetry.QuotaRefused(current, e.Quota);
                throw new McpException(e.Message);
            }

            Metering.MeteringMiddleware.Admitted(current, caller.Tenant);
        }

        if (http.HttpContext is { } context && !context.Items.ContainsKey(typeof(TenantWatch)))
        {
            // a call in progress when the tenant is suspended or deleted: its connection is closed
            var tracked = watch.Track(caller.Tenant, context.Abort, context.RequestAborted);
            context.Response.RegisterForDispose(tracked);
            context.Items[typeof(TenantWatch)] = tracked;
        }

        return (caller, tenants.Store(caller.Tenant));
    }

    /// <summary>Runs a tool's work, turning Bruno's refusals into MCP errors with their messages and anything else into a generic one.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        try
        {
            return await work();
        }
        catch (QuotaExceededException e)
        {
            if (http.HttpContext is { } h)
            {
                Observability.Telemetry.QuotaRefused(h, e.Quota);
            }

            throw new McpException(e.Message);
        }
        catch (Exception e) when (e is ArgumentException or InvalidIdentifierException or DocumentRejectedException or ModelUnavailableException or EmbeddingModelChangedException or CollectionMismatchException)
        {
            throw new McpException(e is ArgumentException a ? Hosting.Problems.Own(a) : e.Message);
        }
        catch (Core.Metering.RateLimitedException e)
        {
            if (http.HttpContext is { } h)
            {
                Observability.Telemetry.Refused(h, e.Level);
            }

            throw new McpProtocolException(e.Message, (McpErrorCode)McpRateLimits.RateLimitedCode);
        }
    }
}
