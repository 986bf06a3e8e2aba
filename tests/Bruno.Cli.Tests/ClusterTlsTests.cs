using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Bruno.Cluster;
using Bruno.Cluster.Remote;
using Bruno.Storage;
using Bruno.Testing;

namespace Bruno.Cli.Tests;

/// <summary>
/// Mutual TLS between the tiers with real processes (<c>bruno serve --role gateway|store</c> with
/// <c>Bruno:Cluster:Tls</c>, docs/decisions/0036): a tenant's document goes through a gateway to its store node over
/// TLS, and the store port answers nothing in cleartext.
/// </summary>
public sealed class ClusterTlsTests : IAsyncLifetime
{
    private TestCluster _cluster = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _cluster = await TestCluster.StartAsync(stores: 1, gateways: 1, Ct, tls: true);

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    [Fact]
    public async Task ADocument_RoundTripsThroughAGateway_OverMutualTls_AndTheStorePortRefusesCleartext()
    {
        var tenant = $"tls-{Guid.NewGuid():N}"[..20];
        await _cluster.CreateTenantsAsync(0, Ct, tenant);
        Assert.Equal("store-1", await _cluster.OwnerAsync(tenant, Ct));
        Assert.Equal("https", _cluster.StoreApi("store-1").Scheme);

        using var client = _cluster.Client(0, _cluster.UserToken(tenant, "alice"));
        using (var put = await client.PostAsJsonAsync("/api/v1/documents", new { id = "tides", title = "tides", content = "High tide at the harbour is at seven in the evening." }, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var document = await client.GetFromJsonAsync<JsonElement>("/api/v1/documents/tides", Ct);
        Assert.Equal("tides", document.GetProperty("id").GetString());
        using (var search = await client.PostAsJsonAsync("/api/v1/search", new { query = "When is high tide?", top_k = 3 }, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, search.StatusCode);
            var hits = await search.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Contains("seven in the evening", hits.GetProperty("sources")[0].GetProperty("snippet").GetString(), StringComparison.Ordinal);
        }

        Assert.True(Directory.Exists(Path.Combine(_cluster.StoreData("store-1"), "store", "tenants", tenant))); // on the node's disk

        // the store port over TLS with the cluster's certificate: served; in cleartext h2c, even with the token: nothing
        var port = _cluster.StoreApi("store-1").Port;
        using (var tls = new RemoteStorageEngine("store-1", _cluster.StoreApi("store-1"), _cluster.ClusterToken, new ClusterTls(_cluster.Tls!.Options()).CreateHandler()))
        {
            Assert.True((await tls.LoadAsync(Ct)).Tenants >= 1);
        }

        using var plain = new RemoteStorageEngine("store-1", new Uri($"http://127.0.0.1:{port}"), _cluster.ClusterToken);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => plain.LoadAsync(Ct));
        await Assert.ThrowsAsync<StoreUnavailableException>(() => plain.TenantExistsAsync(Storage.Identity.TenantId.Parse(tenant), Ct));
    }
}
