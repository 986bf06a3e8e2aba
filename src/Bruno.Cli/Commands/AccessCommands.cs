using System.ComponentModel;
using System.Text.Json;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Settings of the commands on a tenant's roles and groups: the tenant.</summary>
internal class AccessSettings : CliSettings
{
    [CommandOption("--tenant <TENANT>")]
    [Description("The tenant.")]
    public string? Tenant { get; init; }

    public override ValidationResult Validate() => Tenant is null ? ValidationResult.Error("--tenant is required.") : ValidationResult.Success();

    /// <summary>The tenant, validated.</summary>
    internal TenantId TenantId() => Storage.Identity.TenantId.Parse(Tenant);

    /// <summary>A client of the tenant's API as its admin "cli" (or the given credential), for the group commands.</summary>
    internal ApiClient TenantAdmin() => new(ServerUri(), UserCredential(TenantId(), UserId.Parse("cli"), [Scopes.Admin], TimeSpan.FromMinutes(5)));
}

/// <summary>Settings naming a user.</summary>
internal class UserArgumentSettings : AccessSettings
{
    [CommandArgument(0, "<USER>")]
    [Description("The user (as their credential's subject names them).")]
    public string User { get; init; } = string.Empty;
}

/// <summary><c>bruno user list --tenant T</c>: the tenant's role assignments.</summary>
internal sealed class UserListCommand : AsyncCommand<AccessSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, AccessSettings settings, CancellationToken cancellationToken)
    {
        var roles = await Admin.CallAsync(settings, HttpMethod.Get, $"/admin/v1/tenants/{settings.TenantId().Value}/roles", null, cancellationToken);
        CliConsole.For(settings).Write(roles, c =>
        {
            foreach (var r in roles.GetProperty("items").EnumerateArray())
            {
                c.WriteLine($"{r.GetProperty("user").GetString()}\t{r.GetProperty("role").GetString()}\tsince {r.GetProperty("assigned_at").GetString()} by {r.GetProperty("assigned_by").GetString()}");
            }
        });
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno user role USER ROLE --tenant T</c> (or <c>--remove</c>): gives or takes a user's role, as the operator.</summary>
internal sealed class UserRoleCommand : AsyncCommand<UserRoleCommand.Settings>
{
    public sealed class Settings : UserArgumentSettings
    {
        [CommandArgument(1, "[ROLE]")]
        [Description("owner, admin, editor, member or auditor.")]
        public string? Role { get; init; }

        [CommandOption("--remove")]
        [Description("Take the user's role away (they keep only what their credential's scopes allow).")]
        public bool Remove { get; init; }

        public override ValidationResult Validate() =>
            base.Validate() is { Successful: false } failed ? failed
            : Remove == (Role is not null) ? ValidationResult.Error("Give a ROLE, or --remove.")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var user = UserId.Parse(settings.User);
        var path = $"/admin/v1/tenants/{settings.TenantId().Value}/users/{Uri.EscapeDataString(user.Value)}/role";
        if (settings.Remove)
        {
            await Admin.CallAsync(settings, HttpMethod.Delete, path, null, cancellationToken);
            CliConsole.For(settings).Write(new { user = user.Value, role = (string?)null }, c => c.WriteLine($"{user.Value} has no role in {settings.Tenant}"));
            return BrunoCli.Ok;
        }

        var role = TenantRoles.Name(TenantRoles.Parse(settings.Role)); // a typo is refused here, before the call
        var given = await Admin.CallAsync(settings, HttpMethod.Put, path, new { role }, cancellationToken);
        CliConsole.For(settings).Write(given, c => c.WriteLine($"{user.Value} is {role} in {settings.Tenant}"));
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno group list --tenant T</c>.</summary>
internal sealed class GroupListCommand : AsyncCommand<AccessSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, AccessSettings settings, CancellationToken cancellationToken)
    {
        using var api = settings.TenantAdmin();
        var groups = await api.SendAsync(HttpMethod.Get, "/api/v1/groups", (object?)null, cancellationToken);
        CliConsole.For(settings).Write(groups, c =>
        {
            foreach (var g in groups.GetProperty("items").EnumerateArray())
            {
                c.WriteLine($"{g.GetProperty("name").GetString()}\t{g.GetProperty("members").GetInt32()} members");
            }
        });
        return BrunoCli.Ok;
    }
}

/// <summary>Settings naming a group.</summary>
internal class GroupArgumentSettings : AccessSettings
{
    [CommandArgument(0, "<GROUP>")]
    [Description("The group's name (1-64 letters, digits, '-', '_', '.').")]
    public string Group { get; init; } = string.Empty;

    /// <summary>The group's path in the tenant's API, the name checked first.</summary>
    internal string GroupPath() => $"/api/v1/groups/{GroupName.Validate(Group)}";
}

/// <summary><c>bruno group create|delete|members GROUP --tenant T</c>.</summary>
internal sealed class GroupCommand : AsyncCommand<GroupArgumentSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, GroupArgumentSettings settings, CancellationToken cancellationToken)
    {
        var path = settings.GroupPath();
        using var api = settings.TenantAdmin();
        var console = CliConsole.For(settings);
        switch (context.Name)
        {
            case "create":
                console.Write(await api.SendAsync(HttpMethod.Post, "/api/v1/groups", new { name = settings.Group }, cancellationToken), c => c.WriteLine($"group {settings.Group} created in {settings.Tenant}"));
                break;
            case "delete":
                await api.SendAsync(HttpMethod.Delete, path, (object?)null, cancellationToken);
                console.Write(new { group = settings.Group, deleted = true }, c => c.WriteLine($"group {settings.Group} deleted (its memberships with it)"));
                break;
            default:
                var members = await api.SendAsync(HttpMethod.Get, path + "/members", (object?)null, cancellationToken);
                console.Write(members, c => Show(c, members));
                break;
        }

        return BrunoCli.Ok;
    }

    private static void Show(IAnsiConsole c, JsonElement members)
    {
        foreach (var m in members.GetProperty("items").EnumerateArray())
        {
            c.WriteLine($"{m.GetProperty("user").GetString()}{(m.GetProperty("admin").GetBoolean() ? "\tgroup admin" : string.Empty)}");
        }
    }
}

/// <summary><c>bruno group add|remove GROUP USER --tenant T [--admin]</c>.</summary>
internal sealed class GroupMemberCommand : AsyncCommand<GroupMemberCommand.Settings>
{
    public sealed class Settings : GroupArgumentSettings
    {
        [CommandArgument(1, "<USER>")]
        [Description("The member.")]
        public string User { get; init; } = string.Empty;

        [CommandOption("--admin")]
        [Description("Make the member an admin of the group (add only).")]
        public bool Admin { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var path = $"{settings.GroupPath()}/members/{Uri.EscapeDataString(UserId.Parse(settings.User).Value)}";
        using var api = settings.TenantAdmin();
        if (context.Name == "remove")
        {
            await api.SendAsync(HttpMethod.Delete, path, (object?)null, cancellationToken);
            CliConsole.For(settings).Write(new { group = settings.Group, user = settings.User, member = false }, c => c.WriteLine($"{settings.User} left {settings.Group}"));
            return BrunoCli.Ok;
        }

        var member = await api.SendAsync(HttpMethod.Put, path, new { admin = settings.Admin }, cancellationToken);
        CliConsole.For(settings).Write(member, c => c.WriteLine($"{settings.User} is in {settings.Group}{(settings.Admin ? " (group admin)" : string.Empty)}"));
        return BrunoCli.Ok;
    }
}
