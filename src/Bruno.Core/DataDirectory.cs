using Bruno.Storage.Crypto;

namespace Bruno.Core;

/// <summary>
/// The layout of a data root: <c>catalog.db</c>, <c>secrets/</c> (master key and token-signing key, 0600, in a 0700
/// folder), <c>store/</c> (the tenant stores) and <c>tmp/</c> (uploads being processed, such as bundles to import).
/// Creating it is idempotent; existing keys are never replaced.
/// </summary>
public sealed class DataDirectory
{
    /// <summary>
    /// Opens (creating when missing) the layout under <paramref name="root"/>; <paramref name="secretsFolder"/> moves the
    /// key files elsewhere (a mounted secret shared by gateways; it is created only when missing). Throws
    /// <see cref="IOException"/> when it cannot.
    /// </summary>
    public DataDirectory(string root, string? secretsFolder = null)
    {
        Root = Path.GetFullPath(root);
        SecretsFolder = Path.GetFullPath(secretsFolder ?? Path.Combine(Root, "secrets"));
        SecretsShared = secretsFolder is not null;
        Create(Root);
        if (!Directory.Exists(SecretsFolder))
        {
            Create(SecretsFolder);
        }

        Create(Path.Combine(Root, "secrets"));
        Create(StoreRoot);
    }

    /// <summary>The layout the options name (<see cref="BrunoOptions.DataRoot"/>, <see cref="BrunoOptions.SecretsFolder"/>).</summary>
    public static DataDirectory For(BrunoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new DataDirectory(options.DataRoot, string.IsNullOrEmpty(options.SecretsFolder) ? null : options.SecretsFolder);
    }

    /// <summary>The absolute data root.</summary>
    public string Root { get; }

    /// <summary>Folder of the key files.</summary>
    public string SecretsFolder { get; }

    /// <summary>
    /// Whether the key files are in a folder of their own (a mounted secret several processes share) rather than the
    /// data root's; such files may be readable by their group (Kubernetes mounts them 0440 for the pod's fsGroup).
    /// </summary>
    public bool SecretsShared { get; }

    /// <summary>Data root of the storage engine.</summary>
    public string StoreRoot => Path.Combine(Root, "store");

    /// <summary>Folder of temporary files the server works on (0700; emptied when the server starts).</summary>
    public string TempFolder => Path.Combine(Root, "tmp");

    /// <summary>The SQLite catalog of tenants.</summary>
    public string CatalogPath => Path.Combine(Root, "catalog.db");

    /// <summary>The master key file: always in the data root's own <c>secrets/</c>, never in a shared <see cref="SecretsFolder"/>.</summary>
    public string MasterKeyPath => Path.Combine(Root, "secrets", "master.key");

    /// <summary>The token-signing key file.</summary>
    public string SigningKeyPath => Path.Combine(SecretsFolder, "token-signing.key");

    /// <summary>The private key that signs audit checkpoints and erasure receipts.</summary>
    public string PlatformSigningKeyPath => Path.Combine(SecretsFolder, "platform-signing.pem");

    /// <summary>The public half of <see cref="PlatformSigningKeyPath"/>, for verifiers.</summary>
    public string PlatformPublicKeyPath => Path.Combine(Root, "platform-signing.pub.pem");

    /// <summary>The master key: from <paramref name="base64"/> when given, else the key file (created on first use).</summary>
    public MasterKey LoadMasterKey(string? base64) =>
        string.IsNullOrEmpty(base64) ? MasterKey.LoadOrCreate(MasterKeyPath) : MasterKey.FromBase64(base64);

    /// <summary>
    /// A new temporary file in <see cref="TempFolder"/> (0600), open for reading and writing and deleted when closed.
    /// Throws <see cref="IOException"/> when it cannot be created.
    /// </summary>
    public FileStream CreateTempFile()
    {
        Create(TempFolder);
        return new FileStream(Path.Combine(TempFolder, Guid.NewGuid().ToString("N") + ".tmp"), new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
    }

    /// <summary>Deletes what a stopped process left in <see cref="TempFolder"/> (call at start, before any request).</summary>
    public void ClearTempFolder()
    {
        if (Directory.Exists(TempFolder))
        {
            foreach (var file in Directory.EnumerateFiles(TempFolder))
            {
                File.Delete(file);
            }
        }
    }

    private static void Create(string path)
    {
        if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
