using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage;
using ModelContextProtocol;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// The scope an MCP tool, prompt or resource needs, on its class. <see cref="McpDoor"/> lists a primitive only to a
/// caller holding the scope and refuses a call without it; a primitive without this attribute is refused to everyone.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class McpScopeAttribute(string scope) : Attribute
{
    public string Scope { get; } = scope;
}

/// <summary>
/// The caller of an MCP tool, prompt or resource: the same verified credential as the HTTP API (the <c>/mcp</c>
/// endpoint requires it) and the same <see cref="Admission"/> (tenant state, plan limits and users, tracking; a call in
/// progress when the tenant is suspended or deleted has its connection closed). The scope was checked at the door
/// (<see cref="McpDoor"/>). Arguments never name the tenant or the user.
/// </summary>
internal sealed class McpCaller(IHttpContextAccessor http, Admission admission, Microsoft.Extensions.Options.IOptions<Core.BrunoOptions> options)
{
    /// <summary>The plan of the current call's tenant (after <see cref="RequireAsync"/>).</summary>
    public PlanOptions CurrentPlan => http.HttpContext is { } h && Admission.Of(h) is { } admitted ? admitted.Plan : options.Value.Plans["default"];

    /// <summary>The caller admitted and their tenant's store; else an MCP error (<see cref="McpErrors.Refused"/>).</summary>
    public async Task<(Caller Caller, ITenantStore Store)> RequireAsync()
    {
        var context = http.HttpContext ?? throw new McpException("A valid bearer token or API key is required.");
        var (admitted, refusal, _) = await admission.AdmitAsync(context, context.Abort);
        return admitted is null ? throw McpErrors.Refused(refusal!) : (admitted.Caller, admission.Store(admitted));
    }
}
