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

    /// <summary>When the row was created. <c>default</c> means "now" at the moment of the write.</summary>
    public DateTimeOffset CreatedAt { get; init; }
}
