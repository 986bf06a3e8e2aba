using System.Runtime.InteropServices;

namespace Bruno.Storage.Format;

/// <summary>File operations with the fsyncs that make them survive power loss: new files are created 0600,
/// written, fsynced, renamed into place, and their directory fsynced.</summary>
internal static partial class Durable
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Creates <paramref name="path"/> (failing if it exists) with mode 0600 and fsyncs it and its directory.</summary>
    public static void WriteNew(string path, ReadOnlySpan<byte> content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        options.UnixCreateMode = OwnerOnly;

        using (var fs = new FileStream(path, options))
        {
            fs.Write(content);
            fs.Flush(flushToDisk: true);
        }

        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>
    /// Creates <paramref name="path"/> (0600) with <paramref name="content"/> all at once: the bytes are written and fsynced
    /// under a temporary name, then linked into place, so another process never sees the file half-written. Throws
    /// <see cref="IOException"/> when the file exists (another process created it first).
    /// </summary>
    public static void WriteNewAtomically(string path, ReadOnlySpan<byte> content)
    {
        var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        options.UnixCreateMode = OwnerOnly;
        try
        {
            using (var fs = new FileStream(tmp, options))
            {
                fs.Write(content);
                fs.Flush(flushToDisk: true);
            }

            File.Move(tmp, path, overwrite: false);
        }
        finally
        {
            File.Delete(tmp);
        }

        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="content"/>: a reader sees the old or the new bytes, never a mix.</summary>
    public static void Replace(string path, ReadOnlySpan<byte> content)
    {
        var tmp = path + ".tmp";
        File.Delete(tmp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        options.UnixCreateMode = OwnerOnly;

        using (var fs = new FileStream(tmp, options))
        {
            fs.Write(content);
            fs.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Overwrites a file's bytes with zeros, fsyncs, then unlinks it and fsyncs its directory. Missing files are ignored.</summary>
    public static void Shred(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using (var fs = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.None))
        {
            var zeros = new byte[Math.Min(fs.Length, 1 << 16)];
            for (long left = fs.Length; left > 0; left -= zeros.Length)
            {
                fs.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
            }

            fs.Flush(flushToDisk: true);
        }

        File.Delete(path);
        SyncDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>fsyncs a directory so that a create, rename or unlink inside it is durable.</summary>
    public static void SyncDirectory(string directory)
    {
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
        {
            throw new IOException($"Cannot open directory for fsync (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"fsync of a directory failed (errno {Marshal.GetLastPInvokeError()}).");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
