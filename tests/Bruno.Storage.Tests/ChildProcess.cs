using System.Diagnostics;

namespace Bruno.Storage.Tests;

/// <summary>Runs the crash worker (tests/Bruno.Storage.CrashWorker) as a real child process.</summary>
internal sealed class ChildProcess : IDisposable
{
    private readonly Process _process;

    public ChildProcess(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Bruno.Storage.CrashWorker.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException("The worker did not start.");
    }

    /// <summary>The next line the child printed, or null at end of output.</summary>
    public string? ReadLine() => _process.StandardOutput.ReadLine();

    /// <summary>Reads the first line and fails with the child's error output unless it is READY.</summary>
    public void ExpectReady()
    {
        var line = ReadLine();
        if (line != "READY")
        {
            Kill();
            Assert.Fail($"worker did not start: {line} {_process.StandardError.ReadToEnd()}");
        }
    }

    /// <summary>The child's error output; call only after it exited.</summary>
    public string ReadError() => _process.HasExited ? _process.StandardError.ReadToEnd() : "(still running)";

    /// <summary>SIGKILL: no finaliser, no flush, no cleanup in the child.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void CloseInput() => _process.StandardInput.Close();

    public void WaitForExit() => _process.WaitForExit();

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }
}
