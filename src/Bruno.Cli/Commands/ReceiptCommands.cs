using System.ComponentModel;
using System.Text.Json;
using Bruno.Core;
using Bruno.Core.Audit;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>
/// <c>bruno receipt verify FILE [--public-key KEY]</c>: checks an erasure receipt's signature with a public key from this
/// machine (the data root's, or the one given) and prints what it attests. Exit 0 when valid, 1 when not.
/// </summary>
internal sealed class ReceiptVerifyCommand : AsyncCommand<ReceiptVerifyCommand.Settings>
{
    public sealed class Settings : CliSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("The receipt (JSON, as `tenant delete --receipt` or the API wrote it).")]
        public string File { get; init; } = string.Empty;

        [CommandOption("--public-key <FILE>")]
        [Description("PEM public key of the installation that signed it (default: the data root's platform-signing.pub.pem).")]
        public string? PublicKey { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var keyFile = settings.PublicKey ?? new DataDirectory(settings.Options().DataRoot).PlatformPublicKeyPath;
        if (!File.Exists(keyFile))
        {
            throw new CliException(BrunoCli.UserError, $"no public key at {keyFile} (pass --public-key)");
        }

        if (!File.Exists(settings.File))
        {
            throw new CliException(BrunoCli.UserError, $"no receipt at {settings.File}");
        }

        SignedReceipt? receipt;
        try
        {
            receipt = JsonSerializer.Deserialize<SignedReceipt>(await File.ReadAllTextAsync(settings.File, cancellationToken), AuditJson.Options);
        }
        catch (JsonException)
        {
            receipt = null;
        }

        if (receipt?.Receipt is null || receipt.KeyId is null || receipt.Signature is null)
        {
            throw new CliException(BrunoCli.UserError, $"{settings.File} is not an erasure receipt");
        }

        var valid = receipt.IsValid([TrustedKey.FromPem(await File.ReadAllTextAsync(keyFile, cancellationToken))]);
        var r = receipt.Receipt;
        CliConsole.For(settings).Write(new { valid, receipt = r }, c => c.WriteLine(valid
            ? $"valid: {r.Kind} {(r.User is null ? r.Tenant : $"{r.User} of tenant {r.Tenant}")} erased at {r.ErasedAt:O} by {r.ErasedBy} ({r.Id})"
            : "NOT valid: the receipt was altered or was not signed by this key"));
        return valid ? BrunoCli.Ok : BrunoCli.UserError;
    }
}
