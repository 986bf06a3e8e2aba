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
/// same <see cref="Admission"/> (tenant state, plan limits and users, tracking; a call in progress when the tenant is
/// suspended or deleted has its connection closed), and the scope each tool needs. Arguments never name the tenant or
/// the user. Refusals become MCP errors: a rate limit the JSON-RPC code <see cref="McpRateLimits.RateLimitedCode"/>,
/// anything else an error with the refusal's message.
/// </summary>
internal sealed class McpCaller(IHttpContextAccessor http, Admission admission, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options)
{
    /// <summary>The plan of the current call's tenant (after <see cref="RequireAsync"/>).</summary>
    public Core.Tenants.PlanOptions CurrentPlan => http.HttpContext is { } h && Admission.Of(h) is { } admitted ? admitted.Plan : options.Value.Plans["default"];

    /// <summary>The caller's store when the caller may use a tool needing <paramref name="scope"/>; else an MCP error.</summary>
    public async Task<(Caller Caller, ITenantStore Store)> RequireAsync(string scope)
    {
        var context = http.HttpContext ?? throw new McpException("A valid bearer token or API key is required.");
        if (Caller.Of(context) is { } who && !who.Scopes.Contains(scope))
        {
            throw Error(new Refusal(RefusalKind.ScopeMissing, $"This tool needs the '{scope}' scope."));
        }

        var (admitted, refusal, _) = await admission.AdmitAsync(context, context.Abort);
        return admitted is null ? throw Error(refusal!) : (admitted.Caller, admission.Store(admitted));
    }

    /// <summary>The MCP error for a refused admission.</summary>
    internal static McpException Error(Refusal refusal) => refusal.Kind == RefusalKind.RateLimited
        ? new McpProtocolException(refusal.Detail, (McpErrorCode)McpRateLimits.RateLimitedCode)
        : new McpException(refusal.Detail);

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
                Hosting.RequestRecord.QuotaRefused(h, e.Quota);
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
                Hosting.RequestRecord.Refused(h, e.Level);
            }

            throw new McpProtocolException(e.Message, (McpErrorCode)McpRateLimits.RateLimitedCode);
        }
    }
}
