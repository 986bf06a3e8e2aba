using System.Security.Cryptography;
using System.Text;
using Bruno.Storage.Identity;
using Microsoft.Data.Sqlite;

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

    private readonly string _connectionString;
    private readonly TimeProvider _time;

    /// <summary>Keys in the catalog database at <paramref name="catalogPath"/>.</summary>
    public ApiKeys(string catalogPath, TimeProvider? time = null)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = catalogPath, Pooling = true }.ToString();
        _time = time ?? TimeProvider.System;
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE IF NOT EXISTS api_keys(
              id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL,
              secret_hash BLOB NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER NULL);
            CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys(tenant);
            """;
        cmd.ExecuteNonQuery();
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
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO api_keys(id, tenant, name, scopes, secret_hash, created_at) VALUES($id, $tenant, $name, $scopes, $hash, $created);";
        cmd.Parameters.AddWithValue("$id", id);
        cmd.Parameters.AddWithValue("$tenant", tenant.Value);
        cmd.Parameters.AddWithValue("$name", name);
        cmd.Parameters.AddWithValue("$scopes", string.Join(' ', list));
        cmd.Parameters.AddWithValue("$hash", Hash(secret));
        cmd.Parameters.AddWithValue("$created", now.ToUnixTimeMilliseconds());
        cmd.ExecuteNonQuery();
        return new IssuedApiKey(new ApiKeyInfo(id, tenant, name, list, now, null), $"{Prefix}{id}_{secret}");
    }

    /// <summary>The key's record when <paramref name="key"/> is a valid, unrevoked key; else null. Constant-time on the secret.</summary>
    public ApiKeyInfo? Verify(string? key)
    {
        if (key is null || !key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length > 200)
        {
            return null;
        }

        var rest = key.AsSpan(Prefix.Length);
        var sep = rest.IndexOf('_');
        if (sep != 16)
        {
            return null;
        }

        var id = rest[..sep].ToString();
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, tenant, name, scopes, created_at, revoked_at, secret_hash FROM api_keys WHERE id = $id;";
        cmd.Parameters.AddWithValue("$id", id);
        using var r = cmd.ExecuteReader();
        if (!r.Read())
        {
            return null;
        }

        var info = Read(r);
        var stored = (byte[])r.GetValue(6);
        return CryptographicOperations.FixedTimeEquals(stored, Hash(rest[(sep + 1)..].ToString())) && info.RevokedAt is null ? info : null;
    }

    /// <summary>The tenant's keys, newest first.</summary>
    public IReadOnlyList<ApiKeyInfo> List(TenantId tenant)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, tenant, name, scopes, created_at, revoked_at FROM api_keys WHERE tenant = $tenant ORDER BY created_at DESC, id;";
        cmd.Parameters.AddWithValue("$tenant", tenant.Value);
        using var r = cmd.ExecuteReader();
        var list = new List<ApiKeyInfo>();
        while (r.Read())
        {
            list.Add(Read(r));
        }

        return list;
    }

    /// <summary>Revokes a key of <paramref name="tenant"/>; false when the tenant has no such key (or it was revoked).</summary>
    public bool Revoke(TenantId tenant, string id)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE api_keys SET revoked_at = $now WHERE id = $id AND tenant = $tenant AND revoked_at IS NULL;";
        cmd.Parameters.AddWithValue("$id", id ?? string.Empty);
        cmd.Parameters.AddWithValue("$tenant", tenant.Value);
        cmd.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        return cmd.ExecuteNonQuery() == 1;
    }

    private static ApiKeyInfo Read(SqliteDataReader r) => new(
        r.GetString(0),
        TenantId.Parse(r.GetString(1)),
        r.GetString(2),
        r.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
        r.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)));

    private static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return c;
    }
}
