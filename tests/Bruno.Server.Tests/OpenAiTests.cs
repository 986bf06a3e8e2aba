using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 20: the OpenAI-compatible door. A tenant's knowledge is one model, <c>bruno-{tenant}</c>; chat completions
/// answer from it, whole or as OpenAI's chunk stream, with the citations in the text and as a field; an API key is a
/// bearer token; another tenant's model does not exist.
/// </summary>
public sealed class OpenAiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private const string Handbook = "The night ferry to Harwich leaves the north quay at 22:40. Passengers must check in forty minutes before departure. Bicycles travel free on the night ferry.";

    private static readonly string[] QueryOnly = ["query"];

    private RunningServer Server => fixture.Server;

    private async Task<(string Tenant, HttpClient Client)> TenantWithKeyAsync(string prefix)
    {
        var (tenant, key) = await TenantAndKeyAsync(prefix);
        return (tenant, Server.Client(key)); // the key as a bearer token, as OpenAI clients send it
    }

    private async Task<(string Tenant, string Key)> TenantAndKeyAsync(string prefix)
    {
        var tenant = ServerFixture.NewTenant(prefix);
        using (var owner = await Server.TenantClientAsync(tenant))
        {
            (await owner.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "ferries", title = "Ferry handbook", content = Handbook }), Http.Ct)).EnsureSuccessStatusCode();
        }

        using var admin = Server.Client(Server.PlatformToken());
        var created = await Http.JsonAsync(await admin.PostAsync($"/admin/v1/tenants/{tenant}/api-keys", RunningServer.Json(new { name = "chat front end", scopes = QueryOnly }), Http.Ct));
        return (tenant, created.GetProperty("key").GetString()!);
    }

    [Fact]
    public async Task TheTenantsKnowledge_IsOneModel_AndAnswersWithCitations()
    {
        var (tenant, client) = await TenantWithKeyAsync("oai");
        using (client)
        {
            var models = await Http.JsonAsync(await client.GetAsync("/v1/models", Http.Ct));
            Assert.Equal("list", models.GetProperty("object").GetString());
            var model = Assert.Single(models.GetProperty("data").EnumerateArray());
            Assert.Equal(("bruno-" + tenant, "model"), (model.GetProperty("id").GetString(), model.GetProperty("object").GetString()));

            var completion = await Http.JsonAsync(await client.PostAsync("/v1/chat/completions", RunningServer.Json(new
            {
                model = "bruno-" + tenant,
                messages = new object[] { new { role = "system", content = "You are helpful." }, new { role = "user", content = "When does the night ferry leave?" } },
                temperature = 0.2,
            }), Http.Ct));
            Assert.Equal("chat.completion", completion.GetProperty("object").GetString());
            Assert.StartsWith("chatcmpl-", completion.GetProperty("id").GetString(), StringComparison.Ordinal);
            var choice = Assert.Single(completion.GetProperty("choices").EnumerateArray());
            Assert.Equal(("assistant", "stop"), (choice.GetProperty("message").GetProperty("role").GetString(), choice.GetProperty("finish_reason").GetString()));
            var content = choice.GetProperty("message").GetProperty("content").GetString()!;
            Assert.Contains("22:40", content, StringComparison.Ordinal);
            Assert.Contains("Sources:\n[1] Ferry handbook", content, StringComparison.Ordinal);
            var citation = completion.GetProperty("citations")[0];
            Assert.Equal(("ferries", 1), (citation.GetProperty("document_id").GetString(), citation.GetProperty("index").GetInt32()));
            Assert.True(completion.GetProperty("answered").GetBoolean());
            var usage = completion.GetProperty("usage");
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        }
    }

    [Fact]
    public async Task AStream_IsOpenAisChunkFormat_AsOpenWebUiReadsIt()
    {
        var (tenant, client) = await TenantWithKeyAsync("oai-stream");
        using (client)
        {
            // the shape Open WebUI sends: the whole conversation, stream on, sampling settings Bruno leaves to its model
            var body = new
            {
                model = "bruno-" + tenant,
                stream = true,
                stream_options = new { include_usage = true },
                messages = new object[]
                {
                    new { role = "user", content = "Hello" },
                    new { role = "assistant", content = "Hello! How can I help?" },
                    new { role = "user", content = new object[] { new { type = "text", text = "Do bicycles cost extra on the night ferry?" } } },
                },
                temperature = 0.7,
                max_tokens = 512,
                user = "someone@example.com",
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = RunningServer.Json(body) };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Http.Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var data = (await response.Content.ReadAsStringAsync(Http.Ct)).Split('\n')
                .Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => l["data: ".Length..]).ToList();

            Assert.Equal("[DONE]", data[^1]);
            var chunks = data[..^1].Select(d => JsonDocument.Parse(d).RootElement).ToList();
            Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
            Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
            Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());

            var text = new StringBuilder();
            foreach (var c in chunks.Where(c => c.GetProperty("choices").GetArrayLength() > 0))
            {
                if (c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var piece))
                {
                    text.Append(piece.GetString());
                }
            }

            Assert.Contains("free", text.ToString(), StringComparison.OrdinalIgnoreCase);
            Assert.Contains("[1] Ferry handbook", text.ToString(), StringComparison.Ordinal);
            var finish = Assert.Single(chunks, c => c.GetProperty("choices").GetArrayLength() > 0 && c.GetProperty("choices")[0].GetProperty("finish_reason").ValueKind == JsonValueKind.String);
            Assert.Equal("stop", finish.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Equal("ferries", finish.GetProperty("citations")[0].GetProperty("document_id").GetString());
            var last = chunks[^1]; // include_usage: one more chunk, no choices, the usage
            Assert.Equal(0, last.GetProperty("choices").GetArrayLength());
            Assert.True(last.GetProperty("usage").GetProperty("total_tokens").GetInt32() >= 0);
        }
    }

    [Fact]
    public async Task AnotherTenantsModel_DoesNotExist_AndBadConversationsAreRefused()
    {
        var (tenant, client) = await TenantWithKeyAsync("oai-a");
        var (other, otherClient) = await TenantWithKeyAsync("oai-b");
        using (client)
        using (otherClient)
        {
            var refused = await Http.AssertProblemAsync(
                await client.PostAsync("/v1/chat/completions", RunningServer.Json(new { model = "bruno-" + other, messages = new[] { new { role = "user", content = "When does the night ferry leave?" } } }), Http.Ct),
                HttpStatusCode.NotFound);
            Assert.Equal("model_not_found", refused.GetProperty("error").GetProperty("code").GetString());
            Assert.DoesNotContain("22:40", refused.ToString(), StringComparison.Ordinal);

            var noQuestion = await Http.AssertProblemAsync(
                await client.PostAsync("/v1/chat/completions", RunningServer.Json(new { model = "bruno-" + tenant, messages = new[] { new { role = "assistant", content = "Hi" } } }), Http.Ct),
                HttpStatusCode.BadRequest);
            Assert.Equal("messages", noQuestion.GetProperty("error").GetProperty("param").GetString());

            // naming a tenant in the body is refused like everywhere else
            await Http.AssertProblemAsync(
                await client.PostAsync("/v1/chat/completions", RunningServer.Json(new { model = "bruno-" + tenant, tenant_id = other, messages = new[] { new { role = "user", content = "ferry" } } }), Http.Ct),
                HttpStatusCode.NotFound);

            using var anonymous = Server.Client();
            await Http.AssertProblemAsync(await anonymous.GetAsync("/v1/models", Http.Ct), HttpStatusCode.Unauthorized);
            using var wrongKey = Server.Client();
            wrongKey.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "brk_nothing_here");
            await Http.AssertProblemAsync(await wrongKey.GetAsync("/v1/models", Http.Ct), HttpStatusCode.Unauthorized);
        }
    }

    [Fact]
    public async Task TheOfficialOpenAiSdk_ListsStreamsAndCites_AndIsRefusedAnotherTenantsModel()
    {
        var (tenant, key) = await TenantAndKeyAsync("oai-sdk");
        var (other, _) = await TenantAndKeyAsync("oai-sdk-b");

        var seen = await NodeClients.RunAsync("openai-client.mjs", new Dictionary<string, string>
        {
            ["BRUNO_URL"] = Server.Address.ToString().TrimEnd('/'),
            ["BRUNO_API_KEY"] = key,
            ["BRUNO_MODEL"] = "bruno-" + tenant,
            ["BRUNO_OTHER_MODEL"] = "bruno-" + other,
            ["BRUNO_QUESTION"] = "When does the night ferry leave?",
        }, Http.Ct);

        Assert.Equal(["bruno-" + tenant], seen.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.Contains("22:40", seen.GetProperty("whole").GetString(), StringComparison.Ordinal);
        Assert.Equal(seen.GetProperty("whole").GetString(), seen.GetProperty("streamed").GetString());
        Assert.Equal("stop", seen.GetProperty("finish").GetString());
        Assert.Equal("ferries", seen.GetProperty("citations")[0].GetProperty("document_id").GetString());
        Assert.Equal("ferries", seen.GetProperty("whole_citations")[0].GetProperty("document_id").GetString());
        Assert.True(seen.GetProperty("usage").GetProperty("total_tokens").GetInt32() >= 0);
        Assert.Equal((404, "model_not_found"), (seen.GetProperty("other_status").GetInt32(), seen.GetProperty("other_code").GetString()));
    }
}
