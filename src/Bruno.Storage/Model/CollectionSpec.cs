namespace Bruno.Storage.Model;

/// <summary>How vectors are compared. Persisted: append only.</summary>
public enum VectorMetric : byte
{
    /// <summary>Cosine similarity (vectors need not be normalised).</summary>
    Cosine = 1,

    /// <summary>Plain dot product (for vectors already unit-normalised this equals cosine and is cheaper).</summary>
    Dot = 2,
}

/// <summary>
/// What a collection holds: its name, the fixed vector dimension, the embedding model that made the vectors, the metric,
/// and how its vectors are held in memory. Reopening a collection with another dimension or model fails with
/// <see cref="CollectionMismatchException"/>; an undefined metric or quantisation fails with <see cref="ArgumentException"/>.
/// </summary>
/// <param name="Name">a-z first, then up to 63 of a-z, 0-9 and '_'.</param>
/// <param name="Dimension">1 to 8,192.</param>
/// <param name="Model">Name of the embedding model, 1-200 printable characters.</param>
/// <param name="Metric">How vectors compare.</param>
/// <param name="Quantization">
/// How vectors are held in memory (docs/decisions/0045); int8 by default: a quarter of float32's memory, exact search
/// unchanged, approximate recall within 0.002 of float32. Not yet persisted: an existing collection keeps the choice it was
/// opened with, and a reopened one takes the default.
/// </param>
public sealed record CollectionSpec(string Name, int Dimension, string Model, VectorMetric Metric = VectorMetric.Cosine, VectorQuantization Quantization = VectorQuantization.Int8)
{
    /// <summary>Largest supported dimension.</summary>
    public const int MaxDimension = 8192;
}

/// <summary>Counts for one tenant: rows per collection and bytes its folder takes on disk.</summary>
/// <param name="Rows">Live rows across all collections.</param>
/// <param name="BytesOnDisk">Sum of the sizes of every file in the tenant's folder.</param>
/// <param name="Collections">Live rows per collection name.</param>
public sealed record TenantStats(long Rows, long BytesOnDisk, IReadOnlyDictionary<string, long> Collections);

/// <summary>What erasing a tenant removed.</summary>
/// <param name="Existed">Whether the tenant had a key ring.</param>
/// <param name="Files">Files of its folder removed.</param>
/// <param name="Bytes">Their size.</param>
/// <param name="KeyRingSha256">SHA-256 (hex) of the key ring destroyed, or null when there was none.</param>
public sealed record TenantErasure(bool Existed, int Files, long Bytes, string? KeyRingSha256);
