using Bruno.Storage.Crypto;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Bruno.Storage;

/// <summary>Settings of a <see cref="StorageEngine"/>. Only <see cref="DataRoot"/> and <see cref="MasterKey"/> are required.</summary>
public sealed class StorageEngineOptions
{
    /// <summary>Folder that holds <c>tenants/</c> (and, unless <see cref="KeyDirectory"/> says otherwise, <c>keys/</c>).</summary>
    public required string DataRoot { get; init; }

    /// <summary>The key that wraps every tenant's key ring. The engine does not dispose it.</summary>
    public required MasterKey MasterKey { get; init; }

    /// <summary>
    /// Where the tenants' key rings live. Default <c>DataRoot/keys</c>. Keep it out of the backups of <c>tenants/</c>:
    /// a backup can be erased by destroying keys only if it does not carry them.
    /// </summary>
    public string? KeyDirectory { get; init; }

    /// <summary>Most tenants open at once; the least recently used idle ones are closed beyond it. Default 256.</summary>
    public int MaxOpenTenants { get; init; } = 256;

    /// <summary>An open tenant unused this long is closed. Default 5 minutes.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Rows in a collection from which an HNSW graph is built; below it every vector search is exact. Default 20,000.</summary>
    public int AnnThreshold { get; init; } = 20_000;

    /// <summary>HNSW links per node (layer 0 has twice as many). Default 16.</summary>
    public int HnswM { get; init; } = 16;

    /// <summary>HNSW breadth while inserting. Default 128.</summary>
    public int HnswEfConstruction { get; init; } = 128;

    /// <summary>HNSW breadth while searching, unless a request sets its own. Default 96.</summary>
    public int HnswEfSearch { get; init; } = 96;

    /// <summary>
    /// Under an access filter (<see cref="Model.Filter.ReadableBy"/>), a vector search whose candidates (rows the caller's
    /// principals can read, counted from the reader lists) number at most this is exact over them; above it, HNSW with
    /// the filter applied during the graph traversal. 0 always uses the graph once it exists. Default 9,000 (measured:
    /// docs/decisions/0028). Negative values throw <see cref="ArgumentOutOfRangeException"/> when the engine is made.
    /// </summary>
    public int FilteredExactRows { get; init; } = 9_000;

    /// <summary>
    /// Keep the float32 vectors of int8 collections (<see cref="Model.VectorQuantization.Int8"/>, the default quantisation)
    /// in memory. Default false: they are held, sealed under a key that lives only in the process, in a nameless file of
    /// the tenant's folder while it is open, and read from there to re-rank a search's candidates and to return a row's
    /// vector (1.5 KB less memory per 384-dimension row; each re-ranked vector costs a read and a decryption). Search
    /// results are the same either way. Binary and unquantised collections always keep them in memory (docs/decisions/0048).
    /// </summary>
    public bool FullVectorsInMemory { get; init; }

    /// <summary>Clock for created-at defaults and idle timeouts.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logger for the engine's own events.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Tests only: the BM25 index builds that follow a tenant's open wait for this task.</summary>
    internal Task? TextBuildGate { get; init; }
}
