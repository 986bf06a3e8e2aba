using Bruno.Core;

namespace Bruno.Server.Hosting;

/// <summary>A setting that stops start-up; the message names it.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>Configuration: appsettings section <c>Bruno</c>, then environment variables <c>BRUNO_X__Y</c> for <c>Bruno:X:Y</c>.</summary>
internal static class Configuration
{
    public static void AddBrunoConfiguration(this WebApplicationBuilder builder) =>
        builder.Configuration.AddInMemoryCollection(BrunoEnvironment.Settings());

    /// <summary>Binds and validates the options; throws <see cref="ConfigurationException"/> naming every bad setting.</summary>
    public static BrunoOptions Read(IConfiguration configuration)
    {
        var options = new BrunoOptions();
        try
        {
            configuration.GetSection("Bruno").Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder's message names the key and the type it wanted ("Failed to convert configuration value at 'Bruno:X' to type ...").
            throw new ConfigurationException(e.Message.Split(Environment.NewLine)[0]);
        }

        var errors = options.Validate();
        return errors.Count == 0 ? options : throw new ConfigurationException(string.Join(Environment.NewLine, errors));
    }

    public static BrunoOptions ValidatedBrunoOptions(this WebApplicationBuilder builder)
    {
        var options = Read(builder.Configuration);
        builder.Services.Configure<BrunoOptions>(builder.Configuration.GetSection("Bruno"));
        builder.Services.Configure<Kubernetes.KubernetesOptions>(builder.Configuration.GetSection("Bruno:Kubernetes")); // checked when rendering
        return options;
    }
}
