using System.Net;
using Bruno.Cluster.Remote;
using Bruno.Core;
using Bruno.Core.Cluster;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Bruno.Cluster;

/// <summary>
/// The two tiers (docs/scaling.md): a gateway's storage routes each tenant to its store node; a store node serves its
/// tenants over gRPC on its own port and reports to the catalog. In one process (<c>--role all</c>) nothing here runs.
/// The operators' endpoints over the tiers are the server's (Bruno.Server, Features/Admin/ClusterEndpoints.cs).
/// </summary>
public static class ClusterHosting
{
    /// <summary>
    /// How long a tenant transition must have been left alone before a gateway finishes it: other gateways share the
    /// catalog and may be in the middle of it.
    /// </summary>
    public static readonly TimeSpan SettledFor = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Adds what the role of <paramref name="options"/> runs: on a gateway, the storage that routes each tenant to its
    /// store node, the mover and the upkeep of the tiers; on a store node, its gRPC API on its own port and its agent.
    /// With <see cref="ClusterOptions.Tls"/> set, both use mutual TLS (<see cref="ClusterTls"/>). Nothing in one process.
    /// </summary>
    public static void AddBrunoCluster(this WebApplicationBuilder builder, BrunoOptions options)
    {
        var cluster = options.Cluster;
        var services = builder.Services;
        if (cluster.Kind == NodeRole.All)
        {
            return;
        }

        services.AddSingleton(sp => new Placement(sp.GetRequiredService<CatalogDatabase>(), sp.GetService<TimeProvider>()));
        if (cluster.Tls.Enabled)
        {
            services.AddSingleton(sp => new ClusterTls(cluster.Tls, sp.GetService<ILogger<ClusterTls>>()));
        }

        if (cluster.Kind == NodeRole.Gateway)
        {
            services.AddSingleton(sp => new RoutedStorage(sp.GetRequiredService<Placement>(), cluster, sp.GetService<ILogger<RoutedStorage>>(), sp.GetService<TimeProvider>(), sp.GetService<ClusterTls>())
            {
                // the tenant's plan says whether writes wait for the replica (read from the catalog's tenant record)
                AsyncLagOf = t => sp.GetRequiredService<TenantService>().Find(t) is { } record ? AsyncLag(sp, record) : null,
            });
            services.Replace(ServiceDescriptor.Singleton<IStorageEngine>(sp => sp.GetRequiredService<RoutedStorage>()));
            services.AddSingleton(sp => new TenantMover(sp.GetRequiredService<Placement>(), sp.GetRequiredService<RoutedStorage>(), cluster, sp.GetService<ILogger<TenantMover>>()));
            services.AddSingleton(sp => new ReplicaKeeper(
                sp.GetRequiredService<Placement>(), sp.GetRequiredService<RoutedStorage>(), sp.GetRequiredService<TenantMover>(), cluster, sp.GetService<TimeProvider>(), sp.GetService<ILogger<ReplicaKeeper>>(),
                () => sp.GetRequiredService<TenantService>().List().ToDictionary(r => r.Id, r => AsyncLag(sp, r))));
            services.AddHostedService<ClusterMaintenanceJob>();
            services.AddHostedService<FailoverJob>();
            services.AddHostedService<ReplicaRepairJob>();
            services.AddSingleton(sp => new LimitLedger(sp.GetRequiredService<CatalogDatabase>(), cluster.InstanceName, sp.GetService<TimeProvider>()));
            services.AddHostedService<LimitLedgerJob>();
            return;
        }

        // an owner's calls to its replicas: a replica that does not answer within 10 s is dropped (the tenant's writes wait meanwhile)
        services.AddSingleton(sp => new NodeClients(sp.GetRequiredService<Placement>(), cluster, sp.GetService<ClusterTls>(), NodeReplication.ReplicaTimeout));
        services.AddSingleton(sp => new NodeReplication(sp.GetRequiredService<StorageEngine>(), sp.GetRequiredService<Placement>(), cluster.NodeName!, sp.GetRequiredService<NodeClients>().Get, sp.GetService<ILogger<NodeReplication>>()));
        services.AddSingleton(sp => new StoreNodeService(sp.GetRequiredService<StorageEngine>(), cluster.NodeName!, cluster.Token!, sp.GetRequiredService<NodeReplication>()));
        services.AddSingleton(sp => new StoreNodeAgent(sp.GetRequiredService<Placement>(), sp.GetRequiredService<StorageEngine>(), cluster, sp.GetService<ILogger<StoreNodeAgent>>(), sp.GetRequiredService<NodeReplication>()));
        services.AddHostedService<StoreNodeJob>();
        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = RemoteStorageEngine.MaxMessageBytes;
            o.MaxSendMessageSize = RemoteStorageEngine.MaxMessageBytes;
            o.EnableDetailedErrors = false;
        });

        // The gRPC port speaks HTTP/2 only (cleartext gRPC needs it; over TLS, ALPN agrees on it) and binds to the cluster
        // network's address; with Bruno:Cluster:Tls it serves HTTPS and requires a client certificate from the
        // deployment's authority. The addresses of --urls keep serving health and metrics, in cleartext. Naming endpoints
        // here replaces --urls, so both are listed.
        var urls = (builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey) is { Length: > 0 } set ? set : "http://127.0.0.1:8080").Split(';', StringSplitOptions.RemoveEmptyEntries);
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, string.Empty); // listed below instead
        builder.WebHost.ConfigureKestrel(k =>
        {
            foreach (var url in urls)
            {
                var u = new Uri(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
                if (u.Host == "localhost")
                {
                    k.ListenLocalhost(u.Port);
                }
                else if (IPAddress.TryParse(u.Host, out var ip))
                {
                    k.Listen(ip, u.Port);
                }
                else
                {
                    k.ListenAnyIP(u.Port); // a host name: every interface, as --urls does for one
                }
            }

            var tls = cluster.Tls.Enabled ? k.ApplicationServices.GetRequiredService<ClusterTls>() : null;
            k.Listen(IPAddress.Parse(cluster.StoreBind), cluster.StorePort, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                if (tls is not null)
                {
                    l.UseHttps(tls.ServerOptions());
                }
            });
        });
    }

    private static int? AsyncLag(IServiceProvider sp, TenantRecord record) =>
        sp.GetRequiredService<IOptions<BrunoOptions>>().Value.Plans.GetValueOrDefault(record.Profile.Plan)?.AsyncReplicationLag;

    /// <summary>
    /// The store node's gRPC API, answered only on the connections its port accepted (by the listening port, not the
    /// Host header, which a caller or a proxy chooses); anything else on that port is refused as well.
    /// </summary>
    public static void MapStoreNode(this WebApplication app, ClusterOptions cluster)
    {
        app.Use(async (http, next) =>
        {
            var onStorePort = http.Connection.LocalPort == cluster.StorePort;
            var storeCall = http.Request.Path.StartsWithSegments("/bruno.store.v1.StoreNode");
            if (onStorePort != storeCall)
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(http);
        });
        app.MapGrpcService<StoreNodeService>().AllowAnonymous();
    }
}

/// <summary>
/// A gateway's upkeep of the tiers, every minute: tenant transitions left unfinished (a deletion whose store node was
/// down, say) are finished once settled. Every gateway runs it; each step is safe to run twice.
/// </summary>
internal sealed partial class ClusterMaintenanceJob(TenantService tenants, TimeProvider time, ILogger<ClusterMaintenanceJob> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        BackgroundLoop.RunAsync("tier-upkeep", TimeSpan.FromMinutes(1), async _ =>
            await tenants.RecoverAsync(ClusterHosting.SettledFor, (t, e) => NotFinished(logger, t.Value, e.GetType().Name)), logger, time, stoppingToken);

    [LoggerMessage(EventId = 3830, Level = LogLevel.Warning, Message = "Could not finish the interrupted transition of tenant {Tenant} now ({Error}); trying again in a minute")]
    private static partial void NotFinished(ILogger logger, string tenant, string error);
}

/// <summary>A gateway's failover round every second (<see cref="ReplicaKeeper.FailOverAsync"/>).</summary>
internal sealed class FailoverJob(ReplicaKeeper keeper, TimeProvider time, ILogger<FailoverJob> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        BackgroundLoop.RunAsync("tier-failover", TimeSpan.FromSeconds(1), async ct => await keeper.FailOverAsync(ct), logger, time, stoppingToken, maxBackoff: TimeSpan.FromSeconds(5));
}

/// <summary>A gateway's replica repairs every heartbeat (<see cref="ReplicaKeeper.RepairAsync"/>).</summary>
internal sealed class ReplicaRepairJob(ReplicaKeeper keeper, IOptions<BrunoOptions> options, TimeProvider time, ILogger<ReplicaRepairJob> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        BackgroundLoop.RunAsync("tier-replicas", TimeSpan.FromSeconds(options.Value.Cluster.HeartbeatSeconds), async ct => await keeper.RepairAsync(ct), logger, time, stoppingToken, maxBackoff: TimeSpan.FromSeconds(30));
}

/// <summary>
/// A gateway's part in the shared request limits (decision 0035), every 30 s from its start: it registers as live (so
/// that each gateway knows its fair share should the catalog go away) and deletes the limit windows that ended. Every
/// gateway runs it; both steps are safe to run twice. A failed round is retried by <see cref="BackgroundLoop"/>.
/// </summary>
internal sealed class LimitLedgerJob(LimitLedger ledger, TimeProvider time, ILogger<LimitLedgerJob> logger) : BackgroundService
{
    public static readonly TimeSpan Every = TimeSpan.FromSeconds(30);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        BackgroundLoop.RunAsync("limit-upkeep", Every, _ =>
        {
            ledger.Register();
            ledger.Sweep();
            return Task.CompletedTask;
        }, logger, time, stoppingToken, firstDelay: TimeSpan.Zero);
}

/// <summary>Runs the store node's agent: one report before the node is served (so it can be placed on), then every heartbeat.</summary>
internal sealed class StoreNodeJob(StoreNodeAgent agent, StorageEngine engine) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        engine.ClearTransfers(); // copies a stopped process was receiving or sending: never adopted, safe to drop
        agent.Report();
        return base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => agent.RunAsync(stoppingToken); // never throws (Core.BackgroundLoop)
}
