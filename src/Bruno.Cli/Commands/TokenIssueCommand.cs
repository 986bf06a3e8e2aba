using System.ComponentModel;
using Bruno.Core.Identity;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary><c>bruno token issue</c>: signs a token with the data root's key (no server needed).</summary>
internal sealed class TokenIssueCommand : Command<TokenIssueCommand.Settings>
{
    public sealed class Settings : CliSettings
    {
        [CommandOption("--tenant <TENANT>")]
        [Description("Tenant of the user token.")]
        public string? Tenant { get; init; }

        [CommandOption("--user <USER>")]
        [Description("User (subject) of the token.")]
        public string? User { get; init; }

        [CommandOption("--scope <SCOPE>")]
        [Description("Scope to grant: query, ingest, memory, admin (repeat for several; default query).")]
        public string[] Scopes { get; init; } = [];

        [CommandOption("--platform-admin")]
        [Description("Issue an operator token (no tenant) for the admin API instead.")]
        public bool PlatformAdmin { get; init; }

        [CommandOption("--metrics")]
        [Description("Issue a scraper's token (no tenant) that can read /metrics and nothing else.")]
        public bool Metrics { get; init; }

        [CommandOption("--minutes <MINUTES>")]
        [Description("Lifetime in minutes (default 60).")]
        public int Minutes { get; init; } = 60;

        public override ValidationResult Validate() =>
            (PlatformAdmin ? 1 : 0) + (Metrics ? 1 : 0) + (Tenant is null ? 0 : 1) != 1 ? ValidationResult.Error("Give one of --platform-admin, --metrics or --tenant (with --user).")
            : Minutes is < 1 or > 527_040 ? ValidationResult.Error("--minutes must be between 1 and 527040.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var tokens = settings.Tokens();
        var lifetime = TimeSpan.FromMinutes(settings.Minutes);
        var token = settings.PlatformAdmin ? tokens.IssuePlatformToken(settings.User ?? "operator", lifetime)
            : settings.Metrics ? tokens.IssueMetricsToken(settings.User ?? "prometheus", lifetime)
            : tokens.IssueUserToken(TenantId.Parse(settings.Tenant), UserId.Parse(settings.User ?? throw new CliException(BrunoCli.UserError, "--user is required with --tenant")), settings.Scopes.Length == 0 ? [Scopes.Query] : settings.Scopes, lifetime);
        CliConsole.For(settings).Write(new { token, token_type = "Bearer", expires_at = DateTimeOffset.UtcNow + lifetime }, c => c.Profile.Out.Writer.WriteLine(token)); // raw: never wrapped at the terminal width
        return BrunoCli.Ok;
    }
}
