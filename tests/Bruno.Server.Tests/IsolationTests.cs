using System.Net;
using System.Text;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>One tenant's data never reaches another, whichever endpoint is used and whatever the request names.</summary>
public sealed class IsolationTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Canary = "The vault combination of the orchard project is 7-31-4 CANARYQUOKKA.";

    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task ACanaryStoredByOneTenant_IsNeverSeenByAnother_NorWrittenInPlaintext()
    {
        var a = ServerFixture.NewTenant("canary-a");
        var b = ServerFixture.NewTenant("canary-b");
        using var alice = await Server.TenantClientAsync(a);
        using var bob = await Server.TenantClientAsync(b, "bob");
        (await alice.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "vault", content = Canary }), Http.Ct)).EnsureSuccessStatusCode();
        (await bob.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "garden", content = "The orchard project plants apple trees in spring." }), Http.Ct)).EnsureSuccessStatusCode();

        // Alice sees her canary...
        var own = await Http.JsonAsync(await alice.PostAsync("/api/v1/query", RunningServer.Json(new { query = "vault combination of the orchard project" }), Http.Ct));
        Assert.Contains("CANARYQUOKKA", own.ToString(), StringComparison.Ordinal);

        // ...Bob never does, through any endpoint.
        var answers = new List<string>
        {
            (await Http.JsonAsync(await bob.PostAsync("/api/v1/query", RunningServer.Json(new { query = "vault combination of the orchard project CANARYQUOKKA" }), Http.Ct))).ToString(),
            (await Http.JsonAsync(await bob.GetAsync("/api/v1/documents", Http.Ct))).ToString(),
        };
        await Http.AssertProblemAsync(await bob.GetAsync("/api/v1/documents/vault", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await bob.DeleteAsync("/api/v1/documents/vault", Http.Ct), HttpStatusCode.NotFound);
        Assert.All(answers, text => Assert.DoesNotContain("CANARYQUOKKA", text, StringComparison.Ordinal));
        Assert.All(answers, text => Assert.DoesNotContain("vault", text, StringComparison.Ordinal));

        // Alice's document survived Bob's delete attempt, and no byte under the data folder holds the canary in clear.
        (await alice.GetAsync("/api/v1/documents/vault", Http.Ct)).EnsureSuccessStatusCode();
        var needle = Encoding.UTF8.GetBytes("CANARYQUOKKA");
        foreach (var file in Directory.EnumerateFiles(Server.Root, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == "owner.lock")
            {
                Assert.Equal(0, new FileInfo(file).Length); // held exclusively by the open store, and empty
                continue;
            }

            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy, Http.Ct);
            Assert.True(copy.ToArray().AsSpan().IndexOf(needle) < 0, $"plaintext canary in {Path.GetFileName(file)}");
        }
    }

    [Fact]
    public async Task NamingAnotherTenant_InAHeaderQueryBodyOrPath_IsAnsweredAsIfItDidNotExist()
    {
        var a = ServerFixture.NewTenant("victim");
        var b = ServerFixture.NewTenant("intruder");
        using var alice = await Server.TenantClientAsync(a);
        (await alice.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "plans", content = "Secret plans of the victim tenant." }), Http.Ct)).EnsureSuccessStatusCode();
        using var mallory = await Server.TenantClientAsync(b, "mallory");

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/documents"))
        {
            request.Headers.Add("X-Tenant-Id", a);
            await Http.AssertProblemAsync(await mallory.SendAsync(request, Http.Ct), HttpStatusCode.NotFound);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/documents"))
        {
            request.Headers.Add("X-Forwarded-For", "10.0.0.1");
            request.Headers.Add("X-Tenant", a);
            await Http.AssertProblemAsync(await mallory.SendAsync(request, Http.Ct), HttpStatusCode.NotFound);
        }

        await Http.AssertProblemAsync(await mallory.GetAsync($"/api/v1/documents?tenant_id={a}", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await mallory.GetAsync($"/api/v1/documents/plans?tenant={a}", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await mallory.PostAsync("/api/v1/query", RunningServer.Json(new { query = "secret plans", tenant_id = a }), Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await mallory.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "x", content = "planted", tenant_id = a }), Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await mallory.GetAsync($"/api/v1/tenants/{a}/documents", Http.Ct), HttpStatusCode.NotFound);

        // every spelling of a tenant key, and values that are not a plain string (issue 19: these were ignored, not refused)
        foreach (var key in new[] { "tenantId", "TenantId", "tenant", "tenant-id", "TENANT_ID", "Tenant" })
        {
            await Http.AssertProblemAsync(await mallory.PostAsync("/api/v1/query", Body(key, a, ("query", "secret plans")), Http.Ct), HttpStatusCode.NotFound);
            await Http.AssertProblemAsync(await mallory.PostAsync("/api/v1/documents", Body(key, a, ("id", "x"), ("content", "planted")), Http.Ct), HttpStatusCode.NotFound);
        }

        await Http.AssertProblemAsync(await mallory.PostAsync("/api/v1/search", Body("tenant_id", new[] { a }, ("query", "plans")), Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await mallory.PostAsync("/api/v1/feedback", Body("tenantId", new { id = a }, ("turn_id", "t1"), ("rating", "up")), Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await mallory.GetAsync($"/api/v1/documents?TenantId={a}", Http.Ct), HttpStatusCode.NotFound);
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/documents"))
        {
            request.Headers.Add("Tenant-ID", a);
            await Http.AssertProblemAsync(await mallory.SendAsync(request, Http.Ct), HttpStatusCode.NotFound);
        }

        using (var form = new MultipartFormDataContent())
        {
            form.Add(new StringContent(a), "tenantId");
            form.Add(new ByteArrayContent("planted through a form"u8.ToArray()) { Headers = { ContentType = new("text/plain") } }, "file", "planted.txt");
            await Http.AssertProblemAsync(await mallory.PostAsync("/api/v1/documents", form, Http.Ct), HttpStatusCode.NotFound);
        }

        // one's own tenant under any spelling is harmless
        (await mallory.PostAsync("/api/v1/query", Body("tenantId", b, ("query", "anything")), Http.Ct)).EnsureSuccessStatusCode();

        // nothing was planted in the victim's tenant, and naming one's own tenant is harmless
        var list = await Http.JsonAsync(await alice.GetAsync($"/api/v1/documents?tenant_id={a}", Http.Ct));
        Assert.Equal(["plans"], list.GetProperty("items").EnumerateArray().Select(d => d.GetProperty("id").GetString()));
        Assert.Empty((await Http.JsonAsync(await mallory.GetAsync("/api/v1/documents", Http.Ct))).GetProperty("items").EnumerateArray());
    }

    /// <summary>A JSON body with <paramref name="fields"/> and a tenant under the key <paramref name="key"/>.</summary>
    private static StringContent Body(string key, object value, params (string Name, object Value)[] fields)
    {
        var body = fields.ToDictionary(f => f.Name, f => f.Value);
        body[key] = value;
        return new StringContent(System.Text.Json.JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
    }
}
