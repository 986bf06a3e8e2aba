using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Engine;

/// <summary>Checks a row against its collection before anything is written.</summary>
internal static class RowValidation
{
    public const int MaxTextLength = 1 << 20;
    public const int MaxMetadataEntries = 64;

    /// <summary>Throws <see cref="ArgumentException"/> (or <see cref="CollectionMismatchException"/> for a wrong dimension).</summary>
    public static void Check(StoredRow row, CollectionSpec spec)
    {
        if (row.Text is null || row.Text.Length > MaxTextLength)
        {
            throw new ArgumentException($"Row text must be present and at most {MaxTextLength} characters.");
        }

        var vector = row.Vector.Span;
        if (vector.Length != spec.Dimension)
        {
            throw new CollectionMismatchException($"Collection '{spec.Name}' takes {spec.Dimension}-dimensional vectors, not {vector.Length}.");
        }

        foreach (var f in vector)
        {
            if (!float.IsFinite(f))
            {
                throw new ArgumentException("Vectors must hold finite numbers only.");
            }
        }

        if (row.Metadata is null || row.Metadata.Count > MaxMetadataEntries)
        {
            throw new ArgumentException($"A row takes at most {MaxMetadataEntries} metadata entries.");
        }

        foreach (var key in row.Metadata.Keys)
        {
            IdentifierRules.ValidateName(key, "metadata key");
        }

        if (row.Readers is { } readers)
        {
            if (readers.Count > StoredRow.MaxReaders)
            {
                throw new ArgumentException($"A row takes at most {StoredRow.MaxReaders} readers, not {readers.Count}; give the rest a group.");
            }

            for (var i = 0; i < readers.Count; i++)
            {
                if (!readers[i].IsValid)
                {
                    throw new ArgumentException("A row's readers hold a default Principal; make each with Principal.User or Principal.Group.");
                }
            }
        }

        if (row.UserId is { } user)
        {
            _ = user.Value; // a default UserId throws here
        }
    }
}
