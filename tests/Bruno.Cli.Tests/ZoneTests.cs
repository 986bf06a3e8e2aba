using System.Net.Http.Json;
using System.Text.Json;
using Bruno.Cluster;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Bruno.Cli.Tests;

/// <summary>
/// Operators see the store nodes' zones (decision 0037): a gateway (in process, on a PostgreSQL catalog) answers
/// <c>GET /admin/v1/nodes</c> and a tenant's placement with the zones the nodes reported, and <c>bruno node list</c>
/// prints them. The store nodes here are reports in the catalog only: nothing calls them.
/// </summary>
public sealed class ZoneTests : IAsyncLifetime
{
    private RunningServer _gateway = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _gateway = await RunningServer.StartAsync(new Dictionary<string, string?>
    {
        ["Bruno:Cluster:Role"] = "gateway",
        ["Bruno:Cluster:Token"] = new string('t', 40),
        ["Bruno:Cluster:NodeTimeoutSeconds"] = "600", // the reports below stay live for the test: the gateway's keeper leaves them alone
        ["Bruno:Catalog:Provider"] = "postgres",
        ["Bruno:Catalog:ConnectionString"] = TestPostgres.NewDatabase(),
    });

    public ValueTask DisposeAsync() => _gateway.DisposeAsync();

    [Fact]
    public async Task TheNodeListAndAPlacement_ShowTheZones_AndTheCliPrintsThem()
    {
        var placement = _gateway.Services.GetRequiredService<Placement>();
        _gateway.Services.GetRequiredService<CatalogDatabase>().WithTenants("zoned", "samezone");
        var load = new StoreLoad(0, 0, 0, 0);
        placement.Report("store-a", new Uri("http://store-a:7070"), load, "eu-west-1a");
        placement.Report("store-a2", new Uri("http://store-a2:7070"), new StoreLoad(0, 0, 1_000_000, 0), "eu-west-1a");
        placement.Report("store-b", new Uri("http://store-b:7070"), new StoreLoad(0, 0, 2_000_000, 0), "eu-west-1b");
        placement.Report("store-x", new Uri("http://store-x:7070"), new StoreLoad(0, 0, 9_000_000, 0));
        var zoned = placement.Assign(TenantId.Parse("zoned"), TimeSpan.FromMinutes(10), replicated: true);
        Assert.Equal(("store-a", "store-b"), (zoned.Node, zoned.Replica));

        using var admin = _gateway.Client(_gateway.PlatformToken());
        var nodes = await admin.GetFromJsonAsync<JsonElement>("/admin/v1/nodes", Ct);
        Assert.Equal(
            ["store-a eu-west-1a", "store-a2 eu-west-1a", "store-b eu-west-1b", "store-x "],
            nodes.EnumerateArray().Select(n => $"{n.GetProperty("name").GetString()} {(n.TryGetProperty("zone", out var z) ? z.GetString() : null)}"));

        var shown = await admin.GetFromJsonAsync<JsonElement>("/admin/v1/tenants/zoned/placement", Ct);
        Assert.Equal(("eu-west-1a", "eu-west-1b", true), (shown.GetProperty("node_zone").GetString(), shown.GetProperty("replica_zone").GetString(), shown.GetProperty("zones_apart").GetBoolean()));

        // a tenant whose copies an operator put in one zone: not apart
        var db = _gateway.Services.GetRequiredService<CatalogDatabase>();
        db.Execute("INSERT INTO tenant_placement(tenant, node, epoch, moving_to, changed_at, replica, replica_state) VALUES ('samezone', 'store-a', 1, NULL, 1, 'store-a2', 'sync');");
        shown = await admin.GetFromJsonAsync<JsonElement>("/admin/v1/tenants/samezone/placement", Ct);
        Assert.Equal(("eu-west-1a", "eu-west-1a", false), (shown.GetProperty("node_zone").GetString(), shown.GetProperty("replica_zone").GetString(), shown.GetProperty("zones_apart").GetBoolean()));

        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        console.Profile.Width = 500; // one node a line, unwrapped
        var code = await BrunoCli.RunAsync(["node", "list", "--data", _gateway.Root, "--server", _gateway.Address.ToString()], console, new StringWriter());
        Assert.Equal(0, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(["store-a live zone eu-west-1a", "store-a2 live zone eu-west-1a", "store-b live zone eu-west-1b", "store-x live zone unknown"], lines.Select(l => string.Join(' ', l.Split('\t').Take(3))));
    }
}

/// <summary>
/// Zones with real processes: four store nodes in two zones (two each) and a gateway over a PostgreSQL catalog. Every
/// tenant's copies are in both zones, and when an owner dies its promoted replica gets its new replica in the other zone
/// again, the dead node's zone partner, though the third node of the survivor's own zone is as free.
/// </summary>
public sealed class ZonedClusterTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryTenantHasACopyInEachZone_AndKeepsOneAfterItsOwnerDies()
    {
        static string ZoneOf(string node) => node is "store-1" or "store-2" ? "zone-a" : "zone-b";
        await using var cluster = await TestCluster.StartAsync(
            stores: 4, gateways: 1, Ct, nodeSettings: node => new Dictionary<string, string> { ["BRUNO_CLUSTER__ZONE"] = ZoneOf(node) });
        var tenants = Enumerable.Range(0, 6).Select(i => $"zoned-{i}-{Guid.NewGuid():N}"[..16]).ToArray();
        await cluster.CreateTenantsAsync(0, Ct, tenants);
        using var admin = cluster.Client(0, cluster.PlatformToken());
        async Task<JsonElement> PlacementAsync(string tenant) => await admin.GetFromJsonAsync<JsonElement>($"/admin/v1/tenants/{tenant}/placement", Ct);
        foreach (var tenant in tenants)
        {
            var p = await PlacementAsync(tenant);
            Assert.True(p.GetProperty("zones_apart").GetBoolean(), p.ToString());
            Assert.NotEqual(ZoneOf(p.GetProperty("node").GetString()!), ZoneOf(p.GetProperty("replica").GetString()!));
        }

        // the owner of the first tenant dies: its replica (the other zone) is promoted, and the new replica goes back to
        // the dead owner's zone, to the node left there
        var before = await PlacementAsync(tenants[0]);
        var owner = before.GetProperty("node").GetString()!;
        var promoted = before.GetProperty("replica").GetString()!;
        var partner = cluster.Stores.Select(s => s.Name).Single(n => n != owner && ZoneOf(n) == ZoneOf(owner));
        cluster.Store(owner).Kill();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var p = await PlacementAsync(tenants[0]);
            if (p.GetProperty("node").GetString() == promoted && p.GetProperty("replica").GetString() is { } replica && p.GetProperty("replica_in_sync").GetBoolean())
            {
                Assert.Equal(partner, replica);
                Assert.True(p.GetProperty("zones_apart").GetBoolean());
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "no new replica in sync within 30 s: " + p);
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
            await tick.WaitForNextTickAsync(Ct);
        }
    }
}
