namespace Bruno.Server.Hosting.Logging;

/// <summary>Console logging the Bruno way: one JSON line per entry (<see cref="JsonLogFormatter"/>), or one plain line.</summary>
public static class LoggingBuilderExtensions
{
    /// <summary>
    /// Removes every logger provider registered so far (the host's defaults, and any added before this call) and adds the
    /// console logger: with <see cref="JsonLogFormatter"/> and scopes when <paramref name="json"/> is true, else with the
    /// simple formatter on a single line with UTC timestamps. Throws <see cref="ArgumentNullException"/> for a null builder.
    /// </summary>
    /// <remarks>A provider meant to receive logs as well (a test's capture) must be added after this call.</remarks>
    public static ILoggingBuilder AddBrunoConsole(this ILoggingBuilder builder, bool json)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ClearProviders();
        if (json)
        {
            builder.AddConsole(o => o.FormatterName = JsonLogFormatter.FormatterName);
            builder.AddConsoleFormatter<JsonLogFormatter, JsonLogFormatterOptions>(o => o.IncludeScopes = true);
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
            });
        }

        return builder;
    }
}
