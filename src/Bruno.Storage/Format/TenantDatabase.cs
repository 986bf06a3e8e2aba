using System.Text;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Bruno.Storage.Format;

/// <summary>
/// The tenant's SQLite file (<c>store.db</c>): a durable container of encrypted row blobs. SQLite gives atomic,
/// fsynced commits (synchronous=FULL: a small transaction through the write-ahead log, one fsync; a large one through
/// the rollback journal, which writes appended segments once; decision 0040), so an acknowledged commit survives power
/// loss; the engine puts nothing in clear into it but collection names, vector
/// dimensions, embedding model names, random segment ids, owner slots, row counts per segment, and (format 3) the
/// chunk numbers of each stored graph.
/// See docs/design/storage-format.md.
/// </summary>
internal sealed class TenantDatabase : IDisposable
{
    /// <summary>Receives one stored segment; the spans are valid only during the call, <paramref name="owner"/> is empty for tenant-wide rows.</summary>
    public delegate void SegmentVisitor(long sid, int cid, ReadOnlySpan<byte> uid, ReadOnlySpan<byte> owner, int rows, ReadOnlySpan<byte> payload);

    /// <summary>"BRNO": marks the file as a Bruno tenant store (PRAGMA application_id).</summary>
    public const int ApplicationId = 0x42524E4F;

    /// <summary>On-disk format version (PRAGMA user_version); bump only with a migration.</summary>
    public const int FormatVersion = 3;

    /// <summary>The previous format, upgraded in place when a tenant opens (<see cref="UpgradeSchema"/>).</summary>
    public const int PreviousFormatVersion = 2;

    public const string FileName = "store.db";

    private static readonly byte[] KeyCheckPlain = "bruno-key-check-v1"u8.ToArray();
    private readonly SqliteConnection _connection;
    private readonly TenantId _tenant;
    private sqlite3_stmt? _insert;
    private SqliteTransaction? _tx;
    private bool _scrub; // the transaction removes rows: empty the log after its commit
    private bool _wal; // the file is in write-ahead-log mode (small transactions), else rollback journal (large ones)

    private TenantDatabase(SqliteConnection connection, TenantId tenant) => (_connection, _tenant) = (connection, tenant);

    /// <summary>The file's format version as opened: <see cref="FormatVersion"/>, or <see cref="PreviousFormatVersion"/> until the engine upgrades it.</summary>
    public int Version { get; private set; }

    /// <summary>
    /// Live rows of a closed tenant's file, counted without decrypting anything; null when the file is missing or
    /// locked (the tenant is open: ask the open instance instead).
    /// </summary>
    public static long? CountRows(string folder)
    {
        var path = Path.Combine(folder, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadOnly }.ToString());
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT coalesce(sum(rows), 0) FROM segments";
            return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (SqliteException)
        {
            return null;
        }
    }

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
            // Create the file 0600 first: SQLite gives its journal the same mode.
            Durable.WriteNew(path, []);
        }

        var cs = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString();
        var connection = new SqliteConnection(cs);
        var db = new TenantDatabase(connection, tenant);
        try
        {
            connection.Open();
            // cache_spill=OFF: a batch's new pages stay in memory until its commit instead of being spilled into the log
            // early; the cache shrinks back once they are written.
            db.Exec("PRAGMA locking_mode=EXCLUSIVE; PRAGMA secure_delete=ON; PRAGMA cache_size=-512; PRAGMA cache_spill=OFF; PRAGMA mmap_size=268435456; PRAGMA temp_store=MEMORY;");
            if (isNew)
            {
                // Segments are blobs of hundreds of kilobytes: larger pages mean shorter overflow chains.
                db.Exec("PRAGMA page_size=8192; PRAGMA auto_vacuum=INCREMENTAL;");
            }

            // Each transaction picks its journal by size (decision 0040, see Begin): the file stays in the mode its last
            // write left it in (only WAL is recorded in the file; otherwise the rollback journal in TRUNCATE mode).
            db.Exec("PRAGMA synchronous=FULL; PRAGMA journal_size_limit=16777216;");
            db._wal = db.Text("PRAGMA journal_mode") == "wal";
            if (!db._wal)
            {
                db.Exec("PRAGMA journal_mode=TRUNCATE;");
            }

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
        // a format-2 store (read before its upgrade) has no quantisation column: its collections become int8, the default
        using var cmd = Command(Version >= 3
            ? "SELECT cid, name, dimension, model, metric, quantization FROM collections ORDER BY cid"
            : "SELECT cid, name, dimension, model, metric, 2 FROM collections ORDER BY cid");
        using var r = cmd.ExecuteReader();
        var list = new List<(int, CollectionSpec)>();
        while (r.Read())
        {
            list.Add((r.GetInt32(0), new CollectionSpec(r.GetString(1), r.GetInt32(2), r.GetString(3), (VectorMetric)r.GetInt32(4)) { Quantization = (VectorQuantization)r.GetInt32(5) }));
        }

        return list;
    }

    /// <summary>
    /// Visits every stored segment. Uses SQLite's C API directly so that blobs are read in place, without a copy; the
    /// spans are valid only during the call.
    /// </summary>
    public void ReadSegments(SegmentVisitor visit) => Scan("SELECT sid, cid, uid, owner, rows, payload FROM segments", stmt => visit(raw.sqlite3_column_int64(stmt, 0), raw.sqlite3_column_int(stmt, 1), raw.sqlite3_column_blob(stmt, 2), raw.sqlite3_column_blob(stmt, 3), raw.sqlite3_column_int(stmt, 4), raw.sqlite3_column_blob(stmt, 5)));

    /// <summary>Reads one segment (inside the current transaction); null when it does not exist.</summary>
    public (int Cid, byte[] Uid, byte[]? Owner, byte[] Payload)? ReadSegment(long sid)
    {
        using var cmd = Command("SELECT cid, uid, owner, payload FROM segments WHERE sid = $s");
        cmd.Parameters.AddWithValue("$s", sid);
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetInt32(0), (byte[])r[1], r.IsDBNull(2) ? null : (byte[])r[2], (byte[])r[3]) : null;
    }

    /// <summary>Rows stored per collection id.</summary>
    public Dictionary<int, int> CountRows()
    {
        using var cmd = Command("SELECT cid, sum(rows) FROM segments GROUP BY cid");
        using var r = cmd.ExecuteReader();
        var counts = new Dictionary<int, int>();
        while (r.Read())
        {
            counts[r.GetInt32(0)] = r.GetInt32(1);
        }

        return counts;
    }

    /// <summary>
    /// Begins a transaction. A small one (<paramref name="large"/> false) commits through the write-ahead log: one append
    /// and one fsync, where the rollback journal takes four (the journal, its header, the database, the truncation). A
    /// large one commits through the rollback journal, which does not copy pages appended to the file, where the log
    /// would write every new page twice (log, then checkpoint). The file is switched only when the mode differs from the
    /// last transaction's (switching checkpoints the log and rewrites the header); a switch SQLite refuses leaves the
    /// mode as it was, which is durable either way (decision 0040).
    /// </summary>
    public void Begin(bool large = false)
    {
        if (large == _wal)
        {
            _wal = Text(large ? "PRAGMA journal_mode=TRUNCATE" : "PRAGMA journal_mode=WAL") == "wal";
        }

        _tx = _connection.BeginTransaction();
    }

    /// <summary>
    /// Test seam: when set and it returns true for this store's file, the next commit fails as a full disk would (the
    /// transaction is then rolled back by the caller). Keyed by path, so tests running side by side do not interfere.
    /// </summary>
    internal static Func<string, bool>? FailCommit { get; set; }

    public void Commit()
    {
        if (FailCommit?.Invoke(_connection.DataSource) == true)
        {
            throw new SqliteException("database or disk is full (injected by a test)", raw.SQLITE_FULL);
        }

        _tx!.Commit();
        _tx.Dispose();
        _tx = null;
        if (_scrub)
        {
            _scrub = false;
            try
            {
                // The log still holds the pages as they were before secure_delete zeroed them: copy it into the file and
                // empty it, so removed rows leave no copy in any file (decision 0040).
                Exec("PRAGMA wal_checkpoint(TRUNCATE);");
            }
            catch (SqliteException)
            {
                // The commit is durable whatever happens here; the log is emptied at the next checkpoint or close.
            }
        }
    }

    /// <summary>
    /// Marks the transaction in progress as one that removes rows: once it commits, the write-ahead log is copied into
    /// the file and emptied (a failure of that step leaves the commit as it is and the log for the next checkpoint).
    /// </summary>
    public void RemovesRows() => _scrub = _tx is not null;

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
            _scrub = false;
        }
    }

    public int InsertCollection(CollectionSpec spec)
    {
        using var cmd = Command("INSERT INTO collections(name, dimension, model, metric, quantization) VALUES ($n, $d, $m, $t, $q) RETURNING cid");
        cmd.Parameters.AddWithValue("$n", spec.Name);
        cmd.Parameters.AddWithValue("$d", spec.Dimension);
        cmd.Parameters.AddWithValue("$m", spec.Model);
        cmd.Parameters.AddWithValue("$t", (int)spec.Metric);
        cmd.Parameters.AddWithValue("$q", (int)spec.Quantization);
        return Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Stores a sealed segment; returns its sid. Binds the blob straight from <paramref name="payload"/> (SQLite copies it).</summary>
    public long InsertSegment(int cid, byte[] uid, byte[]? owner, int rows, ReadOnlySpan<byte> payload)
    {
        if (_insert is null)
        {
            Check(raw.sqlite3_prepare_v2(_connection.Handle, "INSERT INTO segments(cid, uid, owner, rows, payload) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING sid", out var stmt));
            _insert = stmt;
        }

        try
        {
            Check(raw.sqlite3_bind_int(_insert, 1, cid));
            Check(raw.sqlite3_bind_blob(_insert, 2, uid));
            Check(owner is null ? raw.sqlite3_bind_null(_insert, 3) : raw.sqlite3_bind_blob(_insert, 3, owner));
            Check(raw.sqlite3_bind_int(_insert, 4, rows));
            Check(raw.sqlite3_bind_blob(_insert, 5, payload));
            var rc = raw.sqlite3_step(_insert);
            if (rc != raw.SQLITE_ROW)
            {
                throw Failed(rc);
            }

            return raw.sqlite3_column_int64(_insert, 0);
        }
        finally
        {
            raw.sqlite3_reset(_insert);
            raw.sqlite3_clear_bindings(_insert);
        }
    }

    /// <summary>Replaces a segment's content (a rewrite after some of its rows were deleted or replaced).</summary>
    public void UpdateSegment(long sid, byte[] uid, int rows, byte[] payload)
    {
        using var cmd = Command("UPDATE segments SET uid = $u, rows = $r, payload = $p WHERE sid = $s");
        cmd.Parameters.AddWithValue("$u", uid);
        cmd.Parameters.AddWithValue("$r", rows);
        cmd.Parameters.AddWithValue("$p", payload);
        cmd.Parameters.AddWithValue("$s", sid);
        cmd.ExecuteNonQuery();
    }

    public void DeleteSegment(long sid)
    {
        using var cmd = Command("DELETE FROM segments WHERE sid = $s");
        cmd.Parameters.AddWithValue("$s", sid);
        cmd.ExecuteNonQuery();
    }

    /// <summary>Deletes every segment of an owner; returns how many rows they held.</summary>
    public int DeleteOwner(byte[] owner)
    {
        using var count = Command("SELECT coalesce(sum(rows), 0) FROM segments WHERE owner = $o");
        count.Parameters.AddWithValue("$o", owner);
        var rows = Convert.ToInt32(count.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        using var cmd = Command("DELETE FROM segments WHERE owner = $o");
        cmd.Parameters.AddWithValue("$o", owner);
        cmd.ExecuteNonQuery();
        RemovesRows();
        return rows;
    }

    /// <summary>The chunks of collection <paramref name="cid"/>'s stored graph, in chunk order (empty when it has none).</summary>
    public List<(int Chunk, byte[] Uid, byte[] Payload)> ReadGraph(int cid)
    {
        using var cmd = Command("SELECT chunk, uid, payload FROM graph WHERE cid = $c ORDER BY chunk");
        cmd.Parameters.AddWithValue("$c", cid);
        using var r = cmd.ExecuteReader();
        var chunks = new List<(int, byte[], byte[])>();
        while (r.Read())
        {
            chunks.Add((r.GetInt32(0), (byte[])r[1], (byte[])r[2]));
        }

        return chunks;
    }

    /// <summary>Replaces collection <paramref name="cid"/>'s stored graph with <paramref name="chunks"/> (chunk 0 first), inside the caller's transaction.</summary>
    public void ReplaceGraph(int cid, byte[] uid, IReadOnlyList<byte[]> chunks)
    {
        using (var delete = Command("DELETE FROM graph WHERE cid = $c"))
        {
            delete.Parameters.AddWithValue("$c", cid);
            delete.ExecuteNonQuery();
        }

        using var cmd = Command("INSERT INTO graph(cid, chunk, uid, payload) VALUES ($c, $n, $u, $p)");
        cmd.Parameters.AddWithValue("$c", cid);
        var n = cmd.Parameters.Add("$n", SqliteType.Integer);
        var u = cmd.Parameters.AddWithValue("$u", uid);
        var p = cmd.Parameters.Add("$p", SqliteType.Blob);
        for (var i = 0; i < chunks.Count; i++)
        {
            n.Value = i;
            p.Value = chunks[i];
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>
    /// Lets a transaction spill its pages into the file before it commits (the rollback journal keeps their old content,
    /// so a crash still rolls it back), for one too large to hold in memory: the upgrade of a whole store. Off by default.
    /// </summary>
    public void SpillCache(bool spill) => Exec(spill ? "PRAGMA cache_spill=ON;" : "PRAGMA cache_spill=OFF;");

    /// <summary>Returns freed pages to the file system when more than a quarter of the file is free (deleted rows are already zeroed by secure_delete).</summary>
    public void ReclaimFreePages()
    {
        var free = Scalar("PRAGMA freelist_count");
        var total = Scalar("PRAGMA page_count");
        if (free > 256 && free * 4 > total)
        {
            Exec("PRAGMA incremental_vacuum;");
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
        _insert?.Dispose();
        _tx?.Dispose();
        _connection.Dispose();
    }

    private static byte[] KeyCheckAad(TenantId tenant) => Encoding.UTF8.GetBytes("bruno/key-check/v1/" + tenant.Value);

    private void CreateSchema(KeyRing ring)
    {
        using var cipher = new RowCipher(ring.TenantKey);
        Begin();
        // application_id 1112690255 = 0x42524E4F = ApplicationId (checked by a test).
        Exec("""
            PRAGMA application_id=1112690255;
            CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);
            CREATE TABLE collections(cid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, dimension INTEGER NOT NULL, model TEXT NOT NULL, metric INTEGER NOT NULL);
            CREATE TABLE segments(sid INTEGER PRIMARY KEY, cid INTEGER NOT NULL, uid BLOB NOT NULL, owner BLOB, rows INTEGER NOT NULL, payload BLOB NOT NULL);
            CREATE INDEX segments_owner ON segments(owner) WHERE owner IS NOT NULL;
            """);
        UpgradeSchema();
        using (var cmd = Command("INSERT INTO meta(k, v) VALUES ('key_check', $v)"))
        {
            cmd.Parameters.AddWithValue("$v", cipher.Encrypt(KeyCheckPlain, KeyCheckAad(_tenant)));
            cmd.ExecuteNonQuery();
        }

        Commit();
    }

    /// <summary>
    /// Adds what format 3 has beyond format 2 (the <c>graph</c> table, and each collection's
    /// quantisation: int8 for collections made before it existed) and sets user_version 3, inside
    /// the caller's transaction: a crash before its commit leaves the file at version 2, as it was.
    /// </summary>
    public void UpgradeSchema()
    {
        // user_version 3 = FormatVersion (checked by a test).
        Exec("""
            CREATE TABLE graph(cid INTEGER NOT NULL, chunk INTEGER NOT NULL, uid BLOB NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (cid, chunk));
            ALTER TABLE collections ADD COLUMN quantization INTEGER NOT NULL DEFAULT 2;
            PRAGMA user_version=3;
            """);
        Version = FormatVersion;
    }

    private void CheckFormat(KeyRing ring)
    {
        if (Scalar("PRAGMA application_id") != ApplicationId)
        {
            throw new StorageFormatException($"The store of tenant '{_tenant}' is not a Bruno tenant store.");
        }

        var version = Scalar("PRAGMA user_version");
        Version = (int)version;
        if (version is not (FormatVersion or PreviousFormatVersion))
        {
            throw new StorageFormatException($"The store of tenant '{_tenant}' has format version {version}; this engine reads version {FormatVersion} (and upgrades {PreviousFormatVersion}).");
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

    /// <summary>Runs a query through SQLite's C API, calling <paramref name="row"/> per row (blobs read in place, valid during the call).</summary>
    private void Scan(string sql, Action<sqlite3_stmt> row)
    {
        var rc = raw.sqlite3_prepare_v2(_connection.Handle, sql, out var stmt);
        if (rc != raw.SQLITE_OK)
        {
            throw new StorageException($"Reading the store failed (SQLite error {rc}).");
        }

        using (stmt)
        {
            while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
            {
                row(stmt);
            }
        }

        if (rc != raw.SQLITE_DONE)
        {
            throw new StorageException($"Reading the store failed (SQLite error {rc}).");
        }
    }

    /// <summary>A statement prepared once per connection and kept in <paramref name="stmt"/>.</summary>
    private sqlite3_stmt Prepared(ref sqlite3_stmt? stmt, string sql)
    {
        if (stmt is null)
        {
            Check(raw.sqlite3_prepare_v2(_connection.Handle, sql, out var prepared));
            stmt = prepared;
        }

        return stmt;
    }

    /// <summary>Runs a bound statement that returns no row.</summary>
    private void Done(sqlite3_stmt stmt)
    {
        var rc = raw.sqlite3_step(stmt);
        if (rc != raw.SQLITE_DONE)
        {
            throw Failed(rc);
        }
    }

    private static void Reset(sqlite3_stmt stmt)
    {
        raw.sqlite3_reset(stmt);
        raw.sqlite3_clear_bindings(stmt);
    }

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            throw Failed(rc);
        }
    }

    /// <summary>The error of the last SQLite call on this connection, as the exception Microsoft.Data.Sqlite would raise.</summary>
    private SqliteException Failed(int rc) => new(raw.sqlite3_errmsg(_connection.Handle).utf8_to_string(), rc, raw.sqlite3_extended_errcode(_connection.Handle));

    private string Text(string sql)
    {
        using var cmd = Command(sql);
        return Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
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
