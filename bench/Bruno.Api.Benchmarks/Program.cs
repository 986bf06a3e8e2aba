using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Identity;
using Bruno.Core.Memory;
using Bruno.Core.Tenants;
using Bruno.Server;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;

// API benchmark (see docs/benchmarks.md):
//   dotnet run -c Release --project bench/Bruno.Api.Benchmarks -- [--quick] [--out FILE]
// Starts the real server on 127.0.0.1 over a temp folder, measures the embedding model alone, ingest through the API,
// then /api/v1/query with the extractive answerer: closed loops of 10 and 50 clients, and an open loop at 100 requests/s.
//   dotnet run -c Release --project bench/Bruno.Api.Benchmarks -- --only noisy [--quick] [--periods N] [--out FILE]
// runs the noisy-neighbour benchmark instead (NoisyNeighbour.cs): four quiet tenants alone and beside a flooder, in
// alternating minutes.
//   dotnet run -c Release --project bench/Bruno.Api.Benchmarks -- --only overhead [--quick] [--out FILE] > overhead.log
// measures what instrumentation costs a question: the same data served with telemetry off and on, in alternating runs
// (the service's log lines go to stdout, hence the redirection; the result is in FILE).
//   dotnet run -c Release --project bench/Bruno.Api.Benchmarks -- --only tiers [--quick] [--part hop|throughput] [--out FILE] > tiers.log
//   dotnet run -c Release --project bench/Bruno.Api.Benchmarks -- --only console [--quick] [--out FILE]
//     the web console's first page (bytes, time to interactive) and answer stream in Debian's Chromium (ConsolePage.cs)
// measures gateways over store nodes (Tiers.cs): what the gateway-to-store hop adds to storage calls on loopback, and
// questions per second through one gateway, two gateways and one process doing everything. Needs PostgreSQL
// (BRUNO_TEST_POSTGRES, else scripts/postgres.sh is started).
var argList = args.ToList();
if (argList.Contains("--noisy-load"))
{
    return await NoisyNeighbour.RunLoadAsync(); // the noisy-neighbour benchmark's client process
}

var quick = argList.Contains("--quick");
var only = argList.IndexOf("--only") is var m and >= 0 && m + 1 < argList.Count ? argList[m + 1] : null;
if (only is not null and not ("noisy" or "overhead" or "tiers" or "console"))
{
    Console.Error.WriteLine($"--only {only}: the modes are noisy, overhead, tiers and console (without --only, the API benchmark runs)");
    return 1;
}

var outFile = Path.GetFullPath(argList.IndexOf("--out") is var o and >= 0 ? argList[o + 1] : only is null ? "bench/results/api.json" : $"bench/results/{only}.json");
var (docs, sectionsPerDoc, seconds) = quick ? (40, 25, 5) : (400, 25, 15);
var root = Path.Combine(Path.GetTempPath(), "bruno-api-bench-" + Guid.NewGuid().ToString("N"));
var result = new JsonObject
{
    ["date"] = DateTimeOffset.UtcNow.ToString("O"),
    ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["os"] = Environment.OSVersion.ToString(), ["runtime"] = Environment.Version.ToString() },
    ["quick"] = quick,
};

var random = new Random(7);
// Real English words, so that word pieces per word are what documents have (random letters split into many more).
string[] vocabulary = """
    the of and to in is for on that with as by at from this be are or it an was which not have has can will all more
    other new one two first time year people service customer order product price return refund delivery shipping day
    days week month account user password access data report system network server storage backup policy team project
    plan support request question answer document page section rule law contract invoice payment card bank office
    meeting schedule hour minute morning evening weekend holiday travel train flight hotel room city country region
    market sale cost budget tax fee discount offer store shop item stock supply quality test result error problem issue
    fix update version release feature change risk security privacy consent record file folder email phone message
    call chat note list table chart value number total amount limit level status state process step task job work
    employee manager staff leave salary bonus training course lesson school student teacher book library museum park
    garden house car road street station airport ticket seat window door key lock light power energy water food menu
    """.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
if (only == "noisy")
{
    var periodsArg = argList.IndexOf("--periods") is var ps and >= 0 && ps + 1 < argList.Count ? argList[ps + 1] : null;
    var periods = quick ? 2 : 6;
    if (periodsArg is not null && (!int.TryParse(periodsArg, System.Globalization.CultureInfo.InvariantCulture, out periods) || periods < 2 || periods % 2 != 0))
    {
        Console.Error.WriteLine("--periods must be an even number, at least 2 (a minute of baseline and a minute of flood each pair)");
        return 1;
    }

    return await NoisyNeighbour.RunAsync(outFile, quick, vocabulary, periods);
}

if (only == "console")
{
    return await ConsolePage.RunAsync(outFile, quick);
}

if (only == "tiers")
{
    var part = argList.IndexOf("--part") is var pi and >= 0 && pi + 1 < argList.Count ? argList[pi + 1] : null;
    if (part is not null and not ("hop" or "throughput"))
    {
        Console.Error.WriteLine($"--part {part}: the parts of tiers are hop and throughput");
        return 1;
    }

    return await Tiers.RunAsync(outFile, quick, vocabulary, part);
}

var corpus = Enumerable.Range(0, docs).Select(d => (Id: $"doc-{d:D4}", Text: Document(random, vocabulary, d, sectionsPerDoc))).ToList();

if (only == "overhead")
{
    // Telemetry off and on in the order off, on, on, off, off, on, on, off (a drift of the machine, or of the tenant's
    // store, which grows by a memory turn per question, weighs on both alike), over one data folder ingested once: the
    // listeners of OpenTelemetry are process-wide, so the two configurations never run side by side. With telemetry on, every request also writes its
    // JSON log line to standard output: run with stdout sent to a file, as a log shipper would read it (a terminal's
    // speed is not the service's).
    var rounds = new JsonArray();
    var (first, ingested) = (true, 0);
    bool[] order = [false, true, true, false, false, true, true, false];
    var phaseSeconds = quick ? 3 : 10;
    foreach (var enabled in order)
    {
        var server = BrunoServer.Build([], b =>
        {
            b.Configuration["Bruno:DataRoot"] = root;
            b.Configuration["Bruno:Telemetry:Enabled"] = enabled ? "true" : "false";
            b.Configuration["Bruno:Memory:ConsolidationInterval"] = "00:00:00";
            foreach (var (key, value) in new[] { ("RequestsPerMinute", "100000000"), ("RequestsPerHour", "100000000"), ("RequestsPerDay", "100000000"), ("Concurrent", "10000"), ("ClientRequestsPerMinute", "100000000") })
            {
                b.Configuration[$"Bruno:Plans:default:{key}"] = value;
            }

            b.WebHost.UseUrls("http://127.0.0.1:0");
        });
        await server.StartAsync();
        try
        {
            var tokens = server.Services.GetRequiredService<TokenService>();
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(server.Urls.First()), Timeout = TimeSpan.FromMinutes(5) };
            if (first)
            {
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssuePlatformToken("bench", TimeSpan.FromHours(2)));
                (await client.PostAsJsonAsync("/admin/v1/tenants", new { id = "bench", display_name = "Bench" })).EnsureSuccessStatusCode();
            }

            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssueUserToken(TenantId.Parse("bench"), UserId.Parse("bench"), [Scopes.Query, Scopes.Ingest], TimeSpan.FromHours(2)));
            if (first)
            {
                await Parallel.ForEachAsync(corpus.Take(quick ? 40 : 200), new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (d, ct) =>
                {
                    using var response = await client.PostAsJsonAsync("/api/v1/documents", new { id = d.Id, content_type = "text/markdown", content = d.Text }, ct);
                    response.EnsureSuccessStatusCode();
                    Interlocked.Increment(ref ingested);
                });
                first = false;
            }

            var asked = Enumerable.Range(0, 500).Select(i => string.Join(' ', Enumerable.Range(0, 6).Select(_ => vocabulary[random.Next(vocabulary.Length)])) + "?").ToArray();
            await Closed(client, asked, 4, 3); // warm-up
            var one = await WithGc(() => Closed(client, asked, 1, phaseSeconds));
            var ten = await WithGc(() => Closed(client, asked, 10, phaseSeconds));
            rounds.Add(new JsonObject { ["telemetry"] = enabled, ["query_1_client"] = one, ["query_10_clients"] = ten });
        }
        finally
        {
            await server.StopAsync();
            await server.DisposeAsync();
        }
    }

    double P50(bool enabled, string phase) => rounds.Where(r => (bool)r!["telemetry"]! == enabled).Average(r => (double)r![phase]!["p50_ms"]!);
    result["documents"] = ingested;
    result["rounds"] = rounds;
    result["overhead_p50"] = new JsonObject
    {
        ["query_1_client"] = Math.Round((P50(true, "query_1_client") / P50(false, "query_1_client")) - 1, 4),
        ["query_10_clients"] = Math.Round((P50(true, "query_10_clients") / P50(false, "query_10_clients")) - 1, 4),
    };
    Directory.Delete(root, recursive: true);
    Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
    await File.WriteAllTextAsync(outFile, result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine(result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine($"written to {outFile}");
    return 0;
}

// 1. The model alone, batched: the ceiling for ingest.
using (var model = new MiniLmEmbeddingGenerator())
{
    var sample = corpus.Take(Math.Max(4, docs / 10)).SelectMany(d => d.Text.Split("\n## ", StringSplitOptions.RemoveEmptyEntries)).ToList();
    await model.GenerateAsync(sample.Take(64)); // warm-up
    var sw = Stopwatch.StartNew();
    await model.GenerateAsync(sample);
    result["model_chunks_per_s"] = Math.Round(sample.Count / sw.Elapsed.TotalSeconds, 1);
}

var app = BrunoServer.Build([], b =>
{
    b.Configuration["Bruno:DataRoot"] = root;
    b.Configuration["Bruno:Mcp:SearchPerMinute"] = "100000"; // the MCP phase measures latency, not the per-client limit
    b.Configuration["Bruno:Memory:ConsolidationInterval"] = "00:00:00"; // consolidation is measured on its own (phase 6)
    // the plan's request limits would refuse a load test of one client; they are measured by their own benchmark
    foreach (var (key, value) in new[] { ("RequestsPerMinute", "100000000"), ("RequestsPerHour", "100000000"), ("RequestsPerDay", "100000000"), ("Concurrent", "10000"), ("ClientRequestsPerMinute", "100000000") })
    {
        b.Configuration[$"Bruno:Plans:default:{key}"] = value;
    }
    b.WebHost.UseUrls("http://127.0.0.1:0");
});
await app.StartAsync();
try
{
    var tokens = app.Services.GetRequiredService<TokenService>();
    var address = new Uri(app.Urls.First());
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = address, Timeout = TimeSpan.FromMinutes(5) };
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssuePlatformToken("bench", TimeSpan.FromHours(2)));
    (await http.PostAsJsonAsync("/admin/v1/tenants", new { id = "bench", display_name = "Bench" })).EnsureSuccessStatusCode();
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssueUserToken(TenantId.Parse("bench"), UserId.Parse("bench"), [Scopes.Query, Scopes.Ingest], TimeSpan.FromHours(2)));

    // 2. Ingest through the API, two uploads at a time (one per core).
    var chunks = 0;
    var ingest = Stopwatch.StartNew();
    await Parallel.ForEachAsync(corpus, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (d, ct) =>
    {
        using var response = await http.PostAsJsonAsync("/api/v1/documents", new { id = d.Id, content_type = "text/markdown", content = d.Text }, ct);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonObject>(ct);
        Interlocked.Add(ref chunks, (int)body!["chunks"]!);
    });
    var ingestSeconds = ingest.Elapsed.TotalSeconds;
    result["ingest"] = new JsonObject
    {
        ["documents"] = docs,
        ["chunks"] = chunks,
        ["documents_per_s"] = Math.Round(docs / ingestSeconds, 1),
        ["chunks_per_s"] = Math.Round(chunks / ingestSeconds, 1),
        ["model_over_api"] = Math.Round((double)result["model_chunks_per_s"]! / (chunks / ingestSeconds), 2),
    };

    // 3. Questions: closed loops, then an open loop at a fixed rate.
    var questions = Enumerable.Range(0, 500).Select(i => string.Join(' ', Enumerable.Range(0, 6).Select(_ => vocabulary[random.Next(vocabulary.Length)])) + "?").ToArray();
    await Closed(http, questions, 4, 3); // warm-up
    foreach (var clients in new[] { 10, 50 })
    {
        result[$"query_{clients}_clients"] = await WithGc(() => Closed(http, questions, clients, seconds));
    }

    using (var stalls = new StallMonitor())
    {
        var open = await WithGc(() => Open(http, questions, 100, seconds));
        open["stalls"] = stalls.Report();
        result["query_open_100_rps"] = open;
    }

    // 4. Memory: one user with 10,000 turns (the knowledge's own vectors stand in for questions), then recall and the
    // session's recent turns through MemoryService, as answering a question calls them.
    var memory = app.Services.GetRequiredService<MemoryService>();
    var store = app.Services.GetRequiredService<TenantService>().Store(TenantId.Parse("bench"));
    var knowledge = await (await app.Services.GetRequiredService<DocumentService>().CollectionAsync(store)).ReadAllAsync();
    var turns = quick ? 1_000 : 10_000;
    var heavy = UserId.Parse("heavy-user");
    var memoryCollection = await store.EnsureCollectionAsync(memory.Spec);
    var t0 = DateTimeOffset.UtcNow.AddDays(-30);
    for (var start = 0; start < turns; start += 1_000)
    {
        await memoryCollection.UpsertAsync([.. Enumerable.Range(start, Math.Min(1_000, turns - start)).Select(i => new StoredRow
        {
            Id = $"turn:bench{i:D6}",
            Text = $"Q: {HeavyQuestion(i)}\nA: {knowledge[i % knowledge.Count].Text}",
            Vector = knowledge[i % knowledge.Count].Vector,
            UserId = heavy,
            CreatedAt = t0.AddMinutes(i * 4),
            Metadata = new Dictionary<string, MetadataValue>(StringComparer.Ordinal) { ["kind"] = "turn", ["session"] = $"s{i / 50}", ["question_chars"] = HeavyQuestion(i).Length },
        })]);
    }

    // Every tenth turn states something ("The hotel bank uses ticket."), for the consolidation phase to extract.
    string HeavyQuestion(int i) => i % 10 == 0
        ? $"The {vocabulary[i % 97 % vocabulary.Length]} {vocabulary[(i / 10) % 31]} uses {vocabulary[(i / 7) % vocabulary.Length]}."
        : questions[i % questions.Length];

    var recall = new List<double>();
    var recent = new List<double>();
    var current = new List<double>();
    for (var i = 0; i < 1_000; i++)
    {
        var probe = knowledge[(i * 7) % knowledge.Count];
        var sw = Stopwatch.StartNew();
        await memory.RecallAsync(store, heavy, questions[i % questions.Length], probe.Vector, 3);
        recall.Add(sw.Elapsed.TotalMilliseconds);
        sw.Restart();
        await memory.RecentTurnsAsync(store, heavy, $"s{i % (turns / 50)}", 3);
        recent.Add(sw.Elapsed.TotalMilliseconds);
        sw.Restart();
        await memory.RecentTurnsAsync(store, heavy, $"s{(turns - 1) / 50}", 3);
        current.Add(sw.Elapsed.TotalMilliseconds);
    }

    result["memory"] = new JsonObject
    {
        ["turns_of_the_user"] = turns,
        ["recall_similar_3"] = Percentiles(recall),
        ["recent_turns_of_the_current_session_3"] = Percentiles(current),
        ["recent_turns_of_any_older_session_3"] = Percentiles(recent),
    };

    // 5. MCP: search_knowledge through the real MCP client over Streamable HTTP, one call at a time.
    await using (var mcp = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
    {
        Endpoint = new Uri(address, "/mcp"),
        TransportMode = HttpTransportMode.StreamableHttp,
        AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + tokens.IssueUserToken(TenantId.Parse("bench"), UserId.Parse("mcp-client"), [Scopes.Query], TimeSpan.FromHours(1)) },
    })))
    {
        for (var i = 0; i < 20; i++)
        {
            await mcp.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = questions[i] }); // warm-up
        }

        var calls = new List<double>();
        var failed = 0;
        for (var i = 0; i < (quick ? 200 : 1_000); i++)
        {
            var sw = Stopwatch.StartNew();
            var r = await mcp.CallToolAsync("search_knowledge", new Dictionary<string, object?> { ["query"] = questions[i % questions.Length] });
            calls.Add(sw.Elapsed.TotalMilliseconds);
            failed += r.IsError == true ? 1 : 0;
        }

        var mcpResult = Percentiles(calls);
        mcpResult["errors"] = failed;
        result["mcp_search_knowledge"] = mcpResult;
    }

    // 6. Consolidation of the tenant: every turn of every user read once (the first run), facts extracted and merged.
    var consolidation = Stopwatch.StartNew();
    var report = await app.Services.GetRequiredService<MemoryConsolidator>().RunTenantAsync(TenantId.Parse("bench"))
        ?? throw new InvalidOperationException("The consolidation failed; see the log.");
    result["consolidation"] = new JsonObject
    {
        ["seconds"] = Math.Round(consolidation.Elapsed.TotalSeconds, 2),
        ["users"] = report.Users,
        ["turns_read"] = report.TurnsRead,
        ["facts_extracted"] = report.FactsExtracted,
        ["facts_merged"] = report.FactsMerged,
    };
}
finally
{
    await app.StopAsync();
    await app.DisposeAsync();
    Directory.Delete(root, recursive: true);
}

result["peak_rss_mb"] = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1);
Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
await File.WriteAllTextAsync(outFile, result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine(result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"written to {outFile}");
return 0;

static async Task<JsonObject> Closed(HttpClient http, string[] questions, int clients, int seconds)
{
    var latencies = new List<double>();
    var errors = 0;
    var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    var sw = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
    {
        var i = c;
        while (Stopwatch.GetTimestamp() < until)
        {
            var (ms, ok) = await Ask(http, questions[i++ % questions.Length]);
            lock (latencies)
            {
                latencies.Add(ms);
                errors += ok ? 0 : 1;
            }
        }
    }));
    return Summary(latencies, errors, sw.Elapsed.TotalSeconds);
}

static async Task<JsonObject> Open(HttpClient http, string[] questions, int rate, int seconds)
{
    var latencies = new List<double>();
    var errors = 0;
    var tasks = new List<Task>();
    var sw = Stopwatch.StartNew();
    for (var n = 0; n < rate * seconds; n++)
    {
        var due = TimeSpan.FromSeconds((double)n / rate);
        if (due > sw.Elapsed)
        {
            await Task.Delay(due - sw.Elapsed); // pacing the arrivals, not waiting for a result
        }

        var q = questions[n % questions.Length];
        tasks.Add(Task.Run(async () =>
        {
            var (ms, ok) = await Ask(http, q);
            lock (latencies)
            {
                latencies.Add(ms);
                errors += ok ? 0 : 1;
            }
        }));
    }

    await Task.WhenAll(tasks);
    return Summary(latencies, errors, sw.Elapsed.TotalSeconds);
}

// Adds what the garbage collector did during a phase (client and server share the process).
static async Task<JsonObject> WithGc(Func<Task<JsonObject>> phase)
{
    var (g0, g1, g2, pause, bytes) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());
    var summary = await phase();
    summary["gc"] = new JsonObject
    {
        ["gen0"] = GC.CollectionCount(0) - g0,
        ["gen1"] = GC.CollectionCount(1) - g1,
        ["gen2"] = GC.CollectionCount(2) - g2,
        ["pause_ms"] = Math.Round((GC.GetTotalPauseDuration() - pause).TotalMilliseconds, 1),
        ["allocated_kb_per_request"] = Math.Round((GC.GetTotalAllocatedBytes() - bytes) / 1024.0 / Math.Max(1, (int)summary["requests"]!), 1),
    };
    return summary;
}

static async Task<(double Ms, bool Ok)> Ask(HttpClient http, string question)
{
    var start = Stopwatch.GetTimestamp();
    using var response = await http.PostAsJsonAsync("/api/v1/query", new { query = question });
    await response.Content.ReadAsByteArrayAsync();
    return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, response.IsSuccessStatusCode);
}

static JsonObject Summary(List<double> ms, int errors, double seconds)
{
    ms.Sort();
    double P(double q) => ms.Count == 0 ? 0 : Math.Round(ms[Math.Min(ms.Count - 1, (int)(q * ms.Count))], 2);
    return new JsonObject { ["requests"] = ms.Count, ["errors"] = errors, ["rps"] = Math.Round(ms.Count / seconds, 1), ["p50_ms"] = P(0.5), ["p95_ms"] = P(0.95), ["p99_ms"] = P(0.99) };
}

static JsonObject Percentiles(List<double> ms)
{
    ms.Sort();
    double P(double q) => Math.Round(ms[Math.Min(ms.Count - 1, (int)(q * ms.Count))], 3);
    return new JsonObject { ["samples"] = ms.Count, ["p50_ms"] = P(0.5), ["p95_ms"] = P(0.95), ["p99_ms"] = P(0.99) };
}

static string Document(Random random, string[] vocabulary, int d, int sections)
{
    var text = new System.Text.StringBuilder($"# Document {d}\n");
    for (var s = 0; s < sections; s++)
    {
        text.Append("\n## Section ").Append(s).Append('\n');
        for (var sentence = 0; sentence < 6; sentence++)
        {
            text.Append(string.Join(' ', Enumerable.Range(0, 12).Select(_ => vocabulary[random.Next(vocabulary.Length)]))).Append(". ");
        }
    }

    return text.ToString();
}

/// <summary>
/// A thread that sleeps 1 ms at a time and records how late it wakes: a late wake-up means the whole process (a
/// garbage collection) or the virtual machine stalled, not just a queue of requests.
/// </summary>
internal sealed class StallMonitor : IDisposable
{
    private readonly Thread _thread;
    private readonly List<double> _late = [];
    private volatile bool _stop;

    public StallMonitor()
    {
        _thread = new Thread(() =>
        {
            var clock = Stopwatch.StartNew();
            while (!_stop)
            {
                var before = clock.Elapsed.TotalMilliseconds;
                Thread.Sleep(1);
                var late = clock.Elapsed.TotalMilliseconds - before - 1;
                if (late > 10)
                {
                    _late.Add(late);
                }
            }
        })
        { IsBackground = true, Priority = ThreadPriority.Highest };
        _thread.Start();
    }

    /// <summary>Stops the thread; returns the late wake-ups over 10 ms, in ms.</summary>
    public List<double> Stop()
    {
        _stop = true;
        _thread.Join();
        return _late;
    }

    public JsonObject Report() => Report(Stop());

    public static JsonObject Report(List<double> late) => new()
    {
        ["over_10_ms"] = late.Count,
        ["over_30_ms"] = late.Count(l => l > 30),
        ["longest_ms"] = late.Count == 0 ? 0 : Math.Round(late.Max(), 1),
    };

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
