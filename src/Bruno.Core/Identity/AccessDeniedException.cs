namespace Bruno.Core.Identity;

/// <summary>
/// Something the caller may not do inside their tenant (a change of roles or groups, a write to a document the access
/// rules keep from them), with a message safe to show; answered 403 and recorded as a denial in the audit log.
/// </summary>
public sealed class AccessDeniedException(string message) : Exception(message);
