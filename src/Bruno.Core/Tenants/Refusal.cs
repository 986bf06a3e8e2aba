namespace Bruno.Core.Tenants;

/// <summary>Why a request is not admitted for a tenant. Every door maps it once: to a problem document on HTTP, to an
/// error on MCP.</summary>
public enum RefusalKind
{
    /// <summary>No verified credential naming exactly one tenant and one user.</summary>
    Unauthenticated,

    /// <summary>The credential's tenant does not exist (or was deleted).</summary>
    TenantUnknown,

    /// <summary>The credential's tenant is suspended.</summary>
    TenantSuspended,

    /// <summary>The credential's tenant exists but cannot serve now: being created, being deleted, or cut mid-request.</summary>
    TenantUnavailable,

    /// <summary>The credential lacks the scope the operation needs.</summary>
    ScopeMissing,

    /// <summary>The request names a tenant other than the credential's.</summary>
    OtherTenantNamed,

    /// <summary>A request-rate limit of the tenant's plan refused it (with a time to retry).</summary>
    RateLimited,

    /// <summary>A quota of the tenant's plan refused it (for admission: the plan's number of users).</summary>
    QuotaExceeded,
}

/// <summary>
/// A refusal of admission: its kind, a message a caller may read (never internal details), and for a limit the time
/// after which a retry may succeed, the limit's level (tenant, client, concurrency, penalty) or the quota's name.
/// </summary>
public sealed record Refusal(RefusalKind Kind, string Detail)
{
    /// <summary>When a retry may succeed (rate limits only).</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The level of the rate limit, or the name of the quota, that refused.</summary>
    public string? Limit { get; init; }

    /// <summary>The refusal for a tenant in <paramref name="status"/> (null: the tenant is not in the catalog); null
    /// when a tenant in that status is served.</summary>
    public static Refusal? ForStatus(TenantStatus? status) => status switch
    {
        null or TenantStatus.Deleted => new(RefusalKind.TenantUnknown, "The tenant of this credential does not exist."),
        TenantStatus.Suspended => new(RefusalKind.TenantSuspended, "The tenant of this credential is suspended."),
        TenantStatus.Provisioning => new(RefusalKind.TenantUnavailable, "The tenant of this credential is still being created."),
        TenantStatus.Deleting => new(RefusalKind.TenantUnavailable, "The tenant of this credential is being deleted."),
        _ => null,
    };

    /// <summary>The refusal of a request whose tenant stopped being active while it ran.</summary>
    public static Refusal NoLongerActive { get; } = new(RefusalKind.TenantUnavailable, "The tenant of this credential is no longer active.");
}
