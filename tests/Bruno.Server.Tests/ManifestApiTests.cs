using System.Net;
using System.Text.Json;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary><c>GET /admin/v1/tenants/{tenant}/manifests</c> through the real pipeline: the platform's only, and a clear refusal.</summary>
public sealed class ManifestApiTests
{
    [Fact]
    public async Task AdminApi_RendersATenantsManifests_ForThePlatformOnly()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:Kubernetes:StorageClass"] = "fast-ssd" });
        using var platform = server.Client(server.PlatformToken());
        var tenant = ServerFixture.NewTenant("k8s");
        var isolated = ServerFixture.NewTenant("kamaji");
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant }), Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = isolated, isolation = "kamaji" }), Http.Ct)).EnsureSuccessStatusCode();

        using var response = await platform.GetAsync($"/admin/v1/tenants/{tenant}/manifests", Http.Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Http.Ct)).RootElement;
        Assert.Equal("namespace", body.GetProperty("isolation").GetString());
        var files = body.GetProperty("files").EnumerateArray().ToDictionary(f => f.GetProperty("path").GetString()!, f => f.GetProperty("content").GetString()!);
        Assert.Contains("storageClassName: fast-ssd", files[$"tenants/{tenant}/workloads/persistentvolumeclaim.yaml"], StringComparison.Ordinal); // the server's settings
        Assert.True(files.ContainsKey($"flux-tenants/tenant-{tenant}.yaml"));
        Assert.Contains(body.GetProperty("secrets").EnumerateArray(), l => l.GetString()!.Contains("create secret generic agent-bruno-keys", StringComparison.Ordinal));

        // a level these settings cannot render: 422 saying why; unknown tenant: 404; a tenant's own admin: 403
        var problem = await Http.AssertProblemAsync(await platform.GetAsync($"/admin/v1/tenants/{isolated}/manifests", Http.Ct), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("Llm:Cidrs", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Http.AssertProblemAsync(await platform.GetAsync("/admin/v1/tenants/no-such-tenant/manifests", Http.Ct), HttpStatusCode.NotFound);
        using var tenantAdmin = server.Client(server.UserToken(tenant, "alice", "query", "admin"));
        Assert.Equal(HttpStatusCode.Forbidden, (await tenantAdmin.GetAsync($"/admin/v1/tenants/{tenant}/manifests", Http.Ct)).StatusCode);
    }

    [Fact]
    public async Task AdminApi_GivesAKamajiTenant_ItsWorkerJoinSteps_AndOtherLevelsNone()
    {
        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>
        {
            ["Bruno:Kubernetes:Llm:Cidrs:0"] = "10.40.0.0/24",
            ["Bruno:Kubernetes:RemoteTenants:ManagementCidrs:0"] = "10.0.0.0/16",
            ["Bruno:Kubernetes:Flux:SourceUrl"] = "ssh://git@git.example.com/platform/fleet.git",
        });
        using var platform = server.Client(server.PlatformToken());
        var kamaji = ServerFixture.NewTenant("kamaji");
        var plain = ServerFixture.NewTenant("k8s");
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = kamaji, isolation = "kamaji" }), Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = plain }), Http.Ct)).EnsureSuccessStatusCode();

        using var response = await platform.GetAsync($"/admin/v1/tenants/{kamaji}/manifests", Http.Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Http.Ct)).RootElement;
        var join = body.GetProperty("join").EnumerateArray().Select(l => l.GetString()!).ToList();
        Assert.Contains(join, l => l.StartsWith("kubeadm token create", StringComparison.Ordinal) && l.Contains("--ttl 1h", StringComparison.Ordinal));
        Assert.Contains(join, l => l.Contains($"ssh root@\"$NODE\" sh < {kamaji}.join", StringComparison.Ordinal)); // the token travels on stdin
        Assert.Contains(body.GetProperty("files").EnumerateArray(), f => f.GetProperty("path").GetString() == $"tenants/{kamaji}/controlplane/tenantcontrolplane.yaml");

        using var other = await platform.GetAsync($"/admin/v1/tenants/{plain}/manifests", Http.Ct);
        Assert.Empty(JsonDocument.Parse(await other.Content.ReadAsStringAsync(Http.Ct)).RootElement.GetProperty("join").EnumerateArray());
    }
}
