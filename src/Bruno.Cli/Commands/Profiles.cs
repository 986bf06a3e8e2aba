using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bruno.Cli.Commands;

/// <summary>A saved way to reach a server: its address and one credential (a token or an API key).</summary>
public sealed record Profile(string Server, string? Token, string? ApiKey);

/// <summary>
/// The profiles <c>bruno login</c> saves, in <c>$XDG_CONFIG_HOME/bruno/config.json</c> (else
/// <c>~/.config/bruno/config.json</c>; <c>BRUNO_CONFIG</c> names another file): the file is the user's only (0600, its
/// folder 0700), since it holds credentials. A file that cannot be read is a one-line error, never a silent default.
/// </summary>
internal sealed class Profiles
{
    /// <summary>The profile used when none is named.</summary>
    public const string DefaultName = "default";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The configuration file.</summary>
    public static string Path =>
        Environment.GetEnvironmentVariable("BRUNO_CONFIG") is { Length: > 0 } file ? file
        : System.IO.Path.Combine(
            Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } config ? config : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config"),
            "bruno",
            "config.json");

    /// <summary>The saved profile named <paramref name="name"/>, or null when there is none (or no file).</summary>
    public static Profile? Find(string name)
    {
        var file = Read();
        return file.Profiles.TryGetValue(name, out var profile) ? profile : null;
    }

    /// <summary>Saves <paramref name="profile"/> under <paramref name="name"/>, keeping the others.</summary>
    public static void Save(string name, Profile profile)
    {
        var file = Read();
        file.Profiles[name] = profile;
        var path = Path;
        var folder = System.IO.Path.GetDirectoryName(path)!;
        if (!Directory.Exists(folder))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(folder);
            }
            else
            {
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, options))
        {
            JsonSerializer.Serialize(stream, file, Json);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static ConfigFile Read()
    {
        var path = Path;
        if (!File.Exists(path))
        {
            return new ConfigFile();
        }

        try
        {
            return JsonSerializer.Deserialize<ConfigFile>(File.ReadAllText(path), Json) ?? new ConfigFile();
        }
        catch (JsonException)
        {
            throw new CliException(BrunoCli.UserError, $"{path} is not a Bruno configuration file (JSON with \"profiles\"); fix or remove it");
        }
    }

    private sealed class ConfigFile
    {
        public Dictionary<string, Profile> Profiles { get; init; } = new(StringComparer.Ordinal);
    }
}
