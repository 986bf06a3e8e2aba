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

/// <summary>
/// Mutual TLS files (<c>Bruno:Cluster:Tls</c>) are checked before a node starts: a missing file or a key that is not the
/// certificate's stops <c>bruno serve</c> with exit code 1 and one line naming the setting and the file.
/// </summary>
[Collection(nameof(ProcessEnvironment))] // the settings come from BRUNO_* variables: nothing else may run meanwhile
public sealed class ClusterTlsConfigurationErrorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-cli-tls-").FullName;
    private readonly Testing.TestAuthority _authority = Testing.TestAuthority.Create("bruno-cli-test-ca");

    public void Dispose()
    {
        _authority.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary><c>bruno serve --role store</c> with <paramref name="files"/> as its TLS settings; the exit code and standard error.</summary>
    private async Task<(int Code, string Error, string Data)> ServeAsync(Testing.TlsFiles files)
    {
        var data = Path.Combine(_root, "data-" + Guid.NewGuid().ToString("N")[..8]);
        var environment = new Dictionary<string, string>(files.Environment())
        {
            ["BRUNO_CATALOG__PROVIDER"] = "postgres",
            ["BRUNO_CATALOG__CONNECTIONSTRING"] = "Host=127.0.0.1;Database=never-reached",
            ["BRUNO_CLUSTER__TOKEN"] = new string('t', 40),
            ["BRUNO_CLUSTER__NODENAME"] = "store-1",
            ["BRUNO_CLUSTER__ADVERTISEURL"] = "https://127.0.0.1:7070",
        };
        var (code, errors) = await StoreStart.RunAsync(data, environment);
        return (code, errors, data);
    }

    [Fact]
    public async Task AMissingOrMismatchedCertificateFile_ExitsWith1_AndOneLineNamingIt()
    {
        var good = _authority.Issue(Path.Combine(_root, "node"), "store-1");
        var missing = new Testing.TlsFiles(Path.Combine(_root, "nowhere"));
        var (code, error, data) = await ServeAsync(missing);
        Assert.Equal(1, code);
        Assert.Equal($"error: Bruno:Cluster:Tls:CertificateFile is '{missing.CertificateFile}', which does not exist.", error);
        Assert.False(Directory.Exists(data)); // nothing created

        // the key of another certificate: renewed half-way, or copied from the wrong Secret
        var other = _authority.Issue(Path.Combine(_root, "other"), "store-2");
        File.Copy(other.KeyFile, good.KeyFile, overwrite: true);
        (code, error, data) = await ServeAsync(good);
        Assert.Equal(1, code);
        Assert.Equal($"error: Bruno:Cluster:Tls:KeyFile '{good.KeyFile}' is not the private key of CertificateFile '{good.CertificateFile}' (an unencrypted PEM key matching it is needed).", error);
        Assert.DoesNotContain('\n', error);
        Assert.False(Directory.Exists(data));
    }
}

/// <summary>A zone that is not a DNS label stops <c>bruno serve</c> before anything starts, with exit code 1 and one line naming the setting.</summary>
[Collection(nameof(ProcessEnvironment))] // the settings come from BRUNO_* variables: nothing else may run meanwhile
public sealed class ZoneConfigurationErrorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-cli-zone-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("EU_West_1a")]
    [InlineData("a-zone-name-that-goes-on-for-longer-than-any-dns-label-may-go-on")]
    public async Task ABadZone_ExitsWith1_AndOneLineNamingIt(string zone)
    {
        var data = Path.Combine(_root, "data");
        var environment = new Dictionary<string, string>
        {
            ["BRUNO_CATALOG__PROVIDER"] = "postgres",
            ["BRUNO_CATALOG__CONNECTIONSTRING"] = "Host=127.0.0.1;Database=never-reached",
            ["BRUNO_CLUSTER__TOKEN"] = new string('t', 40),
            ["BRUNO_CLUSTER__NODENAME"] = "store-1",
            ["BRUNO_CLUSTER__ADVERTISEURL"] = "http://127.0.0.1:7070",
            ["BRUNO_CLUSTER__ZONE"] = zone,
        };
        var (code, errors) = await StoreStart.RunAsync(data, environment);
        Assert.Equal(1, code);
        Assert.Equal(
            "error: Bruno:Cluster:Zone must be the zone's name as a DNS label such as eu-west-1a (a-z, 0-9 and '-', at most 63 characters, starting and ending with a letter or digit), or unset.",
            errors);
        Assert.False(Directory.Exists(data)); // nothing created
    }
}

/// <summary><c>bruno serve --role store</c> in process, its settings given as BRUNO_* variables for the call only.</summary>
internal static class StoreStart
{
    /// <summary>The exit code and standard error (trimmed) of a start with <paramref name="environment"/>.</summary>
    public static async Task<(int Code, string Errors)> RunAsync(string data, IReadOnlyDictionary<string, string> environment)
    {
        var errors = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(new StringWriter()), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        foreach (var (name, value) in environment)
        {
            Environment.SetEnvironmentVariable(name, value);
        }

        try
        {
            var code = await BrunoCli.RunAsync(["serve", "--role", "store", "--data", data, "--urls", "http://127.0.0.1:0"], console, errors);
            return (code, errors.ToString().TrimEnd());
        }
        finally
        {
            foreach (var name in environment.Keys)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }
}
