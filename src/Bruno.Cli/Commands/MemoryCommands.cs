using System.ComponentModel;
using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Settings of the memory commands: the tenant and the user whose memory they act on.</summary>
internal class MemorySettings : CliSettings
{
    [CommandOption("--tenant <TENANT>")]
    [Description("The user's tenant.")]
    public string? Tenant { get; init; }

    [CommandOption("--user <USER>")]
    [Description("The user whose memory to act on.")]
    public string? User { get; init; }

    public override ValidationResult Validate() =>
        Tenant is null ? ValidationResult.Error("--tenant is required.")
        : User is null ? ValidationResult.Error("--user is required.")
        : ValidationResult.Success();

    /// <summary>A client holding a short-lived admin token of the tenant (as the tenant's admin "cli"), and the user's path.</summary>
    internal (ApiClient Api, string Path) Target()
    {
        var tenant = TenantId.Parse(Tenant);
        var user = UserId.Parse(User);
        return (new ApiClient(ServerUri(), UserCredential(tenant, UserId.Parse("cli"), [Scopes.Admin], TimeSpan.FromMinutes(10))), $"/api/v1/users/{user.Value}/memory");
    }
}

/// <summary><c>bruno memory export --tenant T --user U [--out FILE]</c>: everything held about the user, as JSON.</summary>
internal sealed class MemoryExportCommand : AsyncCommand<MemoryExportCommand.Settings>
{
    public sealed class Settings : MemorySettings
    {
        [CommandOption("--out <FILE>")]
        [Description("Write the export to FILE (created new; an existing file is not overwritten) instead of standard output.")]
        public string? Out { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var (api, path) = settings.Target();
        using (api)
        {
            var export = await api.SendAsync(HttpMethod.Get, path, (object?)null, cancellationToken);
            var json = JsonSerializer.Serialize(export, Output.JsonOutput.Options);
            if (settings.Out is null)
            {
                CliConsole.Current.Profile.Out.Writer.WriteLine(json);
                return BrunoCli.Ok;
            }

            try
            {
                await using var file = new FileStream(settings.Out, FileMode.CreateNew, FileAccess.Write);
                await using var writer = new StreamWriter(file);
                await writer.WriteAsync(json);
            }
            catch (IOException) when (File.Exists(settings.Out))
            {
                throw new CliException(BrunoCli.UserError, $"'{settings.Out}' exists; choose a new file");
            }

            int Count(string kind) => export.GetProperty(kind).GetArrayLength();
            CliConsole.For(settings).Write(
                new { file = settings.Out, turns = Count("turns"), facts = Count("facts"), preferences = Count("preferences") },
                c => c.WriteLine($"{Count("turns")} turns, {Count("facts")} facts, {Count("preferences")} preferences of {settings.User} written to {settings.Out}"));
            return BrunoCli.Ok;
        }
    }
}

/// <summary><c>bruno memory erase --tenant T --user U --yes</c>: crypto-shreds the user's memory and prints the receipt.</summary>
internal sealed class MemoryEraseCommand : AsyncCommand<MemoryEraseCommand.Settings>
{
    public sealed class Settings : MemorySettings
    {
        [CommandOption("--yes")]
        [Description("Confirm: erasure destroys the user's key and cannot be undone.")]
        public bool Yes { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!settings.Yes)
        {
            throw new CliException(BrunoCli.UserError, "erasure cannot be undone; add --yes to confirm");
        }

        var (api, path) = settings.Target();
        using (api)
        {
            var receipt = await api.SendAsync(HttpMethod.Delete, path, (object?)null, cancellationToken);
            CliConsole.For(settings).Write(receipt, c => c.WriteLine(
                $"erased {settings.User} of tenant {settings.Tenant}: {receipt.GetProperty("rows_deleted").GetInt64()} rows; {receipt.GetProperty("method").GetString()}"));
            return BrunoCli.Ok;
        }
    }
}
