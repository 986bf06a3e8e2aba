using Bruno.Cluster;
using Bruno.Core;
using Bruno.Server.Features.Access;
using Bruno.Server.Features.Admin;
using Bruno.Server.Features.Audit;
using Bruno.Server.Features.Contract;
using Bruno.Server.Features.Documents;
using Bruno.Server.Features.Evaluation;
using Bruno.Server.Features.Manifests;
using Bruno.Server.Features.Mcp;
using Bruno.Server.Features.Memory;
using Bruno.Server.Features.Metering;
using Bruno.Server.Features.Observability;
using Bruno.Server.Features.OpenAi;
using Bruno.Server.Features.Query;
using Bruno.Server.Features.WebConsole;
using Bruno.Server.Hosting;
using Bruno.Server.Hosting.Logging;
using Bruno.Server.Tenancy;

namespace Bruno.Server;

/// <summary>Builds the Bruno web application: configuration, services, pipeline and endpoints, in that order.</summary>
public static class BrunoServer
{
    /// <summary>
    /// Builds the application. Throws <see cref="ConfigurationException"/> (message names the setting) when the
    /// configuration is invalid; nothing is created on disk then. Options a service registration changes afterwards are
    /// checked again by the same validators before the application serves (<c>ValidateOnStart</c>), failing with an
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>.
    /// </summary>
    /// <param name="args">Command-line arguments (configuration).</param>
    /// <param name="configure">Runs first: settings, listening addresses.</param>
    /// <param name="services">Runs after Bruno's services are registered, to replace some (tests: a fake chat model).</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.AddBrunoConfiguration();
        configure?.Invoke(builder);
        var options = builder.ValidatedBrunoOptions();
        // before the caller's services: a log provider a test adds stays (this clears the default ones)
        builder.Logging.AddBrunoConsole(options.Telemetry.LogFormat == "json");
        builder.Services.AddBrunoCore();
        builder.AddBrunoCluster(options);
        services?.Invoke(builder.Services);
        builder.AddBrunoHosting(options);
        builder.Services.AddObservability(options);
        builder.Services.AddMetering(options);
        builder.Services.AddAdmin(options);
        builder.Services.AddTenancy(options);
        builder.Services.AddMemory(options);
        builder.Services.AddMcp();
        builder.Services.AddOpenApiContract();
        builder.Services.AddConsole();
        builder.Services.AddConsoleOidc(options);

        var app = builder.Build();
        app.UseObservability(); // outermost: times and logs what the client saw
        app.UseBrunoHosting();
        app.UseTenancy();
        app.UseMetering(); // before the console's admission: a console page's work (a question asked without scripts) counts like the API's
        app.UseConsole();
        app.MapHealthEndpoints();
        app.MapOpenApiContract();
        app.MapProtectedResource();
        app.MapMetrics();
        if (options.Cluster.Kind == Core.Cluster.NodeRole.Store)
        {
            // a store node serves its tenants to gateways only: no public API, no MCP
            app.MapStoreNode(options.Cluster);
            return app;
        }

        // every feature maps into the two groups: /api/v1 carries the tenant policy and admission, /admin/v1 the platform policy
        var api = ApiGroups.On(app);
        api.MapAdminEndpoints();
        api.MapClusterEndpoints();
        api.MapBundleEndpoints();
        api.MapApiKeyEndpoints();
        api.MapAccessEndpoints();
        api.MapSettingsEndpoints();
        api.MapAuditEndpoints();
        api.MapUsageEndpoints();
        api.MapInsightsEndpoints();
        api.MapRetentionEndpoints();
        api.MapManifestEndpoints();
        api.MapDocumentEndpoints();
        api.MapQueryEndpoints();
        api.MapSearchEndpoints();
        api.MapEvaluationEndpoints();
        api.MapMemoryEndpoints();
        api.MapUserErasure();
        api.MapOpenAiEndpoints();
        app.MapMcpEndpoint();
        app.MapConsole();
        app.MapConsoleOidc(options);
        return app;
    }

    /// <summary>
    /// Reads Bruno's settings as the server does (section <c>Bruno</c>, environment <c>BRUNO_*</c> on top), for tools that
    /// share its data root. Throws <see cref="ConfigurationException"/> naming every bad setting.
    /// </summary>
    public static Core.BrunoOptions ReadOptions(IConfiguration configuration) => Configuration.Read(configuration);
}
