using System.Diagnostics;
using System.Text.Json;
using Bruno.Core.Telemetry;
using Bruno.Server.Tenancy;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// The MCP door's request filters, around every tool call, prompt and resource read: a span per call
/// (<c>tools/call search_knowledge</c>, with the tenant), the primitive's scope (<see cref="McpScopeAttribute"/>), the
/// arguments against the advertised schema (<see cref="McpArguments"/>), the per-tool rate limit, and one mapping of
/// what went wrong (<see cref="McpErrors"/>) with one log line: a client's mistake at Warning without an exception, a
/// server failure at Error. The lists (tools, prompts, resource templates) show a caller only what its scopes allow.
/// </summary>
internal sealed partial class McpDoor(IHttpContextAccessor http, McpRateLimits limits, ILogger<McpDoor> logger)
{
    /// <summary>The filters, in the SDK's builder.</summary>
    public static void Configure(IMcpRequestFilterBuilder filters)
    {
        filters.AddCallToolFilter(next => (r, ct) => Of(r).GuardAsync(r, "tools/call", r.Params?.Name, next, () => r.MatchedPrimitive is McpServerTool tool ? McpArguments.Check(tool.ProtocolTool.InputSchema, r.Params?.Arguments) : null, ct));
        filters.AddGetPromptFilter(next => (r, ct) => Of(r).GuardAsync(r, "prompts/get", r.Params?.Name, next, () => r.MatchedPrimitive is McpServerPrompt prompt ? CheckPrompt(prompt.ProtocolPrompt, r.Params?.Arguments) : null, ct));
        filters.AddReadResourceFilter(next => (r, ct) => Of(r).GuardAsync(r, "resources/read", null, next, static () => null, ct));
        filters.AddListResourcesFilter(next => (r, ct) => Of(r).GuardAsync(r, "resources/list", null, next, static () => null, ct));
        filters.AddListToolsFilter(next => async (r, ct) =>
        {
            var result = await next(r, ct);
            result.Tools = [.. result.Tools.Where(t => Allowed(r, r.Server.ServerOptions.ToolCollection is { } c && c.TryGetPrimitive(t.Name, out var p) ? p : null))];
            return result;
        });
        filters.AddListPromptsFilter(next => async (r, ct) =>
        {
            var result = await next(r, ct);
            result.Prompts = [.. result.Prompts.Where(t => Allowed(r, r.Server.ServerOptions.PromptCollection is { } c && c.TryGetPrimitive(t.Name, out var p) ? p : null))];
            return result;
        });
        filters.AddListResourceTemplatesFilter(next => async (r, ct) =>
        {
            var result = await next(r, ct);
            result.ResourceTemplates = [.. result.ResourceTemplates.Where(t => Allowed(r, r.Server.ServerOptions.ResourceCollection is { } c && c.TryGetPrimitive(t.UriTemplate, out var p) ? p : null))];
            return result;
        });
    }

    /// <summary>Whether the caller of <paramref name="request"/> holds <paramref name="scope"/>.</summary>
    public static bool Holds(MessageContext request, string scope) =>
        request.User is { } user && Caller.From(user) is { } who && who.Scopes.Contains(scope);

    private static McpDoor Of(MessageContext request) =>
        (request.Services ?? throw new InvalidOperationException("The MCP request has no services.")).GetRequiredService<McpDoor>();

    /// <summary>The scope a primitive needs; null (nobody may use it) when its class declares none.</summary>
    private static string? ScopeOf(IMcpServerPrimitive primitive) => primitive.Metadata.OfType<McpScopeAttribute>().LastOrDefault()?.Scope;

    private static bool Allowed(MessageContext request, IMcpServerPrimitive? primitive) =>
        primitive is not null && ScopeOf(primitive) is { } scope && Holds(request, scope);

    private async ValueTask<TResult> GuardAsync<TParams, TResult>(RequestContext<TParams> request, string method, string? target, McpRequestHandler<TParams, TResult> next, Func<string?> checkArguments, CancellationToken ct)
    {
        var who = request.User is { } user ? Caller.From(user) : null;
        var name = target is null ? method : $"{method} {target}";
        using var span = who is null ? null : BrunoTelemetry.Start(name, who.Tenant, ActivityKind.Server);
        span?.SetTag("mcp.method.name", method);
        if (method == "tools/call")
        {
            span?.SetTag("gen_ai.operation.name", "execute_tool");
            span?.SetTag("gen_ai.tool.name", target);
        }
        else if (method == "prompts/get")
        {
            span?.SetTag("gen_ai.prompt.name", target);
        }

        try
        {
            if (request.MatchedPrimitive is { } primitive) // else the SDK answers that it does not exist
            {
                var scope = ScopeOf(primitive);
                if (scope is null || who?.Scopes.Contains(scope) != true)
                {
                    var what = method switch { "tools/call" => "This tool", "prompts/get" => "This prompt", _ => "This resource" };
                    throw new McpRefusal(scope is null ? $"{what} is not available." : $"{what} needs the '{scope}' scope.", "scope_missing");
                }

                if (checkArguments() is { } reason)
                {
                    throw McpErrors.InvalidParams(reason);
                }

                limits.Acquire(who, target ?? method);
            }

            var result = await next(request, ct);
            if (result is CallToolResult { IsError: true })
            {
                span?.SetStatus(ActivityStatusCode.Error);
                span?.SetTag("error.type", "tool_error");
            }

            return result;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var tool = typeof(TResult) == typeof(CallToolResult);
            var (answer, kind) = McpErrors.Classify(e, tool, http.HttpContext);
            span?.SetStatus(ActivityStatusCode.Error, kind ?? "internal_error");
            span?.SetTag("error.type", kind ?? e.GetType().FullName);
            var tenant = who?.Tenant.Value ?? "-";
            if (kind is null)
            {
                LogFailed(logger, method, target ?? "-", tenant, e);
                throw;
            }

            LogRefused(logger, method, target ?? "-", tenant, kind);
            if (answer is McpRefusal refusal && tool)
            {
                // a tool's refusal is the tool's error, which the model reads (and no exception for the SDK to log)
                return (TResult)(object)new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = refusal.Message }] };
            }

            throw answer;
        }
    }

    /// <summary>Unknown or missing arguments of a prompt (its arguments are strings).</summary>
    private static string? CheckPrompt(Prompt prompt, IDictionary<string, JsonElement>? arguments)
    {
        var declared = prompt.Arguments ?? [];
        foreach (var (name, value) in arguments ?? new Dictionary<string, JsonElement>())
        {
            if (!declared.Any(a => a.Name == name))
            {
                return $"Unknown argument '{(name.Length > 40 ? name[..40] + "…" : name)}': it takes {string.Join(", ", declared.Select(a => $"'{a.Name}'"))}.";
            }

            if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            {
                return $"Argument '{name}' must be a non-empty string.";
            }
        }

        return declared.FirstOrDefault(a => a.Required == true && arguments?.ContainsKey(a.Name) != true) is { } missing
            ? $"Missing required argument '{missing.Name}'."
            : null;
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "MCP {McpMethod} {Target} refused for tenant {TenantId}: {Refusal}")]
    private static partial void LogRefused(ILogger logger, string mcpMethod, string target, string tenantId, string refusal);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Error, Message = "MCP {McpMethod} {Target} failed for tenant {TenantId}")]
    private static partial void LogFailed(ILogger logger, string mcpMethod, string target, string tenantId, Exception exception);
}
