using System.Diagnostics;
using System.Net;
using Bruno.Core.Identity;
using Bruno.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Bruno.Server.Tests;

/// <summary>A server with a fake chat model, generous limits, span capture, and one tenant whose prompts may be traced.</summary>
public sealed class ObservabilityFixture : IAsyncLifetime
{
    public FakeChatClient Model { get; } = new();

    public SpanCapture Spans { get; } = new();

    /// <summary>The one tenant the operator switched prompt tracing on for.</summary>
    public string ContentTenant { get; } = ServerFixture.NewTenant("traced");

    public RunningServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await RunningServer.StartAsync(
        new Dictionary<string, string?>
        {
            ["Bruno:Chat:Provider"] = "openai",
            ["Bruno:Chat:Endpoint"] = "http://127.0.0.1:9",
            ["Bruno:Chat:Model"] = "fake-model",
            ["Bruno:Plans:default:RequestsPerMinute"] = "100000",
            ["Bruno:Plans:default:RequestsPerHour"] = "100000",
            ["Bruno:Plans:default:RequestsPerDay"] = "100000",
            ["Bruno:Plans:default:ClientRequestsPerMinute"] = "100000",
            ["Bruno:Plans:default:Concurrent"] = "50",
            ["Bruno:Plans:default:MaxUsers"] = "5000",
            ["Bruno:Plans:default:LlmTokensPerHour"] = "10000000",
            ["Bruno:Plans:default:LlmTokensPerMonth"] = "100000000",
            ["Bruno:Telemetry:TraceContentTenants:0"] = ContentTenant,
            ["Bruno:Plans:tiny:RequestsPerMinute"] = "100",
            ["Bruno:Plans:tiny:RequestsPerHour"] = "100",
            ["Bruno:Plans:tiny:RequestsPerDay"] = "100",
            ["Bruno:Plans:tiny:Concurrent"] = "5",
            ["Bruno:Plans:tiny:ClientRequestsPerMinute"] = "3",
            ["Bruno:Plans:tiny:MaxDocuments"] = "1",
        },
        services =>
        {
            services.AddSingleton<IChatClient>(Model);
            Spans.Register(services);
        });

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}

/// <summary>
/// Runs alone, after the parallel tests: every server of the test process shares the process's meters by name, and a
/// server stopping beside this one ends the series its scrapes count (in production a process holds one server).
/// </summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class Alone;

/// <summary>Metrics scraped from /metrics, spans from the in-memory exporter, and what a tenant's admin sees of its requests.</summary>
[Collection(typeof(Alone))]
public sealed class ObservabilityTests(ObservabilityFixture fixture) : IClassFixture<ObservabilityFixture>
{
    private RunningServer Server => fixture.Server;

    /// <summary>
    /// Scrapes until <paramref name="ready"/> holds: a request's HTTP duration is recorded when the server finishes it,
    /// which can be just after its client has the answer.
    /// </summary>
    private async Task<IReadOnlyList<PromSample>> ScrapeWhenAsync(Func<IReadOnlyList<PromSample>, bool> ready)
    {
        for (var attempt = 0; ; attempt++)
        {
            var samples = await ScrapeAsync();
            if (ready(samples) || attempt == 500)
            {
                return samples;
            }
        }
    }

    private async Task<IReadOnlyList<PromSample>> ScrapeAsync()
    {
        using var platform = Server.Client(Server.PlatformToken());
        using var response = await platform.GetAsync("/metrics", Http.Ct);
        response.EnsureSuccessStatusCode();
        return PromSample.Parse(await response.Content.ReadAsStringAsync(Http.Ct));
    }

    internal static async Task IngestAsync(HttpClient client, string id, string content) =>
        (await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id, content }), Http.Ct)).EnsureSuccessStatusCode();

    [Fact]
    public async Task Metrics_AfterRealRequests_HaveRouteStatusAndTenant_AndBrunosOwnSeries()
    {
        var tenant = ServerFixture.NewTenant("metrics");
        using var client = await Server.TenantClientAsync(tenant);
        await IngestAsync(client, "ferry-times", "The ferry to the island leaves every two hours from pier four.");
        (await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the ferry leave?" }), Http.Ct)).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/documents/no-such-doc", Http.Ct)).StatusCode);

        var samples = await ScrapeWhenAsync(s => s.Any(x => x.Name == "http_server_request_duration_seconds_count" && x["tenant_id"] == tenant && x["http_response_status_code"] == "404"));
        var mine = samples.Where(s => s["tenant_id"] == tenant).ToList();
        var http = mine.Where(s => s.Name == "http_server_request_duration_seconds_count").ToList();
        Assert.Contains(http, s => s["http_route"] == "/api/v1/query" && s["http_response_status_code"] == "200" && s["http_request_method"] == "POST" && s.Value == 1);
        Assert.Contains(http, s => s["http_route"] == "/api/v1/documents/{id}" && s["http_response_status_code"] == "404");
        Assert.Contains(mine, s => s.Name == "http_server_request_duration_seconds_bucket" && s["le"] == "2");

        foreach (var stage in new[] { "embed", "vector_search", "keyword_search", "fusion", "generate" })
        {
            Assert.Contains(mine, s => s.Name == "bruno_rag_stage_duration_seconds_count" && s["stage"] == stage && s.Value == 1);
        }

        Assert.Contains(mine, s => s.Name == "bruno_rag_chunks_retrieved_sum" && s.Value == 1);
        Assert.Contains(mine, s => s.Name == "bruno_rag_chunk_score_count" && s.Value == 1);
        Assert.Contains(mine, s => s.Name == "bruno_llm_tokens_total" && s["token_type"] == "prompt" && s["model"] == "fake-model" && s.Value == 120);
        Assert.Contains(mine, s => s.Name == "bruno_llm_tokens_total" && s["token_type"] == "completion" && s.Value == 9);
        Assert.Contains(mine, s => s.Name == "bruno_llm_time_to_first_token_seconds_count" && s.Value == 1);
        Assert.Contains(mine, s => s.Name == "bruno_memory_operations_total" && s["operation"] == "record_turn" && s["memory_type"] == "episodic");
        Assert.Contains(mine, s => s.Name == "bruno_tenant_store_size_bytes" && s.Value > 0);
        Assert.Contains(mine, s => s.Name == "tenant_cost_dollars");
        Assert.Contains(mine, s => s.Name == "bruno_tenant_quota_usage_ratio" && s["quota"] == "storage_bytes" && s.Value > 0);
        Assert.Contains(samples, s => s.Name == "bruno_tenants_open" && s.Value >= 1);

        // never a raw path, user or document id in a label
        var values = samples.SelectMany(s => s.Labels.Values).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain("/api/v1/documents/no-such-doc", values);
        Assert.DoesNotContain("alice", values);
        Assert.DoesNotContain("ferry-times", values);
    }

    [Fact]
    public async Task TrafficFromAThousandUsers_AddsNoSeries()
    {
        var tenant = ServerFixture.NewTenant("card");
        await Server.CreateTenantsAsync(tenant);
        using (var first = Server.Client(Server.UserToken(tenant, "user-0000")))
        {
            await IngestAsync(first, "d", "Lockers on the second floor open with a badge.");
        }

        async Task TrafficAsync(int from, int to)
        {
            await Parallel.ForEachAsync(Enumerable.Range(from, to - from), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Http.Ct }, async (i, ct) =>
            {
                using var user = Server.Client(Server.UserToken(tenant, $"user-{i:D4}"));
                var asked = await user.PostAsync("/api/v1/query", RunningServer.Json(new { query = "How do lockers open?" }), ct);
                Assert.True(asked.IsSuccessStatusCode, await asked.Content.ReadAsStringAsync(ct));
                (await user.GetAsync("/api/v1/documents", ct)).EnsureSuccessStatusCode();
                Assert.Equal(HttpStatusCode.NotFound, (await user.GetAsync($"/api/v1/documents/missing-{i}", ct)).StatusCode);
            });
        }

        static bool Finished(IReadOnlyList<PromSample> samples, string tenant, int requests) =>
            samples.Any(s => s.Name == "http_server_request_duration_seconds_count" && s["tenant_id"] == tenant && s["http_response_status_code"] == "404" && s.Value == requests);
        await TrafficAsync(0, 10); // every route and status this test uses, once
        var before = (await ScrapeWhenAsync(s => Finished(s, tenant, 10))).Where(s => s["tenant_id"] == tenant).Select(s => (s.Name, string.Join(',', s.Labels.OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}")))).ToHashSet();
        await TrafficAsync(10, 1_000);
        var samples = await ScrapeWhenAsync(s => Finished(s, tenant, 1_000));
        var after = samples.Where(s => s["tenant_id"] == tenant).Select(s => (s.Name, string.Join(',', s.Labels.OrderBy(l => l.Key).Select(l => $"{l.Key}={l.Value}")))).ToHashSet();

        Assert.True(before.Count > 50, $"expected a realistic set of series, got {before.Count}");
        Assert.Equal(before.Count, after.Count);
        Assert.Subset(before, after);
        Assert.Contains(samples, s => s.Name == "http_server_request_duration_seconds_count" && s["tenant_id"] == tenant && s["http_route"] == "/api/v1/query" && s.Value == 1_000);
        Assert.DoesNotContain(samples, s => s.Labels.Values.Any(v => v.StartsWith("user-", StringComparison.Ordinal) || v.StartsWith("missing-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AQuestion_IsOneTrace_FromTheCallersContext_WithTheRagStagesAndTenant_AndNoText()
    {
        var tenant = ServerFixture.NewTenant("trace");
        using var client = await Server.TenantClientAsync(tenant);
        await IngestAsync(client, "d", "The night bus stops at the harbour after midnight.");

        var traceId = ActivityTraceId.CreateRandom();
        var parent = ActivitySpanId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/query") { Content = RunningServer.Json(new { query = "Where does the night bus stop?" }) };
        request.Headers.Add("traceparent", $"00-{traceId}-{parent}-01");
        request.Headers.Authorization = client.DefaultRequestHeaders.Authorization;
        // a caller from elsewhere: this process's own client instrumentation must not replace its trace context
        using var caller = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = DistributedContextPropagator.CreateNoOutputPropagator() }) { BaseAddress = Server.Address };
        HttpResponseMessage sent;
        using (OpenTelemetry.SuppressInstrumentationScope.Begin())
        {
            sent = await caller.SendAsync(request, Http.Ct);
        }

        using var response = sent;
        var answer = await Http.JsonAsync(response);
        Assert.True(traceId.ToString() == answer.GetProperty("trace_id").GetString(), string.Join(" | ", fixture.Spans.All.Where(s => s.TraceId.ToString() == answer.GetProperty("trace_id").GetString()).Select(s => $"{s.DisplayName} {s.Kind} {s.ParentId} {s.Source.Name}")));
        Assert.StartsWith($"00-{traceId}-", string.Join(',', response.Headers.GetValues("traceresponse")), StringComparison.Ordinal);

        var spans = await fixture.Spans.WaitAsync(traceId, s => s.Any(a => a.Kind == ActivityKind.Server), Http.Ct);
        var server = spans.Single(s => s.Kind == ActivityKind.Server);
        Assert.Equal(parent, server.ParentSpanId); // the caller's context was followed
        Assert.Equal("/api/v1/query", server.GetTagItem("http.route"));
        var rag = spans.Single(s => s.DisplayName == "rag_query");
        Assert.Equal(server.SpanId, rag.ParentSpanId);
        foreach (var stage in new[] { "embed_query", "vector_search", "keyword_search", "fusion", "generate", "memory_recall", "memory_record_turn" })
        {
            Assert.Single(spans, s => s.DisplayName == stage && s.ParentSpanId == rag.SpanId);
        }

        // the user's memory is searched too, under its own span
        var recall = spans.Single(s => s.DisplayName == "memory_recall");
        Assert.Contains(spans, s => s.DisplayName == "vector_search" && s.ParentSpanId == recall.SpanId);

        Assert.All(spans, s => Assert.Equal(tenant, s.GetTagItem("tenant_id")));
        var generate = spans.Single(s => s.DisplayName == "generate");
        Assert.Equal((120, 9), ((int)generate.GetTagItem("gen_ai.usage.input_tokens")!, (int)generate.GetTagItem("gen_ai.usage.output_tokens")!));
        Assert.Empty(generate.Events);
        var everything = string.Join('\n', spans.SelectMany(s => s.TagObjects.Select(t => $"{t.Value}").Concat(s.Events.SelectMany(e => e.Tags.Select(t => $"{t.Value}")))));
        Assert.DoesNotContain("night bus", everything, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("harbour", everything, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task PromptTracing_SwitchedOnForOneTenant_CoversThatTenantOnly()
    {
        using var traced = await Server.TenantClientAsync(fixture.ContentTenant);
        await IngestAsync(traced, "d", "Parcels are held at the front desk for seven days.");
        var answer = await Http.JsonAsync(await traced.PostAsync("/api/v1/query", RunningServer.Json(new { query = "How long are parcels held?" }), Http.Ct));
        var traceId = ActivityTraceId.CreateFromString(answer.GetProperty("trace_id").GetString());
        var spans = await fixture.Spans.WaitAsync(traceId, s => s.Any(a => a.DisplayName == "generate"), Http.Ct);
        var events = spans.Single(s => s.DisplayName == "generate").Events.ToList();
        Assert.Contains("front desk", events.Single(e => e.Name == "gen_ai.content.prompt").Tags.Single().Value as string, StringComparison.Ordinal);
        Assert.Equal("According to the sources, the answer is there [1].", events.Single(e => e.Name == "gen_ai.content.completion").Tags.Single().Value);
    }

    [Fact]
    public async Task DashboardsAndAlertRules_QueryOnlySeriesAndLabelsTheServiceExports()
    {
        // traffic that makes every kind of series: answers, memory, a refusal by rate and by quota
        var tenant = ServerFixture.NewTenant("dash");
        using var platform = Server.Client(Server.PlatformToken());
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = tenant, plan = "tiny" }), Http.Ct)).EnsureSuccessStatusCode();
        using var client = Server.Client(Server.UserToken(tenant, "alice"));
        await IngestAsync(client, "d", "Meeting rooms are booked through the front office.");
        await Http.AssertProblemAsync(await client.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "e", content = "One too many." }), Http.Ct), HttpStatusCode.Forbidden);
        (await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "How are meeting rooms booked?" }), Http.Ct)).EnsureSuccessStatusCode();
        await Http.AssertProblemAsync(await client.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.TooManyRequests);
        var samples = await ScrapeWhenAsync(s => s.Any(x => x.Name == "http_server_request_duration_seconds_count" && x["tenant_id"] == tenant && x["http_response_status_code"] == "429"));
        var labels = samples.GroupBy(x => x.Name).ToDictionary(g => g.Key, g => g.SelectMany(x => x.Labels.Keys).Append("job").Append("instance").ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);

        static IEnumerable<string> DashboardExpressions(System.Text.Json.Nodes.JsonNode? node) => node switch
        {
            System.Text.Json.Nodes.JsonObject o => o.SelectMany(p => p.Key == "expr" ? [(string)p.Value!] : DashboardExpressions(p.Value)),
            System.Text.Json.Nodes.JsonArray a => a.SelectMany(DashboardExpressions),
            _ => [],
        };
        var rules = Kubernetes.ObservabilityArtifacts.AlertRulesYaml().Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("expr: ", StringComparison.Ordinal))
            .Select(l => l[6..]).Select(e => e.StartsWith('"') ? System.Text.Json.JsonSerializer.Deserialize<string>(e)! : e).ToList();
        var dashboards = DashboardExpressions(System.Text.Json.Nodes.JsonNode.Parse(Kubernetes.ObservabilityArtifacts.PlatformDashboardJson()))
            .Concat(DashboardExpressions(System.Text.Json.Nodes.JsonNode.Parse(Kubernetes.ObservabilityArtifacts.TenantDashboardJson(tenant, "agent-bruno-" + tenant)))).ToList();
        Assert.True(rules.Count > 30 && dashboards.Count > 20, $"{rules.Count} rules, {dashboards.Count} panels' queries");

        var problems = new List<string>();
        foreach (var (expression, external) in rules.Select(r => (r, false)).Concat(dashboards.Select(d => (d, true))))
        {
            foreach (var selector in PromQl.Selectors(expression))
            {
                var metric = selector.Metric ?? selector.Matchers.Single(m => m.Name == "__name__").Value;
                if (metric.Contains(':', StringComparison.Ordinal) || (external && metric.StartsWith("container_", StringComparison.Ordinal)))
                {
                    continue; // a series the rules record, or the kubelet's
                }

                if (!labels.TryGetValue(metric, out var known))
                {
                    problems.Add($"{metric} is not exported ({expression})");
                    continue;
                }

                problems.AddRange(selector.Matchers.Where(m => m.Name != "__name__" && !known.Contains(m.Name)).Select(m => $"{metric} has no label {m.Name} ({expression})"));
            }
        }

        Assert.Empty(problems);
    }

    [Fact]
    public async Task AScrapersToken_ReadsMetrics_AndNothingElse()
    {
        using var scraper = Server.Client(Server.Services.GetRequiredService<TokenService>().IssueMetricsToken("prometheus", TimeSpan.FromMinutes(5)));
        using var metrics = await scraper.GetAsync("/metrics", Http.Ct);
        metrics.EnsureSuccessStatusCode();
        Assert.Contains("# TYPE bruno_tenants_open gauge", await metrics.Content.ReadAsStringAsync(Http.Ct), StringComparison.Ordinal);
        await Http.AssertProblemAsync(await scraper.GetAsync("/admin/v1/tenants", Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await scraper.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
        using var user = Server.Client(Server.UserToken(fixture.ContentTenant, "eve", Scopes.Admin, Scopes.Query));
        await Http.AssertProblemAsync(await user.GetAsync("/metrics", Http.Ct), HttpStatusCode.Forbidden); // a tenant's token never: labels name every tenant
    }

    [Fact]
    public async Task Insights_ShowATenantsAdminItsOwnRequestsAndErrors_AndNobodyElses()
    {
        var (a, b) = (ServerFixture.NewTenant("ins-a"), ServerFixture.NewTenant("ins-b"));
        using var alice = await Server.TenantClientAsync(a, "alice");
        using var bob = await Server.TenantClientAsync(b, "bob");
        (await alice.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.NotFound, (await alice.GetAsync("/api/v1/documents/nope", Http.Ct)).StatusCode);
        (await bob.GetAsync("/api/v1/documents", Http.Ct)).EnsureSuccessStatusCode();

        using var adminA = Server.Client(Server.UserToken(a, "ada", Scopes.Admin));
        // a request is added when the server has finished it, which can be just after its client has the answer
        System.Text.Json.JsonElement report;
        var attempts = 0;
        do
        {
            report = await Http.JsonAsync(await adminA.GetAsync("/api/v1/insights", Http.Ct));
        }
        while (report.GetProperty("entries").EnumerateArray().Count(e => e.GetProperty("user").GetString() == "alice") < 2 && ++attempts < 100);

        Assert.Equal(a, report.GetProperty("tenant").GetString());
        var entries = report.GetProperty("entries").EnumerateArray().ToList();
        Assert.Equal(["alice", "alice"], entries.Select(e => e.GetProperty("user").GetString()).Where(u => u != "ada")); // ada's own reads, as they end
        Assert.Contains(entries, e => e.GetProperty("route").GetString() == "/api/v1/documents/{id}" && e.GetProperty("status").GetInt32() == 404);
        Assert.DoesNotContain("nope", report.GetRawText(), StringComparison.Ordinal); // the route template, never the path
        Assert.DoesNotContain("bob", report.GetRawText(), StringComparison.Ordinal);
        Assert.Equal(1, report.GetProperty("client_errors").GetInt32());
        Assert.All(entries, e => Assert.Equal(32, e.GetProperty("trace_id").GetString()!.Length));
        // one process sees all of the tenant's requests: not partial, no gateway named (decision 0035)
        Assert.Equal((false, System.Text.Json.JsonValueKind.Null), (report.GetProperty("partial").GetBoolean(), report.GetProperty("gateway").ValueKind));

        var errors = await Http.JsonAsync(await adminA.GetAsync("/api/v1/insights?errors_only=true", Http.Ct));
        Assert.Equal(404, errors.GetProperty("entries").EnumerateArray().Single().GetProperty("status").GetInt32());

        // not an admin, another tenant named, bad paging: refused
        await Http.AssertProblemAsync(await alice.GetAsync("/api/v1/insights", Http.Ct), HttpStatusCode.Forbidden);
        await Http.AssertProblemAsync(await adminA.GetAsync($"/api/v1/insights?tenant={b}", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await adminA.GetAsync("/api/v1/insights?limit=0", Http.Ct), HttpStatusCode.BadRequest);

        // the platform's view of b, and a user's erasure removes that user's lines
        using var platform = Server.Client(Server.PlatformToken());
        var ofB = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{b}/insights", Http.Ct));
        Assert.Equal("bob", ofB.GetProperty("entries")[0].GetProperty("user").GetString());
        (await platform.DeleteAsync($"/admin/v1/tenants/{b}/users/bob", Http.Ct)).EnsureSuccessStatusCode();
        Assert.Equal(0, (await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{b}/insights", Http.Ct))).GetProperty("requests").GetInt32());
    }
}

/// <summary>
/// Telemetry leaving the process: the trace context sent to the model's endpoint, and OTLP export. These start and stop
/// servers of their own, so they run with the parallel tests, never beside <see cref="ObservabilityTests"/>.
/// </summary>
public sealed class TelemetryExportTests
{
    [Fact]
    public async Task TheModelsEndpoint_ReceivesTheQuestionsTraceContext()
    {
        // a fake of an OpenAI-compatible endpoint (the one remote service the tests cannot run): it answers every chat
        // completion with one streamed sentence and keeps the trace context each request carried
        var traceparents = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var fakeOpenAi = builder.Build();
        fakeOpenAi.MapPost("/v1/chat/completions", async (Microsoft.AspNetCore.Http.HttpContext c) =>
        {
            traceparents.Enqueue(c.Request.Headers["traceparent"].ToString());
            c.Response.ContentType = "text/event-stream";
            const string Chunk = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"fake-http-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Umbrellas are lent at the door [1].\"},\"finish_reason\":null}]}";
            const string Last = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"fake-http-model\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":8,\"total_tokens\":58}}";
            await c.Response.WriteAsync($"data: {Chunk}\n\ndata: {Last}\n\ndata: [DONE]\n\n", c.RequestAborted);
        });
        await fakeOpenAi.StartAsync(Http.Ct);

        var spans = new SpanCapture();
        await using var server = await RunningServer.StartAsync(
            new Dictionary<string, string?>
            {
                ["Bruno:Chat:Provider"] = "openai",
                ["Bruno:Chat:Endpoint"] = fakeOpenAi.Urls.First() + "/v1",
                ["Bruno:Chat:Model"] = "fake-http-model",
            },
            spans.Register);
        using var client = await server.TenantClientAsync(ServerFixture.NewTenant("llm-trace"));
        await ObservabilityTests.IngestAsync(client, "d", "Umbrellas are lent at the door on rainy days.");
        var answer = await Http.JsonAsync(await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Where are umbrellas lent?" }), Http.Ct));
        Assert.Equal("Umbrellas are lent at the door [1].", answer.GetProperty("answer").GetString());

        var traceId = ActivityTraceId.CreateFromString(answer.GetProperty("trace_id").GetString());
        var sent = Assert.Single(traceparents);
        Assert.StartsWith($"00-{traceId}-", sent, StringComparison.Ordinal); // W3C trace context, on to the model
        var trace = await spans.WaitAsync(traceId, s => s.Any(a => a.DisplayName == "generate"), Http.Ct);
        var generate = trace.Single(s => s.DisplayName == "generate");
        var call = trace.Single(s => s.Kind == ActivityKind.Client && s.Source.Name == "System.Net.Http" && s.ParentSpanId == generate.SpanId);
        Assert.Equal(sent.Split('-')[2], call.SpanId.ToString()); // the model's caller: the HTTP client span under generate
    }

    [Fact]
    public async Task WithAnOtlpEndpoint_TracesAndMetricsAreSentThere()
    {
        // a collector stand-in: accepts OTLP over HTTP and keeps what it is sent
        var received = new System.Collections.Concurrent.ConcurrentQueue<(string Path, string ContentType, byte[] Body)>();
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (Microsoft.AspNetCore.Http.HttpContext c) =>
        {
            using var body = new MemoryStream();
            await c.Request.Body.CopyToAsync(body, c.RequestAborted);
            received.Enqueue((c.Request.Path.Value!, c.Request.ContentType ?? string.Empty, body.ToArray()));
            return Microsoft.AspNetCore.Http.Results.Ok();
        });
        await collector.StartAsync(Http.Ct);

        await using var server = await RunningServer.StartAsync(new Dictionary<string, string?>
        {
            ["Bruno:Telemetry:OtlpEndpoint"] = collector.Urls.First(),
            ["Bruno:Telemetry:OtlpProtocol"] = "http/protobuf",
        });
        var tenant = ServerFixture.NewTenant("otlp");
        using var client = await server.TenantClientAsync(tenant);
        await ObservabilityTests.IngestAsync(client, "d", "Bicycles may be parked in the inner courtyard.");
        (await client.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Where can bicycles be parked?" }), Http.Ct)).EnsureSuccessStatusCode();
        Assert.True(server.Services.GetRequiredService<TracerProvider>().ForceFlush(10_000));
        _ = server.Services.GetRequiredService<MeterProvider>().ForceFlush(10_000); // false: the Prometheus reader is pulled, it cannot flush

        static bool Holds(byte[] body, string text) => body.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(text)) >= 0;
        var traces = received.Where(r => r.Path == "/v1/traces").ToList();
        Assert.NotEmpty(traces);
        Assert.All(received, r => Assert.Equal("application/x-protobuf", r.ContentType));
        Assert.Contains(traces, r => Holds(r.Body, "rag_query") && Holds(r.Body, tenant) && Holds(r.Body, "agent-bruno"));
        Assert.Contains(received, r => r.Path == "/v1/metrics" && Holds(r.Body, "bruno.rag.stage.duration") && Holds(r.Body, "http.server.request.duration"));
    }
}
