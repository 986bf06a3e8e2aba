using Bruno.Storage.Identity;

namespace Bruno.Storage.Model;

/// <summary>
/// One row of a collection: a caller-chosen id (unique within the collection), its text, its vector, typed metadata,
/// the user it belongs to (none for tenant-wide rows) and when it was created.
/// </summary>
/// <remarks>A row owned by a user is encrypted under that user's key, so erasing the user makes it unreadable everywhere.</remarks>
public sealed record StoredRow
{
    /// <summary>
    /// The empty metadata every row without metadata shares (the default of <see cref="Metadata"/>); a row rebuilt from
    /// the store nodes' protocol shares it too, as the engine's own rows do. Never modify it.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, MetadataValue> NoMetadata = new Dictionary<string, MetadataValue>();

    /// <summary>Caller-chosen id, 1-256 characters without control characters.</summary>
    public required string Id { get; init; }

    /// <summary>The text: indexed for full-text search and returned with hits.</summary>
    public required string Text { get; init; }

    /// <summary>The embedding; its length must equal the collection's dimension and every value be finite.</summary>
    public required ReadOnlyMemory<float> Vector { get; init; }

    /// <summary>Typed metadata; keys follow <see cref="IdentifierRules.ValidateName"/>.</summary>
    public IReadOnlyDictionary<string, MetadataValue> Metadata { get; init; } = NoMetadata;

    /// <summary>The owning user, or null for a row shared by the whole tenant.</summary>
    public UserId? UserId { get; init; }

    /// <summary>
    /// Who may read the row: null (the default) means the whole tenant, as every row written before access lists
    /// existed; otherwise the users and groups named here, at most <see cref="MaxReaders"/>, and no one else when the
    /// list is empty. Searches, counts, lists and deletes honour it only when their filter says for whom they run
    /// (<see cref="Filter.ReadableBy"/>); a filter without it sees every row (operators, exports). A write with more
    /// than <see cref="MaxReaders"/> principals or a default <see cref="Principal"/> throws <see cref="ArgumentException"/>
    /// before anything is stored; duplicates are dropped and the engine keeps the list sorted, users first, then by name (ordinal).
    /// </summary>
    public IReadOnlyList<Principal>? Readers { get; init; }

    /// <summary>Most principals one row's <see cref="Readers"/> takes.</summary>
    public const int MaxReaders = 64;

    /// <summary>When the row was created. <c>default</c> means "now" at the moment of the write.</summary>
    public DateTimeOffset CreatedAt { get; init; }
}
