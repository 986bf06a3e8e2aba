using Bruno.Storage;
using Bruno.Storage.Identity;
using Grpc.Core;

namespace Bruno.Cluster.Remote;

/// <summary>
/// How the engine's failures cross the wire: a status code and a <c>bruno-error</c> trailer naming the failure, so the
/// client throws the same exception type the local engine would. Only failures the engine reports on purpose carry
/// their message (it names the tenant and the rule, never data); anything else becomes a generic internal error.
/// </summary>
internal static class RemoteErrors
{
    public const string Trailer = "bruno-error";

    public static RpcException ToRpc(Exception e)
    {
        var (code, kind) = e switch
        {
            TenantNotFoundException => (StatusCode.NotFound, "tenant-not-found"),
            CollectionNotFoundException => (StatusCode.NotFound, "collection-not-found"),
            TenantAlreadyExistsException => (StatusCode.AlreadyExists, "tenant-exists"),
            TenantFencedException => (StatusCode.Aborted, "fenced"),
            TenantLockedException => (StatusCode.FailedPrecondition, "locked"),
            DataUnreadableException => (StatusCode.DataLoss, "unreadable"),
            StorageFormatException => (StatusCode.FailedPrecondition, "format"),
            CollectionMismatchException => (StatusCode.InvalidArgument, "collection-mismatch"),
            InvalidIdentifierException => (StatusCode.InvalidArgument, "invalid-identifier"),
            ArgumentException => (StatusCode.InvalidArgument, "argument"),
            OperationCanceledException => (StatusCode.Cancelled, "cancelled"),
            StoreUnavailableException => (StatusCode.Unavailable, "unavailable"), // not acknowledged (a replica or the catalog unreachable): try again
            StorageException => (StatusCode.Internal, "storage"),
            _ => (StatusCode.Internal, "internal"),
        };
        var message = kind == "internal" ? "The store node failed; its log has the details." : e.Message;
        return new RpcException(new Status(code, message), new Metadata { { Trailer, kind } });
    }

    /// <summary>The exception the local engine would have thrown, or <see cref="StoreUnavailableException"/>.</summary>
    public static Exception FromRpc(RpcException e, TenantId? tenant, string node)
    {
        var kind = e.Trailers.GetValue(Trailer);
        var id = tenant?.Value ?? "-";
        return kind switch
        {
            "tenant-not-found" => new TenantNotFoundException(id),
            "collection-not-found" => new CollectionNotFoundException(Between(e.Status.Detail, '\'')),
            "tenant-exists" => new TenantAlreadyExistsException(id),
            "fenced" => new TenantFencedException(id),
            "locked" => new TenantLockedException(id),
            "unreadable" => new DataUnreadableException(e.Status.Detail),
            "format" => new StorageFormatException(e.Status.Detail),
            "collection-mismatch" => new CollectionMismatchException(e.Status.Detail),
            "invalid-identifier" or "argument" => new ArgumentException(e.Status.Detail),
            "cancelled" => new OperationCanceledException(e.Status.Detail),
            "unavailable" => new StoreUnavailableException(id, node, e),
            "storage" => new StorageException(e.Status.Detail),
            "internal" => new StorageException(e.Status.Detail),
            _ when e.StatusCode == StatusCode.Cancelled => new OperationCanceledException("The call to the store node was cancelled.", e),
            _ when e.StatusCode == StatusCode.Unauthenticated => new StorageException($"The store node '{node}' refused this node's credential; check Bruno:Cluster:Token on both."),
            // no answer from Bruno's service: the node is down, restarting, unreachable or too slow
            _ when e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Unknown or StatusCode.Internal or StatusCode.Aborted
                => new StoreUnavailableException(id, node, e),
            // an answer, but not from Bruno's service (wrong address or port, a message over the size limit): retrying
            // does not help, so it is not reported as unavailable
            _ => new StorageException($"The store node '{node}' answered {e.StatusCode} outside its API; check Bruno:Cluster:AdvertiseUrl and the size of the request.", e),
        };
    }

    private static string Between(string text, char quote)
    {
        var start = text.IndexOf(quote, StringComparison.Ordinal);
        var end = start < 0 ? -1 : text.IndexOf(quote, start + 1);
        return end > start ? text[(start + 1)..end] : "unknown";
    }
}
