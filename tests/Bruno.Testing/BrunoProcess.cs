using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Bruno.Testing;

/// <summary>
/// A real <c>bruno serve</c> process (the CLI's <c>bruno.dll</c> next to the test assembly) on 127.0.0.1, or on a
/// test host of a <see cref="NetworkNamespace"/>. Started with its own environment, ready when it prints that it is serving; <see cref="Kill"/> is SIGKILL (no cleanup, no flush),
/// <see cref="RestartAsync"/> starts it again with the same arguments and data.
/// </summary>
public sealed class BrunoProcess : IAsyncDisposable
{
    private readonly string[] _args;
    private readonly IReadOnlyList<string> _prefix;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private readonly List<string> _output = [];
    private Process? _process;

    private BrunoProcess(string name, string[] args, IReadOnlyDictionary<string, string> environment, Uri address, IReadOnlyList<string> prefix) =>
        (Name, _args, _environment, Address, _prefix) = (name, args, environment, address, prefix);

    /// <summary>A name for messages ("gateway-1", "store-2").</summary>
    public string Name { get; }

    /// <summary>The HTTP address (API, health, metrics).</summary>
    public Uri Address { get; }

    /// <summary>Whether the process is running.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>The process's resident memory now, in bytes (VmRSS of /proc), or 0 when it is not running.</summary>
    public long ResidentBytes
    {
        get
        {
            try
            {
                var line = _process is { HasExited: false } p ? File.ReadLines($"/proc/{p.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)) : null;
                return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
            catch (IOException)
            {
                return 0; // it exited meanwhile
            }
        }
    }

    /// <summary>Processor time the process used so far (user and system), or zero when it is not running.</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            try
            {
                if (_process is not { HasExited: false } p)
                {
                    return TimeSpan.Zero;
                }

                p.Refresh();
                return p.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                return TimeSpan.Zero; // it exited meanwhile
            }
        }
    }

    /// <summary>What the process wrote so far (standard output and error), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output.TakeLast(60));
            }
        }
    }

    /// <summary>A free TCP port on 127.0.0.1 (bound and released: another process could take it, rarely).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Starts a process on ports <paramref name="start"/> picks, again on new ones when one was taken meanwhile (a free
    /// port is found by binding and releasing it: another test's process can take it before this one binds it).
    /// </summary>
    public static async Task<BrunoProcess> OnFreePortsAsync(Func<Task<BrunoProcess>> start)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start();
            }
            catch (InvalidOperationException e) when (attempt < 4 && e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // taken: new ports
            }
        }
    }

    /// <summary>
    /// Starts <c>bruno serve --role <paramref name="role"/></c> on <paramref name="port"/> of 127.0.0.1, or of
    /// <paramref name="host"/> (a test host in a network namespace), and waits until it serves.
    /// </summary>
    public static async Task<BrunoProcess> StartAsync(string name, string role, string dataRoot, int port, IReadOnlyDictionary<string, string> environment, CancellationToken ct, TestHost? host = null)
    {
        host ??= TestHost.Loopback;
        var address = new Uri($"http://{host.Address}:{port}");
        var p = new BrunoProcess(name, ["serve", "--role", role, "--data", dataRoot, "--urls", address.ToString().TrimEnd('/')], environment, address, host.Prefix);
        await p.RestartAsync(ct);
        return p;
    }

    /// <summary>Starts the process (again) and waits until it prints that it serves; fails with its output otherwise.</summary>
    public async Task RestartAsync(CancellationToken ct)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException($"{Name} is running.");
        }

        // in a namespace: `ip netns exec NS dotnet …` (ip execs dotnet in place, so the process is the same)
        string[] command = [.. _prefix, Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet"];
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in command.Skip(1))
        {
            start.ArgumentList.Add(a);
        }

        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "bruno.dll"));
        foreach (var a in _args)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("BRUNO_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key); // only what this process is given
        }

        foreach (var (k, v) in _environment)
        {
            start.Environment[k] = v;
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_output)
            {
                _output.Add(line);
                if (_output.Count > 2_000)
                {
                    _output.RemoveRange(0, 1_000); // the last lines are what a failure message needs
                }
            }

            if (line.StartsWith("Bruno is serving", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"{Name} exited before serving:\n{Output}"));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(90), ct);
        }
        catch (TimeoutException)
        {
            Kill();
            throw new TimeoutException($"{Name} did not start serving within 90 s:\n{Output}");
        }
    }

    /// <summary>SIGSTOP: the process stops running but keeps its sockets open (a frozen machine, a long pause).</summary>
    public void Pause() => Signal("STOP");

    /// <summary>SIGCONT: a paused process runs on, unaware of the time it lost.</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string name)
    {
        var pid = _process is { HasExited: false } p ? p.Id : throw new InvalidOperationException($"{Name} is not running.");
        using var kill = Process.Start("kill", ["-" + name, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{name} {pid} failed");
        }
    }

    /// <summary>SIGKILL, and waits until it is gone.</summary>
    public void Kill()
    {
        if (_process is { } p && !p.HasExited)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
    }

    /// <summary>Kills the process.</summary>
    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Where a test process runs: the address it listens on and the command that enters its network namespace.</summary>
/// <param name="Address">The IPv4 address the process binds and advertises.</param>
/// <param name="Prefix">The command put before <c>dotnet</c> (<c>ip netns exec NS</c>), empty on the machine itself.</param>
public sealed record TestHost(string Address, IReadOnlyList<string> Prefix)
{
    /// <summary>The machine itself, on 127.0.0.1.</summary>
    public static TestHost Loopback { get; } = new("127.0.0.1", []);
}
