namespace Bruno.Contracts;

/// <summary>
/// A tenant as its GitOps manifests describe it: what <c>Bruno.Kubernetes</c> renders a tenant from. Core maps a
/// catalog record to it (<c>TenantRecord.ToDeployment</c>). Nothing here is validated: the renderer checks what it
/// uses.
/// </summary>
/// <param name="Id">The tenant id, a DNS-1123 label (the renderer refuses anything else).</param>
/// <param name="DisplayName">The tenant's display name.</param>
/// <param name="Plan">The name of the tenant's plan, a key of the plans the renderer was given.</param>
/// <param name="Isolation">The isolation level: <c>namespace</c>, <c>kamaji</c> or <c>dedicated-cluster</c>.</param>
/// <param name="Compliance">The tenant's compliance flags (<c>gdpr</c>, <c>soc2</c>, <c>hipaa</c>), each once.</param>
public sealed record TenantDeployment(string Id, string DisplayName, string Plan, string Isolation, IReadOnlyList<string> Compliance)
{
    /// <summary>
    /// The tenant's state as the catalog names it, in lower case (<c>active</c>, <c>suspended</c>, <c>deleting</c>,
    /// <c>deleted</c>...): a deleting or deleted tenant has no manifests.
    /// </summary>
    public string Status { get; init; } = "active";
}
