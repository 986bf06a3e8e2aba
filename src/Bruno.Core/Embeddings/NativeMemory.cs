using System.Runtime.InteropServices;

namespace Bruno.Core.Embeddings;

/// <summary>
/// Gives memory the model no longer needs back to the operating system (Linux with glibc; elsewhere nothing happens):
/// the model file's pages inside the package's mapped assembly once they were read, and the C heap's free blocks once
/// a session is disposed. Every call is advice: a failure changes nothing and is ignored.
/// </summary>
internal static partial class NativeMemory
{
    private const int MadviseDontNeed = 4;
    private const int MallocMmapThreshold = -3;

    private static int _tuned;

    /// <summary>
    /// Drops this process's mapping of the whole pages inside <paramref name="length"/> bytes at
    /// <paramref name="start"/>, a read-only resource of a mapped assembly: they stay in the page cache, leave the
    /// process's resident set, and are read again from the file if touched.
    /// </summary>
    public static void Release(nint start, long length)
    {
        if (!OperatingSystem.IsLinux() || start == 0 || length <= 0)
        {
            return;
        }

        var page = Environment.SystemPageSize;
        var first = (start + page - 1) / page * page;
        var end = (start + (nint)length) / page * page;
        if (end > first)
        {
            Try(() => Madvise(first, (nuint)(end - first), MadviseDontNeed));
        }
    }

    /// <summary>
    /// Once per process: C heap blocks of 256 KB and more are mapped on their own, so that freeing them (ONNX Runtime's
    /// arena regions, when a session goes) returns them at once instead of leaving them in the heap.
    /// </summary>
    public static void TuneOnce()
    {
        if (OperatingSystem.IsLinux() && Interlocked.Exchange(ref _tuned, 1) == 0)
        {
            Try(() => Mallopt(MallocMmapThreshold, 256 * 1024));
        }
    }

    /// <summary>Returns the C heap's free memory at its top and in its middle to the operating system.</summary>
    public static void Trim()
    {
        if (OperatingSystem.IsLinux())
        {
            Try(() => MallocTrim(0));
        }
    }

    private static void Try(Func<int> call)
    {
        try
        {
            _ = call();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // not glibc: nothing to give back this way
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
