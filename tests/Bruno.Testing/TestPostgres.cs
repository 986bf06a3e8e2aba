using Npgsql;

namespace Bruno.Testing;

/// <summary>
/// The private PostgreSQL server that <c>./test.sh</c> starts (<c>scripts/postgres.sh</c>): its connection string comes
/// in <c>BRUNO_TEST_POSTGRES</c>. Each caller gets a fresh database of its own.
/// </summary>
public static class TestPostgres
{
    /// <summary>The server's connection string; throws with instructions when the tests were not started by test.sh.</summary>
    public static string Server =>
        Environment.GetEnvironmentVariable("BRUNO_TEST_POSTGRES") is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException("BRUNO_TEST_POSTGRES is not set: run the tests with ./test.sh, which starts PostgreSQL (or set it to a server's connection string).");

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static string NewDatabase()
    {
        var name = "bruno_" + Guid.NewGuid().ToString("N")[..16];
        using (var admin = new NpgsqlConnection(Server))
        {
            admin.Open();
            using var cmd = admin.CreateCommand();
            cmd.CommandText = $"CREATE DATABASE {name};"; // name: a fixed prefix and hex digits
            cmd.ExecuteNonQuery();
        }

        return new NpgsqlConnectionStringBuilder(Server) { Database = name }.ToString();
    }
}
