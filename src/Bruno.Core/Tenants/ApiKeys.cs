using System.Data.Common;
using System.Security.Cryptography;
using System.Text;
using Bruno.Storage.Identity;

namespace Bruno.Core.Tenants;

/// <summary>An API key as listed (never its secret).</summary>
public sealed record ApiKeyInfo(string Id, TenantId Tenant, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>A new key: <see cref="Key"/> is shown once and never stored.</summary>
public sealed record IssuedApiKey(ApiKeyInfo Info, string Key);

/// <summary>
/// Per-tenant API keys for machines: <c>brk_&lt;id&gt;_&lt;secret&gt;</c>, where the id is public and the 256-bit random
/// secret is kept only as its SHA-256 (a slow hash adds nothing for secrets of that entropy). Revocation takes effect on
/// the next request. Throws <see cref="ArgumentException"/> for a bad name or scopes.
/// </summary>
public sealed class ApiKeys
{
    /// <summary>The prefix every key starts with (so it is recognised, and found by secret scanners).</summary>
    public const string Prefix = "brk_";

    private const string Columns = "id, tenant, name, scopes, created_at, revoked_at";

    private readonly CatalogDatabase _db;
    private readonly TimeProvider _time;

    /// <summary>Keys in the catalog database <paramref name="db"/>, the table made by <see cref="CatalogSchema"/>.</summary>
    public ApiKeys(CatalogDatabase db, TimeProvider? time = null)
    {
        _db = db;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Keys in the SQLite catalog at <paramref name="catalogPath"/> (tests and tools).</summary>
    public ApiKeys(string catalogPath, TimeProvider? time = null)
        : this(CatalogDatabase.Sqlite(catalogPath), time)
    {
    }

    /// <summary>Creates a key for <paramref name="tenant"/>.</summary>
    public IssuedApiKey Create(TenantId tenant, string name, IEnumerable<string> scopes)
    {
        name = (name ?? string.Empty).Trim();
        if (name.Length is 0 or > 100 || name.Any(char.IsControl))
        {
            throw new ArgumentException("A key name has 1-100 characters and no control characters.", nameof(name));
        }

        var list = scopes.Distinct(StringComparer.Ordinal).ToList();
        if (list.Count == 0 || list.Any(s => !Identity.Scopes.TenantScopes.Contains(s)))
        {
            throw new ArgumentException($"Scopes must be some of: {string.Join(", ", Identity.Scopes.TenantScopes)}.", nameof(scopes));
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = DateTimeOffset.FromUnixTimeMilliseconds(_time.GetUtcNow().ToUnixTimeMilliseconds());
        _db.Execute(
            "INSERT INTO api_keys(id, tenant, name, scopes, secret_hash, created_at) VALUES(@id, @tenant, @name, @scopes, @hash, @created);",
            ("@id", id),
            ("@tenant", tenant.Value),
            ("@name", name),
            ("@scopes", string.Join(' ', list)),
            ("@hash", Hash(secret)),
            ("@created", now.ToUnixTimeMilliseconds()));
        return new IssuedApiKey(new ApiKeyInfo(id, tenant, name, list, now, null), $"{Prefix}{id}_{secret}");
    }

    /// <summary>The key's record when <paramref name="key"/> is a valid, unrevoked key; else null. Constant-time on the secret.</summary>
    public ApiKeyInfo? Verify(string? key) => Check(key).Valid;

    /// <summary>
    /// Checks <paramref name="key"/>: <c>Valid</c> is its record when the key is valid and unrevoked; <c>Named</c> is the
    /// record of the key id it names whether or not the secret matched (null for an unknown id), so that a failed
    /// sign-in can be recorded in the right tenant's audit log. Constant-time on the secret.
    /// </summary>
    public (ApiKeyInfo? Valid, ApiKeyInfo? Named) Check(string? key)
    {
        if (key is null || !key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length > 200)
        {
            return (null, null);
        }

        var rest = key.AsSpan(Prefix.Length);
        var sep = rest.IndexOf('_');
        if (sep != 16)
        {
            return (null, null);
        }

        var id = rest[..sep].ToString();
        var found = _db.Query($"SELECT {Columns}, secret_hash FROM api_keys WHERE id = @id;", r => (Info: Read(r), Hash: (byte[])r.GetValue(6)), ("@id", id));
        if (found.Count == 0)
        {
            return (null, null);
        }

        var (info, stored) = found[0];
        return (CryptographicOperations.FixedTimeEquals(stored, Hash(rest[(sep + 1)..].ToString())) && info.RevokedAt is null ? info : null, info);
    }

    /// <summary>The tenant's keys, newest first.</summary>
    public IReadOnlyList<ApiKeyInfo> List(TenantId tenant) =>
        _db.Query($"SELECT {Columns} FROM api_keys WHERE tenant = @tenant ORDER BY created_at DESC, id;", Read, ("@tenant", tenant.Value));

    /// <summary>Revokes a key of <paramref name="tenant"/>; false when the tenant has no such key (or it was revoked).</summary>
    public bool Revoke(TenantId tenant, string id) =>
        _db.Execute(
            "UPDATE api_keys SET revoked_at = @now WHERE id = @id AND tenant = @tenant AND revoked_at IS NULL;",
            ("@id", id ?? string.Empty),
            ("@tenant", tenant.Value),
            ("@now", _time.GetUtcNow().ToUnixTimeMilliseconds())) == 1;

    private static ApiKeyInfo Read(DbDataReader r) => new(
        r.GetString(0),
        TenantId.Parse(r.GetString(1)),
        r.GetString(2),
        r.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
        r.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)));

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
