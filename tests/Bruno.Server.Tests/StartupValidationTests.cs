using Bruno.Core;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Tests;

/// <summary>
/// The options are registered with <c>ValidateOnStart</c>: a host whose <c>Bruno</c> section is bad does not start, and
/// says which setting and why, in the validators' words.
/// </summary>
public sealed class StartupValidationTests
{
    [Fact]
    public async Task AHostWithABadSetting_FailsAtStart_WithTheMessage()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Bruno:Retrieval:RrfK"] = "0", ["Bruno:Telemetry:LogFormat"] = "xml" });
        builder.Services.AddBrunoOptions().Bind(builder.Configuration.GetSection(BrunoOptions.Section)); // as the server registers them
        using var host = builder.Build(); // nothing is checked before the start

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Equal("Bruno:Retrieval:RrfK must be between 1 and 1000.; Bruno:Telemetry:LogFormat must be json or text.", e.Message);
    }

    [Fact]
    public async Task TheServer_ChecksOptionsChangedAfterConfiguration_BeforeItServes()
    {
        // the configuration is valid (Build's own check passes); a service registration then breaks a setting
        var root = Directory.CreateTempSubdirectory("bruno-startup-").FullName;
        try
        {
            var e = await Assert.ThrowsAsync<OptionsValidationException>(async () =>
            {
                await using var app = BrunoServer.Build(
                    [],
                    b =>
                    {
                        b.Configuration["Bruno:DataRoot"] = root;
                        b.WebHost.UseUrls("http://127.0.0.1:0");
                    },
                    s => s.PostConfigure<BrunoOptions>(o => o.Mcp.SearchPerMinute = 0));
                await app.StartAsync(TestContext.Current.CancellationToken);
            });
            Assert.Equal("Bruno:Mcp:SearchPerMinute must be between 1 and 100000.", e.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
