using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Bruno.Server.Tests;

/// <summary>
/// Two installations, each with its own data folder, master key and signing key: the source (SQLite catalog) and the
/// target (PostgreSQL catalog). Bundles are cut into 4 KiB chunks so that even small tenants span several.
/// </summary>
public sealed class BundleFixture : IAsyncLifetime
{
    public const string Passphrase = "correct horse battery staple";

    public RunningServer Source { get; private set; } = null!;

    public RunningServer Target { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Source = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:Bundles:ChunkBytes"] = "4096" });
        Target = await RunningServer.StartAsync(new Dictionary<string, string?>
        {
            ["Bruno:Bundles:ChunkBytes"] = "4096",
            ["Bruno:Catalog:Provider"] = "postgres",
            ["Bruno:Catalog:ConnectionString"] = TestPostgres.NewDatabase(),
        });
    }

    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync();
        await Target.DisposeAsync();
    }
}

/// <summary>Tenant bundles over real HTTP: a tenant moved between installations row for row, refused bundles, access.</summary>
public sealed class BundleTests(BundleFixture fixture) : IClassFixture<BundleFixture>
{
    private static readonly string[] Gdpr = ["gdpr"];
    private static readonly string[] Questions = ["How many days of paid leave do employees get?", "lighthouse keepers", "Where is the locker code?", "train travel class"];

    private RunningServer Source => fixture.Source;

    private RunningServer Target => fixture.Target;

    [Fact]
    public async Task ATenantMovesToAnotherInstallation_RowForRow_AndAnswersAlike()
    {
        var tenant = ServerFixture.NewTenant("move");
        using var platform = Source.Client(Source.PlatformToken());
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant, display_name = "Moving Co", plan = "premium", isolation = "kamaji", compliance = Gdpr }), Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PutAsync($"/admin/v1/tenants/{tenant}/settings/retrieval", RunningServer.Json(new { final_count = 3, rrf_k = 40 }), Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PutAsync($"/admin/v1/tenants/{tenant}/settings/memory", RunningServer.Json(new { retention_days = 30 }), Http.Ct)).EnsureSuccessStatusCode();
        await FillAsync(Source, tenant);

        var bundle = await ExportAsync(Source, tenant);
        Assert.Equal("BRUNOBDL", Encoding.ASCII.GetString(bundle, 0, 8));
        var text = Encoding.UTF8.GetString(bundle);
        Assert.DoesNotContain("lighthouse", text, StringComparison.OrdinalIgnoreCase); // nothing of the content in clear
        Assert.DoesNotContain("4471", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Moving Co", text, StringComparison.Ordinal);
        Assert.True(Frames(bundle).Count >= 3);

        // the other installation creates it, active, with its profile
        var created = await Http.JsonAsync(await ImportAsync(Target, bundle, BundleFixture.Passphrase));
        Assert.Equal((tenant, "active", "Moving Co", "premium", "kamaji"), (created.GetProperty("id").GetString(), created.GetProperty("status").GetString(), created.GetProperty("display_name").GetString(), created.GetProperty("plan").GetString(), created.GetProperty("isolation").GetString()));
        Assert.Equal(Gdpr, created.GetProperty("compliance").EnumerateArray().Select(f => f.GetString()));
        using var targetPlatform = Target.Client(Target.PlatformToken());
        var events = await Http.JsonAsync(await targetPlatform.GetAsync($"/admin/v1/tenants/{tenant}/events", Http.Ct));
        Assert.Equal(["import", "provisioned"], events.EnumerateArray().Select(e => e.GetProperty("action").GetString()));

        // every row of every collection, bit for bit; the settings; and what searches, memory and answers return
        await AssertSameTenantAsync(Source, tenant, Target, tenant);
        foreach (var setting in new[] { "retrieval", "memory" })
        {
            Assert.Equal(
                (await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/settings/{setting}", Http.Ct))).ToString(),
                (await Http.JsonAsync(await targetPlatform.GetAsync($"/admin/v1/tenants/{tenant}/settings/{setting}", Http.Ct))).ToString());
        }

        // the same bundle again: the id is taken; under another id it makes a second, equal copy
        await Http.AssertProblemAsync(await ImportAsync(Target, bundle, BundleFixture.Passphrase), HttpStatusCode.Conflict);
        var copy = ServerFixture.NewTenant("copy");
        Assert.Equal(copy, (await Http.JsonAsync(await ImportAsync(Target, bundle, BundleFixture.Passphrase, copy))).GetProperty("id").GetString());
        await AssertSameTenantAsync(Source, tenant, Target, copy);

        await AssertSameAnswersAsync(tenant, tenant); // last: asking records a turn on each side
    }

    [Fact]
    public async Task AWrongPassphraseOrADamagedBundle_IsRefused_AndLeavesNothingOnTheTarget()
    {
        var tenant = ServerFixture.NewTenant("dmg");
        await Source.CreateTenantsAsync(tenant);
        await FillAsync(Source, tenant);
        var bundle = await ExportAsync(Source, tenant);
        var frames = Frames(bundle);
        Assert.True(frames.Count >= 3, $"{frames.Count} chunks");
        var headerEnd = frames[0].Offset;

        byte[] Flip(int at)
        {
            var copy = bundle.ToArray();
            copy[at] ^= 0x01;
            return copy;
        }

        byte[] Chunks(params int[] order) => [.. bundle[..headerEnd], .. order.SelectMany(i => bundle.AsSpan(frames[i].Offset, frames[i].Length).ToArray())];

        var all = Enumerable.Range(0, frames.Count).ToArray();
        var cases = new (string Case, byte[] Bytes, string Passphrase, string Expected)[]
        {
            ("wrong passphrase", bundle, "correct horse battery stapler", "passphrase does not open"),
            ("a byte of a chunk flipped", Flip(frames[1].Offset + 40), BundleFixture.Passphrase, "does not authenticate"),
            ("a byte of the last tag flipped", Flip(bundle.Length - 1), BundleFixture.Passphrase, "does not authenticate"),
            ("the export time in the header changed", Flip(8 + 2 + 1 + bundle[10]), BundleFixture.Passphrase, "chunk 0 does not authenticate"),
            ("the chunk size in the header changed", Flip(headerEnd - 20), BundleFixture.Passphrase, "damaged or was altered"),
            ("the salt in the header changed", Flip(headerEnd - 30), BundleFixture.Passphrase, "passphrase does not open"),
            ("cut in the middle", bundle[..(bundle.Length - 100)], BundleFixture.Passphrase, "truncated"),
            ("final chunk dropped", bundle[..frames[^1].Offset], BundleFixture.Passphrase, "truncated"),
            ("two chunks swapped", Chunks([1, 0, .. all[2..]]), BundleFixture.Passphrase, "chunk 0 does not authenticate"),
            ("a chunk dropped", Chunks([0, .. all[2..]]), BundleFixture.Passphrase, "chunk 1 does not authenticate"),
            ("a chunk repeated", Chunks([0, .. all]), BundleFixture.Passphrase, "chunk 1 does not authenticate"),
            ("bytes appended", [.. bundle, 0], BundleFixture.Passphrase, "after its final chunk"),
            ("not a bundle", Encoding.UTF8.GetBytes("{\"tenant\": \"x\"}"), BundleFixture.Passphrase, "not a Bruno tenant bundle"),
            ("empty header", bundle[..12], BundleFixture.Passphrase, "truncated"),
        };

        foreach (var (name, bytes, passphrase, expected) in cases)
        {
            var problem = await Http.AssertProblemAsync(await ImportAsync(Target, bytes, passphrase), (HttpStatusCode)422);
            Assert.True(problem.GetProperty("detail").GetString()!.Contains(expected, StringComparison.Ordinal), $"{name}: {problem}");
            await AssertNothingOfAsync(Target, tenant);
        }

        await Http.AssertProblemAsync(await ImportAsync(Target, bundle, "too short"), HttpStatusCode.BadRequest);
        await AssertNothingOfAsync(Target, tenant);

        // a store of that id without a catalog record (left by an old crash) is not the import's to fill, nor to erase
        var orphan = TenantId.Parse(ServerFixture.NewTenant("orphan"));
        var targetEngine = Target.Services.GetRequiredService<StorageEngine>();
        await targetEngine.CreateTenantAsync(orphan, ct: TestContext.Current.CancellationToken);
        await Http.AssertProblemAsync(await ImportAsync(Target, bundle, BundleFixture.Passphrase, orphan.Value), HttpStatusCode.Conflict);
        Assert.Null(Target.Services.GetRequiredService<TenantCatalog>().Find(orphan));
        Assert.True(targetEngine.TenantExists(orphan));

        // after all that, the id was never taken: the good bundle imports
        Assert.Equal("active", (await Http.JsonAsync(await ImportAsync(Target, bundle, BundleFixture.Passphrase))).GetProperty("status").GetString());
        await AssertSameTenantAsync(Source, tenant, Target, tenant);
    }

    [Fact]
    public async Task OnlyOperatorsExportAndImport_UnknownTenantsAre404_AndPassphrasesStayOutOfTheAddress()
    {
        var tenant = ServerFixture.NewTenant("acl");
        await Source.CreateTenantsAsync(tenant);
        using var platform = Source.Client(Source.PlatformToken());
        await Http.AssertProblemAsync(await platform.PostAsync("/admin/v1/tenants/no-such-tenant/export", RunningServer.Json(new { passphrase = BundleFixture.Passphrase }), Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await platform.PostAsync("/admin/v1/tenants/UPPER/export", RunningServer.Json(new { passphrase = BundleFixture.Passphrase }), Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await platform.PostAsync($"/admin/v1/tenants/{tenant}/export", RunningServer.Json(new { passphrase = "short" }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await platform.PostAsync($"/admin/v1/tenants/{tenant}/export", null, Http.Ct), HttpStatusCode.BadRequest);
        var inAddress = await Http.AssertProblemAsync(await platform.PostAsync($"/admin/v1/tenants/{tenant}/export?passphrase=correct%20horse%20battery", null, Http.Ct), HttpStatusCode.BadRequest);
        Assert.Contains("address", inAddress.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // the passphrase in a header works as well as in the body
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/tenants/{tenant}/export");
        request.Headers.Add("X-Bundle-Passphrase", BundleFixture.Passphrase);
        using var response = await platform.SendAsync(request, Http.Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith(tenant, response.Content.Headers.ContentDisposition?.FileName?.Trim('"'), StringComparison.Ordinal);
        var bundle = await response.Content.ReadAsByteArrayAsync(Http.Ct);

        // importing where the id exists is a conflict; a deleted tenant cannot be exported (its tombstone keeps the id)
        await Http.AssertProblemAsync(await ImportAsync(Source, bundle, BundleFixture.Passphrase), HttpStatusCode.Conflict);
        var gone = ServerFixture.NewTenant("gone");
        await Source.CreateTenantsAsync(gone);
        (await platform.DeleteAsync($"/admin/v1/tenants/{gone}", Http.Ct)).EnsureSuccessStatusCode();
        await Http.AssertProblemAsync(await platform.PostAsync($"/admin/v1/tenants/{gone}/export", RunningServer.Json(new { passphrase = BundleFixture.Passphrase }), Http.Ct), HttpStatusCode.Conflict);

        // a tenant's own credentials, even its admin's, reach neither endpoint; no credential is 401
        foreach (var client in new[] { Source.Client(Source.UserToken(tenant, "boss", Scopes.Admin, Scopes.Query, Scopes.Ingest)), Source.Client() })
        {
            using (client)
            {
                var expected = client.DefaultRequestHeaders.Authorization is null ? HttpStatusCode.Unauthorized : HttpStatusCode.Forbidden;
                await Http.AssertProblemAsync(await client.PostAsync($"/admin/v1/tenants/{tenant}/export", RunningServer.Json(new { passphrase = BundleFixture.Passphrase }), Http.Ct), expected);
                using var content = new ByteArrayContent(bundle);
                using var import = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/tenants/import?as=stolen-copy") { Content = content };
                import.Headers.Add("X-Bundle-Passphrase", BundleFixture.Passphrase);
                await Http.AssertProblemAsync(await client.SendAsync(import, Http.Ct), expected);
            }
        }

        Assert.Null(Source.Services.GetRequiredService<TenantCatalog>().Find(TenantId.Parse("stolen-copy")));
    }

    /// <summary>Documents, and memory of two users (notes, a turn, a stated preference).</summary>
    private static async Task FillAsync(RunningServer server, string tenant)
    {
        using var alice = server.Client(server.UserToken(tenant, "alice", Scopes.Query, Scopes.Ingest, Scopes.Memory));
        using var bob = server.Client(server.UserToken(tenant, "bob", Scopes.Query, Scopes.Memory));
        var documents = new[]
        {
            ("handbook", "# Leave\nEmployees receive 25 days of paid leave per year.\n# Travel\nTrain travel is booked in second class."),
            ("lights", "# Lighthouses\nLighthouse keepers once lived beside the lamp and kept it burning all night.\n# Today\nMost lights are automatic now."),
            ("lockers", "# Lockers\nGym lockers use four-digit codes chosen by each member."),
        };
        foreach (var (id, content) in documents)
        {
            (await alice.PostAsync("/api/v1/documents", RunningServer.Json(new { id, title = id, content_type = "text/markdown", content, metadata = new Dictionary<string, string> { ["team"] = "ops" } }), Http.Ct)).EnsureSuccessStatusCode();
        }

        (await alice.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "My locker code is 4471." }), Http.Ct)).EnsureSuccessStatusCode();
        (await bob.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "My desk is 4B. I prefer bullet points." }), Http.Ct)).EnsureSuccessStatusCode();
        (await alice.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Please keep answers short. How many days of paid leave do employees get?", session_id = "s1" }), Http.Ct)).EnsureSuccessStatusCode();
    }

    private static async Task<byte[]> ExportAsync(RunningServer server, string tenant)
    {
        using var platform = server.Client(server.PlatformToken());
        using var response = await platform.PostAsync($"/admin/v1/tenants/{tenant}/export", RunningServer.Json(new { passphrase = BundleFixture.Passphrase }), Http.Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsByteArrayAsync(Http.Ct);
    }

    private static async Task<HttpResponseMessage> ImportAsync(RunningServer server, byte[] bundle, string passphrase, string? target = null)
    {
        using var platform = server.Client(server.PlatformToken());
        using var content = new ByteArrayContent(bundle);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/tenants/import" + (target is null ? string.Empty : "?as=" + target)) { Content = content };
        request.Headers.Add("X-Bundle-Passphrase", passphrase);
        var response = await platform.SendAsync(request, Http.Ct);
        await response.Content.LoadIntoBufferAsync(Http.Ct);
        return response;
    }

    /// <summary>The chunk frames of a bundle, by the documented layout (docs/decisions/0012).</summary>
    private static List<(int Offset, int Length)> Frames(byte[] bundle)
    {
        var pos = 8 + 2;
        pos += 1 + bundle[pos] + 8 + 1 + 4;
        pos += 1 + bundle[pos] + 1;
        var chunkBytes = BinaryPrimitives.ReadInt32LittleEndian(bundle.AsSpan(pos));
        pos += 4 + 16;
        var frames = new List<(int, int)>();
        while (pos < bundle.Length)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bundle.AsSpan(pos + 1));
            frames.Add((pos, 1 + 4 + 12 + length + 16));
            pos += 1 + 4 + 12 + length + 16;
        }

        Assert.Equal(bundle.Length, pos);
        Assert.Equal(4096, chunkBytes);
        Assert.All(frames[..^1], f => Assert.Equal((0, 4096), (bundle[f.Item1], f.Item2 - 33)));
        Assert.Equal(1, bundle[frames[^1].Item1]);
        return frames;
    }

    /// <summary>Every collection of both tenants: same specs, and the same rows to the bit.</summary>
    private static async Task AssertSameTenantAsync(RunningServer a, string tenantA, RunningServer b, string tenantB)
    {
        var storeA = a.Services.GetRequiredService<TenantService>().Store(TenantId.Parse(tenantA));
        var storeB = b.Services.GetRequiredService<TenantService>().Store(TenantId.Parse(tenantB));
        var specs = await storeA.ListCollectionsAsync();
        Assert.Equal(specs, await storeB.ListCollectionsAsync());
        Assert.Contains(specs, s => s.Name.StartsWith("knowledge_", StringComparison.Ordinal));
        Assert.Contains(specs, s => s.Name.StartsWith("memory_", StringComparison.Ordinal));
        var users = new HashSet<string>();
        foreach (var spec in specs)
        {
            var rowsA = (await storeA.Collection(spec.Name).ReadAllAsync()).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
            var rowsB = (await storeB.Collection(spec.Name).ReadAllAsync()).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
            Assert.NotEmpty(rowsA);
            if (spec.Name == Bruno.Core.Audit.AuditLog.CollectionName)
            {
                // the imported log goes on where the exported one stopped: the import is its next entry, and it verifies
                Assert.Equal(rowsA.Count + 1, rowsB.Count);
                var entries = rowsB.Select(Bruno.Core.Audit.AuditLog.Parse).ToList();
                Assert.Equal(("tenant.export", "tenant.import"), (entries[^2].Action, entries[^1].Action));
                Assert.Empty(Bruno.Core.Audit.AuditVerifier.Verify(tenantB, entries, [], []));
                continue;
            }

            Assert.Equal(rowsA.Count, rowsB.Count);
            foreach (var (x, y) in rowsA.Zip(rowsB))
            {
                Assert.Equal((x.Id, x.Text, x.UserId, x.CreatedAt.UtcTicks, x.CreatedAt.Offset), (y.Id, y.Text, y.UserId, y.CreatedAt.UtcTicks, y.CreatedAt.Offset));
                Assert.True(MemoryMarshal.AsBytes(x.Vector.Span).SequenceEqual(MemoryMarshal.AsBytes(y.Vector.Span)), $"vector of {x.Id}");
                Assert.Equal(Metadata(x), Metadata(y));
                if (x.UserId is { } user)
                {
                    users.Add(user.Value);
                }
            }
        }

        Assert.Equal(["alice", "bob"], users.Order(StringComparer.Ordinal));
    }

    /// <summary>Metadata as (key, kind, exact value) triples, in key order.</summary>
    private static List<(string, MetadataKind, string)> Metadata(StoredRow row) =>
        [.. row.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => (m.Key, m.Value.Kind, m.Value.Kind switch
        {
            MetadataKind.Number => BitConverter.DoubleToInt64Bits(m.Value.AsNumber).ToString(System.Globalization.CultureInfo.InvariantCulture),
            MetadataKind.Time => m.Value.AsTime.UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => m.Value.ToString(),
        }))];

    /// <summary>Searches, both users' memory and an answer: the same on both installations.</summary>
    private async Task AssertSameAnswersAsync(string tenantA, string tenantB)
    {
        using var a = Source.Client(Source.UserToken(tenantA, "alice", Scopes.Query, Scopes.Admin));
        using var b = Target.Client(Target.UserToken(tenantB, "alice", Scopes.Query, Scopes.Admin));
        foreach (var question in Questions)
        {
            var found = await Http.JsonAsync(await a.PostAsync("/api/v1/search", RunningServer.Json(new { query = question, top_k = 5 }), Http.Ct));
            Assert.NotEmpty(found.GetProperty("sources").EnumerateArray());
            Assert.Equal(found.ToString(), (await Http.JsonAsync(await b.PostAsync("/api/v1/search", RunningServer.Json(new { query = question, top_k = 5 }), Http.Ct))).ToString());
        }

        foreach (var user in new[] { "alice", "bob" })
        {
            var memoryA = Normalized(await Http.JsonAsync(await a.GetAsync($"/api/v1/users/{user}/memory", Http.Ct)));
            Assert.Contains(user == "alice" ? "4471" : "4B", memoryA, StringComparison.Ordinal);
            Assert.Equal(memoryA, Normalized(await Http.JsonAsync(await b.GetAsync($"/api/v1/users/{user}/memory", Http.Ct))));
        }

        // an answer (with alice's memory and her stated preference): the same words, sources and confidence
        var answerA = await Http.JsonAsync(await a.PostAsync("/api/v1/query", RunningServer.Json(new { query = Questions[0], session_id = "s1" }), Http.Ct));
        var answerB = await Http.JsonAsync(await b.PostAsync("/api/v1/query", RunningServer.Json(new { query = Questions[0], session_id = "s1" }), Http.Ct));
        Assert.Contains("25 days", answerA.GetProperty("answer").GetString(), StringComparison.Ordinal);
        foreach (var field in new[] { "answer", "sources", "confidence", "model" })
        {
            Assert.Equal(answerA.GetProperty(field).ToString(), answerB.GetProperty(field).ToString());
        }
    }

    /// <summary>
    /// A memory export without preference strengths (they decay with every tick of the clock), with each item's details in
    /// key order (a JSON object has none; the store keeps a row's metadata in the order it was given until it reopens).
    /// </summary>
    private static string Normalized(JsonElement export)
    {
        var node = JsonNode.Parse(export.GetRawText())!;
        foreach (var kind in new[] { "turns", "facts", "preferences" })
        {
            foreach (var item in node[kind]!.AsArray())
            {
                var details = item!["details"]!.AsObject();
                var sorted = details.Where(d => d.Key != "strength").OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => (d.Key, Value: d.Value?.DeepClone())).ToList();
                details.Clear();
                foreach (var (key, value) in sorted)
                {
                    details[key] = value;
                }
            }
        }

        return node.ToJsonString();
    }

    /// <summary>No record, no store, no folder, no temporary file of the tenant on the server.</summary>
    private static async Task AssertNothingOfAsync(RunningServer server, string tenant)
    {
        using var platform = server.Client(server.PlatformToken());
        await Http.AssertProblemAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}", Http.Ct), HttpStatusCode.NotFound);
        Assert.DoesNotContain(tenant, (await Http.JsonAsync(await platform.GetAsync("/admin/v1/tenants", Http.Ct))).ToString(), StringComparison.Ordinal);
        Assert.False(server.Services.GetRequiredService<StorageEngine>().TenantExists(TenantId.Parse(tenant)));
        Assert.False(Directory.Exists(Path.Combine(server.Root, "store", "tenants", tenant)));
        var temp = Path.Combine(server.Root, "tmp");
        Assert.Empty(Directory.Exists(temp) ? Directory.GetFiles(temp) : []);
    }
}
