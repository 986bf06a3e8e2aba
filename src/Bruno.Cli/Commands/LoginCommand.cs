using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>
/// <c>bruno login</c>: checks a credential against a server and saves both as a profile, so that later commands need
/// neither (<c>--profile</c> picks another; <c>default</c> is used when none is named).
/// </summary>
internal sealed class LoginCommand : AsyncCommand<LoginCommand.Settings>
{
    public sealed class Settings : CliSettings
    {
        [CommandOption("--name <PROFILE>")]
        [Description("Save under this profile name (default \"default\").")]
        public string? Name { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var credential = settings.Token ?? settings.ApiKey
            ?? throw new CliException(BrunoCli.UserError, "give the credential to save: --token TOKEN or --api-key KEY");
        if (settings.Token is not null && settings.ApiKey is not null)
        {
            throw new CliException(BrunoCli.UserError, "give one credential: --token or --api-key, not both");
        }

        var server = CliSettings.Parse(settings.Server ?? Environment.GetEnvironmentVariable("BRUNO_SERVER") ?? "http://127.0.0.1:8080");
        var name = settings.Name ?? Profiles.DefaultName;
        if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z0-9][a-z0-9-]{0,31}$"))
        {
            throw new CliException(BrunoCli.UserError, "a profile name is 1-32 of a-z, 0-9 and '-', starting with a letter or digit");
        }

        // the server says whether it takes the credential: a tenant credential can read its usage only as its admin,
        // so any answer but 401 means the credential is valid (403: valid, without that scope)
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", credential);
        using var response = await http.GetAsync(settings.Token is not null && !LooksLikeTenantToken(credential) ? "/admin/v1/tenants" : "/v1/models", cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.Unauthorized)
        {
            throw new CliException(BrunoCli.UserError, $"{server} refused the credential (401): check it, or issue a new one");
        }

        Profiles.Save(name, new Profile(server.ToString().TrimEnd('/'), settings.Token, settings.ApiKey));
        CliConsole.For(settings).Write(new { profile = name, server = server.ToString().TrimEnd('/'), file = Profiles.Path }, c => c.WriteLine($"saved profile '{name}' for {server} in {Profiles.Path}"));
        return BrunoCli.Ok;
    }

    /// <summary>Whether a JWT's payload names a tenant (so it cannot list tenants): read without verifying, only to pick the check.</summary>
    private static bool LooksLikeTenantToken(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return false;
        }

        try
        {
            var json = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(parts[1]);
            return json.Contains("\"tenant_id\"", StringComparison.Ordinal);
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
