using System.Text;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Bruno.Storage.Format;

/// <summary>
/// The tenant's SQLite file (<c>store.db</c>): a durable container of encrypted row blobs. SQLite gives atomic,
/// fsynced commits (WAL, synchronous=FULL); the engine puts nothing in clear into it but collection names, vector
/// dimensions, embedding model names and keyed hashes of row ids. See docs/design/storage-format.md.
/// </summary>
internal sealed class TenantDatabase : IDisposable
{
    /// <summary>Receives one stored row; <paramref name="payload"/> is valid only during the call.</summary>
    public delegate void RowVisitor(int cid, byte[] hid, byte[]? owner, ReadOnlySpan<byte> payload);

    /// <summary>"BRNO": marks the file as a Bruno tenant store (PRAGMA application_id).</summary>
    public const int ApplicationId = 0x42524E4F;

    /// <summary>On-disk format version (PRAGMA user_version); bump only with a migration.</summary>
    public const int FormatVersion = 1;

    public const string FileName = "store.db";

    private static readonly byte[] KeyCheckPlain = "bruno-key-check-v1"u8.ToArray();
    private readonly SqliteConnection _connection;
    private readonly TenantId _tenant;
    private SqliteCommand? _upsert;
    private SqliteCommand? _delete;
    private SqliteTransaction? _tx;

    private TenantDatabase(SqliteConnection connection, TenantId tenant) => (_connection, _tenant) = (connection, tenant);

    /// <summary>Opens (creating when <paramref name="create"/>) the database and checks format and key.</summary>
    public static TenantDatabase Open(string folder, TenantId tenant, KeyRing ring, bool create)
    {
        var path = Path.Combine(folder, FileName);
        var isNew = !File.Exists(path);
        if (isNew && !create)
        {
            throw new StorageFormatException($"Tenant '{tenant}' has a key but no store file; the folder was removed or not restored.");
        }

        if (isNew)
        {
            // Create the file 0600 first: SQLite gives the -wal file the same mode.
            Durable.WriteNew(path, []);
        }

        var cs = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString();
        var connection = new SqliteConnection(cs);
        var db = new TenantDatabase(connection, tenant);
        try
        {
            connection.Open();
            db.Exec("PRAGMA locking_mode=EXCLUSIVE; PRAGMA secure_delete=ON; PRAGMA cache_size=-512; PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;");
            if (isNew)
            {
                db.Exec("PRAGMA auto_vacuum=INCREMENTAL;");
            }

            db.Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA journal_size_limit=4194304;");
            if (isNew)
            {
                db.CreateSchema(ring);
            }
            else
            {
                db.CheckFormat(ring);
            }

            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    public List<(int Cid, CollectionSpec Spec)> LoadCollections()
    {
        using var cmd = Command("SELECT cid, name, dimension, model, metric FROM collections ORDER BY cid");
        using var r = cmd.ExecuteReader();
        var list = new List<(int, CollectionSpec)>();
        while (r.Read())
        {
            list.Add((r.GetInt32(0), new CollectionSpec(r.GetString(1), r.GetInt32(2), r.GetString(3), (VectorMetric)r.GetInt32(4))));
        }

        return list;
    }

    /// <summary>
    /// Visits every stored row. Uses SQLite's C API directly so that payloads are read in place, without a copy per
    /// row; the payload span is valid only during the call.
    /// </summary>
    public void ReadRows(RowVisitor visit)
    {
        var rc = raw.sqlite3_prepare_v2(_connection.Handle, "SELECT cid, hid, owner, payload FROM rows", out var stmt);
        if (rc != raw.SQLITE_OK)
        {
            throw new StorageException($"Reading the store failed (SQLite error {rc}).");
        }

        using (stmt)
        {
            while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
            {
                var owner = raw.sqlite3_column_type(stmt, 2) == raw.SQLITE_NULL ? null : raw.sqlite3_column_blob(stmt, 2).ToArray();
                visit(raw.sqlite3_column_int(stmt, 0), raw.sqlite3_column_blob(stmt, 1).ToArray(), owner, raw.sqlite3_column_blob(stmt, 3));
            }
        }

        if (rc != raw.SQLITE_DONE)
        {
            throw new StorageException($"Reading the store failed (SQLite error {rc}).");
        }
    }

    /// <summary>Rows stored per collection id.</summary>
    public Dictionary<int, int> CountRows()
    {
        using var cmd = Command("SELECT cid, count(*) FROM rows GROUP BY cid");
        using var r = cmd.ExecuteReader();
        var counts = new Dictionary<int, int>();
        while (r.Read())
        {
            counts[r.GetInt32(0)] = r.GetInt32(1);
        }

        return counts;
    }

    public void Begin() => _tx = _connection.BeginTransaction();

    public void Commit()
    {
        _tx!.Commit();
        _tx.Dispose();
        _tx = null;
    }

    public void Rollback()
    {
        try
        {
            _tx?.Rollback();
        }
        finally
        {
            _tx?.Dispose();
            _tx = null;
        }
    }

    public void Savepoint() => Exec("SAVEPOINT op");

    public void ReleaseSavepoint() => Exec("RELEASE op");

    public void RollbackSavepoint() => Exec("ROLLBACK TO op; RELEASE op");

    public int InsertCollection(CollectionSpec spec)
    {
        using var cmd = Command("INSERT INTO collections(name, dimension, model, metric) VALUES ($n, $d, $m, $t) RETURNING cid");
        cmd.Parameters.AddWithValue("$n", spec.Name);
        cmd.Parameters.AddWithValue("$d", spec.Dimension);
        cmd.Parameters.AddWithValue("$m", spec.Model);
        cmd.Parameters.AddWithValue("$t", (int)spec.Metric);
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public void Upsert(int cid, byte[] hid, byte[]? owner, byte[] payload)
    {
        if (_upsert is null)
        {
            _upsert = Command("INSERT INTO rows(cid, hid, owner, payload) VALUES ($c, $h, $o, $p) ON CONFLICT(cid, hid) DO UPDATE SET owner = excluded.owner, payload = excluded.payload");
            _upsert.Parameters.Add("$c", SqliteType.Integer);
            _upsert.Parameters.Add("$h", SqliteType.Blob);
            _upsert.Parameters.Add("$o", SqliteType.Blob);
            _upsert.Parameters.Add("$p", SqliteType.Blob);
            _upsert.Prepare();
        }

        _upsert.Transaction = _tx;
        _upsert.Parameters[0].Value = cid;
        _upsert.Parameters[1].Value = hid;
        _upsert.Parameters[2].Value = (object?)owner ?? DBNull.Value;
        _upsert.Parameters[3].Value = payload;
        _upsert.ExecuteNonQuery();
    }

    public void Delete(int cid, byte[] hid)
    {
        if (_delete is null)
        {
            _delete = Command("DELETE FROM rows WHERE cid = $c AND hid = $h");
            _delete.Parameters.Add("$c", SqliteType.Integer);
            _delete.Parameters.Add("$h", SqliteType.Blob);
            _delete.Prepare();
        }

        _delete.Transaction = _tx;
        _delete.Parameters[0].Value = cid;
        _delete.Parameters[1].Value = hid;
        _delete.ExecuteNonQuery();
    }

    public int DeleteOwner(byte[] owner)
    {
        using var cmd = Command("DELETE FROM rows WHERE owner = $o");
        cmd.Parameters.AddWithValue("$o", owner);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Returns freed pages to the file system when more than a quarter of the file is free (deleted rows are already zeroed by secure_delete).</summary>
    public void ReclaimFreePages()
    {
        var free = Scalar("PRAGMA freelist_count");
        var total = Scalar("PRAGMA page_count");
        if (free > 256 && free * 4 > total)
        {
            Exec("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);");
        }
    }

    /// <summary>Runs PRAGMA integrity_check; "ok" when the file is sound.</summary>
    public string IntegrityCheck()
    {
        using var cmd = Command("PRAGMA integrity_check");
        return Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) ?? "no answer";
    }

    public void Dispose()
    {
        _upsert?.Dispose();
        _delete?.Dispose();
        _tx?.Dispose();
        _connection.Dispose();
    }

    private static byte[] KeyCheckAad(TenantId tenant) => Encoding.UTF8.GetBytes("bruno/key-check/v1/" + tenant.Value);

    private void CreateSchema(KeyRing ring)
    {
        using var cipher = new RowCipher(ring.TenantKey);
        Begin();
        // application_id 1112690255 = 0x42524E4F = ApplicationId; user_version 1 = FormatVersion (checked by a test).
        Exec("""
            PRAGMA application_id=1112690255;
            PRAGMA user_version=1;
            CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);
            CREATE TABLE collections(cid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, dimension INTEGER NOT NULL, model TEXT NOT NULL, metric INTEGER NOT NULL);
            CREATE TABLE rows(rid INTEGER PRIMARY KEY, cid INTEGER NOT NULL, hid BLOB NOT NULL, owner BLOB, payload BLOB NOT NULL, UNIQUE(cid, hid));
            CREATE INDEX rows_owner ON rows(owner) WHERE owner IS NOT NULL;
            """);
        using (var cmd = Command("INSERT INTO meta(k, v) VALUES ('key_check', $v)"))
        {
            cmd.Parameters.AddWithValue("$v", cipher.Encrypt(KeyCheckPlain, KeyCheckAad(_tenant)));
            cmd.ExecuteNonQuery();
        }

        Commit();
    }

    private void CheckFormat(KeyRing ring)
    {
        if (Scalar("PRAGMA application_id") != ApplicationId)
        {
            throw new StorageFormatException($"The store of tenant '{_tenant}' is not a Bruno tenant store.");
        }

        var version = Scalar("PRAGMA user_version");
        if (version != FormatVersion)
        {
            throw new StorageFormatException($"The store of tenant '{_tenant}' has format version {version}; this engine reads version {FormatVersion}.");
        }

        using var cmd = Command("SELECT v FROM meta WHERE k = 'key_check'");
        var blob = cmd.ExecuteScalar() as byte[] ?? throw new StorageFormatException($"The store of tenant '{_tenant}' has no key check.");
        using var cipher = new RowCipher(ring.TenantKey);
        var plain = new byte[Math.Max(0, blob.Length - RowCipher.Overhead)];
        if (!cipher.TryDecrypt(blob, plain, KeyCheckAad(_tenant)) || !plain.AsSpan().SequenceEqual(KeyCheckPlain))
        {
            throw new DataUnreadableException($"The store of tenant '{_tenant}' was written under a key that no longer exists (it was erased, or this folder belongs to another installation).");
        }
    }

    private long Scalar(string sql)
    {
        using var cmd = Command(sql);
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private void Exec(string sql)
    {
        using var cmd = Command(sql);
        cmd.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = _tx;
        return cmd;
    }
}
