using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Testing;
using Spectre.Console;

namespace Bruno.Cli.Tests;

/// <summary>
/// Issue 20: the client commands work like gh or kubectl — a token, an API key or a saved profile instead of the data
/// folder's key; no data folder made by a mistyped path; --version; shell completion; JSON errors under --json.
/// </summary>
[Collection(nameof(ProcessEnvironment))] // it sets BRUNO_TOKEN and BRUNO_CONFIG: nothing else may run meanwhile
public sealed class ClientCredentialTests : IAsyncLifetime
{
    private readonly string _elsewhere = Directory.CreateTempSubdirectory("bruno-cli-").FullName;
    private RunningServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await RunningServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_elsewhere, recursive: true);
    }

    /// <summary>Runs bruno with exactly <paramref name="args"/> and <paramref name="environment"/> (restored after).</summary>
    private static async Task<(int Code, string Out, string Err)> RunAsync(IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        var saved = new Dictionary<string, string?>();
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            saved[name] = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        try
        {
            var code = await BrunoCli.RunAsync(args, console, errors);
            return (code, output.ToString(), errors.ToString());
        }
        finally
        {
            foreach (var (name, value) in saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    private string Server => _server.Address.ToString();

    [Fact]
    public async Task AToken_AnApiKey_OrAProfile_StandsInForTheDataFolder_WhichIsNeverCreated()
    {
        var missing = Path.Combine(_elsewhere, "typo");
        var noConfig = new Dictionary<string, string?> { ["BRUNO_CONFIG"] = Path.Combine(_elsewhere, "none.json") };

        // a mistyped --data: one line, exit 1, and nothing made
        var (code, _, err) = await RunAsync(noConfig, "tenant", "list", "--data", missing, "--server", Server);
        Assert.Equal(1, code);
        Assert.Equal($"error: no Bruno data folder at {missing} (no token-signing key): pass --data, or --token / --api-key, or `bruno login`", err.TrimEnd());
        Assert.False(Directory.Exists(missing));

        // the same command with an operator token instead: it answers, and still makes no folder
        (code, var output, err) = await RunAsync(noConfig, "tenant", "list", "--data", missing, "--server", Server, "--token", _server.PlatformToken(), "--json");
        Assert.True(code == 0, err);
        Assert.Equal(JsonValueKind.Array, JsonDocument.Parse(output).RootElement.ValueKind);
        Assert.False(Directory.Exists(missing));

        // BRUNO_TOKEN does the same
        (code, _, err) = await RunAsync(new Dictionary<string, string?>(noConfig) { ["BRUNO_TOKEN"] = _server.PlatformToken() }, "tenant", "list", "--data", missing, "--server", Server);
        Assert.True(code == 0, err);

        // an API key asks its own tenant's knowledge
        var tenant = $"cli-key-{Guid.NewGuid():N}"[..20];
        using (var owner = await _server.TenantClientAsync(tenant))
        {
            (await owner.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "pool", content = "The pool opens at seven in the morning." }), TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        }

        using var admin = _server.Client(_server.PlatformToken());
        var key = JsonDocument.Parse(await (await admin.PostAsync($"/admin/v1/tenants/{tenant}/api-keys", RunningServer.Json(new { name = "cli", scopes = new[] { Scopes.Query } }), TestContext.Current.CancellationToken)).Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement.GetProperty("key").GetString()!;
        (code, output, err) = await RunAsync(noConfig, "ask", "When does the pool open?", "--tenant", tenant, "--data", missing, "--server", Server, "--api-key", key);
        Assert.True(code == 0, err);
        Assert.Contains("seven", output, StringComparison.Ordinal);

        // login checks and saves a profile (0600); later commands need neither --server nor a credential
        var config = new Dictionary<string, string?> { ["BRUNO_CONFIG"] = Path.Combine(_elsewhere, "config", "bruno.json") };
        (code, _, err) = await RunAsync(config, "login", "--server", Server, "--token", "not-a-token", "--data", missing);
        Assert.Equal(1, code);
        Assert.Contains("refused the credential (401)", err, StringComparison.Ordinal);
        (code, _, err) = await RunAsync(config, "login", "--server", Server, "--token", _server.PlatformToken(), "--name", "ops", "--data", missing);
        Assert.True(code == 0, err);
        var file = config["BRUNO_CONFIG"]!;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        (code, output, err) = await RunAsync(config, "tenant", "show", tenant, "--profile", "ops", "--data", missing, "--json");
        Assert.True(code == 0, err);
        Assert.Equal(tenant, JsonDocument.Parse(output).RootElement.GetProperty("id").GetString());
        (code, _, err) = await RunAsync(config, "tenant", "list", "--profile", "nobody", "--data", missing);
        Assert.Equal(1, code);
        Assert.Contains("no profile 'nobody'", err, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task TheFirstStartBanner_PrintsATokenCommandThatWorksAsPrinted()
    {
        var root = Path.Combine(_elsewhere, "first start");
        await using var server = await BrunoProcess.OnFreePortsAsync(() => BrunoProcess.StartAsync("banner", "all", root, BrunoProcess.FreePort(), new Dictionary<string, string>(), TestContext.Current.CancellationToken));
        var line = Assert.Single(server.Output.Split('\n'), l => l.StartsWith("Operator token: ", StringComparison.Ordinal));
        var command = line["Operator token: ".Length..].Trim();
        Assert.Contains("'" + root + "'", command, StringComparison.Ordinal); // the folder, quoted (it has a space)

        var shell = new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _elsewhere };
        using var run = System.Diagnostics.Process.Start(shell)!;
        var token = (await run.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken)).Trim();
        await run.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.True(run.ExitCode == 0, await run.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken));
        using var client = new HttpClient { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        (await client.GetAsync("/admin/v1/tenants", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Version_Completion_AndJsonErrors()
    {
        var (code, output, _) = await RunAsync(null, "--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());

        (code, output, _) = await RunAsync(null, "completion", "bash");
        Assert.Equal(0, code);
        Assert.Contains("complete -F _bruno bruno", output, StringComparison.Ordinal);
        (code, output, _) = await RunAsync(null, "completion", "fish");
        Assert.Equal(0, code);
        Assert.Contains("__fish_seen_subcommand_from tenant", output, StringComparison.Ordinal);
        (code, _, _) = await RunAsync(null, "completion", "powershell");
        Assert.Equal(1, code);

        // the completion table is the application's: every command in it answers --help, and the root's help lists them all
        foreach (var (name, subcommands) in BrunoCli.Commands)
        {
            foreach (var path in subcommands.Count == 0 ? [[name]] : subcommands.Select(s => new[] { name, s }))
            {
                (code, _, var err) = await RunAsync(null, [.. path, "--help"]);
                Assert.True(code == 0, $"{string.Join(' ', path)}: {err}");
            }
        }

        (_, output, _) = await RunAsync(null, "--help");
        var listed = output.Split('\n').SkipWhile(l => !l.StartsWith("COMMANDS", StringComparison.Ordinal)).Skip(1)
            .Where(l => l.StartsWith("    ", StringComparison.Ordinal) && l.Length > 4 && l[4] != ' ') // a command's first line, not a wrapped description
            .Select(l => l.Trim().Split(' ')[0]).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(BrunoCli.Commands.Keys.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));

        var (failed, _, error) = await RunAsync(null, "tenant", "show", "UPPER", "--json", "--server", Server);
        Assert.Equal(1, failed);
        var json = JsonDocument.Parse(error).RootElement.GetProperty("error");
        Assert.Equal(1, json.GetProperty("exit_code").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("message").GetString()));
    }
}

/// <summary>Tests that change the process's environment run alone.</summary>
[CollectionDefinition(nameof(ProcessEnvironment), DisableParallelization = true)]
public sealed class ProcessEnvironment;
