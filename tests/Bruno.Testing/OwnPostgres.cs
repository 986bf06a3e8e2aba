using System.Net;
using System.Net.Sockets;

namespace Bruno.Testing;

/// <summary>
/// A PostgreSQL server of one test's own (the shared one of <see cref="TestPostgres"/> must not be restarted under the
/// other tests): a throw-away cluster in a temp folder on a free loopback port, which the test can restart, stop and
/// start again. Uses the binaries <c>scripts/postgres.sh</c> installs; run as root, the server runs as <c>postgres</c>.
/// </summary>
public sealed class OwnPostgres : IAsyncDisposable
{
    private readonly string _bin;
    private readonly string _dir;
    private readonly int _port;
    private readonly string _address;

    private OwnPostgres(string bin, string dir, int port, string address) => (_bin, _dir, _port, _address) = (bin, dir, port, address);

    /// <summary>The connection string of its <c>postgres</c> database.</summary>
    public string ConnectionString => $"Host={_address};Port={_port};Username=bruno;Database=postgres";

    /// <summary>
    /// Creates and starts the cluster on 127.0.0.1, or on <paramref name="address"/> (an address of a
    /// <see cref="NetworkNamespace"/>'s link), trusting clients on the networks the machine is on.
    /// </summary>
    public static async Task<OwnPostgres> StartAsync(string address = "127.0.0.1")
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl"))).OrderBy(d => d, StringComparer.Ordinal).LastOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL is not installed (scripts/postgres.sh installs it).");
        }

        var dir = Directory.CreateTempSubdirectory("bruno-own-pg-").FullName;
        File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        if (Environment.UserName == "root")
        {
            await Shell.RunAsync("chown", "postgres", dir);
        }

        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var pg = new OwnPostgres(bin, dir, port, address);
        await AsOwnerAsync(Path.Combine(bin, "initdb"), "-D", Path.Combine(dir, "data"), "-U", "bruno", "--auth=trust", "-E", "UTF8", "--no-sync");
        await File.AppendAllTextAsync(Path.Combine(dir, "data", "pg_hba.conf"), "host all all samenet trust\n"); // a test host's processes
        await pg.StartAgainAsync();
        return pg;
    }

    /// <summary>Starts the stopped server (returns once it accepts connections).</summary>
    public Task StartAgainAsync() => PgCtlAsync("start", "-o", $"-c listen_addresses={_address} -p {_port} -k {_dir} -c fsync=off");

    /// <summary>Restarts the server the way an operator's <c>pg_ctl restart</c> does: every open connection is terminated.</summary>
    public Task RestartAsync() => PgCtlAsync("restart", "-m", "fast");

    /// <summary>Stops the server (open connections terminated).</summary>
    public Task StopAsync() => PgCtlAsync("stop", "-m", "fast");

    private Task PgCtlAsync(string action, params string[] more) =>
        AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(_dir, "data"), "-l", Path.Combine(_dir, "log"), "-w", .. more, action]);

    private static Task AsOwnerAsync(string program, params string[] args) =>
        Environment.UserName == "root" ? Shell.RunAsync("runuser", ["-u", "postgres", "--", program, .. args]) : Shell.RunAsync(program, args);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }

        Directory.Delete(_dir, recursive: true);
    }
}
