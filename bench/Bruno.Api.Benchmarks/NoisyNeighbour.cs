using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Server;
using Bruno.Storage.Identity;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

/// <summary>
/// The noisy-neighbour benchmark (<c>--only noisy</c>; method and figures in docs/benchmarks.md). The real server over a
/// temp folder with the default plan's limits; five tenants with a small knowledge base each: four quiet ones asking
/// <c>/api/v1/query</c> on an open-loop schedule well within their limits, and one flooder. The measured time is cut into
/// minutes that alternate: the quiet tenants alone (phase 1, the baseline), then the same quiet schedule plus the flooder
/// at twenty times its plan's requests a minute (phase 2). Latency is measured from each request's scheduled send time,
/// so a late sender counts against the server. The clients run in a child process (<c>--noisy-load</c>).
/// </summary>
internal static class NoisyNeighbour
{
    private const int QuietTenants = 4;
    private const int QuietPerMinute = 60;   // each quiet tenant, spread over its clients
    private const int QuietClients = 3;      // so each client asks 20 times a minute
    private const int FloodFactor = 20;      // the flooder sends this many times its plan's requests a minute
    private const int FloodClients = 20;     // each under three times the client limit: refused by the tenant's limit, never penalised
    private const int FloodWarmup = 150;     // requests of the flooder during the warm-up: accepted and refused paths both run
    private const double RatioTarget = 1.2;
    private const int BucketSeconds = 10; // the timeline's resolution

    private sealed record Sample(int Tenant, int Phase, long Due, double Ms, double SendLagMs, int Status, string? Level);

    public static async Task<int> RunAsync(string outFile, bool quick, string[] vocabulary, int periods)
    {
        var total = Stopwatch.StartNew();
        var root = Path.Combine(Path.GetTempPath(), "bruno-noisy-bench-" + Guid.NewGuid().ToString("N"));
        var app = BrunoServer.Build([], b =>
        {
            b.Configuration["Bruno:DataRoot"] = root;
            b.Configuration["Bruno:Memory:ConsolidationInterval"] = "00:00:00"; // no consolidation in the middle of a phase
            b.WebHost.UseUrls("http://127.0.0.1:0");
        });
        await app.StartAsync();
        var result = new JsonObject
        {
            ["date"] = DateTimeOffset.UtcNow.ToString("O"),
            ["machine"] = Machine(),
            ["quick"] = quick,
        };
        try
        {
            var plan = app.Services.GetRequiredService<IOptions<BrunoOptions>>().Value.Plans["default"];
            if (QuietPerMinute > plan.RequestsPerMinute * 3 / 4 || QuietPerMinute / QuietClients > plan.ClientRequestsPerMinute / 2 || plan.Concurrent < 2)
            {
                throw new InvalidOperationException("The quiet load must stay well within the default plan's limits.");
            }

            var floodPerMinute = FloodFactor * plan.RequestsPerMinute;
            var tokens = app.Services.GetRequiredService<TokenService>();
            var address = new Uri(app.Urls.First());
            var names = Enumerable.Range(0, QuietTenants + 1).Select(i => i == 0 ? "noisy" : $"quiet-{i}").ToArray(); // 0 is the flooder

            // Five tenants on the default plan, each with four documents of eight sections, uploaded through the API.
            using (var admin = new HttpClient { BaseAddress = address })
            {
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssuePlatformToken("bench", TimeSpan.FromHours(1)));
                foreach (var name in names)
                {
                    using var created = await admin.PostAsJsonAsync("/admin/v1/tenants", new { id = name, display_name = name });
                    created.EnsureSuccessStatusCode();
                }
            }

            var random = new Random(11);
            var clients = names.Select(_ => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) }).ToArray();
            var credentials = names.Select((name, t) => Enumerable.Range(1, t == 0 ? FloodClients : QuietClients)
                .Select(u => new AuthenticationHeaderValue("Bearer", tokens.IssueUserToken(TenantId.Parse(name), UserId.Parse($"user-{u}"), [Scopes.Query, Scopes.Ingest], TimeSpan.FromHours(1))))
                .ToArray()).ToArray();
            for (var t = 0; t < names.Length; t++)
            {
                for (var d = 0; d < 4; d++)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/documents")
                    {
                        Content = JsonContent.Create(new { id = $"doc-{d}", title = $"{names[t]} document {d}", content_type = "text/markdown", content = Document(random, vocabulary, names[t], d) }),
                    };
                    request.Headers.Authorization = credentials[t][d % credentials[t].Length];
                    using var response = await clients[t].SendAsync(request);
                    response.EnsureSuccessStatusCode();
                }
            }

            var questions = Enumerable.Range(0, 400).Select(_ => string.Join(' ', Enumerable.Range(0, 6).Select(_ => vocabulary[random.Next(vocabulary.Length)])) + "?").ToArray();

            // The clock: the measured periods start as a clock minute starts, after at least 10 s of warm-up, and
            // alternate: a minute of the quiet load alone (phase 1, the baseline), a minute with the flooder beside it
            // (phase 2), and so on, so that both phases see the same drift of the machine. Each flood minute is one
            // whole window of the flooder's minute limit (docs/decisions/0010).
            var period = quick ? 20 : 60;
            var phaseSeconds = period * periods / 2; // of each phase
            var (wallNow, tsNow) = (DateTimeOffset.UtcNow, Stopwatch.GetTimestamp());
            var phase1 = quick ? wallNow.AddSeconds(5) : new DateTimeOffset(wallNow.UtcTicks - (wallNow.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
            while (!quick && phase1 < wallNow.AddSeconds(10))
            {
                phase1 = phase1.AddMinutes(1);
            }

            long Ts(DateTimeOffset at) => tsNow + (long)((at - wallNow).TotalSeconds * Stopwatch.Frequency);
            long After(long ts, double seconds) => ts + (long)(seconds * Stopwatch.Frequency);
            int PhaseAt(double seconds) => seconds < 0 ? 0 : (int)(seconds / period) % 2 == 0 ? 1 : 2;
            var warmupSeconds = (int)(phase1 - wallNow).TotalSeconds;
            var p1 = Ts(phase1);

            // Quiet schedule: tenant k asks every 60/QuietPerMinute s, offset so the four tenants interleave evenly;
            // its clients take turns. It runs without a break from the warm-up to the end; a question belongs to the
            // phase of the period it is due in.
            var interval = 60.0 / QuietPerMinute;
            var quiet = new List<(long Due, int Tenant, int Phase, int Client, int Question)>();
            var warmupSlots = (int)(warmupSeconds / interval);
            for (var i = 0; i < warmupSlots + (int)(period * periods / interval); i++)
            {
                var n = i - warmupSlots; // slot 0 starts the first period
                for (var k = 1; k <= QuietTenants; k++)
                {
                    var at = (n + ((k - 1.0) / QuietTenants)) * interval;
                    quiet.Add((After(p1, at), k, PhaseAt(at), i % QuietClients, (i * QuietTenants) + k));
                }
            }

            // Flooder: a burst at the warm-up's start, then twenty times its limit, evenly, through every flood period.
            var floodInterval = 60.0 / floodPerMinute;
            var warmStart = Ts(wallNow.AddSeconds(0.2));
            var flood = Enumerable.Range(0, FloodWarmup).Select(i => (Due: After(warmStart, i * floodInterval), Tenant: 0, Phase: 0, Client: i % FloodClients, Question: i))
                .Concat(Enumerable.Range(0, periods).Where(k => k % 2 == 1).SelectMany(k =>
                    Enumerable.Range(0, (int)(period / floodInterval)).Select(i => (Due: After(p1, (k * period) + (i * floodInterval)), Tenant: 0, Phase: 2, Client: i % FloodClients, Question: i))))
                .ToList();

            Console.WriteLine($"noisy: warm-up {warmupSeconds} s, then {periods} periods of {period} s from {phase1:HH:mm:ss}, baseline and flood in turn");

            // Every question, quiet or flooding, is sent from a process of its own (this program with --noisy-load), as
            // clients on other machines would be: the server's heap and its collections are then the server's alone.
            // The child gets the schedule as seconds from a wall-clock instant and answers with the samples.
            var load = new LoadPlan(
                address.ToString(),
                wallNow.UtcTicks / (double)TimeSpan.TicksPerMillisecond - DateTimeOffset.UnixEpoch.UtcTicks / (double)TimeSpan.TicksPerMillisecond,
                [.. credentials.Select(c => c.Select(h => h.Parameter!).ToArray())],
                questions,
                [.. quiet.Concat(flood).Select(r => new LoadItem(Stopwatch.GetElapsedTime(tsNow, r.Due).TotalSeconds, r.Tenant, r.Phase, r.Client, r.Question))]);
            using var child = StartLoadProcess();
            var diagnostics = Diagnose(p1, period, periods, child);
            await child.StandardInput.WriteAsync(JsonSerializer.Serialize(load, LoadJson));
            child.StandardInput.Close();
            var output = await child.StandardOutput.ReadToEndAsync();
            await child.WaitForExitAsync();
            if (child.ExitCode != 0)
            {
                throw new InvalidOperationException($"The load process failed (exit code {child.ExitCode}).");
            }

            var report = JsonSerializer.Deserialize<LoadReport>(output, LoadJson)!;
            var loadCpu = TimeSpan.FromSeconds(report.CpuSeconds);
            var samples = report.Samples
                .Select(x => new Sample(x.Tenant, x.Phase, After(tsNow, x.Due), x.Ms, x.SendLagMs, x.Status, x.Level))
                .ToList();
            var (baselineDiagnostics, floodDiagnostics, marks) = await diagnostics;
            double At(Sample x) => Stopwatch.GetElapsedTime(p1, x.Due).TotalSeconds; // seconds since phase 1 started

            result["setup"] = new JsonObject
            {
                ["plan"] = "default",
                ["plan_requests_per_minute"] = plan.RequestsPerMinute,
                ["plan_client_requests_per_minute"] = plan.ClientRequestsPerMinute,
                ["plan_concurrent"] = plan.Concurrent,
                ["documents_per_tenant"] = 4,
                ["quiet_tenants"] = QuietTenants,
                ["quiet_requests_per_minute_each"] = QuietPerMinute,
                ["quiet_clients_each"] = QuietClients,
                ["flood_requests_per_minute"] = floodPerMinute,
                ["flood_clients"] = FloodClients,
                ["warmup_seconds"] = warmupSeconds,
                ["period_seconds"] = period,
                ["periods"] = periods,
                ["phase_seconds"] = phaseSeconds,
                ["first_period_start"] = phase1.ToString("O"),
                ["phases"] = "alternating periods, baseline first",
                ["latency_from"] = "scheduled send time",
                ["percentiles"] = "nearest rank",
            };

            var phases = new JsonObject();
            foreach (var (phase, name, diag) in new[] { (1, "baseline", baselineDiagnostics), (2, "flood", floodDiagnostics) })
            {
                var tenantsNode = new JsonObject();
                for (var k = 1; k <= QuietTenants; k++)
                {
                    tenantsNode[names[k]] = Stats(samples.Where(s => s.Tenant == k && s.Phase == phase).ToList());
                }

                phases[name] = new JsonObject
                {
                    ["quiet_overall"] = Stats(samples.Where(s => s.Tenant > 0 && s.Phase == phase).ToList()),
                    ["quiet_tenants"] = tenantsNode,
                    ["process"] = diag,
                };
            }

            var flooder = samples.Where(s => s.Tenant == 0 && s.Phase == 2).ToList();
            var accepted = flooder.Where(s => s.Status is >= 200 and < 300).ToList();
            var refused = flooder.Where(s => s.Status == 429).ToList();
            var levels = new JsonObject();
            foreach (var g in refused.GroupBy(s => s.Level ?? "unknown").OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                levels[g.Key] = g.Count();
            }

            ((JsonObject)phases["flood"]!)["flooder"] = new JsonObject
            {
                ["sent"] = flooder.Count,
                ["sent_per_minute"] = Math.Round(flooder.Count / (phaseSeconds / 60.0)),
                ["accepted"] = accepted.Count,
                ["refused_429"] = refused.Count,
                ["refused_by_level"] = levels,
                ["other"] = flooder.Count - accepted.Count - refused.Count,
                ["accepted_p50_ms"] = Percentile(accepted.Select(s => s.Ms).ToList(), 0.5),
                ["accepted_p99_ms"] = Percentile(accepted.Select(s => s.Ms).ToList(), 0.99),
                ["refused_p50_ms"] = Percentile(refused.Select(s => s.Ms).ToList(), 0.5),
                ["refused_p99_ms"] = Percentile(refused.Select(s => s.Ms).ToList(), 0.99),
            };

            // Quiet requests while the flooder's minute allowance is being spent (the first 5 s of each clock minute,
            // when it gets its 100 answers at 33 a second) and while it is only refused.
            var floodQuiet = samples.Where(s => s.Tenant > 0 && s.Phase == 2).ToList();
            bool InBurst(Sample x) => phase1.AddSeconds(At(x)).Second < 5;
            ((JsonObject)phases["flood"]!)["quiet_during_flooder_bursts"] = Stats(floodQuiet.Where(InBurst).ToList());
            ((JsonObject)phases["flood"]!)["quiet_outside_flooder_bursts"] = Stats(floodQuiet.Where(x => !InBurst(x)).ToList());
            result["phases"] = phases;

            // The timeline, in buckets of 10 s: the quiet tenants' latency beside what the flooder got answered and
            // what the rest of the machine used (other processes share these cores).
            var timeline = new JsonArray();
            for (var j = 0; j + 1 < marks.Length; j++)
            {
                var inBucket = samples.Where(x => x.Phase > 0 && At(x) >= j * BucketSeconds && At(x) < (j + 1) * BucketSeconds).ToList();
                var cpu = Snapshot.Between(marks[j], marks[j + 1]);
                var q = inBucket.Where(x => x.Tenant > 0 && x.Status is >= 200 and < 300).Select(x => x.Ms).ToList();
                timeline.Add(new JsonObject
                {
                    ["from_s"] = j * BucketSeconds,
                    ["phase"] = PhaseAt(j * BucketSeconds) == 1 ? "baseline" : "flood",
                    ["quiet_requests"] = inBucket.Count(x => x.Tenant > 0),
                    ["quiet_p50_ms"] = Percentile(q, 0.5),
                    ["quiet_max_ms"] = Percentile(q, 1),
                    ["flooder_accepted"] = inBucket.Count(x => x.Tenant == 0 && x.Status is >= 200 and < 300),
                    ["process_cores"] = cpu["process_cores"]?.DeepClone(),
                    ["load_process_cores"] = cpu["load_process_cores"]?.DeepClone(),
                    ["other_cores"] = cpu["other_cores"]?.DeepClone(),
                });
            }

            result["timeline"] = timeline;

            // The comparison and the two targets: every quiet tenant's p99 (and all of them together) within 1.2× of
            // its baseline, and no 429 for any quiet request.
            var comparison = new JsonObject();
            var ratios = new List<double>();
            foreach (var key in names.Skip(1).Append("overall"))
            {
                JsonNode Of(string phase) => key == "overall" ? phases[phase]!["quiet_overall"]! : phases[phase]!["quiet_tenants"]![key]!;
                var (b99, f99) = ((double)Of("baseline")["p99_ms"]!, (double)Of("flood")["p99_ms"]!);
                var (b95, f95) = ((double)Of("baseline")["p95_ms"]!, (double)Of("flood")["p95_ms"]!);
                var ratio = b99 > 0 ? Math.Round(f99 / b99, 2) : double.PositiveInfinity; // no baseline answer: not met
                ratios.Add(ratio);
                comparison[key] = new JsonObject
                {
                    ["baseline_p99_ms"] = b99,
                    ["flood_p99_ms"] = f99,
                    ["p99_ratio"] = double.IsFinite(ratio) ? ratio : null,
                    ["p95_ratio"] = b95 > 0 ? Math.Round(f95 / b95, 2) : null,
                };
            }

            var quietPhases = samples.Where(s => s.Tenant > 0 && s.Phase > 0).ToList();
            var quiet429 = quietPhases.Count(s => s.Status == 429);
            var quietNon2xx = quietPhases.Count(s => s.Status is < 200 or >= 300);
            result["comparison"] = comparison;
            result["targets"] = new JsonObject
            {
                ["p99_ratio_target"] = RatioTarget,
                ["p99_ratio_worst"] = double.IsFinite(ratios.Max()) ? ratios.Max() : null,
                ["p99_ratio_overall"] = double.IsFinite(ratios[^1]) ? ratios[^1] : null,
                ["p99_ratio_met"] = ratios.All(r => r <= RatioTarget),
                ["quiet_429"] = quiet429,
                ["quiet_non_2xx"] = quietNon2xx,
                ["quiet_429_met"] = quiet429 == 0,
                ["warmup_quiet_non_2xx"] = samples.Count(s => s.Tenant > 0 && s.Phase == 0 && s.Status is < 200 or >= 300),
            };

            result["load_process_cpu_seconds"] = Math.Round(loadCpu.TotalSeconds, 1);
            foreach (var c in clients)
            {
                c.Dispose();
            }
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Directory.Delete(root, recursive: true);
        }

        result["peak_rss_mb"] = Math.Round(Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0, 1);
        result["total_seconds"] = Math.Round(total.Elapsed.TotalSeconds, 1);
        Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
        await File.WriteAllTextAsync(outFile, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.Write(Summary(result));
        Console.WriteLine($"written to {outFile}");
        return 0;
    }

    private static readonly JsonSerializerOptions LoadJson = new(JsonSerializerDefaults.Web);

    /// <summary>What the load process is asked to send: the schedule in seconds from a wall-clock instant (Unix ms).</summary>
    private sealed record LoadPlan(string Address, double EpochUnixMs, string[][] Credentials, string[] Questions, LoadItem[] Items);

    private sealed record LoadItem(double Due, int Tenant, int Phase, int Client, int Question);

    private sealed record LoadReport(double CpuSeconds, LoadSample[] Samples);

    private sealed record LoadSample(double Due, int Tenant, int Phase, double Ms, double SendLagMs, int Status, string? Level);

    /// <summary>Starts this program again as the load process (<c>--noisy-load</c>), with the workstation collector.</summary>
    private static Process StartLoadProcess()
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("No process path.");
        var info = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(NoisyNeighbour).Assembly.Location); // run as `dotnet Bruno.Api.Benchmarks.dll`
        }

        info.ArgumentList.Add("--noisy-load");
        info.Environment["DOTNET_gcServer"] = "0";
        return Process.Start(info) ?? throw new InvalidOperationException("The load process did not start.");
    }

    /// <summary>
    /// The load process: reads a <see cref="LoadPlan"/> on standard input, sends its schedule, writes the samples on
    /// standard output. Due times are mapped onto this process's clock through the shared wall clock.
    /// </summary>
    public static async Task<int> RunLoadAsync()
    {
        var plan = JsonSerializer.Deserialize<LoadPlan>(await Console.In.ReadToEndAsync(), LoadJson)!;
        var (wallNow, tsNow) = (DateTimeOffset.UtcNow, Stopwatch.GetTimestamp());
        var nowUnixMs = (wallNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerMillisecond;
        var epochTs = tsNow + (long)((plan.EpochUnixMs - nowUnixMs) / 1000 * Stopwatch.Frequency);
        long Due(double seconds) => epochTs + (long)(seconds * Stopwatch.Frequency);
        var address = new Uri(plan.Address);
        var tenants = plan.Credentials.Length;
        var clients = Enumerable.Range(0, tenants).Select(_ => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) }).ToArray();
        var credentials = plan.Credentials.Select(c => c.Select(t => new AuthenticationHeaderValue("Bearer", t)).ToArray()).ToArray();
        Task<Sample> Send((long Due, int Tenant, int Phase, int Client, int Question) r) =>
            SendAsync(clients[r.Tenant], credentials[r.Tenant][r.Client], plan.Questions[r.Question % plan.Questions.Length], r.Due, r.Tenant, r.Phase);
        var schedule = plan.Items.Select(i => (Due: Due(i.Due), i.Tenant, i.Phase, i.Client, i.Question)).ToList();
        var runs = await Task.WhenAll(RunScheduleAsync([.. schedule.Where(r => r.Tenant > 0)], Send), RunScheduleAsync([.. schedule.Where(r => r.Tenant == 0)], Send));
        var samples = runs.SelectMany(r => r).Select(x => new LoadSample(Stopwatch.GetElapsedTime(epochTs, x.Due).TotalSeconds, x.Tenant, x.Phase, x.Ms, x.SendLagMs, x.Status, x.Level));
        await using var stdout = Console.OpenStandardOutput();
        await JsonSerializer.SerializeAsync(stdout, new LoadReport(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, [.. samples]), LoadJson);
        foreach (var c in clients)
        {
            c.Dispose();
        }

        return 0;
    }

    /// <summary>
    /// Sends every request at its due time without waiting for earlier answers (an open loop), from a thread of its own
    /// that sleeps until each due time, so that a busy thread pool does not delay the sending.
    /// </summary>
    private static Task<Sample[]> RunScheduleAsync(List<(long Due, int Tenant, int Phase, int Client, int Question)> schedule, Func<(long Due, int Tenant, int Phase, int Client, int Question), Task<Sample>> send)
    {
        var done = new TaskCompletionSource<Task<Sample>[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            var sent = new List<Task<Sample>>(schedule.Count);
            foreach (var r in schedule.OrderBy(r => r.Due))
            {
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), r.Due).TotalMilliseconds;
                if (wait > 0)
                {
                    Thread.Sleep((int)Math.Ceiling(wait)); // whole milliseconds, never early
                }

                sent.Add(send(r)); // runs until the request is on its way, then returns
            }

            done.SetResult([.. sent]);
        })
        { IsBackground = true, Name = "schedule" };
        thread.Start();
        return done.Task.ContinueWith(t => Task.WhenAll(t.Result), TaskScheduler.Default).Unwrap();
    }

    private static async Task<Sample> SendAsync(HttpClient http, AuthenticationHeaderValue credential, string question, long due, int tenant, int phase)
    {
        var sent = Stopwatch.GetTimestamp();
        var lag = Stopwatch.GetElapsedTime(due, sent).TotalMilliseconds;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/query") { Content = JsonContent.Create(new { query = question }) };
            request.Headers.Authorization = credential;
            using var response = await http.SendAsync(request);
            var body = await response.Content.ReadAsByteArrayAsync();
            var ms = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
            var level = response.StatusCode == HttpStatusCode.TooManyRequests ? JsonNode.Parse(body)?["level"]?.GetValue<string>() : null;
            return new Sample(tenant, phase, due, ms, lag, (int)response.StatusCode, level);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new Sample(tenant, phase, due, Stopwatch.GetElapsedTime(due).TotalMilliseconds, lag, 0, e.GetType().Name);
        }
    }

    /// <summary>
    /// What the process and the machine did in each phase (summed over its periods): the garbage collector, stalls, CPU
    /// of the server, of the load process and of everything else; and the counters every <see cref="BucketSeconds"/> for
    /// the timeline.
    /// </summary>
    private static async Task<(JsonObject Baseline, JsonObject Flood, Snapshot[] Marks)> Diagnose(long p1, int period, int periods, Process load)
    {
        var buckets = period * periods / BucketSeconds;
        var marks = new Snapshot[buckets + 1];
        var stalls = new List<double>[2] { [], [] };
        StallMonitor? monitor = null;
        for (var j = 0; j <= buckets; j++)
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), p1 + (long)(j * BucketSeconds * (double)Stopwatch.Frequency));
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            marks[j] = Snapshot.Take(load);
            if (monitor is not null)
            {
                stalls[(j - 1) * BucketSeconds / period % 2].AddRange(monitor.Stop());
            }

            monitor = j < buckets ? new StallMonitor() : null;
        }

        JsonObject Phase(int parity)
        {
            var o = Snapshot.Sum([.. Enumerable.Range(0, buckets).Where(j => j * BucketSeconds / period % 2 == parity).Select(j => (marks[j], marks[j + 1]))]);
            o["stalls"] = StallMonitor.Report(stalls[parity]);
            return o;
        }

        return (Phase(0), Phase(1), marks);
    }

    private static JsonObject Stats(List<Sample> samples)
    {
        var ms = samples.Where(s => s.Status is >= 200 and < 300).Select(s => s.Ms).ToList();
        var statuses = new JsonObject();
        foreach (var g in samples.Where(s => s.Status is < 200 or >= 300).GroupBy(s => s.Status).OrderBy(g => g.Key))
        {
            statuses[g.Key.ToString()] = g.Count();
        }

        return new JsonObject
        {
            ["requests"] = samples.Count,
            ["ok"] = ms.Count,
            ["non_2xx"] = statuses,
            ["p50_ms"] = Percentile(ms, 0.5),
            ["p95_ms"] = Percentile(ms, 0.95),
            ["p99_ms"] = Percentile(ms, 0.99),
            ["max_ms"] = Percentile(ms, 1),
            ["send_lag_p99_ms"] = Percentile(samples.Select(s => s.SendLagMs).ToList(), 0.99),
        };
    }

    /// <summary>The nearest-rank percentile: the smallest value with at least <paramref name="q"/> of the values at or below it.</summary>
    private static double Percentile(List<double> values, double q)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        values.Sort();
        return Math.Round(values[Math.Clamp((int)Math.Ceiling(q * values.Count) - 1, 0, values.Count - 1)], 2);
    }

    private static string Document(Random random, string[] vocabulary, string tenant, int d)
    {
        var text = new StringBuilder($"# {tenant} document {d}\n");
        for (var s = 0; s < 8; s++)
        {
            text.Append("\n## Part ").Append(s).Append('\n');
            for (var sentence = 0; sentence < 5; sentence++)
            {
                text.Append(string.Join(' ', Enumerable.Range(0, 12).Select(_ => vocabulary[random.Next(vocabulary.Length)]))).Append(". ");
            }
        }

        return text.ToString();
    }

    private static JsonObject Machine()
    {
        static string? Field(string file, string key) => File.Exists(file)
            ? File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memKb = Field("/proc/meminfo", "MemTotal")?.Split(' ')[0];
        return new JsonObject
        {
            ["cores"] = Environment.ProcessorCount,
            ["cpu"] = Field("/proc/cpuinfo", "model name"),
            ["ram_gb"] = memKb is null ? null : Math.Round(long.Parse(memKb) / 1048576.0, 1),
            ["os"] = Environment.OSVersion.ToString(),
            ["runtime"] = Environment.Version.ToString(),
        };
    }

    private static string Summary(JsonObject r)
    {
        var s = new StringBuilder();
        var setup = r["setup"]!;
        s.AppendLine($"noisy neighbour: {setup["quiet_tenants"]} quiet tenants at {setup["quiet_requests_per_minute_each"]}/min each ({setup["quiet_clients_each"]} clients), " +
            $"flooder at {setup["flood_requests_per_minute"]}/min ({setup["flood_clients"]} clients) on a plan of {setup["plan_requests_per_minute"]}/min; {setup["periods"]} periods of {setup["period_seconds"]} s, baseline and flood in turn ({setup["phase_seconds"]} s per phase); ms from the scheduled send time");
        s.AppendLine($"{"tenant",-10} {"baseline n",10} {"p50",7} {"p95",7} {"p99",7} | {"flood n",7} {"p50",7} {"p95",7} {"p99",7} | {"p99 ratio",9} {"non-2xx",7}");
        var phases = r["phases"]!;
        foreach (var key in phases["baseline"]!["quiet_tenants"]!.AsObject().Select(p => p.Key).Append("all"))
        {
            JsonNode Of(string phase) => key == "all" ? phases[phase]!["quiet_overall"]! : phases[phase]!["quiet_tenants"]![key]!;
            var (b, f) = (Of("baseline"), Of("flood"));
            var non2xx = b["non_2xx"]!.AsObject().Sum(p => (int)p.Value!) + f["non_2xx"]!.AsObject().Sum(p => (int)p.Value!);
            var ratio = r["comparison"]![key == "all" ? "overall" : key]!["p99_ratio"];
            s.AppendLine($"{key,-10} {b["requests"],10} {b["p50_ms"],7} {b["p95_ms"],7} {b["p99_ms"],7} | {f["requests"],7} {f["p50_ms"],7} {f["p95_ms"],7} {f["p99_ms"],7} | {ratio,9} {non2xx,7}");
        }

        var (inBursts, outside) = (phases["flood"]!["quiet_during_flooder_bursts"]!, phases["flood"]!["quiet_outside_flooder_bursts"]!);
        s.AppendLine($"flood phase, quiet requests in the flooder's bursts (first 5 s of its minutes): n {inBursts["requests"]}, p50 {inBursts["p50_ms"]}, p99 {inBursts["p99_ms"]}; outside: n {outside["requests"]}, p50 {outside["p50_ms"]}, p99 {outside["p99_ms"]}");
        var fl = phases["flood"]!["flooder"]!;
        s.AppendLine($"flooder: sent {fl["sent"]} ({fl["sent_per_minute"]}/min), accepted {fl["accepted"]}, refused {fl["refused_429"]} {fl["refused_by_level"]!.ToJsonString()}, other {fl["other"]}");
        foreach (var phase in new[] { "baseline", "flood" })
        {
            var p = phases[phase]!["process"]!;
            s.AppendLine($"{phase}: server process {p["process_cores"]} cores, load process {p["load_process_cores"]}, other processes {p["other_cores"]}, steal {p["steal_cores"]}; server GC {p["gc_gen0"]}/{p["gc_gen1"]}/{p["gc_gen2"]} collections, pauses {p["gc_pause_ms"]} ms, {p["allocated_mb"]} MB allocated; stalls over 10 ms {p["stalls"]!["over_10_ms"]}");
        }

        s.AppendLine("timeline (10 s buckets): from, phase, quiet p50/max ms, flooder answered, server / load / other processes (cores)");
        foreach (var b in r["timeline"]!.AsArray())
        {
            s.AppendLine($"  {b!["from_s"],4} s {b["phase"],-8} {b["quiet_p50_ms"],7} {b["quiet_max_ms"],8} {b["flooder_accepted"],5} {b["process_cores"],6} {b["load_process_cores"],6} {b["other_cores"],6}");
        }

        var t = r["targets"]!;
        s.AppendLine($"target p99 ratio <= {t["p99_ratio_target"]}: {((bool)t["p99_ratio_met"]! ? "met" : "MISSED")} (worst tenant {t["p99_ratio_worst"]}, all quiet requests {t["p99_ratio_overall"]})");
        s.AppendLine($"target no 429 for quiet tenants: {((bool)t["quiet_429_met"]! ? "met" : "MISSED")} ({t["quiet_429"]} 429s, {t["quiet_non_2xx"]} non-2xx in all)");
        s.AppendLine($"total {r["total_seconds"]} s");
        return s.ToString();
    }

    /// <summary>Counters at one instant: the garbage collector, this process's CPU time and the machine's (/proc/stat).</summary>
    private sealed record Snapshot(long Ts, int Gen0, int Gen1, int Gen2, TimeSpan Pause, long Allocated, TimeSpan ProcessCpu, TimeSpan LoadCpu, long[] Machine)
    {
        public static Snapshot Take(Process load)
        {
            TimeSpan loadCpu;
            try
            {
                load.Refresh();
                loadCpu = load.TotalProcessorTime;
            }
            catch (InvalidOperationException)
            {
                loadCpu = TimeSpan.Zero; // it has finished: counted as nothing in this bucket
            }

            return new(Stopwatch.GetTimestamp(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(),
                Process.GetCurrentProcess().TotalProcessorTime, loadCpu,
                File.Exists("/proc/stat") ? [.. File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse)] : []);
        }

        public static JsonObject Between(Snapshot a, Snapshot b) => Sum([(a, b)]);

        /// <summary>The counters over the intervals <paramref name="spans"/> together (rates per second of their total length).</summary>
        public static JsonObject Sum((Snapshot A, Snapshot B)[] spans)
        {
            double Total(Func<Snapshot, Snapshot, double> delta) => spans.Sum(x => delta(x.A, x.B));
            var seconds = Total((a, b) => Stopwatch.GetElapsedTime(a.Ts, b.Ts).TotalSeconds);
            var process = Total((a, b) => (b.ProcessCpu - a.ProcessCpu).TotalSeconds) / seconds;
            var load = Math.Max(0, Total((a, b) => Math.Max(0, (b.LoadCpu - a.LoadCpu).TotalSeconds)) / seconds);
            var o = new JsonObject
            {
                ["gc_gen0"] = (int)Total((a, b) => b.Gen0 - a.Gen0),
                ["gc_gen1"] = (int)Total((a, b) => b.Gen1 - a.Gen1),
                ["gc_gen2"] = (int)Total((a, b) => b.Gen2 - a.Gen2),
                ["gc_pause_ms"] = Math.Round(Total((a, b) => (b.Pause - a.Pause).TotalMilliseconds), 1),
                ["allocated_mb"] = Math.Round(Total((a, b) => b.Allocated - a.Allocated) / 1048576.0, 1),
                ["process_cores"] = Math.Round(process, 2),
                ["load_process_cores"] = Math.Round(load, 2),
            };
            if (spans.All(x => x.A.Machine.Length == 8 && x.B.Machine.Length == 8))
            {
                // user nice system idle iowait irq softirq steal, in clock ticks (100 a second)
                double Delta(int i) => Total((a, b) => b.Machine[i] - a.Machine[i]) / 100.0 / seconds;
                var busy = Delta(0) + Delta(1) + Delta(2) + Delta(5) + Delta(6);
                o["machine_busy_cores"] = Math.Round(busy, 2);
                o["other_cores"] = Math.Round(Math.Max(0, busy - process - load), 2);
                o["steal_cores"] = Math.Round(Delta(7), 2);
            }

            o["load_average"] = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : null;
            return o;
        }
    }
}
