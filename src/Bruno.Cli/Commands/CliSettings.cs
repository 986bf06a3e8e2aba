using System.ComponentModel;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Server;
using Microsoft.Extensions.Configuration;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Options every command takes.</summary>
public class CliSettings : CommandSettings
{
    /// <summary>Data folder (default: Bruno:DataRoot, else ./data).</summary>
    [CommandOption("--data <DIR>")]
    [Description("Data folder (default: setting Bruno:DataRoot / BRUNO_DATAROOT, else ./data).")]
    public string? DataRoot { get; init; }

    /// <summary>Base address of a running server.</summary>
    [CommandOption("--server <URL>")]
    [Description("Address of the running server (default http://127.0.0.1:8080, or BRUNO_SERVER).")]
    public string? Server { get; init; }

    /// <summary>A bearer token to call the server with.</summary>
    [CommandOption("--token <TOKEN>")]
    [Description("Call the server with this bearer token (default BRUNO_TOKEN, else the profile's credential, else a token signed with the data folder's key).")]
    public string? Token { get; init; }

    /// <summary>An API key to call the server with.</summary>
    [CommandOption("--api-key <KEY>")]
    [Description("Call the server with this API key (default BRUNO_API_KEY).")]
    public string? ApiKey { get; init; }

    /// <summary>A saved profile (bruno login).</summary>
    [CommandOption("--profile <NAME>")]
    [Description("Use this profile saved by `bruno login` (default BRUNO_PROFILE, else \"default\" when it exists and --data is not given).")]
    public string? ProfileName { get; init; }

    /// <summary>Machine-readable output.</summary>
    [CommandOption("--json")]
    [Description("Write JSON to standard output instead of text.")]
    public bool Json { get; init; }

    /// <summary>Settings as the server reads them, with <c>--data</c> on top. Throws ConfigurationException naming a bad one.</summary>
    internal BrunoOptions Options() => BrunoServer.ReadOptions(Configuration());

    /// <summary>The rendering settings (<c>Bruno:Kubernetes</c>); the renderer checks them.</summary>
    internal Kubernetes.KubernetesOptions KubernetesOptions()
    {
        var options = new Kubernetes.KubernetesOptions();
        try
        {
            Configuration().GetSection("Bruno:Kubernetes").Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new CliException(BrunoCli.UserError, e.Message.Split(Environment.NewLine)[0]);
        }

        return options;
    }

    /// <summary>Settings a command's own options set, on top of everything else.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> CommandSettingsOverride() => [];

    private IConfigurationRoot Configuration()
    {
        var builder = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true)
            .AddInMemoryCollection(BrunoEnvironment.Settings());
        if (DataRoot is not null)
        {
            builder.AddInMemoryCollection([new("Bruno:DataRoot", DataRoot)]);
        }

        builder.AddInMemoryCollection(CommandSettingsOverride());

        return builder.Build();
    }

    /// <summary>
    /// The token service of an existing data folder: its signing key must be there already (<c>bruno serve</c> makes
    /// it). A mistyped <c>--data</c> is an error naming the folder, never a new folder with fresh keys.
    /// </summary>
    internal TokenService Tokens()
    {
        var options = Options();
        var root = Path.GetFullPath(options.DataRoot);
        var secrets = string.IsNullOrEmpty(options.SecretsFolder) ? Path.Combine(root, "secrets") : Path.GetFullPath(options.SecretsFolder);
        if (!File.Exists(Path.Combine(secrets, "token-signing.key"))) // checked before DataDirectory, which creates what is missing
        {
            throw new CliException(BrunoCli.UserError, $"no Bruno data folder at {root} (no token-signing key): pass --data, or --token / --api-key, or `bruno login`");
        }

        return TokenService.ForDataDirectory(DataDirectory.For(options), options);
    }

    /// <summary>
    /// What to call the server with as an operator: the explicit credential (--token, --api-key, BRUNO_TOKEN,
    /// BRUNO_API_KEY, the profile's) when there is one, else a token of <paramref name="actor"/> signed with the data
    /// folder's key. The server decides what the credential may do.
    /// </summary>
    internal string PlatformCredential(string actor, TimeSpan lifetime) =>
        Credential() ?? Tokens().IssuePlatformToken(actor, lifetime);

    /// <summary>
    /// What to call the server with as <paramref name="user"/> of <paramref name="tenant"/>: the explicit credential,
    /// else a token signed with the data folder's key — the operator's — that names the tenant's owner role (so the
    /// command works in a tenant that uses roles, where a user without one is a member).
    /// </summary>
    internal string UserCredential(Storage.Identity.TenantId tenant, Storage.Identity.UserId user, IReadOnlyList<string> scopes, TimeSpan lifetime) =>
        Credential() ?? Tokens().IssueUserToken(tenant, user, scopes, lifetime, (Options().Auth.RolesClaim, Core.Tenants.TenantRoles.Name(Core.Tenants.TenantRole.Owner)));

    /// <summary>
    /// The credential to call with, most explicit first: --token, --api-key, BRUNO_TOKEN, BRUNO_API_KEY, the profile
    /// named by --profile; then, when --data is given, none (the data folder's key signs one); then the profile named by
    /// BRUNO_PROFILE, else the saved "default". Null: sign with the data folder's key.
    /// </summary>
    internal string? Credential()
    {
        if ((Token ?? ApiKey ?? Env("BRUNO_TOKEN") ?? Env("BRUNO_API_KEY")) is { } given)
        {
            return given;
        }

        return ProfileName is null && DataRoot is not null ? null : Profile() is { } profile ? profile.Token ?? profile.ApiKey : null;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    /// <summary>The profile in use: the one named (an error when it does not exist), else "default" when saved, else none.</summary>
    internal Profile? Profile()
    {
        var name = ProfileName ?? Env("BRUNO_PROFILE");
        if (name is null)
        {
            return Profiles.Find(Profiles.DefaultName);
        }

        return Profiles.Find(name) ?? throw new CliException(BrunoCli.UserError, $"no profile '{name}' in {Profiles.Path}: save one with `bruno login --name {name}`");
    }

    /// <summary>The server's base address: --server, BRUNO_SERVER, the profile's, else http://127.0.0.1:8080.</summary>
    internal Uri ServerUri()
    {
        var value = Server ?? Env("BRUNO_SERVER") ?? (ProfileName is null && DataRoot is not null ? null : Profile()?.Server) ?? "http://127.0.0.1:8080";
        return Parse(value);
    }

    /// <summary>An http(s) address, or a one-line error.</summary>
    internal static Uri Parse(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new CliException(BrunoCli.UserError, $"--server must be an http(s) address, not '{value}'");
}
