using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Bruno.Core.Tenants;

/// <summary>Which database holds the catalog.</summary>
public enum CatalogProvider
{
    /// <summary>A SQLite file in the data folder (the default: one machine, no service).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (several processes share it).</summary>
    Postgres,
}

/// <summary>
/// The catalog's database: SQLite or PostgreSQL behind one ADO.NET surface, its schema (<see cref="CatalogSchema"/>)
/// brought up to date once, when it is opened. Statements are written once in the SQL both
/// understand (named <c>@parameters</c>, <c>ON CONFLICT</c>, explicit casts where PostgreSQL must know a parameter's
/// type); only table definitions differ, through <see cref="Ddl"/>. Connections are pooled; each call opens one.
/// Database failures surface as <see cref="DbException"/>.
/// </summary>
public sealed partial class CatalogDatabase : IDisposable
{
    private readonly string? _sqlite;
    private readonly NpgsqlDataSource? _postgres;

    private CatalogDatabase(CatalogProvider provider, string? sqlite, NpgsqlDataSource? postgres)
    {
        Provider = provider;
        _sqlite = sqlite;
        _postgres = postgres;
        try
        {
            using var c = Open();
            if (provider == CatalogProvider.Sqlite)
            {
                Execute(c, "PRAGMA journal_mode=WAL;");
            }

            SchemaVersionFound = CatalogSchema.Apply(this, c);
        }
        catch
        {
            postgres?.Dispose();
            throw;
        }
    }

    /// <summary>The schema version the catalog had when opened, before <see cref="CatalogSchema"/> brought it up to date (0: new, or older than versions).</summary>
    public int SchemaVersionFound { get; }

    /// <summary>The backend.</summary>
    public CatalogProvider Provider { get; }

    /// <summary>
    /// A SQLite catalog in the file at <paramref name="path"/> (created when missing, its schema brought up to date by
    /// <see cref="CatalogSchema"/>; foreign keys enforced on every connection). The file and its <c>-wal</c> and
    /// <c>-shm</c> companions are readable by their owner only (0600), whoever made the folder and whatever the umask:
    /// they hold user ids and key hashes. Throws <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/>
    /// when the file cannot be created or its mode set.
    /// </summary>
    public static CatalogDatabase Sqlite(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        OwnerOnly(path);
        return new(CatalogProvider.Sqlite, new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, ForeignKeys = true }.ToString(), null);
    }

    /// <summary>Creates the catalog file 0600 before SQLite does (SQLite gives its journals the database file's mode), and
    /// takes the group's and others' access away from one made earlier.</summary>
    private static void OwnerOnly(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        const UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (new FileStream(path, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, UnixCreateMode = mode }))
        {
        }

        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            if (File.Exists(file) && File.GetUnixFileMode(file) != mode)
            {
                File.SetUnixFileMode(file, mode);
            }
        }
    }

    /// <summary>
    /// A PostgreSQL catalog; <paramref name="connectionString"/> names an existing database, whose schema
    /// <see cref="CatalogSchema"/> brings up to date. Throws <see cref="CatalogUnavailableException"/> when it cannot be
    /// reached or is newer than this build.
    /// </summary>
    /// <remarks>
    /// Unless the connection string sets them, connecting times out after <see cref="ConnectSeconds"/> and a statement
    /// after <see cref="StatementSeconds"/> (Npgsql's own defaults are 15 and 30 s): the catalog's statements are small,
    /// and behind a network partition every request and every write's replica decision would otherwise wait that long
    /// for a catalog that does not answer. Schema changes have no statement timeout; a wait for a lock has
    /// <see cref="LockWaitSeconds"/>. And unless <c>Options</c> is set, each session asks the server to probe its peer
    /// after 4 s of silence (every 2 s, 3 times) and to give up on data unacknowledged for 10 s: a process cut off while
    /// it holds a lock (a tenant's audit log) loses its session and the lock within about 10 s, instead of holding every
    /// other gateway's writes of that tenant for the system's two hours (or 15 minutes of retransmissions). Behind a
    /// connection pooler that refuses the <c>options</c> startup parameter, <c>Options=</c> (empty) sends none.
    /// </remarks>
    public static CatalogDatabase Postgres(string connectionString) =>
        new(CatalogProvider.Postgres, null, NpgsqlDataSource.Create(WithDefaults(connectionString)));

    /// <summary>Seconds to connect to a PostgreSQL catalog, unless its connection string says (<c>Timeout</c>).</summary>
    public const int ConnectSeconds = 5;

    /// <summary>Seconds a catalog statement may run, unless the connection string says (<c>Command Timeout</c>).</summary>
    public const int StatementSeconds = 10;

    /// <summary>Seconds a process waits for a lock another holds (a tenant's audit log) before giving up (503).</summary>
    public const int LockWaitSeconds = 60;

    [System.Text.RegularExpressions.GeneratedRegex(@"(^|;)\s*Options\s*=\s*(;|$)", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex EmptyOptions();

    /// <summary>The connection string with Bruno's timeouts and keepalives where it sets none.</summary>
    internal static string WithDefaults(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("Timeout"))
        {
            builder.Timeout = ConnectSeconds;
        }

        if (!given.ContainsKey("Command Timeout") && !given.ContainsKey("CommandTimeout"))
        {
            builder.CommandTimeout = StatementSeconds;
        }

        if (!given.ContainsKey("Options") && !EmptyOptions().IsMatch(connectionString)) // "Options=": none at all
        {
            builder.Options = "-c tcp_keepalives_idle=4 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3 -c tcp_user_timeout=10000";
        }

        return builder.ConnectionString;
    }

    /// <summary>An open connection.</summary>
    public DbConnection Open()
    {
        if (_postgres is not null)
        {
            try
            {
                return _postgres.OpenConnection();
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                throw Unavailable(e);
            }
        }

        var c = new SqliteConnection(_sqlite);
        c.Open();
        return c;
    }

    /// <summary>
    /// The transaction schema changes run in, serialised between processes: on PostgreSQL it first takes an advisory
    /// lock (concurrent <c>CREATE TABLE IF NOT EXISTS</c> of the same table can otherwise fail); on SQLite it is an
    /// immediate transaction, which holds the file's write lock from the start.
    /// </summary>
    internal DbTransaction SchemaTransaction(DbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var transaction = connection.BeginTransaction();
        if (Provider == CatalogProvider.Postgres)
        {
            using var cmd = Command(connection, "SELECT pg_advisory_xact_lock(7406115113);");
            cmd.Transaction = transaction;
            cmd.CommandTimeout = 0; // waits for another process's schema change
            cmd.ExecuteNonQuery();
        }

        return transaction;
    }

    /// <summary>
    /// Holds a lock named <paramref name="name"/> across every process sharing this catalog until disposed: on
    /// PostgreSQL an advisory lock in a transaction of its own; on SQLite (one process) nothing, the caller's own lock
    /// suffices. Waits while another process holds it.
    /// </summary>
    public async Task<IAsyncDisposable> LockAsync(string name, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_postgres is null)
        {
            return NoLock.Instance;
        }

        DbConnection connection;
        try
        {
            connection = await _postgres.OpenConnectionAsync(ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            throw Unavailable(e);
        }

        try
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            var key = BitConverter.ToInt64(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name)));
            using (var cmd = Command(connection, "SELECT pg_advisory_xact_lock(@key);", ("@key", key)))
            {
                cmd.Transaction = transaction;
                cmd.CommandTimeout = LockWaitSeconds; // a wait for the holder (one cut off loses it within seconds)
                await cmd.ExecuteNonQueryAsync(ct);
            }

            return new Held(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private sealed class Held(DbConnection connection, DbTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await transaction.CommitAsync(); // ends the transaction, and with it the lock
            }
            finally
            {
                await transaction.DisposeAsync();
                await connection.DisposeAsync();
            }
        }
    }

    private sealed class NoLock : IDisposable, IAsyncDisposable
    {
        public static readonly NoLock Instance = new();

        public void Dispose()
        {
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A table definition for this backend: <c>{long}</c> is a 64-bit integer type, <c>{blob}</c> a byte string, <c>{serial}</c> an increasing key.</summary>
    internal string Ddl(string sql) => Provider == CatalogProvider.Postgres
        ? sql.Replace("{long}", "BIGINT", StringComparison.Ordinal).Replace("{blob}", "BYTEA", StringComparison.Ordinal)
            .Replace("{serial}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", StringComparison.Ordinal)
        : sql.Replace("{long}", "INTEGER", StringComparison.Ordinal).Replace("{blob}", "BLOB", StringComparison.Ordinal)
            .Replace("{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT", StringComparison.Ordinal);

    /// <summary>A command on <paramref name="connection"/> with named parameters (null is SQL NULL).</summary>
    public static DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }

        return cmd;
    }

    /// <summary>
    /// Runs one statement; returns the rows it changed. A connection the pool kept from before a PostgreSQL restart fails
    /// its first use: the pool is emptied and the statement runs once more on a new connection (it never reached the
    /// server). Throws <see cref="CatalogUnavailableException"/> when the catalog stays unreachable.
    /// </summary>
    public int Execute(string sql, params (string Name, object? Value)[] parameters) => Retried(() =>
    {
        using var c = Open();
        return Execute(c, sql, parameters);
    });

    /// <summary>Runs one statement on an open connection; returns the rows it changed.</summary>
    public static int Execute(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var cmd = Command(connection, sql, parameters);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Reads every row of a query with <paramref name="read"/>; a stale pooled connection is replaced and the query
    /// run once more, as a statement of <c>Execute</c> is.
    /// </summary>
    public List<T> Query<T>(string sql, Func<DbDataReader, T> read, params (string Name, object? Value)[] parameters) => Retried(() =>
    {
        using var c = Open();
        using var cmd = Command(c, sql, parameters);
        using var r = cmd.ExecuteReader();
        var rows = new List<T>();
        while (r.Read())
        {
            rows.Add(read(r));
        }

        return rows;
    });

    /// <summary>
    /// Whether <paramref name="e"/> says the catalog's server is unreachable or went away (a restart, a failover, a
    /// dropped connection, too many connections) rather than refusing a statement: callers answer 503, never 500.
    /// </summary>
    public static bool IsOutage(Exception e) => e switch
    {
        CatalogUnavailableException => true,
        PostgresException p => p.SqlState.StartsWith("08", StringComparison.Ordinal) || p.SqlState.StartsWith("57P", StringComparison.Ordinal) || p.SqlState == "53300",
        NpgsqlException n => n.IsTransient || n.InnerException is IOException or System.Net.Sockets.SocketException or TimeoutException,
        _ => false,
    };

    /// <summary>Whether <paramref name="e"/> is the catalog failing: a statement refused, or its server away (<see cref="IsOutage"/>).</summary>
    public static bool IsFailure(Exception e) => e is DbException || IsOutage(e);

    /// <summary>
    /// How long what was last read of an active tenant (its record, a user's roles and groups, its retrieval settings)
    /// stands in for the catalog while it is away, so known tenants keep being served through a short outage
    /// (decision 0033). A change made elsewhere in that time is not seen until the catalog is back.
    /// </summary>
    public static readonly TimeSpan OutageGrace = TimeSpan.FromSeconds(60);

    /// <summary>Empties the connection pool (its connections died with the server); the next use opens new ones.</summary>
    public void ForgetConnections() => _postgres?.Clear();

    private T Retried<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (Exception e) when (_postgres is not null && e is not CatalogUnavailableException && IsOutage(e))
        {
            _postgres.Clear();
            try
            {
                return work();
            }
            catch (Exception again) when (again is not CatalogUnavailableException && IsOutage(again))
            {
                throw Unavailable(again);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _postgres?.Dispose();

    /// <summary>The failure to open a connection, in one line naming host, port, database and cause (never the password).</summary>
    private CatalogUnavailableException Unavailable(Exception e)
    {
        var target = new NpgsqlConnectionStringBuilder(_postgres!.ConnectionString);
        var cause = e switch
        {
            PostgresException p => p.MessageText,
            _ when e.InnerException is System.Net.Sockets.SocketException s => s.Message,
            _ when e.InnerException is TimeoutException or OperationCanceledException => "no answer within the connection timeout",
            _ => e.Message,
        };
        return new CatalogUnavailableException($"cannot reach the PostgreSQL catalog at {target.Host}:{target.Port}, database {target.Database}: {cause.TrimEnd('.')}", e);
    }
}

/// <summary>
/// The catalog's database cannot be reached or refused the connection. The message names host, port, database and the
/// cause in one line, for operators; it is not shown to API callers (they get 503).
/// </summary>
public sealed class CatalogUnavailableException : Exception
{
    /// <summary>The failure, in one line.</summary>
    public CatalogUnavailableException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
