using Bruno.Core;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace Bruno.Cli.Tests;

/// <summary>A bad setting stops a command with exit code 1 and one line on standard error naming every bad setting.</summary>
public sealed class ConfigurationErrorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-cli-config-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task BadSettings_ExitWith1_AndOneLineNamingEach()
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });

        // --role sets Bruno:Cluster:Role; a gateway needs the PostgreSQL catalog and the cluster token
        var code = await BrunoCli.RunAsync(["serve", "--role", "gateway", "--data", _root, "--urls", "http://127.0.0.1:0"], console, errors);

        Assert.Equal(1, code);
        Assert.Equal(
            "error: Bruno:Cluster:Role gateway needs the PostgreSQL catalog (Bruno:Catalog:Provider postgres): every node shares it.; "
            + "Bruno:Cluster:Token must be at least 32 characters (the same on every node).",
            errors.ToString().TrimEnd());
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root)); // nothing created
    }

    [Fact]
    public void AFailedStartCheck_IsTheUsersError_OnOneLine()
    {
        // what the host throws at start when the options fail their validators (ValidateOnStart)
        var e = new OptionsValidationException(Options.DefaultName, typeof(BrunoOptions), ["Bruno:Mcp:SearchPerMinute must be between 1 and 100000.", "Bruno:Chat:Temperature must be between 0 and 2."]);

        Assert.Equal((BrunoCli.UserError, "Bruno:Mcp:SearchPerMinute must be between 1 and 100000.; Bruno:Chat:Temperature must be between 0 and 2."), BrunoCli.Classify(e));
    }
}
