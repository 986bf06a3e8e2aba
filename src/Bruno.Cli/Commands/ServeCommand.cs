using System.ComponentModel;
using Bruno.Core;
using Bruno.Server;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary><c>bruno serve</c>: runs the service until stopped (Ctrl+C).</summary>
internal sealed class ServeCommand : AsyncCommand<ServeCommand.Settings>
{
    public sealed class Settings : CliSettings
    {
        [CommandOption("--urls <URLS>")]
        [Description("Addresses to listen on (default http://127.0.0.1:8080).")]
        public string Urls { get; init; } = "http://127.0.0.1:8080";

        [CommandOption("--role <ROLE>")]
        [Description("all (default: everything in one process), gateway or store (docs/scaling.md); setting Bruno:Cluster:Role.")]
        public string? Role { get; init; }

        protected override IEnumerable<KeyValuePair<string, string?>> CommandSettingsOverride() =>
            Role is null ? [] : [new("Bruno:Cluster:Role", Role)];
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var options = settings.Options(); // validates before anything is created
        var data = DataDirectory.For(options);
        var role = options.Cluster.Kind;
        var newSigningKey = !File.Exists(data.SigningKeyPath);
        var newMasterKey = role != Core.Cluster.NodeRole.Gateway && string.IsNullOrEmpty(options.MasterKey) && !File.Exists(data.MasterKeyPath);
        var app = BrunoServer.Build([], b =>
        {
            b.Configuration["Bruno:DataRoot"] = data.Root;
            if (settings.Role is not null)
            {
                b.Configuration["Bruno:Cluster:Role"] = settings.Role;
            }

            b.WebHost.UseUrls(settings.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries));
        });
        _ = app.Services.GetRequiredService<Core.Identity.TokenService>(); // creates the signing key now, not on the first request
        _ = app.Services.GetRequiredService<Storage.IStorageEngine>(); // and the master key (a gateway has none)
        await app.StartAsync(cancellationToken);
        var console = CliConsole.Current;
        var roleText = role == Core.Cluster.NodeRole.All ? string.Empty : $" as a {role.ToString().ToLowerInvariant()}";
        if (newMasterKey)
        {
            console.MarkupLineInterpolated($"First start: created the master key (mode 0600) at {data.MasterKeyPath}.");
        }

        if (newSigningKey)
        {
            console.MarkupLineInterpolated($"Created the token-signing key (mode 0600) in {data.SecretsFolder}.");
        }

        // one line that works as printed, from any folder: written as is, never wrapped at the terminal's width
        console.Profile.Out.Writer.WriteLine($"Operator token: {Self()} token issue --platform-admin --data {Quoted(data.Root)}");
        // last: the line that says it serves (what scripts and tests wait for)
        console.MarkupLineInterpolated($"Bruno is serving{roleText} on [bold]{string.Join(";", app.Urls)}[/], data in {data.Root}");
        try
        {
            await app.WaitForShutdownAsync(cancellationToken);
        }
        finally
        {
            await app.DisposeAsync();
        }

        return BrunoCli.Ok;
    }

    /// <summary>How to run this same program again from a shell: its executable, or <c>dotnet</c> and its assembly.</summary>
    private static string Self()
    {
        var process = Environment.ProcessPath ?? "bruno";
        return Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? "dotnet " + Quoted(typeof(ServeCommand).Assembly.Location)
            : Quoted(process);
    }

    /// <summary>A path as a shell reads it: as is when it has nothing the shell would split or expand, else in single quotes.</summary>
    private static string Quoted(string path) =>
        path.All(c => char.IsLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or '+' or ':' or '=' or '@' or ',') ? path : "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
