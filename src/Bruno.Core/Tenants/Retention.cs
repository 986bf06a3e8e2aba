namespace Bruno.Core.Tenants;

/// <summary>How long a tenant's data is kept, in days: episodic memory (turns), audit entries, usage records.</summary>
public sealed record RetentionPolicy(int MemoryDays, int AuditDays, int UsageDays);
