namespace Bruno.Storage.Model;

/// <summary>
/// How a collection holds its vectors in memory for scanning and for the HNSW graph (docs/decisions/0045). The full-precision
/// vectors are kept either way: every quantised search ends by re-ranking its candidates with them, so the scores a search
/// returns are always full-precision similarities. An int8 collection keeps them out of memory while its tenant is
/// open, in a sealed file read for each re-ranked or returned vector (docs/decisions/0048), unless
/// <see cref="StorageEngineOptions.FullVectorsInMemory"/> is set. Exact search (<see cref="SearchRequest.Exact"/>, and the planner's exact
/// paths) returns the same hits under every choice. <c>EnsureCollectionAsync</c> refuses an undefined value with
/// <see cref="ArgumentException"/>. Persisted: append only.
/// </summary>
public enum VectorQuantization : byte
{
    /// <summary>float32 vectors in memory, as before quantisation existed: 4 bytes a dimension, scores exact everywhere.</summary>
    None = 1,

    /// <summary>
    /// int8 scalar quantisation with a scale per vector: 1 byte a dimension plus 12 bytes a vector. Exact search bounds
    /// each code's error and re-ranks only the rows that can still reach the top k; HNSW walks the codes and re-ranks its
    /// candidate pool with full precision. The default.
    /// </summary>
    Int8 = 2,

    /// <summary>
    /// One sign bit a dimension plus 4 bytes a vector; HNSW walks by Hamming distance and re-ranks its candidate pool with
    /// full precision. Sign bits bound nothing, so exact search scores every candidate with full precision. Suits models
    /// trained for binary embeddings; on others approximate recall drops (measured in docs/decisions/0045).
    /// </summary>
    Binary = 3,
}
