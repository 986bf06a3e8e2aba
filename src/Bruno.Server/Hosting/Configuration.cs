using Bruno.Core;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Hosting;

/// <summary>A setting that stops start-up; the message names it.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>Configuration: appsettings section <c>Bruno</c>, then environment variables <c>BRUNO_X__Y</c> for <c>Bruno:X:Y</c>.</summary>
internal static class Configuration
{
    public static void AddBrunoConfiguration(this WebApplicationBuilder builder) =>
        builder.Configuration.AddInMemoryCollection(BrunoEnvironment.Settings());

    /// <summary>
    /// Binds the options and checks them with <see cref="BrunoOptionsValidator"/>; throws <see cref="ConfigurationException"/>
    /// naming every bad setting.
    /// </summary>
    public static BrunoOptions Read(IConfiguration configuration)
    {
        var options = new BrunoOptions();
        try
        {
            configuration.GetSection(BrunoOptions.Section).Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder's message names the key and the type it wanted ("Failed to convert configuration value at 'Bruno:X' to type ...").
            throw new ConfigurationException(e.Message.Split(Environment.NewLine)[0]);
        }

        var result = new BrunoOptionsValidator().Validate(Options.DefaultName, options);
        return result.Failed ? throw new ConfigurationException(string.Join(Environment.NewLine, result.Failures ?? [])) : options;
    }

    /// <summary>
    /// Registers the options (validated again when the host starts, <c>ValidateOnStart</c>) and returns them checked now:
    /// the services wired next depend on their values, and nothing is created when one is bad.
    /// </summary>
    public static BrunoOptions ValidatedBrunoOptions(this WebApplicationBuilder builder)
    {
        var options = Read(builder.Configuration);
        builder.Services.AddBrunoOptions().Bind(builder.Configuration.GetSection(BrunoOptions.Section));
        builder.Services.Configure<Kubernetes.KubernetesOptions>(builder.Configuration.GetSection("Bruno:Kubernetes")); // checked when rendering
        return options;
    }
}
