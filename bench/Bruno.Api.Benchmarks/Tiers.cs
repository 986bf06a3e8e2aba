using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Bruno.Cluster.Remote;
using Bruno.Server;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Bruno.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

/// <summary>
/// Gateways over store nodes (docs/benchmarks.md, "Gateways and store nodes"):
/// <list type="number">
/// <item>the hop: the same storage calls on a local engine and through <see cref="RemoteStorageEngine"/> to a store node
/// on loopback, alternating, so the difference at p50 is what the hop adds;</item>
/// <item>throughput: questions through one gateway, then through two, over the same two store nodes (every part its
/// own process), with one copy of each tenant and with replicas, beside one process doing everything on the same
/// data;</item>
/// </list>
/// <c>--part hop</c> or <c>--part throughput</c> runs one of them. Needs PostgreSQL for the catalog: BRUNO_TEST_POSTGRES, else scripts/postgres.sh is started and stopped.
/// </summary>
internal static class Tiers
{
    public static async Task<int> RunAsync(string outFile, bool quick, string[] vocabulary, string? part = null)
    {
        string? started = null;
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("BRUNO_TEST_POSTGRES")))
        {
            started = await Shell("scripts/postgres.sh", "start");
            Environment.SetEnvironmentVariable("BRUNO_TEST_POSTGRES", started.Trim());
        }

        try
        {
            var result = new JsonObject
            {
                ["date"] = DateTimeOffset.UtcNow.ToString("O"),
                ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["os"] = Environment.OSVersion.ToString(), ["runtime"] = Environment.Version.ToString() },
                ["quick"] = quick,
            };
            if (part is null or "hop")
            {
                result["hop"] = await HopAsync(quick ? 300 : 3_000);
            }

            if (part is null or "throughput")
            {
                result["throughput"] = await ThroughputAsync(quick, vocabulary, Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outFile))!, "tiers-logs"));
            }
            Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
            var json = result.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
            await File.WriteAllTextAsync(outFile, json);
            Console.WriteLine(json);
            Console.WriteLine($"written to {outFile}");
            return 0;
        }
        finally
        {
            if (started is not null)
            {
                await Shell("scripts/postgres.sh", "stop");
            }
        }
    }

    private static WebApplication StoreNode(string name, int port, string root, string catalog, string token) =>
        BrunoServer.Build([], b =>
        {
            b.Configuration["Bruno:DataRoot"] = root;
            b.Configuration["Bruno:Cluster:Role"] = "store";
            b.Configuration["Bruno:Cluster:NodeName"] = name;
            b.Configuration["Bruno:Cluster:AdvertiseUrl"] = $"http://127.0.0.1:{port}";
            b.Configuration["Bruno:Cluster:StorePort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            b.Configuration["Bruno:Cluster:StoreBind"] = "127.0.0.1";
            b.Configuration["Bruno:Cluster:Token"] = token;
            b.Configuration["Bruno:Catalog:Provider"] = "postgres";
            b.Configuration["Bruno:Catalog:ConnectionString"] = catalog;
            b.Configuration["Bruno:Telemetry:LogFormat"] = "text";
            b.Logging.SetMinimumLevel(LogLevel.Warning); // the node's request log would measure the terminal
            b.WebHost.UseUrls("http://127.0.0.1:0");
        });

    /// <summary>
    /// Each operation on the local engine, through one store node, and through a gateway's storage to an owner that
    /// replicates every write to a second node before acknowledging it (synchronous replication), in rotation;
    /// percentiles of each.
    /// </summary>
    private static async Task<JsonObject> HopAsync(int rounds)
    {
        const string Token = "bench-token-0123456789abcdefghijklmnop";
        var ports = new[] { BrunoProcess.FreePort(), BrunoProcess.FreePort() };
        var roots = Enumerable.Range(0, 3).Select(i => Path.Combine(Path.GetTempPath(), $"bruno-hop-{i}-" + Guid.NewGuid().ToString("N"))).ToArray();
        var catalog = TestPostgres.NewDatabase();
        var nodes = new[] { StoreNode("store-1", ports[0], roots[0], catalog, Token), StoreNode("store-2", ports[1], roots[1], catalog, Token) };
        foreach (var n in nodes)
        {
            await n.StartAsync();
        }

        using var remote = new RemoteStorageEngine("store-1", new Uri($"http://127.0.0.1:{ports[0]}"), Token);
        using var db = Bruno.Core.Tenants.CatalogDatabase.Postgres(catalog);
        using var routed = new Bruno.Cluster.RoutedStorage(new Bruno.Cluster.Placement(db), new Bruno.Core.Cluster.ClusterOptions { Role = "gateway", Token = Token });
        await using var local = new StorageEngine(new StorageEngineOptions { DataRoot = roots[2], MasterKey = MasterKey.Generate() });
        try
        {
            var tenant = TenantId.Parse("hop");
            var random = new Random(11);
            float[] Vector()
            {
                var v = new float[384];
                for (var i = 0; i < v.Length; i++)
                {
                    v[i] = (float)random.NextDouble() - 0.5f;
                }

                return v;
            }

            var rows = Enumerable.Range(0, 2_000).Select(i => new StoredRow
            {
                Id = $"chunk:{i:D5}",
                Text = $"Chunk {i}: " + string.Join(' ', Enumerable.Range(0, 60).Select(w => $"word{random.Next(5_000)}")),
                Vector = Vector(),
                Metadata = new Dictionary<string, MetadataValue> { ["document"] = $"doc-{i / 25}", ["section"] = (double)(i % 25) },
            }).ToList();
            new Bruno.Core.Tenants.TenantCatalog(db).Create(TenantId.Parse("hop-replicated"), "hop-replicated"); // a placement belongs to a tenant the catalog knows
            var collections = new List<ITenantCollection>();
            foreach (var (engine, id) in new (IStorageEngine, TenantId)[] { (local, tenant), (remote, tenant), (routed, TenantId.Parse("hop-replicated")) })
            {
                await engine.CreateTenantAsync(id);
                var c = await engine.Tenant(id).EnsureCollectionAsync(new CollectionSpec("chunks", 384, "bench-model"));
                await c.UpsertAsync(rows);
                collections.Add(c);
            }

            var placed = routed.PlacementOf(TenantId.Parse("hop-replicated"), fresh: true)!;
            if (placed.SyncReplica is null)
            {
                throw new InvalidOperationException("the replicated tenant has no replica in sync");
            }

            var queries = Enumerable.Range(0, 64).Select(_ => Vector()).ToArray();
            var operations = new (string Name, Func<ITenantCollection, int, Task> Run)[]
            {
                ("get_row", (c, i) => c.GetAsync($"chunk:{i % 2_000:D5}")),
                ("count_filtered", (c, i) => c.CountAsync(Filter.All.Where("document", $"doc-{i % 80}"))),
                ("search_hybrid_k10", (c, i) => c.SearchAsync(new SearchRequest { Mode = SearchMode.Hybrid, Vector = queries[i % queries.Length], Text = $"word{i % 5_000} word{(i * 7) % 5_000}", K = 10 })),
                ("upsert_one_row", (c, i) => c.UpsertAsync([rows[i % rows.Count] with { Id = $"new:{i}" }])),
            };
            var report = new JsonObject();
            foreach (var (name, run) in operations)
            {
                var times = new[] { new List<double>(), new List<double>(), new List<double>() };
                for (var i = 0; i < rounds + 50; i++)
                {
                    for (var e = 0; e < 3; e++)
                    {
                        var which = (i + e) % 3; // in rotation: no side always goes first
                        var start = Stopwatch.GetTimestamp();
                        await run(collections[which], i);
                        if (i >= 50)
                        {
                            times[which].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds); // the first 50: warm-up
                        }
                    }
                }

                var (l, r, g) = (Percentiles(times[0]), Percentiles(times[1]), Percentiles(times[2]));
                report[name] = new JsonObject
                {
                    ["local"] = l,
                    ["remote"] = r,
                    ["gateway_replicated"] = g,
                    ["hop_p50_ms"] = Math.Round((double)r["p50_ms"]! - (double)l["p50_ms"]!, 3),
                };
            }

            return report;
        }
        finally
        {
            foreach (var n in nodes)
            {
                await n.StopAsync();
                await n.DisposeAsync();
            }

            foreach (var r in roots)
            {
                Directory.Delete(r, recursive: true);
            }
        }
    }

    /// <summary>
    /// Closed-loop questions over the same data: the two tiers with one copy per tenant and with replicas (both clusters
    /// up at once, their phases alternating so that a machine getting slower or faster meanwhile weighs on both alike),
    /// then one process doing everything.
    /// </summary>
    private static async Task<JsonObject> ThroughputAsync(bool quick, string[] vocabulary, string logs)
    {
        var (documents, seconds, clients, rounds) = quick ? (10, 5, 8, 1) : (40, 10, 16, 3);
        var random = new Random(5);
        var corpus = Enumerable.Range(0, documents).Select(d => (Id: $"doc-{d:D3}", Text: string.Join("\n\n", Enumerable.Range(0, 20).Select(s =>
            $"## Section {s}\n" + string.Join(". ", Enumerable.Range(0, 5).Select(_ => string.Join(' ', Enumerable.Range(0, 12).Select(_ => vocabulary[random.Next(vocabulary.Length)]))))))))
            .ToList();
        var questions = Enumerable.Range(0, 300).Select(_ => string.Join(' ', Enumerable.Range(0, 6).Select(_ => vocabulary[random.Next(vocabulary.Length)])) + "?").ToArray();
        var report = new JsonObject { ["documents"] = documents, ["clients"] = clients, ["seconds_per_phase"] = seconds, ["rounds"] = rounds };

        // the two tiers twice: each tenant on one node, and (the default) with a replica in sync on the other
        var tenants = new[] { "bench-a", "bench-b" };
        var shapes = new List<(string Key, TestCluster Cluster, HttpClient[] One, HttpClient[] Two, Phases Phases)>();
        try
        {
            foreach (var (key, replication) in new[] { ("tiers_one_copy", "none"), ("tiers_replicated", "sync") })
            {
                var cluster = await TestCluster.StartAsync(stores: 2, gateways: 2, CancellationToken.None, settings: new Dictionary<string, string>
                {
                    ["BRUNO_CLUSTER__REPLICATION"] = replication,
                    ["Logging__LogLevel__Default"] = "Warning", // kept for the logs written next to the result: what went wrong, not each request
                });
                var oneGateway = tenants.Select(t => cluster.Client(0, cluster.UserToken(t, "asker"))).ToArray();
                var twoGateways = tenants.SelectMany(t => new[] { cluster.Client(0, cluster.UserToken(t, "asker")), cluster.Client(1, cluster.UserToken(t, "asker")) }).ToArray();
                shapes.Add((key, cluster, oneGateway, twoGateways, new Phases()));
                await cluster.CreateTenantsAsync(0, CancellationToken.None, tenants);
                var shape = new JsonObject();
                report[key] = shape;
                var cpu = Cpu(cluster);
                shape["ingest"] = await IngestAsync(tenants.Select(t => cluster.Client(0, cluster.UserToken(t, "loader"))).ToArray(), corpus);
                shape["ingest"]!["cpu_s"] = CpuSince(cluster, cpu);
                shape["placement"] = await PlacementsAsync(cluster, tenants);
                await Closed(oneGateway, questions, 4, 3); // warm-up of both gateways
                await Closed(twoGateways, questions, 4, 3);
            }

            for (var round = 0; round < rounds; round++)
            {
                foreach (var (_, cluster, one, two, phases) in round % 2 == 0 ? shapes : Enumerable.Reverse(shapes))
                {
                    var cpu = Cpu(cluster);
                    var answered = await Closed(one, questions, clients, seconds, phases.OneGateway);
                    phases.Add("one_gateway", CpuSince(cluster, cpu), answered);
                    cpu = Cpu(cluster);
                    answered = await Closed(two, questions, clients, seconds, phases.TwoGateways);
                    phases.Add("two_gateways", CpuSince(cluster, cpu), answered);
                }
            }

            foreach (var (key, cluster, _, _, phases) in shapes)
            {
                phases.Report((JsonObject)report[key]!);
                report[key]!["placement_after"] = await PlacementsAsync(cluster, tenants); // a higher epoch: a replica was dropped or promoted meanwhile
                Directory.CreateDirectory(logs);
                foreach (var p in cluster.Stores.Concat(cluster.Gateways))
                {
                    await File.WriteAllTextAsync(Path.Combine(logs, $"{key}-{p.Name}.log"), p.Output); // the last lines of each
                }
            }
        }
        finally
        {
            foreach (var (_, cluster, one, two, _) in shapes)
            {
                foreach (var c in one.Concat(two))
                {
                    c.Dispose();
                }

                await cluster.DisposeAsync();
            }
        }

        // the same questions against one process doing everything (--role all), on the same documents
        var root = Path.Combine(Path.GetTempPath(), "bruno-tiers-all-" + Guid.NewGuid().ToString("N"));
        await using (var all = await BrunoProcess.StartAsync("all", "all", root, BrunoProcess.FreePort(), new Dictionary<string, string>
        {
            ["BRUNO_PLANS__default__REQUESTSPERMINUTE"] = "100000",
            ["BRUNO_PLANS__default__REQUESTSPERHOUR"] = "1000000",
            ["BRUNO_PLANS__default__REQUESTSPERDAY"] = "10000000",
            ["BRUNO_PLANS__default__CLIENTREQUESTSPERMINUTE"] = "100000",
            ["BRUNO_PLANS__default__CONCURRENT"] = "100",
        }, CancellationToken.None))
        {
            var data = new Bruno.Core.DataDirectory(root);
            var tokens = Bruno.Core.Identity.TokenService.ForDataDirectory(data, new Bruno.Core.BrunoOptions { DataRoot = root });
            using (var admin = new HttpClient { BaseAddress = all.Address })
            {
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssuePlatformToken("bench", TimeSpan.FromHours(1)));
                foreach (var t in new[] { "bench-a", "bench-b" })
                {
                    (await admin.PostAsJsonAsync("/admin/v1/tenants", new { id = t, display_name = t })).EnsureSuccessStatusCode();
                }
            }

            HttpClient ClientOf(string t, string user)
            {
                var c = new HttpClient { BaseAddress = all.Address, Timeout = TimeSpan.FromSeconds(60) };
                c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssueUserToken(TenantId.Parse(t), UserId.Parse(user), [Bruno.Core.Identity.Scopes.Query, Bruno.Core.Identity.Scopes.Ingest], TimeSpan.FromHours(1)));
                return c;
            }

            report["one_process_ingest"] = await IngestAsync([ClientOf("bench-a", "loader"), ClientOf("bench-b", "loader")], corpus);

            var askers = new[] { ClientOf("bench-a", "asker"), ClientOf("bench-b", "asker") };
            await Closed(askers, questions, 4, 3);
            var latencies = new Phase();
            var sw = Stopwatch.StartNew();
            await Closed(askers, questions, clients, seconds * rounds, latencies);
            report["one_process"] = latencies.Summary(sw.Elapsed.TotalSeconds);
            foreach (var c in askers)
            {
                c.Dispose();
            }
        }

        Directory.Delete(root, recursive: true);
        return report;
    }

    /// <summary>Ingests the corpus into each tenant (one client per tenant, the tenants in parallel); documents a second.</summary>
    private static async Task<JsonObject> IngestAsync(HttpClient[] loaders, List<(string Id, string Text)> corpus)
    {
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(loaders.Select(async http =>
        {
            foreach (var (id, text) in corpus)
            {
                using var response = await http.PostAsJsonAsync("/api/v1/documents", new { id, title = id, content = text });
                response.EnsureSuccessStatusCode();
            }
        }));
        foreach (var l in loaders)
        {
            l.Dispose();
        }

        return new JsonObject { ["documents"] = loaders.Length * corpus.Count, ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 2), ["documents_per_s"] = Math.Round(loaders.Length * corpus.Count / sw.Elapsed.TotalSeconds, 2) };
    }

    /// <summary>Asks questions in a closed loop of <paramref name="clients"/> for <paramref name="seconds"/>; adds each latency to <paramref name="into"/> and returns how many were asked.</summary>
    private static async Task<int> Closed(HttpClient[] targets, string[] questions, int clients, int seconds, Phase? into = null)
    {
        into ??= new Phase();
        var asked = 0;
        var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async c =>
        {
            var http = targets[c % targets.Length];
            var i = c;
            while (Stopwatch.GetTimestamp() < until)
            {
                var start = Stopwatch.GetTimestamp();
                using var response = await http.PostAsJsonAsync("/api/v1/query", new { query = questions[i++ % questions.Length] });
                await response.Content.ReadAsByteArrayAsync();
                lock (into)
                {
                    into.Latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    into.Errors += response.IsSuccessStatusCode ? 0 : 1;
                    asked++;
                }
            }
        }));
        lock (into)
        {
            into.Seconds += sw.Elapsed.TotalSeconds;
            return asked;
        }
    }

    /// <summary>The questions of one kind of phase, over all its rounds.</summary>
    private sealed class Phase
    {
        public readonly List<double> Latencies = [];
        public readonly List<double> RoundRates = [];
        public int Errors;
        public double Seconds;
        public double CpuSeconds;
        public double StoreCpu;

        public JsonObject Summary(double? seconds = null)
        {
            var summary = Percentiles([.. Latencies]);
            summary["rps"] = Math.Round(Latencies.Count / (seconds ?? Seconds), 1);
            summary["errors"] = Errors;
            if (RoundRates.Count > 0)
            {
                summary["rps_per_round"] = new JsonArray([.. RoundRates.Select(r => (JsonNode)Math.Round(r, 1))]);
                summary["cpu_ms_per_question"] = Math.Round(CpuSeconds * 1000 / Math.Max(1, Latencies.Count), 2);
            }

            return summary;
        }
    }

    /// <summary>A cluster's two kinds of question phase.</summary>
    private sealed class Phases
    {
        public readonly Phase OneGateway = new();
        public readonly Phase TwoGateways = new();

        public void Add(string kind, JsonObject cpu, int asked)
        {
            var phase = kind == "one_gateway" ? OneGateway : TwoGateways;
            var seconds = (double)cpu["wall_s"]!;
            phase.RoundRates.Add(asked / seconds);
            phase.CpuSeconds += (double)cpu["stores"]! + (double)cpu["gateways"]!;
            phase.StoreCpu += (double)cpu["stores"]!;
        }

        public void Report(JsonObject shape)
        {
            foreach (var (kind, phase) in new[] { ("one_gateway", OneGateway), ("two_gateways", TwoGateways) })
            {
                var summary = phase.Summary();
                summary["store_cpu_ms_per_question"] = Math.Round(phase.StoreCpu * 1000 / Math.Max(1, phase.Latencies.Count), 2);
                shape[kind] = summary;
            }
        }
    }

    /// <summary>Each tenant's owner, replica and epoch, as the admin API shows them.</summary>
    private static async Task<JsonObject> PlacementsAsync(TestCluster cluster, string[] tenants)
    {
        using var admin = cluster.Client(0, cluster.PlatformToken());
        var result = new JsonObject();
        foreach (var t in tenants)
        {
            var p = await admin.GetFromJsonAsync<JsonObject>($"/admin/v1/tenants/{t}/placement");
            result[t] = new JsonObject { ["node"] = p?["node"]?.DeepClone(), ["replica"] = p?["replica"]?.DeepClone(), ["epoch"] = p?["epoch"]?.DeepClone() };
        }

        return result;
    }

    private static (long Started, TimeSpan Stores, TimeSpan Gateways) Cpu(TestCluster cluster) =>
        (Stopwatch.GetTimestamp(), Sum(cluster.Stores), Sum(cluster.Gateways));

    private static TimeSpan Sum(IEnumerable<BrunoProcess> processes) => processes.Aggregate(TimeSpan.Zero, (t, p) => t + p.ProcessorTime);

    /// <summary>Processor seconds the cluster's store nodes and gateways used since <paramref name="before"/>, and the wall seconds.</summary>
    private static JsonObject CpuSince(TestCluster cluster, (long Started, TimeSpan Stores, TimeSpan Gateways) before) => new()
    {
        ["wall_s"] = Math.Round(Stopwatch.GetElapsedTime(before.Started).TotalSeconds, 3),
        ["stores"] = Math.Round((Sum(cluster.Stores) - before.Stores).TotalSeconds, 3),
        ["gateways"] = Math.Round((Sum(cluster.Gateways) - before.Gateways).TotalSeconds, 3),
    };

    private static JsonObject Percentiles(List<double> ms)
    {
        ms.Sort();
        double P(double q) => ms.Count == 0 ? 0 : Math.Round(ms[Math.Min(ms.Count - 1, (int)(q * ms.Count))], 3);
        return new JsonObject { ["samples"] = ms.Count, ["p50_ms"] = P(0.5), ["p95_ms"] = P(0.95), ["p99_ms"] = P(0.99) };
    }

    private static async Task<string> Shell(string file, string argument)
    {
        using var p = Process.Start(new ProcessStartInfo(file, argument) { RedirectStandardOutput = true, UseShellExecute = false })
            ?? throw new InvalidOperationException($"{file} did not start");
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return p.ExitCode == 0 ? output : throw new InvalidOperationException($"{file} {argument} failed ({p.ExitCode})");
    }
}
