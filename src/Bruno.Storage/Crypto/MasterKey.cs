using System.Security.Cryptography;
using System.Text;
using Bruno.Storage.Format;

namespace Bruno.Storage.Crypto;

/// <summary>
/// The 256-bit key that wraps every tenant's key ring. It is read from a file (created 0600 on first start),
/// or supplied as base64 by the host (environment variable, mounted secret).
/// </summary>
public sealed class MasterKey : IDisposable
{
    /// <summary>Key length in bytes.</summary>
    public const int Length = 32;

    private readonly byte[] _key;

    private MasterKey(byte[] key) => _key = key;

    internal ReadOnlySpan<byte> Bytes => _key;

    /// <summary>Makes a key from base64; throws <see cref="FormatException"/> unless it decodes to exactly 32 bytes.</summary>
    public static MasterKey FromBase64(string base64)
    {
        ArgumentNullException.ThrowIfNull(base64);
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new FormatException("The master key is not valid base64.");
        }

        return key.Length == Length ? new MasterKey(key) : throw new FormatException($"The master key must decode to {Length} bytes, not {key.Length}.");
    }

    /// <summary>A fresh random key (tests and first start).</summary>
    public static MasterKey Generate() => new(RandomNumberGenerator.GetBytes(Length));

    /// <summary>
    /// Reads the key from <paramref name="path"/>, or creates it there with mode 0600 when the file does not exist (two
    /// processes creating it at once end up with the same key). Throws <see cref="FormatException"/> for a file that
    /// does not hold a valid key, and <see cref="StorageException"/> when an existing key file is readable by others or
    /// writable by anyone but its owner; readable by its group only when <paramref name="allowGroupRead"/> (a Kubernetes
    /// secret mounted for a non-root group is 0440).
    /// </summary>
    public static MasterKey LoadOrCreate(string path, bool allowGroupRead = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var key = Generate();
            try
            {
                Durable.WriteNewAtomically(path, Encoding.ASCII.GetBytes(Convert.ToBase64String(key._key) + "\n"));
                return key;
            }
            catch (IOException) when (File.Exists(path))
            {
                key.Dispose(); // another process created it first: use theirs
            }
        }

        var forbidden = UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | (allowGroupRead ? 0 : UnixFileMode.GroupRead);
        if ((File.GetUnixFileMode(path) & forbidden) != 0)
        {
            throw new StorageException($"The master key file '{path}' is readable or writable by others; it must be mode 0600.");
        }

        return FromBase64(File.ReadAllText(path));
    }

    /// <summary>The key as base64, to move it into a secret store. Treat the result as the key itself.</summary>
    public string ToBase64() => Convert.ToBase64String(_key);

    /// <summary>Zeroes the key in memory.</summary>
    public void Dispose() => CryptographicOperations.ZeroMemory(_key);
}
