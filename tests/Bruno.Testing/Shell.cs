using System.Diagnostics;

namespace Bruno.Testing;

/// <summary>Runs a command of the machine for a test's set-up (initdb, pg_ctl, ip).</summary>
internal static class Shell
{
    /// <summary>Runs <paramref name="program"/> to its end; throws with its output when it exits with another code than 0.</summary>
    public static async Task RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {await error}{await output}");
        }
    }
}
