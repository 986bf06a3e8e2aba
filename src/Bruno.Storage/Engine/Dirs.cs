using Bruno.Storage.Identity;

namespace Bruno.Storage.Engine;

/// <summary>Folder checks: tenant folders are real directories (not links) inside the data root, mode 0700.</summary>
internal static class Dirs
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Throws <see cref="StorageException"/> when the tenant's folder is missing, a symbolic link, or not owner-only.</summary>
    public static void EnsureRealDirectory(string folder, TenantId tenant)
    {
        var info = new DirectoryInfo(folder);
        if (!info.Exists)
        {
            throw new StorageFormatException($"Tenant '{tenant}' has a key but no folder; the folder was removed or not restored.");
        }

        if (info.LinkTarget is not null)
        {
            throw new StorageException($"The folder of tenant '{tenant}' is a symbolic link; tenant folders must be real directories inside the data root.");
        }

        if ((info.UnixFileMode & ~OwnerOnly) != 0)
        {
            info.UnixFileMode = OwnerOnly;
        }
    }
}
