using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Bruno.Storage.Format;
using Bruno.Storage.Identity;

namespace Bruno.Storage.Crypto;

/// <summary>
/// One tenant's keys: the tenant data key and one data key per user, held in a single file outside the tenant's
/// folder, sealed with AES-256-GCM under the master key. Destroying an entry (or the file) is what erases.
/// </summary>
/// <remarks>
/// File layout: "BRKR" | u16 version (1) | 12-byte nonce | ciphertext | 16-byte tag.
/// The associated data binds the file to its tenant, so a key ring cannot be swapped between tenants.
/// Plaintext: 32-byte tenant key | u32 user count | per user: u8 id length, id (UTF-8), 16-byte slot, 32-byte key.
/// </remarks>
internal sealed class KeyRing
{
    internal const int KeyLength = 32;
    internal const int SlotLength = 16;
    private const int Version = 1;
    private static readonly byte[] Magic = "BRKR"u8.ToArray();

    private readonly string _path;
    private readonly TenantId _tenant;
    private readonly MasterKey _master;
    private readonly Dictionary<string, UserKey> _users;
    private readonly Dictionary<Slot, UserKey> _bySlot;

    private KeyRing(string path, TenantId tenant, MasterKey master, byte[] tenantKey, IEnumerable<UserKey> users)
    {
        (_path, _tenant, _master, TenantKey) = (path, tenant, master, tenantKey);
        _users = users.ToDictionary(u => u.User.Value, StringComparer.Ordinal);
        _bySlot = _users.Values.ToDictionary(u => u.Slot);
    }

    /// <summary>The tenant's data key: encrypts rows shared by the tenant.</summary>
    public byte[] TenantKey { get; }

    /// <summary>A new key ring with a fresh tenant key, not yet on disk (see <see cref="SaveNew"/>).</summary>
    public static KeyRing CreateUnsaved(string path, TenantId tenant, MasterKey master) =>
        new(path, tenant, master, RandomNumberGenerator.GetBytes(KeyLength), []);

    /// <summary>Writes a new key ring file (0600, fsynced); fails if one exists.</summary>
    public void SaveNew() => Durable.WriteNew(_path, Seal());

    /// <summary>Reads and opens the key ring. Throws <see cref="DataUnreadableException"/> when it does not decrypt under the master key.</summary>
    public static KeyRing Load(string path, TenantId tenant, MasterKey master)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 4 + 2 + 12 + 16 || !bytes.AsSpan(0, 4).SequenceEqual(Magic))
        {
            throw new DataUnreadableException($"The key ring of tenant '{tenant}' is not a Bruno key ring.");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(4));
        if (version != Version)
        {
            throw new StorageFormatException($"The key ring of tenant '{tenant}' has version {version}; this engine reads version {Version}.");
        }

        var nonce = bytes.AsSpan(6, 12);
        var cipher = bytes.AsSpan(18, bytes.Length - 18 - 16);
        var tag = bytes.AsSpan(bytes.Length - 16);
        var plain = new byte[cipher.Length];
        try
        {
            using var aes = new AesGcm(master.Bytes, 16);
            aes.Decrypt(nonce, cipher, tag, plain, Aad(tenant));
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new DataUnreadableException($"The key ring of tenant '{tenant}' does not open with this master key.", e);
        }

        try
        {
            var span = plain.AsSpan();
            var tenantKey = span[..KeyLength].ToArray();
            var count = BinaryPrimitives.ReadInt32LittleEndian(span[KeyLength..]);
            var pos = KeyLength + 4;
            var users = new List<UserKey>(count);
            for (var i = 0; i < count; i++)
            {
                int len = span[pos++];
                var user = UserId.Parse(Encoding.UTF8.GetString(span.Slice(pos, len)));
                pos += len;
                var slot = new Slot(span.Slice(pos, SlotLength).ToArray());
                pos += SlotLength;
                users.Add(new UserKey(user, slot, span.Slice(pos, KeyLength).ToArray()));
                pos += KeyLength;
            }

            return new KeyRing(path, tenant, master, tenantKey, users);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    public UserKey? Find(UserId user) => _users.GetValueOrDefault(user.Value);

    public UserKey? Find(Slot slot) => _bySlot.GetValueOrDefault(slot);

    public IReadOnlyCollection<UserKey> Users => _users.Values;

    /// <summary>Returns the user's key, creating and durably recording it first when the user has none.</summary>
    public UserKey GetOrAdd(UserId user)
    {
        if (_users.TryGetValue(user.Value, out var existing))
        {
            return existing;
        }

        var added = new UserKey(user, new Slot(RandomNumberGenerator.GetBytes(SlotLength)), RandomNumberGenerator.GetBytes(KeyLength));
        _users.Add(user.Value, added);
        _bySlot.Add(added.Slot, added);
        try
        {
            Durable.Replace(_path, Seal());
        }
        catch
        {
            _users.Remove(user.Value);
            _bySlot.Remove(added.Slot);
            throw;
        }

        return added;
    }

    /// <summary>Destroys the user's key (durably) so every copy of the user's rows becomes unreadable. Returns false when the user had no key.</summary>
    public bool Destroy(UserId user)
    {
        if (!_users.Remove(user.Value, out var key))
        {
            return false;
        }

        _bySlot.Remove(key.Slot);
        Durable.Replace(_path, Seal());
        CryptographicOperations.ZeroMemory(key.Key);
        return true;
    }

    private static byte[] Aad(TenantId tenant) => Encoding.UTF8.GetBytes("bruno/keyring/v1/" + tenant.Value);

    private byte[] Seal()
    {
        var size = KeyLength + 4 + _users.Values.Sum(u => 1 + Encoding.UTF8.GetByteCount(u.User.Value) + SlotLength + KeyLength);
        var plain = new byte[size];
        try
        {
            var span = plain.AsSpan();
            TenantKey.CopyTo(span);
            BinaryPrimitives.WriteInt32LittleEndian(span[KeyLength..], _users.Count);
            var pos = KeyLength + 4;
            foreach (var u in _users.Values)
            {
                var len = Encoding.UTF8.GetBytes(u.User.Value, span[(pos + 1)..]);
                span[pos] = (byte)len;
                pos += 1 + len;
                u.Slot.Bytes.CopyTo(span[pos..]);
                pos += SlotLength;
                u.Key.CopyTo(span[pos..]);
                pos += KeyLength;
            }

            var output = new byte[4 + 2 + 12 + size + 16];
            Magic.CopyTo(output, 0);
            BinaryPrimitives.WriteUInt16LittleEndian(output.AsSpan(4), Version);
            var nonce = output.AsSpan(6, 12);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(_master.Bytes, 16);
            aes.Encrypt(nonce, plain, output.AsSpan(18, size), output.AsSpan(18 + size, 16), Aad(_tenant));
            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }
}

/// <summary>A user's data key and the random slot that names it on disk (user ids never appear on disk in clear).</summary>
internal sealed record UserKey(UserId User, Slot Slot, byte[] Key);

/// <summary>16 random bytes naming a user's key on disk.</summary>
internal readonly struct Slot(byte[] bytes) : IEquatable<Slot>
{
    public byte[] Bytes { get; } = bytes;

    public bool Equals(Slot other) => Bytes.AsSpan().SequenceEqual(other.Bytes);

    public override bool Equals(object? obj) => obj is Slot s && Equals(s);

    public override int GetHashCode() => BinaryPrimitives.ReadInt32LittleEndian(Bytes);
}
