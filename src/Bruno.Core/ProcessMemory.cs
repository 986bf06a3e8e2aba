namespace Bruno.Core;

/// <summary>
/// Gives the process's free memory back to the operating system at a quiet moment (the end of start-up, the release of
/// the embedding model's batch session): one compacting, decommitting collection of the managed heap, then the C heap's
/// free blocks (glibc; elsewhere only the collection). It blocks for the collection (milliseconds on a heap this size)
/// and never fails.
/// </summary>
public static class ProcessMemory
{
    /// <summary>Compacts and decommits the managed heap, large objects included, and trims the C heap.</summary>
    public static void Settle()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Embeddings.NativeMemory.Trim();
    }
}
