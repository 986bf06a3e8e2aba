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
        using var client = fixture.Server.Client();
        var text = await (await client.GetAsync("/openapi/v1.json", Http.Ct)).Content.ReadAsStringAsync(Http.Ct);
        var file = Path.Combine(Path.GetTempPath(), $"bruno-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, text, Http.Ct);
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
        using var client = fixture.Server.Client();
        var doc = await Http.JsonAsync(await client.GetAsync("/openapi/v1.json", Http.Ct));
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
                Assert.False(string.IsNullOrWhiteSpace(o.GetProperty("summary").GetString()), $"{operation.Name} {path.Name}: no summary");
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
}
