using System.ComponentModel;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>
/// <c>bruno console link --tenant T --user U [--role R]</c>: prints a one-time sign-in link to the web console, signed with
/// the data root's key (no server call): good for 15 minutes and one sign-in, with the scopes of the role named (default
/// member; a role assigned in Bruno caps them again at each request). <c>bruno console link --operator [NAME]</c> prints
/// one for a platform operator (no tenant; the operators' pages), named NAME (default <c>operator</c>).
/// </summary>
internal sealed class ConsoleLinkCommand : Command<ConsoleLinkCommand.Settings>
{
    public sealed class Settings : CliSettings
    {
        [CommandOption("--tenant <TENANT>")]
        [Description("The tenant to sign in to.")]
        public string? Tenant { get; init; }

        [CommandOption("--user <USER>")]
        [Description("The user the link signs in.")]
        public string? User { get; init; }

        [CommandOption("--role <ROLE>")]
        [Description("What the session may do: owner, admin, editor, member (default) or auditor.")]
        public string? Role { get; init; }

        [CommandOption("--operator [NAME]")]
        [Description("Sign in a platform operator (no tenant) instead, named NAME (default operator); not with --tenant, --user or --role.")]
        public FlagValue<string>? Operator { get; init; }

        public bool IsOperator => Operator?.IsSet == true;

        public override ValidationResult Validate() =>
            IsOperator && (Tenant is not null || User is not null || Role is not null) ? ValidationResult.Error("--operator signs in an operator: give it without --tenant, --user or --role.")
            : IsOperator ? ValidationResult.Success()
            : Tenant is null || User is null ? ValidationResult.Error("--tenant and --user are required (or --operator).")
            : !TenantRoles.TryParse(Role ?? "member", out _) ? ValidationResult.Error($"--role must be one of: {string.Join(", ", TenantRoles.Names)}.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var link = settings.IsOperator
            ? settings.Tokens().IssueConsoleOperatorLink(string.IsNullOrEmpty(settings.Operator!.Value) ? "operator" : settings.Operator.Value, ConsoleLinks.Lifetime)
            : settings.Tokens().IssueConsoleLink(TenantId.Parse(settings.Tenant), UserId.Parse(settings.User), ConsoleLinks.ScopesFor(TenantRoles.Parse(settings.Role ?? "member")), ConsoleLinks.Lifetime);
        var url = new Uri(settings.ServerUri(), "/console/signin?link=" + Uri.EscapeDataString(link)).ToString();
        CliConsole.For(settings).Write(new { url, expires_at = DateTimeOffset.UtcNow + ConsoleLinks.Lifetime }, c => c.Profile.Out.Writer.WriteLine(url)); // raw: never wrapped
        return BrunoCli.Ok;
    }
}
