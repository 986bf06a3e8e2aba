using Bruno.Core.Documents;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Microsoft.AspNetCore.Diagnostics;

namespace Bruno.Server.Hosting;

/// <summary>Writes RFC 7807 problem documents.</summary>
internal static class Problems
{
    /// <summary>Writes the problem whatever the request's Accept header says (a client asking for an event stream still
    /// gets a readable error, not an empty body).</summary>
    public static Task WriteAsync(HttpContext context, int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        Result(status, title, detail, extensions).ExecuteAsync(context);

    public static IResult Result(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail, extensions: extensions);

    /// <summary>The route template of the request's endpoint (never the raw path, which can carry personal data).</summary>
    public static string RouteOf(HttpContext context) => (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(unmatched)";

    /// <summary>The part of an exception message our own validators wrote, without the framework's parameter suffix.</summary>
    public static string Own(ArgumentException e)
    {
        var m = e.Message;
        var cut = m.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return cut >= 0 ? m[..cut] : m;
    }
}

/// <summary>
/// Maps exceptions to problem documents. Only messages Bruno writes for callers are shown; anything else is a 500 with a
/// generic text and the trace id, and is logged.
/// </summary>
internal sealed partial class ProblemExceptionHandler(ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            DocumentRejectedException d => (d.Reason switch
            {
                DocumentRejection.TooLarge => StatusCodes.Status413PayloadTooLarge,
                DocumentRejection.UnsupportedType => StatusCodes.Status415UnsupportedMediaType,
                DocumentRejection.LimitExceeded or DocumentRejection.Unreadable => StatusCodes.Status422UnprocessableEntity,
                _ => StatusCodes.Status400BadRequest,
            }, "The document was not accepted", d.Message),
            IngestionBusyException b => (b.TenantLimit ? 429 : 503, b.TenantLimit ? "Too many documents at once" : "Busy reading documents", b.Message),
            Core.Evaluation.EvaluationRejectedException e => (400, "Invalid evaluation", e.Message),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => (413, "Request too large", "The request body is larger than this service accepts."),
            BadHttpRequestException b => (b.StatusCode, "Bad request", "The request could not be read: check the JSON body and parameters."),
            InvalidIdentifierException i => (400, "Invalid identifier", i.Message),
            TenantExistsException t => (409, "Conflict", t.Message),
            TenantNotFoundException => (404, "Not found", "No such tenant."),
            TenantStateException t => (409, "Conflict", t.Message),
            Core.Portability.BundleException b => (422, "Bundle refused", b.Message),
            QuotaExceededException q => (403, "Quota exceeded", q.Message),
            Core.Identity.AccessDeniedException d => (403, "Forbidden", d.Message),
            Core.Tenants.AccessConflictException c => (409, "Conflict", c.Message),
            Core.Metering.RateLimitedException r => (429, "Rate limit exceeded", r.Message),
            Core.Agents.ModelUnavailableException m => (503, "Model unavailable", m.Message),
            _ when CatalogDatabase.IsOutage(exception) => (503, "Catalog unavailable", "The tenant catalog cannot be reached; try again shortly."),
            StoreUnavailableException => (503, "Store unavailable", "The store node holding this tenant's data is unavailable; try again shortly."),
            TenantFencedException => (503, "Tenant being moved", "This tenant's data is being moved between store nodes; try again in a moment."),
            Cluster.NoStoreNodeException n => (503, "No store node", n.Message),
            Cluster.TenantMoveException m => (409, "Move refused", m.Message),
            CollectionMismatchException c => (409, "Embedding model mismatch", c.Message),
            EmbeddingModelChangedException m => (409, "Embedding model changed", m.Message),
            ArgumentException a => (400, "Invalid request", Problems.Own(a)),
            _ => (500, "Internal error", "The request failed on the server; the trace id identifies it in the logs."),
        };

        Dictionary<string, object?>? extensions = null;
        if (exception is Core.Metering.RateLimitedException limited)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(limited.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers["X-RateLimit-Limit"] = limited.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.Headers["X-RateLimit-Remaining"] = "0";
            context.Response.Headers["X-RateLimit-Reset"] = context.Response.Headers.RetryAfter;
            extensions = new() { ["level"] = limited.Level };
            RequestRecord.Refused(context, limited.Level);
        }
        else if (exception is QuotaExceededException quota)
        {
            extensions = new() { ["quota"] = quota.Quota };
            RequestRecord.QuotaRefused(context, quota.Quota);
        }

        if (exception is DocumentRejectedException { Limit: { } limit })
        {
            extensions = new() { ["limit"] = limit };
        }

        if (exception is IngestionBusyException busy)
        {
            context.Response.Headers.RetryAfter = ((int)Math.Ceiling(busy.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (exception is StoreUnavailableException or TenantFencedException or Cluster.NoStoreNodeException)
        {
            context.Response.Headers.RetryAfter = exception is TenantFencedException ? "1" : "5";
            LogStoreUnavailable(logger, Problems.RouteOf(context), (exception as StoreUnavailableException)?.Node ?? "-", Cause(exception));
        }
        else if (CatalogDatabase.IsOutage(exception))
        {
            // the pool's other connections died with the server too: the next requests open new ones
            context.RequestServices.GetService<CatalogDatabase>()?.ForgetConnections();
            context.Response.Headers.RetryAfter = "5";
            LogCatalogOutage(logger, Problems.RouteOf(context), exception.GetType().Name);
        }
        else if (status == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = "30";
            LogDependency(logger, Problems.RouteOf(context), exception.InnerException?.GetType().Name ?? "unknown");
        }
        else if (status >= 500)
        {
            LogUnhandled(logger, Problems.RouteOf(context), exception);
        }

        await Problems.WriteAsync(context, status, title, detail, extensions);
        return true;
    }

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Request to {Route} answered 503: the catalog is unreachable ({Failure}); its connection pool was emptied")]
    private static partial void LogCatalogOutage(ILogger logger, string route, string failure);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Request to {Route} answered 503: the language model failed ({Failure})")]
    private static partial void LogDependency(ILogger logger, string route, string failure);

    /// <summary>What failed underneath, for the operator's log: the chain of exception types and the transport's message.</summary>
    private static string Cause(Exception e)
    {
        var parts = new List<string>();
        for (Exception? x = e; x is not null && parts.Count < 5; x = x is Grpc.Core.RpcException rpc ? rpc.Status.DebugException ?? rpc.InnerException : x.InnerException)
        {
            parts.Add(x switch
            {
                Grpc.Core.RpcException r => $"RpcException({r.StatusCode})",
                System.Net.Sockets.SocketException s => $"SocketException({s.SocketErrorCode})",
                _ => x.GetType().Name,
            });
        }

        return string.Join(" <- ", parts);
    }

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Request to {Route} answered 503: store node {Node} ({Failure})")]
    private static partial void LogStoreUnavailable(ILogger logger, string route, string node, string failure);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Request to {Route} failed")]
    private static partial void LogUnhandled(ILogger logger, string route, Exception exception);
}
