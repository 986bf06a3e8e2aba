using System.Diagnostics.CodeAnalysis;

namespace Bruno.Storage.Identity;

/// <summary>What a <see cref="Principal"/> names. The values are persisted (row format 2): append only.</summary>
public enum PrincipalKind : byte
{
    /// <summary>One user of the tenant (<see cref="UserId"/> rules).</summary>
    User = 1,

    /// <summary>A group of users of the tenant (<see cref="Principal.Group"/> rules).</summary>
    Group = 2,
}

/// <summary>
/// Someone a row can be readable by: a user or a group of the tenant, valid by construction. A principal is a typed
/// value, never a string the engine parses into a query: <c>Principal.Group("a|b")</c> is refused, not split.
/// </summary>
/// <remarks>
/// Group names are 1-64 characters of a-z, A-Z, 0-9 and <c>- _ .</c>, starting with a letter or digit (so "." and ".."
/// are impossible), compared ordinally (case-sensitive, as OIDC group claims are). User principals follow
/// <see cref="UserId"/>. The factories throw <see cref="InvalidIdentifierException"/> for anything else; a default
/// instance throws <see cref="InvalidOperationException"/> when its <see cref="Name"/> is read and is refused wherever
/// a principal is accepted.
/// </remarks>
public readonly record struct Principal
{
    /// <summary>Longest accepted group name.</summary>
    public const int MaxGroupLength = 64;

    private readonly string? _name;

    private Principal(PrincipalKind kind, string name) => (Kind, _name) = (kind, name);

    /// <summary>User or group.</summary>
    public PrincipalKind Kind { get; }

    /// <summary>The validated user id or group name. Throws <see cref="InvalidOperationException"/> on a default instance.</summary>
    public string Name => _name ?? throw new InvalidOperationException("A default Principal names no one.");

    /// <summary>False for a default instance (which every check refuses).</summary>
    internal bool IsValid => _name is not null;

    /// <summary>The principal of one user. Throws <see cref="InvalidOperationException"/> for a default <see cref="UserId"/>.</summary>
    public static Principal User(UserId user) => new(PrincipalKind.User, user.Value);

    /// <summary>The principal of a group; throws <see cref="InvalidIdentifierException"/> when <paramref name="name"/> is not a valid group name.</summary>
    public static Principal Group(string? name) =>
        TryGroup(name, out var p) ? p : throw new InvalidIdentifierException("group name", IdentifierRules.Describe(name), "1-64 of a-z, A-Z, 0-9 and - _ ., starting with a letter or digit");

    /// <summary>Returns false, and a default principal, when <paramref name="name"/> is not a valid group name.</summary>
    public static bool TryGroup([NotNullWhen(true)] string? name, out Principal principal)
    {
        principal = default;
        if (name is null || name.Length is 0 or > MaxGroupLength || !char.IsAsciiLetterOrDigit(name[0]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.'))
            {
                return false;
            }
        }

        principal = new Principal(PrincipalKind.Group, name);
        return true;
    }

    /// <summary>
    /// Rebuilds a principal from its persisted kind and name (row format, protocols, bundles), validated exactly as the
    /// factories validate. Throws <see cref="InvalidIdentifierException"/> for a bad name and <see cref="ArgumentException"/>
    /// for an unknown kind.
    /// </summary>
    public static Principal Of(PrincipalKind kind, string? name) => kind switch
    {
        PrincipalKind.User => User(UserId.Parse(name)),
        PrincipalKind.Group => Group(name),
        _ => throw new ArgumentException($"Unknown principal kind {(byte)kind}.", nameof(kind)),
    };

    /// <summary>By kind (users first), then name (ordinal): the order rows keep their readers in.</summary>
    internal static IComparer<Principal> Order { get; } =
        Comparer<Principal>.Create((a, b) => a.Kind != b.Kind ? a.Kind.CompareTo(b.Kind) : string.CompareOrdinal(a._name, b._name));

    /// <summary><c>user:NAME</c> or <c>group:NAME</c>, for messages and logs; never parsed back.</summary>
    public override string ToString() => _name is null ? string.Empty : (Kind == PrincipalKind.User ? "user:" : "group:") + _name;
}
