using System.ComponentModel;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Server;
using Microsoft.Extensions.Configuration;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Options every command takes.</summary>
public class CliSettings : CommandSettings
{
    /// <summary>Data folder (default: Bruno:DataRoot, else ./data).</summary>
    [CommandOption("--data <DIR>")]
    [Description("Data folder (default: setting Bruno:DataRoot / BRUNO_DATAROOT, else ./data).")]
    public string? DataRoot { get; init; }

    /// <summary>Base address of a running server.</summary>
    [CommandOption("--server <URL>")]
    [Description("Address of the running server (default http://127.0.0.1:8080, or BRUNO_SERVER).")]
    public string? Server { get; init; }

    /// <summary>Machine-readable output.</summary>
    [CommandOption("--json")]
    [Description("Write JSON to standard output instead of text.")]
    public bool Json { get; init; }

    /// <summary>Settings as the server reads them, with <c>--data</c> on top. Throws ConfigurationException naming a bad one.</summary>
    internal BrunoOptions Options() => BrunoServer.ReadOptions(Configuration());

    /// <summary>The rendering settings (<c>Bruno:Kubernetes</c>); the renderer checks them.</summary>
    internal Kubernetes.KubernetesOptions KubernetesOptions()
    {
        var options = new Kubernetes.KubernetesOptions();
        try
        {
            Configuration().GetSection("Bruno:Kubernetes").Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new CliException(BrunoCli.UserError, e.Message.Split(Environment.NewLine)[0]);
        }

        return options;
    }

    /// <summary>Settings a command's own options set, on top of everything else.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> CommandSettingsOverride() => [];

    private IConfigurationRoot Configuration()
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddInMemoryCollection(BrunoEnvironment.Settings());
        if (DataRoot is not null)
        {
            builder.AddInMemoryCollection([new("Bruno:DataRoot", DataRoot)]);
        }

        builder.AddInMemoryCollection(CommandSettingsOverride());

        return builder.Build();
    }

    /// <summary>The token service of the data root (the signing key is created if this is its first use).</summary>
    internal TokenService Tokens()
    {
        var options = Options();
        return TokenService.ForDataDirectory(DataDirectory.For(options), options);
    }

    /// <summary>The server's base address.</summary>
    internal Uri ServerUri()
    {
        var value = Server ?? Environment.GetEnvironmentVariable("BRUNO_SERVER") ?? "http://127.0.0.1:8080";
        return Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new CliException(BrunoCli.UserError, $"--server must be an http(s) address, not '{value}'");
    }
}
