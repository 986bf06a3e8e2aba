using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Bruno.Testing;

namespace Bruno.Cli.Tests;

/// <summary>
/// Issue 23's partition, with real processes on two hosts of one machine: a network namespace made by the test holds
/// one store node and one gateway (the minority); the machine holds the PostgreSQL catalog, two store nodes and the
/// other gateway (the majority). The test cuts the namespace off from the majority's address while both gateways take
/// writes, then heals it. A client log of every write, acknowledged or not, is checked against what the cluster keeps.
/// </summary>
public sealed class PartitionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AnOwnerCutOff_WithAGatewayBesideIt_StopsAcknowledging_WhileTheMajorityFailsOver_AndNothingAcknowledgedIsLost()
    {
        await using var net = await NetworkNamespace.CreateAsync();
        await using var pg = await OwnPostgres.StartAsync(net.Services);
        var minority = new HashSet<string>(StringComparer.Ordinal) { "store-1", "gateway-2" };
        await using var cluster = await TestCluster.StartAsync(
            stores: 3, gateways: 2, Ct, pg.ConnectionString, hosts: name => minority.Contains(name) ? net.Host : net.ServicesHost, clientAddress: net.Machine);
        var output = TestContext.Current.TestOutputHelper;

        var tenant = await TenantOwnedByAsync(cluster, "store-1");
        var before = await PlacementAsync(cluster, tenant);
        var replica = before.GetProperty("replica").GetString()!;
        Assert.True(before.GetProperty("replica_in_sync").GetBoolean());

        // the client's log: when each write was sent and answered, through which gateway, and how
        var clock = Stopwatch.StartNew();
        var log = new ConcurrentQueue<(string Id, string Side, TimeSpan Sent, TimeSpan Answered, int Status)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        async Task WriteAsync(int gateway, string side, string writer)
        {
            using var client = cluster.Client(gateway, cluster.UserToken(tenant, "writer-" + writer));
            client.Timeout = TimeSpan.FromSeconds(45);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = $"{writer}-{i}";
                var sent = clock.Elapsed;
                int status;
                try
                {
                    using var response = await client.PostAsJsonAsync("/api/v1/documents", new { id, title = id, content = $"Note {i} written through the {side} gateway." }, stop.Token);
                    status = (int)response.StatusCode;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !Ct.IsCancellationRequested)
                {
                    status = 0; // no answer at all (cut off, or stopped by the test): not acknowledged
                }

                log.Enqueue((id, side, sent, clock.Elapsed, status));
                if (status != 200 && !stop.IsCancellationRequested)
                {
                    await Task.Delay(100, Ct); // a client backing off, as Retry-After asks
                }
            }
        }

        IEnumerable<(string Id, string Side, TimeSpan Sent, TimeSpan Answered, int Status)> Acknowledged(string side) =>
            log.Where(w => w.Side == side && w.Status == 200);

        async Task UntilAsync(Func<bool> condition, Task load, TimeSpan within, string what)
        {
            var deadline = clock.Elapsed + within;
            while (!condition())
            {
                Assert.True(clock.Elapsed < deadline, $"{what} did not happen within {within.TotalSeconds} s; writes: {Summary(log)}");
                await Task.WhenAny(load, Task.Delay(50, Ct));
                Assert.False(load.IsFaulted, load.Exception?.ToString());
            }
        }

        // one writer through the majority's gateway; two through the minority's, as many documents as a gateway processes
        // at once for a tenant (a refusal there takes a while)
        var load = Task.WhenAll(WriteAsync(0, "majority", "major"), WriteAsync(1, "minority", "minor-a"), WriteAsync(1, "minority", "minor-b"));
        await UntilAsync(() => Acknowledged("majority").Count() >= 5 && Acknowledged("minority").Count() >= 5, load, TimeSpan.FromSeconds(30), "writes through both gateways");

        // the cut: the namespace (the owner and the gateway beside it) no longer reaches the catalog, the other store
        // nodes or the other gateway, nor they it
        var cutAt = clock.Elapsed;
        await net.CutAsync();
        await UntilAsync(() => Acknowledged("majority").Count(w => w.Sent > cutAt) >= 10, load, TimeSpan.FromSeconds(30), "ten writes through the majority after the cut");
        var promoted = await PlacementAsync(cluster, tenant);
        Assert.Equal(replica, promoted.GetProperty("node").GetString());
        Assert.True(promoted.GetProperty("epoch").GetInt64() > before.GetProperty("epoch").GetInt64());

        // the minority's writes sent once the majority had a new owner acknowledging (two owners, if the old one still
        // acknowledged anything) are answered, and not one of them, nor any sent since the cut, is acknowledged
        var promotedAt = Acknowledged("majority").Where(w => w.Sent > cutAt).Min(w => w.Answered);
        await UntilAsync(() => log.Count(w => w.Side == "minority" && w.Sent > promotedAt) >= 2, load, TimeSpan.FromSeconds(60), "two answered writes through the minority after the promotion");
        var lateAcks = Acknowledged("minority").Where(w => w.Sent > cutAt).ToList();
        Assert.True(lateAcks.Count == 0, "the cut-off owner acknowledged writes sent after the cut: " + string.Join(", ", lateAcks.Select(w => w.Id)));

        // healed: the minority's gateway finds the new owner, and the old owner gives up its copy
        var healedAt = clock.Elapsed;
        await net.HealAsync();
        await UntilAsync(() => Acknowledged("minority").Any(w => w.Sent > healedAt), load, TimeSpan.FromSeconds(20), "a write through the healed minority");
        await stop.CancelAsync();
        await load;

        var times = Acknowledged("majority").Select(w => w.Answered).Order().ToList();
        var gap = times.Zip(times.Skip(1), (a, b) => (a, b)).Where(g => g.b > cutAt).Max(g => g.b - g.a);
        var recovered = Acknowledged("minority").Where(w => w.Sent > healedAt).Min(w => w.Answered) - healedAt;
        var refusals = log.Where(w => w.Side == "minority" && w.Sent > cutAt && w.Sent < healedAt && w.Status == 503).Select(w => (w.Answered - w.Sent).TotalMilliseconds).ToList();
        output?.WriteLine(
            $"majority without an acknowledged write: {gap.TotalMilliseconds:F0} ms; minority refused in {(refusals.Count == 0 ? "-" : $"{refusals.Min():F0}-{refusals.Max():F0}")} ms; " +
            $"acknowledged again {recovered.TotalMilliseconds:F0} ms after healing; writes: {Summary(log)}");
        Assert.True(gap <= TimeSpan.FromSeconds(15), $"the majority acknowledged no write for {gap.TotalSeconds:F1} s after the cut");
        Assert.All(log.Where(w => w.Status is not (200 or 0)), w => Assert.Equal(503, w.Status)); // refusals are 503, never 500

        // every acknowledged write, from either side, is kept once; nothing was written that no client sent
        using var check = cluster.Client(0, cluster.UserToken(tenant, "auditor"));
        var ids = await ClusterTests.DocumentIdsAsync(check);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Empty(log.Where(w => w.Status == 200).Select(w => w.Id).Except(ids));
        Assert.Empty(ids.Except(log.Select(w => w.Id)));

        // the old owner's copy is no one's: it is erased, or the tenant's replica is placed there again (a copy built afresh)
        var stray = Path.Combine(cluster.StoreData("store-1"), "store", "tenants", tenant);
        var settled = clock.Elapsed + TimeSpan.FromSeconds(20);
        while (Directory.Exists(stray) && (await PlacementAsync(cluster, tenant)).GetProperty("replica").GetString() != "store-1")
        {
            Assert.True(clock.Elapsed < settled, "the old owner's copy was neither erased nor rebuilt within 20 s");
            using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
            await tick.WaitForNextTickAsync(Ct);
        }

        Assert.All(cluster.Stores, s => Assert.True(s.IsRunning, $"{s.Name} exited:\n{s.Output}"));
        Assert.All(cluster.Gateways, g => Assert.True(g.IsRunning, $"{g.Name} exited:\n{g.Output}"));
    }

    private static string Summary(IEnumerable<(string Id, string Side, TimeSpan Sent, TimeSpan Answered, int Status)> log) =>
        string.Join("; ", log.GroupBy(w => (w.Side, w.Status)).Select(g => $"{g.Key.Side} {g.Key.Status}: {g.Count()}"));

    /// <summary>A new tenant owned by <paramref name="node"/>: placed there, or moved there when its replica is elsewhere.</summary>
    private static async Task<string> TenantOwnedByAsync(TestCluster cluster, string node)
    {
        using var admin = cluster.Client(0, cluster.PlatformToken());
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var tenant = $"cut-{Guid.NewGuid():N}"[..16];
            await cluster.CreateTenantsAsync(0, Ct, tenant);
            var placed = await PlacementAsync(cluster, tenant);
            if (placed.GetProperty("node").GetString() == node)
            {
                return tenant;
            }

            if (placed.GetProperty("replica").GetString() != node)
            {
                using var moved = await admin.PostAsJsonAsync($"/admin/v1/tenants/{tenant}/move", new { to = node }, Ct);
                Assert.True(moved.IsSuccessStatusCode, await moved.Content.ReadAsStringAsync(Ct));
                return tenant;
            }
        }

        throw new InvalidOperationException($"no tenant could be placed on {node}");
    }

    private static async Task<JsonElement> PlacementAsync(TestCluster cluster, string tenant)
    {
        using var admin = cluster.Client(0, cluster.PlatformToken());
        return await admin.GetFromJsonAsync<JsonElement>($"/admin/v1/tenants/{tenant}/placement", Ct);
    }
}
