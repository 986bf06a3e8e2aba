using System.Net.Http.Headers;
using Bruno.Core.Identity;
using Bruno.Server;
using Bruno.Storage.Identity;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Bruno.Testing;

/// <summary>A real Bruno server (Kestrel on 127.0.0.1, a free port) over a temp data folder, deleted on dispose.</summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RunningServer(WebApplication app, string root, Uri address) => (_app, Root, Address) = (app, root, address);

    /// <summary>The data folder.</summary>
    public string Root { get; }

    /// <summary>The server's base address.</summary>
    public Uri Address { get; }

    /// <summary>The server's services (token service, tenant service...).</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a server; <paramref name="settings"/> are extra <c>Bruno:*</c> settings.</summary>
    public static async Task<RunningServer> StartAsync(IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "bruno-server-" + Guid.NewGuid().ToString("N"));
        var app = BrunoServer.Build([], b =>
        {
            b.Configuration["Bruno:DataRoot"] = root;
            foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
            {
                b.Configuration[k] = v;
            }

            b.WebHost.UseUrls("http://127.0.0.1:0");
        }, services);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }

            throw;
        }

        return new RunningServer(app, root, new Uri(app.Urls.First()));
    }

    /// <summary>
    /// Starts a server whose <paramref name="settings"/> name a second port of their own (a store node's), again on a
    /// new port when that one was taken meanwhile: a free port is found by binding and releasing it, and another test
    /// or an outgoing connection can take it before the server binds it.
    /// </summary>
    public static async Task<(RunningServer Server, int Port)> StartOnFreePortAsync(Func<int, IDictionary<string, string?>> settings)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = BrunoProcess.FreePort();
            try
            {
                return (await StartAsync(settings(port)), port);
            }
            catch (IOException e) when (attempt < 4 && e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
            {
                // taken: another port
            }
        }
    }

    /// <summary>A client without credentials.</summary>
    public HttpClient Client() => new() { BaseAddress = Address };

    /// <summary>A client carrying <paramref name="token"/>.</summary>
    public HttpClient Client(string token)
    {
        var c = Client();
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>A token of user <paramref name="user"/> of <paramref name="tenant"/>.</summary>
    public string UserToken(string tenant, string user, params string[] scopes) =>
        Services.GetRequiredService<TokenService>().IssueUserToken(TenantId.Parse(tenant), UserId.Parse(user), scopes.Length == 0 ? [Scopes.Query, Scopes.Ingest] : scopes, TimeSpan.FromMinutes(10));

    /// <summary>The real MCP client, connected to <c>/mcp</c> over Streamable HTTP with <paramref name="credential"/> (a token or an API key).</summary>
    public async Task<ModelContextProtocol.Client.McpClient> McpAsync(string credential, CancellationToken ct) =>
        await ModelContextProtocol.Client.McpClient.CreateAsync(
            new ModelContextProtocol.Client.HttpClientTransport(new ModelContextProtocol.Client.HttpClientTransportOptions
            {
                Endpoint = new Uri(Address, "/mcp"),
                TransportMode = ModelContextProtocol.Client.HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + credential },
            }),
            cancellationToken: ct);

    /// <summary>An operator token.</summary>
    public string PlatformToken() => Services.GetRequiredService<TokenService>().IssuePlatformToken("operator", TimeSpan.FromMinutes(10));

    /// <summary>Creates tenants through the admin API (default plan).</summary>
    public async Task CreateTenantsAsync(params string[] tenants)
    {
        using var admin = Client(PlatformToken());
        foreach (var tenant in tenants)
        {
            using var response = await admin.PostAsync("/admin/v1/tenants", Json(new { id = tenant, display_name = tenant }));
            response.EnsureSuccessStatusCode();
        }
    }

    /// <summary>Creates a tenant through the admin API and returns a client of one of its users (query and ingest).</summary>
    public async Task<HttpClient> TenantClientAsync(string tenant, string user = "alice")
    {
        await CreateTenantsAsync(tenant);
        return Client(UserToken(tenant, user));
    }

    /// <summary>A JSON body.</summary>
    public static StringContent Json(object value) =>
        new(System.Text.Json.JsonSerializer.Serialize(value), System.Text.Encoding.UTF8, "application/json");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}
