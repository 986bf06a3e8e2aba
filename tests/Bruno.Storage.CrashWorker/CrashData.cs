using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.CrashWorker;

/// <summary>Deterministic batches: the worker writes them, the test re-creates them to check what survived, byte for byte.</summary>
public static class CrashData
{
    public const string Collection = "chunks";
    public const int Dimension = 32;

    /// <summary>Low, so that the child builds HNSW graphs and writes checkpoints of them between kills (decision 0044).</summary>
    public const int AnnThreshold = 300;

    /// <summary>A narrow construction breadth (the default is 128) keeps the indexing of some 75,000 rows cheap in a Debug build.</summary>
    public const int HnswEfConstruction = 32;

    public static CollectionSpec Spec { get; } = new(Collection, Dimension, "crash-test-model", VectorMetric.Dot);

    /// <summary>
    /// Mostly 1-100 rows (small transactions, committed through the write-ahead log), one batch in eight 256-455 rows
    /// (large ones, through the rollback journal), so kills land in both modes and in the switches between them
    /// (decision 0040).
    /// </summary>
    public static int BatchSize(string tenant, int batch)
    {
        var mix = Mix(tenant, batch, -1);
        return mix % 8 == 0 ? 256 + (int)(mix / 8 % 200) : 1 + (int)(mix % 100);
    }

    public static StoredRow[] Batch(string tenant, int batch)
    {
        var size = BatchSize(tenant, batch);
        var rows = new StoredRow[size];
        for (var i = 0; i < size; i++)
        {
            var rng = new Random((int)Mix(tenant, batch, i));
            var vector = new float[Dimension];
            for (var d = 0; d < Dimension; d++)
            {
                vector[d] = (float)((rng.NextDouble() * 2) - 1);
            }

            rows[i] = new StoredRow
            {
                Id = $"{tenant}-b{batch}-r{i}",
                Text = $"batch {batch} row {i} of {tenant}: the quick brown fox number {rng.Next()} jumps",
                Vector = vector,
                Metadata = new Dictionary<string, MetadataValue> { ["batch"] = batch, ["tag"] = $"t{i % 7}", ["even"] = i % 2 == 0 },
                UserId = i % 3 == 0 ? UserId.Parse($"u{i % 4}") : null,
                CreatedAt = DateTimeOffset.UnixEpoch.AddSeconds(batch).AddMilliseconds(i),
            };
        }

        return rows;
    }

    private static uint Mix(string tenant, int batch, int i)
    {
        var h = 2166136261u;
        foreach (var c in $"{tenant}/{batch}/{i}")
        {
            h = (h ^ c) * 16777619u;
        }

        return h & 0x7FFFFFFF;
    }
}
