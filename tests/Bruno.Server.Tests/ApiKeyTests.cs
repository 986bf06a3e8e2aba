using System.Net;
using System.Text;
using Bruno.Core.Identity;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>Per-tenant API keys: scoped, stored only as a hash, revocable at once, confined to their tenant.</summary>
public sealed class ApiKeyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly string[] QueryOnly = ["query"];
    private static readonly string[] QueryAndIngest = ["query", "ingest"];

    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task AKey_ActsForItsTenantWithItsScopes_UntilRevoked()
    {
        var tenant = ServerFixture.NewTenant("keys");
        using var user = await Server.TenantClientAsync(tenant);
        (await user.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "d", content = "Keys open doors." }), Http.Ct)).EnsureSuccessStatusCode();
        using var admin = Server.Client(Server.PlatformToken());
        var created = await Http.JsonAsync(await admin.PostAsync($"/admin/v1/tenants/{tenant}/api-keys", RunningServer.Json(new { name = "ci robot", scopes = QueryOnly }), Http.Ct));
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;
        Assert.StartsWith("brk_" + id + "_", key, StringComparison.Ordinal);

        using var robot = Server.Client(key);
        (await robot.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        using (var viaHeader = Server.Client())
        {
            viaHeader.DefaultRequestHeaders.Add("X-Api-Key", key);
            (await viaHeader.PostAsync("/api/v1/query", RunningServer.Json(new { query = "doors" }), Http.Ct)).EnsureSuccessStatusCode();
        }

        await Http.AssertProblemAsync(await robot.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "x", content = "y" }), Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await robot.GetAsync("/admin/v1/tenants", Http.Ct), HttpStatusCode.Forbidden);

        var listed = (await Http.JsonAsync(await admin.GetAsync($"/admin/v1/tenants/{tenant}/api-keys", Http.Ct))).ToString();
        Assert.Contains(id, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(key, listed, StringComparison.Ordinal);
        var catalog = await File.ReadAllBytesAsync(Path.Combine(Server.Root, "catalog.db"), Http.Ct);
        var wal = Path.Combine(Server.Root, "catalog.db-wal");
        var secret = Encoding.UTF8.GetBytes(key[("brk_" + id + "_").Length..]); // the whole secret: base64url has '_' in it too
        Assert.True(catalog.AsSpan().IndexOf(secret) < 0 && (!File.Exists(wal) || (await ReadSharedAsync(wal)).AsSpan().IndexOf(secret) < 0), "the secret is stored");

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/admin/v1/tenants/{tenant}/api-keys/{id}", Http.Ct)).StatusCode);
        await Http.AssertProblemAsync(await robot.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task WrongSecrets_AndOtherTenantsKeys_AreRefused()
    {
        var a = ServerFixture.NewTenant("keys-a");
        var b = ServerFixture.NewTenant("keys-b");
        using var aAdmin = await Server.TenantClientAsync(a);
        using var bUser = await Server.TenantClientAsync(b);
        using var aOwner = Server.Client(Server.UserToken(a, "owner", Scopes.Admin));
        var created = await Http.JsonAsync(await aOwner.PostAsync("/api/v1/api-keys", RunningServer.Json(new { name = "robot", scopes = QueryAndIngest }), Http.Ct));
        var key = created.GetProperty("key").GetString()!;
        var id = created.GetProperty("id").GetString()!;

        var forged = key[..^4] + (key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        await Http.AssertProblemAsync(await Server.Client(forged).GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Unauthorized);
        await Http.AssertProblemAsync(await Server.Client("brk_" + new string('0', 16) + "_nothing").GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Unauthorized);

        using var robot = Server.Client(key);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/documents");
        request.Headers.Add("X-Tenant-Id", b);
        await Http.AssertProblemAsync(await robot.SendAsync(request, Http.Ct), HttpStatusCode.NotFound);

        // tenant B's admin can neither see nor revoke tenant A's key
        using var bOwner = Server.Client(Server.UserToken(b, "owner", Scopes.Admin));
        Assert.DoesNotContain(id, (await Http.JsonAsync(await bOwner.GetAsync("/api/v1/api-keys", Http.Ct))).ToString(), StringComparison.Ordinal);
        await Http.AssertProblemAsync(await bOwner.DeleteAsync($"/api/v1/api-keys/{id}", Http.Ct), HttpStatusCode.NotFound);
        (await robot.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();

        // a user without the admin scope cannot manage keys
        await Http.AssertProblemAsync(await bUser.GetAsync("/api/v1/api-keys", Http.Ct), HttpStatusCode.Forbidden);
    }

    private static async Task<byte[]> ReadSharedAsync(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, Http.Ct);
        return copy.ToArray();
    }
}
