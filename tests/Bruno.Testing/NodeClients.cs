using System.Diagnostics;
using System.Text.Json;

namespace Bruno.Testing;

/// <summary>
/// Runs a script of <c>tests/contract</c> — third-party clients (the official OpenAI SDK…) installed there by
/// <c>./test.sh</c> with <c>npm ci</c> — with Node.js, and returns the JSON line it printed. Fails with the script's
/// output when it exits with an error, and with instructions when the packages are not installed.
/// </summary>
public static class NodeClients
{
    /// <summary>The folder of the contract clients.</summary>
    public static string Folder { get; } = Path.Combine(RepositoryRoot(), "tests", "contract");

    /// <summary>Runs <paramref name="script"/> with <paramref name="environment"/>; returns what it printed last, parsed.</summary>
    public static async Task<JsonElement> RunAsync(string script, IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        if (!Directory.Exists(Path.Combine(Folder, "node_modules")))
        {
            throw new InvalidOperationException($"the contract clients are not installed: run ./test.sh, or npm ci --prefix {Folder}");
        }

        var start = new ProcessStartInfo("node", [Path.Combine(Folder, script)])
        {
            WorkingDirectory = Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var errors = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var (stdout, stderr) = (await output, await errors);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} exited with {process.ExitCode}:\n{stderr}\n{stdout}");
        }

        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        return JsonDocument.Parse(last).RootElement.Clone();
    }

    /// <summary>The repository's root folder (where Bruno.slnx is), found above the test's folder.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Bruno.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (Bruno.slnx) is not above the test's folder");
    }
}
