using System.ComponentModel;
using System.Text;
using Bruno.Core.Portability;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Where a bundle's passphrase comes from: a file, or the environment; never the command line.</summary>
internal static class BundlePassphraseSource
{
    /// <summary>The environment variable read when no <c>--passphrase-file</c> is given.</summary>
    public const string Variable = "BRUNO_BUNDLE_PASSPHRASE";

    /// <summary>
    /// The passphrase from <paramref name="file"/> (its first line; a trailing line break is not part of it), else from
    /// <see cref="Variable"/>. Throws <see cref="CliException"/> (exit 1) when neither gives one, or it breaks the rules.
    /// </summary>
    public static string Read(string? file)
    {
        string? value;
        if (file is not null)
        {
            if (!File.Exists(file))
            {
                throw new CliException(BrunoCli.UserError, $"passphrase file '{file}' does not exist");
            }

            value = File.ReadAllText(file).Split('\n')[0].TrimEnd('\r');
        }
        else
        {
            value = Environment.GetEnvironmentVariable(Variable);
        }

        if (string.IsNullOrEmpty(value))
        {
            throw new CliException(BrunoCli.UserError, $"give the bundle's passphrase with --passphrase-file FILE or the environment variable {Variable} (never as an argument)");
        }

        try
        {
            return BundlePassphrase.Validate(value);
        }
        catch (ArgumentException e)
        {
            throw new CliException(BrunoCli.UserError, e.Message);
        }
    }
}

/// <summary><c>bruno tenant export T --out FILE [--passphrase-file F]</c>: the tenant's bundle, written atomically, mode 0600.</summary>
internal sealed class TenantExportCommand : AsyncCommand<TenantExportCommand.Settings>
{
    public sealed class Settings : TenantArgumentSettings
    {
        [CommandOption("--out <FILE>")]
        [Description("The bundle file to write (created new, mode 0600; an existing file is never overwritten).")]
        public string? Out { get; init; }

        [CommandOption("--passphrase-file <FILE>")]
        [Description("File whose first line is the passphrase (default: environment variable BRUNO_BUNDLE_PASSPHRASE).")]
        public string? PassphraseFile { get; init; }

        public override ValidationResult Validate() => Out is null ? ValidationResult.Error("--out is required.") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var passphrase = BundlePassphraseSource.Read(settings.PassphraseFile);
        var target = Path.GetFullPath(settings.Out!);
        if (File.Exists(target) || Directory.Exists(target))
        {
            throw new CliException(BrunoCli.UserError, $"'{settings.Out}' exists; choose a new file");
        }

        var folder = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(folder))
        {
            throw new CliException(BrunoCli.UserError, $"folder '{folder}' does not exist");
        }

        // Written beside the target under a temporary name, flushed to disk, then renamed: the file named by --out is
        // either absent or a complete bundle.
        var partial = Path.Combine(folder, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.part");
        var token = settings.PlatformCredential("cli", TimeSpan.FromMinutes(5));
        using var api = new ApiClient(settings.ServerUri(), token, Timeout.InfiniteTimeSpan);
        long bytes;
        string sha256;
        try
        {
            await using (var file = new FileStream(partial, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                Options = FileOptions.Asynchronous,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                (bytes, sha256) = await api.DownloadAsync(HttpMethod.Post, $"/admin/v1/tenants/{id.Value}/export", new { passphrase }, file, cancellationToken);
                file.Flush(flushToDisk: true);
            }

            File.Move(partial, target, overwrite: false);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }

        CliConsole.For(settings).Write(
            new { tenant = id.Value, file = target, bytes, sha256 },
            c => c.WriteLine($"tenant {id.Value} exported to {target} ({bytes} bytes, sha256 {sha256})"));
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno tenant import FILE [--as NEWID] [--passphrase-file F]</c>: creates the tenant a bundle holds.</summary>
internal sealed class TenantImportCommand : AsyncCommand<TenantImportCommand.Settings>
{
    public sealed class Settings : CliSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("The bundle file.")]
        public string File { get; init; } = string.Empty;

        [CommandOption("--as <TENANT>")]
        [Description("Create the tenant under this id instead of the one it was exported from.")]
        public string? As { get; init; }

        [CommandOption("--passphrase-file <FILE>")]
        [Description("File whose first line is the passphrase (default: environment variable BRUNO_BUNDLE_PASSPHRASE).")]
        public string? PassphraseFile { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var target = settings.As is null ? (TenantId?)null : TenantId.Parse(settings.As);
        if (!System.IO.File.Exists(settings.File))
        {
            throw new CliException(BrunoCli.UserError, $"'{settings.File}' does not exist");
        }

        var passphrase = BundlePassphraseSource.Read(settings.PassphraseFile);
        var token = settings.PlatformCredential("cli", TimeSpan.FromMinutes(5));
        using var api = new ApiClient(settings.ServerUri(), token, Timeout.InfiniteTimeSpan);
        await using var file = System.IO.File.OpenRead(settings.File);
        using var content = new StreamContent(file);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        var path = "/admin/v1/tenants/import" + (target is { } t ? $"?as={t.Value}" : string.Empty);
        var created = await api.SendAsync(HttpMethod.Post, path, content, cancellationToken, new Dictionary<string, string>
        {
            ["X-Bundle-Passphrase-Base64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(passphrase)),
        });
        CliConsole.For(settings).Write(created, c => Admin.Show(c, created));
        return BrunoCli.Ok;
    }
}
