using System.Text.Json;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 20: the OpenAPI document as a contract. Redocly's recommended rules find no error in it (run with the real
/// Redocly CLI, installed by test.sh); every operation has a unique id, a summary, its feature's tag, its security and
/// problem documents for its 4xx answers.
/// </summary>
public sealed class OpenApiContractTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task RedoclysRecommendedRules_FindNoError()
    {
        var file = await SaveDocumentAsync();
        try
        {
            var report = await NodeClients.RunAsync("redocly-lint.mjs", new Dictionary<string, string> { ["BRUNO_OPENAPI"] = file }, Http.Ct);
            var errors = report.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).Where(p => p.StartsWith("error", StringComparison.Ordinal)).ToList();
            Assert.True(report.GetProperty("errors").GetInt32() == 0, string.Join("\n", errors.Take(30)));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task EveryOperation_HasAnId_ASummary_ItsFeaturesTag_ItsSecurity_AndProblemAnswers()
    {
        var doc = await DocumentAsync();
        var schemes = doc.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty("bearer").GetProperty("scheme").GetString());
        Assert.Equal("X-Api-Key", schemes.GetProperty("apiKey").GetProperty("name").GetString());

        var ids = new List<string>();
        foreach (var path in doc.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("responses", out _)))
            {
                var o = operation.Value;
                ids.Add(o.GetProperty("operationId").GetString()!);
                Assert.True(Features.Contract.OpenApiContract.Summaries.TryGetValue($"{operation.Name.ToUpperInvariant()} {path.Name}", out var written), $"{operation.Name} {path.Name}: no written summary");
                Assert.Equal(written, o.TryGetProperty("summary", out var summary) ? summary.GetString() : null); // the written one, as the document shows it
                Assert.Equal(1, o.GetProperty("tags").GetArrayLength());
                var anonymous = path.Name is "/healthz" or "/readyz";
                Assert.Equal(anonymous ? 1 : 2, o.GetProperty("security").GetArrayLength()); // anonymous: [{}]; else bearer or API key
                Assert.True(o.GetProperty("responses").TryGetProperty("404", out var notFound), $"{operation.Name} {path.Name}: no 404");
                Assert.True(notFound.GetProperty("content").TryGetProperty("application/problem+json", out _));
            }
        }

        Assert.True(ids.Count > 60, $"only {ids.Count} operations");
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        var query = doc.GetProperty("paths").GetProperty("/api/v1/query").GetProperty("post");
        Assert.Equal(("postQuery", "Query"), (query.GetProperty("operationId").GetString(), query.GetProperty("tags")[0].GetString()));
        Assert.Equal("OpenAi", doc.GetProperty("paths").GetProperty("/v1/chat/completions").GetProperty("post").GetProperty("tags")[0].GetString());
    }

    [Fact]
    public async Task TheGeneratedTypeScriptClient_CompilesTheReadmesExamples_AndRefusesMisuse()
    {
        var file = await SaveDocumentAsync();
        try
        {
            const string misuse = """
                import createClient from "openapi-fetch";
                import type { paths } from "./bruno-api";
                const bruno = createClient<paths, "application/json">({ baseUrl: "http://127.0.0.1:8080" });
                await bruno.POST("/api/v1/query", { body: { question: "the field is called query", tenant_id: "other" } });
                """;
            var tenant = ServerFixture.NewTenant("ts-client");
            await fixture.Server.CreateTenantsAsync(tenant);
            var report = await NodeClients.RunAsync("typescript-client.mjs", new Dictionary<string, string>
            {
                ["BRUNO_OPENAPI"] = file,
                ["BRUNO_URL"] = fixture.Server.Address.ToString().TrimEnd('/'),
                ["BRUNO_TOKEN"] = fixture.Server.UserToken(tenant, "ts-user", Core.Identity.Scopes.Query, Core.Identity.Scopes.Ingest),
                ["BRUNO_README"] = Path.Combine(NodeClients.Folder, "..", "..", "README.md"),
                ["BRUNO_MISUSE"] = misuse,
            }, Http.Ct);

            Assert.True(report.GetProperty("examples").GetInt32() >= 1, "the README has no ```ts example");
            var errors = report.GetProperty("errors").EnumerateObject().ToDictionary(e => e.Name, e => string.Join("\n", e.Value.EnumerateArray().Select(m => m.GetString())), StringComparer.Ordinal);
            var wrong = errors.Where(e => e.Key != "misuse.ts").Select(e => $"{e.Key}: {e.Value}").ToList();
            Assert.True(wrong.Count == 0, string.Join("\n", wrong)); // the README's examples and the answer's type (string, not never)
            Assert.Contains("'question' does not exist", errors.GetValueOrDefault("misuse.ts"), StringComparison.Ordinal); // the types bind

            // and the example does what it says against the real server: uploads, asks, cites, lists
            var run = Assert.Single(report.GetProperty("runs").EnumerateArray());
            Assert.True(run.GetProperty("exit").GetInt32() == 0, run.GetProperty("stderr").GetString());
            var printed = run.GetProperty("stdout").GetString()!;
            Assert.Contains("30 days", printed, StringComparison.Ordinal);
            Assert.Contains("[1] Returns policy", printed, StringComparison.Ordinal);
            Assert.Contains("returns Returns policy", printed, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task EverySuccessHasASchema_RequestsNameNoTenant_OptionalFieldsAreOptional_AndTheTenantParameterHasOneName()
    {
        var doc = await DocumentAsync();
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        foreach (var path in doc.GetProperty("paths").EnumerateObject())
        {
            Assert.DoesNotContain("/tenants/{id}", path.Name, StringComparison.Ordinal); // the tenant is {tenant} everywhere
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("responses", out _)))
            {
                foreach (var response in operation.Value.GetProperty("responses").EnumerateObject().Where(r => r.Name.StartsWith('2') && r.Name != "204"))
                {
                    Assert.True(response.Value.TryGetProperty("content", out var content) && content.EnumerateObject().All(c => c.Value.TryGetProperty("schema", out _)), $"{operation.Name} {path.Name} {response.Name}: no schema");
                }

                if (operation.Value.TryGetProperty("requestBody", out var body))
                {
                    foreach (var media in body.GetProperty("content").EnumerateObject())
                    {
                        var schema = Resolve(media.Value.GetProperty("schema"), schemas);
                        var names = schema.TryGetProperty("properties", out var properties) ? properties.EnumerateObject().Select(p => p.Name).ToList() : [];
                        Assert.DoesNotContain(names, n => n.StartsWith("tenant", StringComparison.Ordinal)); // the credential names the tenant
                    }
                }
            }
        }

        Assert.Equal(["query"], schemas.GetProperty("QueryRequest").GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["query"], schemas.GetProperty("SearchRequestBody").GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(["id"], schemas.GetProperty("CreateTenantRequest").GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal(JsonValueKind.String, schemas.GetProperty("QueryResponse").GetProperty("properties").GetProperty("answer").GetProperty("type").ValueKind);
        var upload = doc.GetProperty("paths").GetProperty("/api/v1/documents").GetProperty("post").GetProperty("requestBody").GetProperty("content");
        Assert.True(upload.TryGetProperty("multipart/form-data", out _));
        Assert.Contains("content", upload.GetProperty("application/json").GetProperty("schema").GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        var query = doc.GetProperty("paths").GetProperty("/api/v1/query").GetProperty("post").GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.True(query.TryGetProperty("application/json", out _) && query.TryGetProperty("text/event-stream", out _));
    }

    private static JsonElement Resolve(JsonElement schema, JsonElement schemas) =>
        schema.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : schema;

    private async Task<string> DocumentTextAsync()
    {
        using var client = fixture.Server.Client();
        return await (await client.GetAsync("/openapi/v1.json", Http.Ct)).Content.ReadAsStringAsync(Http.Ct);
    }

    private async Task<JsonElement> DocumentAsync() => JsonDocument.Parse(await DocumentTextAsync()).RootElement.Clone();

    private async Task<string> SaveDocumentAsync()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bruno-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, await DocumentTextAsync(), Http.Ct);
        return file;
    }
}
