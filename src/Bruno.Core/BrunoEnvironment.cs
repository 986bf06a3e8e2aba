namespace Bruno.Core;

/// <summary>Where settings come from besides appsettings: environment variables <c>BRUNO_X__Y</c> name <c>Bruno:X:Y</c>.</summary>
public static class BrunoEnvironment
{
    /// <summary>Configuration keys and values from the process environment.</summary>
    public static IReadOnlyDictionary<string, string?> Settings()
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Collections.DictionaryEntry e in Environment.GetEnvironmentVariables())
        {
            if (e.Key is string key && key.StartsWith("BRUNO_", StringComparison.OrdinalIgnoreCase) && key.Length > 6)
            {
                settings["Bruno:" + key[6..].Replace("__", ":", StringComparison.Ordinal)] = e.Value as string;
            }
        }

        return settings;
    }
}
