namespace Bruno.Storage.Identity;

/// <summary>An identifier (tenant, user, row, collection, metadata key) was rejected before it touched a path or a query.</summary>
public sealed class InvalidIdentifierException(string what, string described, string rule)
    : ArgumentException($"Invalid {what} {described}: expected {rule}.")
{
    /// <summary>Which kind of identifier was rejected, e.g. "tenant id".</summary>
    public string What { get; } = what;
}
