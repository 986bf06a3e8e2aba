using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using ModelContextProtocol;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// A refusal of Bruno's that is the caller's to fix or wait out (a scope missing, the tenant's state, a quota, no such
/// memory): a tool answers it as a tool error (<c>isError</c>) with the message, a prompt or a resource as JSON-RPC
/// error -32600. <see cref="Kind"/> names it in the log.
/// </summary>
internal sealed class McpRefusal(string message, string kind) : McpException(message)
{
    public string Kind { get; } = kind;
}

/// <summary>
/// How the MCP door answers what went wrong, in one place: invalid, missing or unknown arguments are JSON-RPC error
/// -32602 (InvalidParams) with the reason; a rate limit is <see cref="RateLimitedCode"/> with
/// <c>data.retry_after_seconds</c>; other refusals are <see cref="McpRefusal"/>s. Only messages Bruno writes for
/// callers are shown: anything else is a server failure, answered with the SDK's generic text.
/// </summary>
internal static class McpErrors
{
    /// <summary>The JSON-RPC error code of a rate-limit refusal (in the range JSON-RPC leaves to servers).</summary>
    public const int RateLimitedCode = -32029;

    /// <summary>The key of a rate-limit refusal's <c>data</c> that says after how many seconds to retry.</summary>
    public const string RetryAfterKey = "retry_after_seconds";

    /// <summary>Invalid parameters, with the reason.</summary>
    public static McpProtocolException InvalidParams(string reason) => new(reason, McpErrorCode.InvalidParams);

    /// <summary>A rate-limit refusal: the code, the message (which says when to retry) and the seconds in <c>data</c>.</summary>
    public static McpProtocolException RateLimited(string message, TimeSpan retryAfter)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        var text = message.Contains("Retry after", StringComparison.Ordinal) ? message : $"{message.TrimEnd()} Retry after {seconds} s.";
        var error = new McpProtocolException(text, (McpErrorCode)RateLimitedCode);
        error.Data[RetryAfterKey] = seconds;
        return error;
    }

    /// <summary>The MCP error for a refused admission.</summary>
    public static McpException Refused(Refusal refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        return refusal.Kind switch
        {
            RefusalKind.RateLimited => RateLimited(refusal.Detail, refusal.RetryAfter ?? TimeSpan.FromSeconds(1)),
            RefusalKind.ScopeMissing => new McpRefusal(refusal.Detail, "scope_missing"),
            RefusalKind.QuotaExceeded => new McpRefusal(refusal.Detail, "quota_exceeded"),
            _ => new McpRefusal(refusal.Detail, "tenant_refused"),
        };
    }

    /// <summary>
    /// What to answer for <paramref name="error"/> and the kind of client mistake it is, or a null kind for a server
    /// failure (answered as it is: the SDK shows no text of it). <paramref name="tool"/>: whether a tool was called
    /// (refusals are tool errors there, JSON-RPC errors elsewhere). Records quota and rate refusals on the request.
    /// </summary>
    public static (Exception Answer, string? Kind) Classify(Exception error, bool tool, HttpContext? http)
    {
        ArgumentNullException.ThrowIfNull(error);
        switch (error)
        {
            case McpProtocolException p:
                return (p, (int)p.ErrorCode switch
                {
                    (int)McpErrorCode.InvalidParams => "invalid_params",
                    RateLimitedCode => "rate_limited",
                    (int)McpErrorCode.ResourceNotFound => "not_found",
                    _ => "protocol",
                });
            case McpRefusal r:
                return (tool ? r : new McpProtocolException(r.Message, McpErrorCode.InvalidRequest), r.Kind);
            case ArgumentException a:
                return (InvalidParams(Hosting.Problems.Own(a)), "invalid_params");
            case InvalidIdentifierException or DocumentRejectedException { Reason: DocumentRejection.Invalid }:
                return (InvalidParams(error.Message), "invalid_params");
            case QuotaExceededException q:
                if (http is not null)
                {
                    Hosting.RequestRecord.QuotaRefused(http, q.Quota);
                }

                return Classify(new McpRefusal(q.Message, "quota_exceeded"), tool, http);
            case Core.Metering.RateLimitedException limited:
                if (http is not null)
                {
                    Hosting.RequestRecord.Refused(http, limited.Level);
                }

                return (RateLimited(limited.Message, limited.RetryAfter), "rate_limited");
            case DocumentRejectedException or ModelUnavailableException or EmbeddingModelChangedException or CollectionMismatchException:
                return Classify(new McpRefusal(error.Message, "unavailable"), tool, http);
            case McpException m:
                return Classify(new McpRefusal(m.Message, "refused"), tool, http);
            default:
                return (error, null);
        }
    }
}
