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

        var receipts = Read(await File.ReadAllTextAsync(settings.File, cancellationToken));
        if (receipts.Count == 0)
        {
            throw new CliException(BrunoCli.UserError, $"{settings.File} is not an erasure receipt");
        }

        var key = TrustedKey.FromPem(await File.ReadAllTextAsync(keyFile, cancellationToken));
        var checkedReceipts = receipts.Select(r => (Valid: r.IsValid([key]), r.Receipt)).ToList();
        var valid = checkedReceipts.All(r => r.Valid);
        CliConsole.For(settings).Write(
            checkedReceipts.Count == 1 ? new { valid, receipt = checkedReceipts[0].Receipt } : new { valid, receipts = checkedReceipts.Select(r => new { valid = r.Valid, receipt = r.Receipt }) },
            c =>
            {
                foreach (var (ok, r) in checkedReceipts)
                {
                    c.WriteLine(ok
                        ? $"valid: {r.Kind} {(r.User is null ? r.Tenant : $"{r.User} of tenant {r.Tenant}")} erased at {r.ErasedAt:O} by {r.ErasedBy} ({r.Id})"
                        : $"NOT valid: the receipt {r.Id} was altered or was not signed by this key");
                }
            });
        return valid ? BrunoCli.Ok : BrunoCli.UserError;
    }

    /// <summary>
    /// The signed receipts in <paramref name="json"/>, as any door hands them out: a receipt alone (<c>tenant delete
    /// --receipt</c>), an API response that carries one under <c>receipt</c> (tenant deletion, user erasure), or a list
    /// of either (<c>GET /admin/v1/tenants/{tenant}/receipts</c>). Empty when it holds none.
    /// </summary>
    internal static List<SignedReceipt> Read(string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            return [];
        }

        using (document)
        {
            var found = new List<SignedReceipt>();
            var items = document.RootElement.ValueKind == JsonValueKind.Array ? document.RootElement.EnumerateArray().ToList() : [document.RootElement];
            foreach (var item in items)
            {
                var receipt = Signed(item) ?? (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("receipt", out var inner) ? Signed(inner) : null);
                if (receipt is null)
                {
                    return []; // one item that is not a receipt: the file is not what the user thinks it is
                }

                found.Add(receipt);
            }

            return found;
        }
    }

    private static SignedReceipt? Signed(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty("signature", out _))
        {
            return null;
        }

        try
        {
            return element.Deserialize<SignedReceipt>(AuditJson.Options) is { Receipt: not null, KeyId: not null, Signature: not null } r ? r : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
