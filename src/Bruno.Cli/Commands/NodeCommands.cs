using System.ComponentModel;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary><c>bruno tenant move ID --to NODE</c>: moves the tenant to another store node while it is in use.</summary>
internal sealed class TenantMoveCommand : AsyncCommand<TenantMoveCommand.Settings>
{
    public sealed class Settings : TenantArgumentSettings
    {
        [CommandOption("--to <NODE>")]
        [Description("The store node to move it to (`bruno node list` names them).")]
        public string? To { get; init; }

        public override ValidationResult Validate() =>
            To is not null && TenantId.TryParse(To, out _)
                ? ValidationResult.Success()
                : ValidationResult.Error("--to must name a store node (a DNS label).");
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var moved = await Admin.CallAsync(settings, HttpMethod.Post, $"/admin/v1/tenants/{id.Value}/move", new { to = settings.To }, cancellationToken);
        CliConsole.For(settings).Write(moved, c => c.WriteLine(
            $"{moved.GetProperty("tenant").GetString()}: {moved.GetProperty("from").GetString()} -> {moved.GetProperty("to").GetString()}, {moved.GetProperty("bytes").GetInt64():N0} bytes, writes held {moved.GetProperty("fenced_ms").GetInt64()} ms"));
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno node list</c>: the store nodes, their zone, their load and whether they report.</summary>
internal sealed class NodeListCommand : AsyncCommand<CliSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, CliSettings settings, CancellationToken cancellationToken)
    {
        var nodes = await Admin.CallAsync(settings, HttpMethod.Get, "/admin/v1/nodes", null, cancellationToken);
        CliConsole.For(settings).Write(nodes, c =>
        {
            foreach (var n in nodes.EnumerateArray())
            {
                c.WriteLine($"{n.GetProperty("name").GetString()}\t{(n.GetProperty("live").GetBoolean() ? "live" : "silent")}\tzone {(n.TryGetProperty("zone", out var zone) && zone.GetString() is { } z ? z : "unknown")}\t{n.GetProperty("tenants_placed").GetInt32()} tenants\t{n.GetProperty("replicas_placed").GetInt32()} replicas\t{n.GetProperty("rows").GetInt64():N0} rows\t{n.GetProperty("bytes").GetInt64():N0} bytes\t{n.GetProperty("url").GetString()}");
            }
        });
        return BrunoCli.Ok;
    }
}
