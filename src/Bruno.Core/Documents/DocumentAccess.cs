using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Core.Documents;

/// <summary>
/// Who may read a document: the whole tenant (<see cref="Tenant"/>, the default), or the users and groups named, at
/// most <see cref="StoredRow.MaxReaders"/>. As the API spells it: <c>["tenant"]</c>, or entries <c>group:NAME</c> and
/// <c>user:ID</c>. The list is kept on every row of the document (its chunks too), so the engine enforces it on every
/// search as a pre-filter (decision 0028).
/// </summary>
public sealed class DocumentAccess : IEquatable<DocumentAccess>
{
    /// <summary>The entry that means the whole tenant.</summary>
    public const string TenantEntry = "tenant";

    private DocumentAccess(IReadOnlyList<Principal>? readers) => Readers = readers;

    /// <summary>Everyone in the tenant.</summary>
    public static DocumentAccess Tenant { get; } = new(null);

    /// <summary>The principals named, sorted (users first, then by name) and without duplicates; null for the whole tenant.</summary>
    public IReadOnlyList<Principal>? Readers { get; }

    /// <summary>Whether everyone in the tenant may read the document.</summary>
    public bool IsTenant => Readers is null;

    /// <summary>The list as the API spells it.</summary>
    public IReadOnlyList<string> Entries => Readers is null ? [TenantEntry] : [.. Readers.Select(p => p.ToString())];

    /// <summary>
    /// The list named by <paramref name="entries"/> (<c>tenant</c> alone, or <c>group:NAME</c> and <c>user:ID</c>
    /// entries). Throws <see cref="DocumentRejectedException"/> (<see cref="DocumentRejection.Invalid"/>) for an empty
    /// list, a malformed entry, <c>tenant</c> with others, or more than <see cref="StoredRow.MaxReaders"/> principals.
    /// </summary>
    public static DocumentAccess Parse(IEnumerable<string>? entries)
    {
        var list = entries?.Select(e => e?.Trim() ?? string.Empty).ToList() ?? [];
        if (list.Count == 0)
        {
            throw Invalid("An access list names 'tenant', or at least one 'group:NAME' or 'user:ID'.");
        }

        if (list.Contains(TenantEntry, StringComparer.Ordinal))
        {
            return list.All(e => e == TenantEntry) ? Tenant : throw Invalid("'tenant' already means everyone in the tenant: give it alone, or name groups and users instead.");
        }

        var principals = new List<Principal>(list.Count);
        foreach (var entry in list)
        {
            principals.Add(entry switch
            {
                _ when entry.StartsWith("group:", StringComparison.Ordinal) && Principal.TryGroup(entry[6..], out var group) => group,
                _ when entry.StartsWith("user:", StringComparison.Ordinal) && UserId.TryParse(entry[5..], out var user) => Principal.User(user),
                _ => throw Invalid($"'{Clip(entry)}' is not an access entry: use 'tenant', 'group:NAME' (1-64 letters, digits, '-', '_', '.') or 'user:ID'."),
            });
        }

        return Of(principals);
    }

    /// <summary>The list naming <paramref name="readers"/> (null: the whole tenant). Throws <see cref="DocumentRejectedException"/> past <see cref="StoredRow.MaxReaders"/>.</summary>
    public static DocumentAccess Of(IEnumerable<Principal>? readers)
    {
        if (readers is null)
        {
            return Tenant;
        }

        var distinct = readers.Distinct().ToList();
        if (distinct.Count == 0)
        {
            throw Invalid("An access list names 'tenant', or at least one 'group:NAME' or 'user:ID'.");
        }

        if (distinct.Count > StoredRow.MaxReaders)
        {
            throw Invalid($"An access list names at most {StoredRow.MaxReaders} groups and users; give the rest a group.");
        }

        distinct.Sort((a, b) => a.Kind != b.Kind ? a.Kind.CompareTo(b.Kind) : string.CompareOrdinal(a.Name, b.Name));
        return new DocumentAccess(distinct.AsReadOnly());
    }

    /// <summary>The list kept on a stored row (the engine keeps readers canonical: sorted, distinct, at most 64).</summary>
    internal static DocumentAccess Stored(IReadOnlyList<Principal>? readers) => readers is null ? Tenant : new DocumentAccess(readers);

    /// <summary>Whether the list names any of <paramref name="principals"/> (the whole tenant names everyone).</summary>
    public bool Admits(IReadOnlyCollection<Principal> principals) => Readers is null || Readers.Any(principals.Contains);

    /// <summary>Whether the list names a group among <paramref name="groups"/>.</summary>
    public bool NamesGroupIn(IReadOnlySet<string> groups) => Readers?.Any(p => p.Kind == PrincipalKind.Group && groups.Contains(p.Name)) == true;

    /// <inheritdoc/>
    public bool Equals(DocumentAccess? other) =>
        other is not null && (Readers is null ? other.Readers is null : other.Readers is not null && Readers.SequenceEqual(other.Readers));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => Equals(obj as DocumentAccess);

    /// <inheritdoc/>
    public override int GetHashCode() => Readers is null ? 0 : Readers.Aggregate(17, (h, p) => HashCode.Combine(h, p));

    /// <inheritdoc/>
    public override string ToString() => string.Join(',', Entries);

    private static DocumentRejectedException Invalid(string message) => new(message, DocumentRejection.Invalid);

    private static string Clip(string s) => s.Length > 80 ? s[..80] + "…" : s;
}

/// <summary>What a caller may do with the documents it cannot only read.</summary>
public enum DocumentRights
{
    /// <summary>Read only (ask, search, list what it reads).</summary>
    Read,

    /// <summary>Add documents, and change or delete those it may read (the tenant's <c>ingest</c> scope).</summary>
    Edit,

    /// <summary>Add, change and delete every document of the tenant (the tenant's <c>admin</c> scope). Reading stays
    /// bound to the access lists: an admin sees a document's entry and list, never its text, unless the list names them.</summary>
    Manage,
}

/// <summary>
/// Who reads a tenant's documents: a user (or an API key, whose user is <c>key:ID</c>) with their groups, what they
/// may change, and the groups they administer. Made once at the edge from the verified credential; every read of
/// documents takes one, so there is no unrestricted read of a tenant's knowledge through Core's services (only the
/// operators' whole-tenant exports and jobs read the store directly).
/// </summary>
public sealed record Viewer
{
    private Viewer(UserId user, IReadOnlyList<Principal> principals, IReadOnlySet<string> groups)
    {
        User = user;
        Principals = principals;
        Groups = groups;
    }

    /// <summary>The user.</summary>
    public UserId User { get; }

    /// <summary>The user's principal and their groups' principals: the rows they may read are those open to the tenant
    /// or naming one of these.</summary>
    public IReadOnlyList<Principal> Principals { get; }

    /// <summary>The user's groups.</summary>
    public IReadOnlySet<string> Groups { get; }

    /// <summary>What the user may change (<see cref="DocumentRights.Read"/> unless given).</summary>
    public DocumentRights Rights { get; init; }

    /// <summary>The groups the user administers: they manage the documents whose list names one of them.</summary>
    public IReadOnlySet<string> Administers { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// The viewer <paramref name="user"/>, member of <paramref name="groups"/> (invalid group names are ignored: they
    /// can name no document). Throws <see cref="InvalidOperationException"/> for a default <see cref="UserId"/>.
    /// </summary>
    public static Viewer Of(UserId user, IEnumerable<string>? groups = null)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var principals = new List<Principal> { Principal.User(user) };
        foreach (var name in groups ?? [])
        {
            if (Principal.TryGroup(name, out var group) && names.Add(name))
            {
                principals.Add(group);
            }
        }

        return new Viewer(user, principals.AsReadOnly(), names);
    }

    /// <summary><paramref name="filter"/> restricted to the rows this viewer may read.</summary>
    public Filter Restrict(Filter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter.AndReadableBy((IReadOnlyCollection<Principal>)Principals);
    }

    /// <summary>Whether this viewer may read a document with <paramref name="access"/>.</summary>
    public bool CanRead(DocumentAccess access)
    {
        ArgumentNullException.ThrowIfNull(access);
        return access.Admits((IReadOnlyCollection<Principal>)Principals);
    }

    /// <summary>
    /// Whether this viewer may replace, delete or change the access of a document with <paramref name="access"/>, or
    /// create one with it: a tenant admin any; an editor one they may read; a group admin one whose list names a group
    /// they administer.
    /// </summary>
    public bool CanManage(DocumentAccess access)
    {
        ArgumentNullException.ThrowIfNull(access);
        return Rights == DocumentRights.Manage
            || (Rights == DocumentRights.Edit && CanRead(access))
            || access.NamesGroupIn(Administers);
    }

    /// <summary>Whether this viewer manages every document (and so lists them all, without their text).</summary>
    public bool ManagesAll => Rights == DocumentRights.Manage;
}
