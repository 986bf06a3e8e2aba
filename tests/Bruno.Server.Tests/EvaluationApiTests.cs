using System.Net;
using Bruno.Core.Identity;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>Evaluations through the API: run, list, read, compare, delete, as the tenant's admin only.</summary>
public sealed class EvaluationApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    private static readonly string[] Escaping = ["../x"];

    private static readonly string[] Plain = ["d"];

    private static object Cases => new object[]
    {
        new { id = "leave", question = "How much paid leave do I get each year?", expected_documents = new[] { "handbook" }, expected_phrase = "25 days", style = "natural" },
        new { id = "train", question = "train travel class", expected_documents = new[] { "handbook" }, expected_phrase = "second class", style = "keyword" },
        new { id = "moon", question = "What is the distance from the Earth to the Moon?", must_not_answer = true },
    };

    [Fact]
    public async Task AnAdmin_RunsListsReadsComparesAndDeletesEvaluations()
    {
        var tenant = ServerFixture.NewTenant("eval");
        await Server.CreateTenantsAsync(tenant);
        using var admin = Server.Client(Server.UserToken(tenant, "alice", Scopes.Query, Scopes.Ingest, Scopes.Admin));
        (await admin.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "handbook", title = "Handbook", content_type = "text/markdown", content = "# Leave\nEmployees receive 25 days of paid leave per year.\n# Travel\nTrain travel is booked in second class." }), Http.Ct)).EnsureSuccessStatusCode();

        var created = await admin.PostAsync("/api/v1/evaluations", RunningServer.Json(new { cases = Cases, label = "first" }), Http.Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var run = await Http.JsonAsync(created);
        var id = run.GetProperty("id").GetString()!;
        Assert.Equal($"/api/v1/evaluations/{id}", created.Headers.Location!.OriginalString);
        var metrics = run.GetProperty("metrics");
        Assert.Equal(3, metrics.GetProperty("cases").GetInt32());
        Assert.Equal(1.0, metrics.GetProperty("hit_at_1").GetDouble());
        Assert.Equal(1.0, metrics.GetProperty("answer_accuracy").GetDouble());
        Assert.Equal(1.0, metrics.GetProperty("no_answer_recall").GetDouble());
        Assert.Equal(3, run.GetProperty("cases").GetArrayLength());

        var second = await Http.JsonAsync(await admin.PostAsync("/api/v1/evaluations", RunningServer.Json(new { cases = Cases, label = "second" }), Http.Ct));
        var list = await Http.JsonAsync(await admin.GetAsync("/api/v1/evaluations", Http.Ct));
        Assert.Equal([second.GetProperty("id").GetString(), id], list.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()));
        var read = await Http.JsonAsync(await admin.GetAsync($"/api/v1/evaluations/{id}", Http.Ct));
        Assert.Equal("first", read.GetProperty("label").GetString());
        var comparison = await Http.JsonAsync(await admin.GetAsync($"/api/v1/evaluations/compare?first={id}&second={second.GetProperty("id").GetString()}", Http.Ct));
        Assert.Equal(0, comparison.GetProperty("change").GetProperty("hit_at_1").GetDouble());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/evaluations/{id}", Http.Ct)).StatusCode);
        await Http.AssertProblemAsync(await admin.GetAsync($"/api/v1/evaluations/{id}", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await admin.GetAsync("/api/v1/evaluations/compare?first=x", Http.Ct), HttpStatusCode.BadRequest);

        // the audit log records the runs
        var audit = await Http.JsonAsync(await admin.GetAsync("/api/v1/audit", Http.Ct));
        Assert.Contains(audit.GetProperty("entries").EnumerateArray(), e => e.GetProperty("action").GetString() == "evaluation.run");
    }

    [Fact]
    public async Task BadEvaluations_Get400_AndOnlyAdminsMayRunThem()
    {
        var tenant = ServerFixture.NewTenant("eval-bad");
        await Server.CreateTenantsAsync(tenant);
        using var admin = Server.Client(Server.UserToken(tenant, "alice", Scopes.Admin));
        using var user = Server.Client(Server.UserToken(tenant, "bob", Scopes.Query, Scopes.Ingest));

        await Http.AssertProblemAsync(await user.PostAsync("/api/v1/evaluations", RunningServer.Json(new { cases = Cases }), Http.Ct), HttpStatusCode.Forbidden);
        var problem = await Http.AssertProblemAsync(await admin.PostAsync("/api/v1/evaluations", RunningServer.Json(new { cases = Array.Empty<object>() }), Http.Ct), HttpStatusCode.BadRequest);
        Assert.Contains("1-500 cases", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await Http.AssertProblemAsync(await admin.PostAsync("/api/v1/evaluations", RunningServer.Json(new { cases = new[] { new { question = "x?", expected_documents = Escaping } } }), Http.Ct), HttpStatusCode.BadRequest);
        await Http.AssertProblemAsync(await admin.PostAsync("/api/v1/evaluations", RunningServer.Json(new { cases = Enumerable.Range(0, 501).Select(i => new { question = $"q{i}?", expected_documents = Plain }) }), Http.Ct), HttpStatusCode.BadRequest);
        var list = await Http.JsonAsync(await admin.GetAsync("/api/v1/evaluations", Http.Ct));
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }
}

/// <summary>Answers that say so when the documents hold none, and uploads refused at the ingestion limits.</summary>
public sealed class HonestAnswerApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RunningServer Server => fixture.Server;

    [Fact]
    public async Task AQuestionTheDocumentsDoNotAnswer_IsAnsweredFalse_WithSuggestionsAndNoSources()
    {
        using var client = await Server.TenantClientAsync(ServerFixture.NewTenant("honest"));
        (await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "returns", title = "Returns policy", content_type = "text/markdown", content = "# Returns\nCustomers may return any product within 30 days of delivery for a full refund." }), Http.Ct)).EnsureSuccessStatusCode();

        var refused = await Http.JsonAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Which planet has the most moons?" }), Http.Ct));
        Assert.False(refused.GetProperty("answered").GetBoolean());
        Assert.Empty(refused.GetProperty("sources").EnumerateArray());
        Assert.Equal("returns", refused.GetProperty("suggestions")[0].GetProperty("document_id").GetString());
        Assert.StartsWith("Not in these documents", refused.GetProperty("answer").GetString(), StringComparison.Ordinal);

        var answered = await Http.JsonAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "How long do I have to return a product?" }), Http.Ct));
        Assert.True(answered.GetProperty("answered").GetBoolean());
        Assert.Empty(answered.GetProperty("suggestions").EnumerateArray());
        Assert.InRange(answered.GetProperty("confidence").GetDouble(), 0, 1);
    }

    [Fact]
    public async Task HostileUploads_Get422NamingTheLimit_AndNothingIsStored()
    {
        var tenant = ServerFixture.NewTenant("hostile");
        using var client = await Server.TenantClientAsync(tenant);
        static MultipartFormDataContent Form(byte[] bytes, string name, string type)
        {
            var form = new MultipartFormDataContent();
            var file = new ByteArrayContent(bytes);
            file.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(type);
            form.Add(file, "file", name);
            return form;
        }

        // the fixture caps uploads at 8 KiB: hostile files small enough to pass that, and over the limits inside
        var deep = await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form(HostileFiles.DeepHtml(1_000), "deep.html", "text/html"), Http.Ct), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("Bruno:Ingestion:MaxHtmlDepth", deep.GetProperty("limit").GetString());
        var malformed = await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form(HostileFiles.MalformedPdf(), "cut.pdf", "application/pdf"), Http.Ct), HttpStatusCode.UnprocessableEntity);
        Assert.Contains("not a PDF that can be read", malformed.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var pages = await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", Form(HostileFiles.ManyPagesPdf(60), "pages.pdf", "application/pdf"), Http.Ct), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("Bruno:Ingestion:MaxPdfPages", pages.GetProperty("limit").GetString());

        var list = await Http.JsonAsync(await client.GetAsync("/api/v1/documents", Http.Ct));
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }
}
