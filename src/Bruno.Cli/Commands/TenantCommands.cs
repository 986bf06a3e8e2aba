using System.ComponentModel;
using System.Text.Json;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Settings of commands that name a tenant as their argument.</summary>
internal class TenantArgumentSettings : CliSettings
{
    [CommandArgument(0, "<TENANT>")]
    [Description("Tenant id (DNS label: a-z, 0-9, '-', at most 63).")]
    public string Tenant { get; init; } = string.Empty;
}

/// <summary>Runs an admin API call with an operator token minted from the data root's key.</summary>
internal static class Admin
{
    public static async Task<JsonElement> CallAsync(CliSettings settings, HttpMethod method, string path, object? body, CancellationToken ct)
    {
        var token = settings.PlatformCredential("cli", TimeSpan.FromMinutes(5));
        using var api = new ApiClient(settings.ServerUri(), token);
        return await api.SendAsync(method, path, body, ct);
    }

    public static void Show(IAnsiConsole c, JsonElement t) =>
        c.WriteLine($"{t.GetProperty("id").GetString()}\t{t.GetProperty("status").GetString()}\t{t.GetProperty("display_name").GetString()}\tplan {t.GetProperty("plan").GetString()}\t{t.GetProperty("isolation").GetString()}\tcreated {t.GetProperty("created_at").GetString()}");
}

/// <summary><c>bruno tenant create ID [--name NAME] [--plan P] [--isolation L] [--compliance gdpr,soc2,hipaa]</c>.</summary>
internal sealed class TenantCreateCommand : AsyncCommand<TenantCreateCommand.Settings>
{
    public sealed class Settings : TenantArgumentSettings
    {
        [CommandOption("--name <NAME>")]
        [Description("Display name (default: the id).")]
        public string? Name { get; init; }

        [CommandOption("--plan <PLAN>")]
        [Description("Plan (default: default; premium is the other built-in one).")]
        public string? Plan { get; init; }

        [CommandOption("--isolation <LEVEL>")]
        [Description("namespace (default), kamaji or dedicated-cluster.")]
        public string? Isolation { get; init; }

        [CommandOption("--compliance <FLAGS>")]
        [Description("Comma-separated compliance flags: gdpr, soc2, hipaa.")]
        public string? Compliance { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant); // checked here, before any call
        var body = new
        {
            id = id.Value,
            display_name = settings.Name ?? id.Value,
            plan = settings.Plan,
            isolation = settings.Isolation,
            compliance = settings.Compliance?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
        var created = await Admin.CallAsync(settings, HttpMethod.Post, "/admin/v1/tenants", body, cancellationToken);
        CliConsole.For(settings).Write(created, c => Admin.Show(c, created));
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno tenant list</c>.</summary>
internal sealed class TenantListCommand : AsyncCommand<CliSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, CliSettings settings, CancellationToken cancellationToken)
    {
        var list = await Admin.CallAsync(settings, HttpMethod.Get, "/admin/v1/tenants", null, cancellationToken);
        CliConsole.For(settings).Write(list, c =>
        {
            foreach (var t in list.EnumerateArray())
            {
                Admin.Show(c, t);
            }
        });
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno tenant show ID</c>.</summary>
internal sealed class TenantShowCommand : AsyncCommand<TenantArgumentSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, TenantArgumentSettings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var t = await Admin.CallAsync(settings, HttpMethod.Get, $"/admin/v1/tenants/{id.Value}", null, cancellationToken);
        CliConsole.For(settings).Write(t, c => Admin.Show(c, t));
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno tenant suspend|resume|offload|delete ID</c>: one lifecycle transition through the admin API.</summary>
internal sealed class TenantTransitionCommand : AsyncCommand<TenantTransitionCommand.Settings>
{
    public sealed class Settings : TenantArgumentSettings
    {
        [CommandOption("--yes")]
        [Description("Confirm a deletion (it destroys the tenant's keys and cannot be undone).")]
        public bool Yes { get; init; }

        [CommandOption("--receipt <FILE>")]
        [Description("delete: write the signed erasure receipt to this file (check it with `bruno receipt verify`).")]
        public string? Receipt { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var verb = context.Name;
        if (verb == "delete" && !settings.Yes)
        {
            throw new CliException(BrunoCli.UserError, "deleting a tenant destroys its keys and cannot be undone; add --yes to confirm");
        }

        var t = verb == "delete"
            ? await Admin.CallAsync(settings, HttpMethod.Delete, $"/admin/v1/tenants/{id.Value}", null, cancellationToken)
            : await Admin.CallAsync(settings, HttpMethod.Post, $"/admin/v1/tenants/{id.Value}/{verb}", null, cancellationToken);
        if (settings.Receipt is not null && t.TryGetProperty("receipt", out var receipt) && receipt.ValueKind == JsonValueKind.Object)
        {
            await File.WriteAllTextAsync(settings.Receipt, JsonSerializer.Serialize(receipt, Output.JsonOutput.Options), cancellationToken);
        }

        CliConsole.For(settings).Write(t, c =>
        {
            Admin.Show(c, t);
            if (settings.Receipt is not null)
            {
                c.WriteLine($"erasure receipt written to {settings.Receipt}");
            }
        });
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno tenant plan ID PLAN</c>: changes the tenant's plan.</summary>
internal sealed class TenantPlanCommand : AsyncCommand<TenantPlanCommand.Settings>
{
    public sealed class Settings : TenantArgumentSettings
    {
        [CommandArgument(1, "<PLAN>")]
        [Description("The new plan.")]
        public string Plan { get; init; } = string.Empty;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var t = await Admin.CallAsync(settings, HttpMethod.Put, $"/admin/v1/tenants/{id.Value}/plan", new { plan = settings.Plan }, cancellationToken);
        CliConsole.For(settings).Write(t, c => Admin.Show(c, t));
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno reembed --tenant T</c>: moves a tenant's documents to the configured embedding model.</summary>
internal sealed class ReembedCommand : AsyncCommand<TenantUserSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, TenantUserSettings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var result = await Admin.CallAsync(settings, HttpMethod.Post, $"/admin/v1/tenants/{id.Value}/reembed", new { }, cancellationToken);
        CliConsole.For(settings).Write(result, c => c.WriteLine(
            $"{result.GetProperty("documents").GetInt32()} documents ({result.GetProperty("chunks").GetInt32()} chunks) now embedded with {result.GetProperty("to_model").GetString()}"));
        return BrunoCli.Ok;
    }
}
