namespace Bruno.Core.Identity;

/// <summary>The scopes a credential can carry (claim <c>scope</c>, space-separated).</summary>
public static class Scopes
{
    /// <summary>Ask questions.</summary>
    public const string Query = "query";

    /// <summary>Add, replace and delete documents.</summary>
    public const string Ingest = "ingest";

    /// <summary>Read and erase one's own memory.</summary>
    public const string Memory = "memory";

    /// <summary>Administer one's own tenant.</summary>
    public const string Admin = "admin";

    /// <summary>Read one's own tenant's audit log, usage and insights (what an auditor holds; admin includes it).</summary>
    public const string Audit = "audit";

    /// <summary>Operate the platform: create and manage tenants, issue tokens. Carried by tokens without a tenant.</summary>
    public const string PlatformAdmin = "platform-admin";

    /// <summary>Read <c>/metrics</c> and nothing else: the scraper's credential. Carried by tokens without a tenant.</summary>
    public const string Metrics = "metrics";

    /// <summary>Scopes a tenant user token may carry.</summary>
    public static IReadOnlySet<string> TenantScopes { get; } = new HashSet<string>(StringComparer.Ordinal) { Query, Ingest, Memory, Admin, Audit };
}
