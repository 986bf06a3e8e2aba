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
    /// Ingest and closed-loop questions over the same data on three targets that are all up at once: the two tiers with
    /// one copy per tenant, the two tiers with replicas, and one process doing everything. Their ingest slices and
    /// question phases alternate, the order rotated each time, so that a machine getting slower or faster meanwhile
    /// weighs on all alike; the targets not being used are idle.
    /// </summary>
    private static async Task<JsonObject> ThroughputAsync(bool quick, string[] vocabulary, string logs)
    {
        var (documents, slices, seconds, clients, rounds) = quick ? (10, 2, 5, 8, 1) : (40, 4, 10, 16, 5);
        var random = new Random(5);
        var corpus = Enumerable.Range(0, documents).Select(d => (Id: $"doc-{d:D3}", Text: string.Join("\n\n", Enumerable.Range(0, 20).Select(s =>
            $"## Section {s}\n" + string.Join(". ", Enumerable.Range(0, 5).Select(_ => string.Join(' ', Enumerable.Range(0, 12).Select(_ => vocabulary[random.Next(vocabulary.Length)]))))))))
            .ToList();
        var questions = Enumerable.Range(0, 300).Select(_ => string.Join(' ', Enumerable.Range(0, 6).Select(_ => vocabulary[random.Next(vocabulary.Length)])) + "?").ToArray();
        var report = new JsonObject { ["documents"] = documents, ["ingest_slices"] = slices, ["clients"] = clients, ["seconds_per_phase"] = seconds, ["rounds"] = rounds };
        var tenants = new[] { "bench-a", "bench-b" };
        var targets = new List<Target>();
        try
        {
            targets.Add(await Target.OneProcessAsync(tenants));
            foreach (var (key, replication) in new[] { ("tiers_one_copy", "none"), ("tiers_replicated", "sync") })
            {
                targets.Add(await Target.TiersAsync(key, replication, tenants));
            }

            // ingest, slice by slice; each slice into the two tenants in parallel, one client each
            var size = (documents + slices - 1) / slices;
            for (var slice = 0; slice < slices; slice++)
            {
                var part = corpus.Skip(slice * size).Take(size).ToList();
                foreach (var t in Rotated(targets, slice))
                {
                    var cpu = t.Cpu();
                    var sw = Stopwatch.StartNew();
                    await IngestAsync(tenants.Select(n => t.Client(0, n, "loader")).ToArray(), part);
                    t.IngestSeconds += sw.Elapsed.TotalSeconds;
                    t.IngestDocuments += tenants.Length * part.Count;
                    t.IngestCpu += t.CpuSince(cpu).Total;
                }
            }

            foreach (var t in targets)
            {
                report[t.Key] = t.Report;
                t.Report["ingest"] = new JsonObject
                {
                    ["documents"] = t.IngestDocuments,
                    ["seconds"] = Math.Round(t.IngestSeconds, 2),
                    ["documents_per_s"] = Math.Round(t.IngestDocuments / t.IngestSeconds, 2),
                    ["cpu_s"] = Math.Round(t.IngestCpu, 2),
                };
                if (t.Cluster is { } c)
                {
                    t.Report["placement"] = await PlacementsAsync(c, tenants);
                }

                foreach (var kind in t.Kinds)
                {
                    await Closed(t.Askers(kind), questions, clients, quick ? 2 : 5); // warm-up: the JIT's second tier, pools, caches
                }
            }

            for (var round = 0; round < rounds; round++)
            {
                foreach (var t in Rotated(targets, round))
                {
                    foreach (var kind in t.Kinds)
                    {
                        var phase = t.Phases[kind];
                        var cpu = t.Cpu();
                        var steal = Steal();
                        var asked = await Closed(t.Askers(kind), questions, clients, seconds, phase);
                        var used = t.CpuSince(cpu);
                        phase.RoundRates.Add(asked / used.Wall);
                        phase.CpuSeconds += used.Total;
                        phase.StoreCpu += used.Stores;
                        phase.StealSeconds += Steal() - steal;
                    }
                }
            }

            foreach (var t in targets)
            {
                foreach (var (kind, phase) in t.Phases)
                {
                    t.Report[kind] = phase.Summary();
                }

                if (t.Cluster is { } c)
                {
                    t.Report["placement_after"] = await PlacementsAsync(c, tenants); // a higher epoch: a replica was dropped or promoted meanwhile
                }

                Directory.CreateDirectory(logs);
                foreach (var p in t.Processes)
                {
                    await File.WriteAllTextAsync(Path.Combine(logs, $"{t.Key}-{p.Name}.log"), p.Output); // the last lines of each
                }
            }
        }
        finally
        {
            foreach (var t in targets)
            {
                await t.DisposeAsync();
            }
        }

        return report;
    }

    private static IEnumerable<T> Rotated<T>(List<T> items, int by) => items.Skip(by % items.Count).Concat(items.Take(by % items.Count));

    /// <summary>Seconds the hypervisor kept this machine's cores from it so far (steal time of /proc/stat).</summary>
    private static double Steal()
    {
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return cpu.Length > 8 ? double.Parse(cpu[8], System.Globalization.CultureInfo.InvariantCulture) / 100 : 0; // USER_HZ is 100 on Linux
    }

    /// <summary>One of the things measured: a cluster of the two tiers, or one process.</summary>
    private sealed class Target : IAsyncDisposable
    {
        private readonly Func<int, string, string, HttpClient> _client;
        private readonly Dictionary<string, HttpClient> _clients = [];
        private readonly IAsyncDisposable _owner;
        private readonly string? _root;

        private Target(string key, IAsyncDisposable owner, Func<int, string, string, HttpClient> client, BrunoProcess[] stores, BrunoProcess[] gateways, TestCluster? cluster, string? root)
        {
            (Key, _owner, _client, Stores, Gateways, Cluster, _root) = (key, owner, client, stores, gateways, cluster, root);
            Kinds = cluster is null ? ["one_gateway"] : ["one_gateway", "two_gateways"];
            Phases = Kinds.ToDictionary(k => k, _ => new Phase());
        }

        public string Key { get; }

        public BrunoProcess[] Stores { get; }

        public BrunoProcess[] Gateways { get; }

        public IEnumerable<BrunoProcess> Processes => Stores.Concat(Gateways);

        public TestCluster? Cluster { get; }

        public string[] Kinds { get; }

        public Dictionary<string, Phase> Phases { get; }

        public JsonObject Report { get; } = [];

        public double IngestSeconds { get; set; }

        public int IngestDocuments { get; set; }

        public double IngestCpu { get; set; }

        public static async Task<Target> TiersAsync(string key, string replication, string[] tenants)
        {
            var cluster = await TestCluster.StartAsync(stores: 2, gateways: 2, CancellationToken.None, settings: new Dictionary<string, string>
            {
                ["BRUNO_CLUSTER__REPLICATION"] = replication,
                ["BRUNO_CLUSTER__HEARTBEATSECONDS"] = "2", // the defaults, not the tests' quicker leases: a lease that lapses on a busy machine would fail a tenant over mid-run
                ["BRUNO_CLUSTER__NODETIMEOUTSECONDS"] = "8",
                ["BRUNO_CLUSTER__MOVELEASESECONDS"] = "6",
                ["Logging__LogLevel__Default"] = "Warning", // kept for the logs written next to the result: what went wrong, not each request
            });
            await cluster.CreateTenantsAsync(0, CancellationToken.None, tenants);
            return new Target(key, cluster, (g, t, u) => cluster.Client(g, cluster.UserToken(t, u)), [.. cluster.Stores], [.. cluster.Gateways], cluster, null);
        }

        public static async Task<Target> OneProcessAsync(string[] tenants)
        {
            var root = Path.Combine(Path.GetTempPath(), "bruno-tiers-all-" + Guid.NewGuid().ToString("N"));
            var all = await BrunoProcess.StartAsync("all", "all", root, BrunoProcess.FreePort(), new Dictionary<string, string>
            {
                ["BRUNO_PLANS__default__REQUESTSPERMINUTE"] = "100000",
                ["BRUNO_PLANS__default__REQUESTSPERHOUR"] = "1000000",
                ["BRUNO_PLANS__default__REQUESTSPERDAY"] = "10000000",
                ["BRUNO_PLANS__default__CLIENTREQUESTSPERMINUTE"] = "100000",
                ["BRUNO_PLANS__default__CONCURRENT"] = "100",
                ["Logging__LogLevel__Default"] = "Warning",
            }, CancellationToken.None);
            var tokens = Bruno.Core.Identity.TokenService.ForDataDirectory(new Bruno.Core.DataDirectory(root), new Bruno.Core.BrunoOptions { DataRoot = root });
            using (var admin = new HttpClient { BaseAddress = all.Address })
            {
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssuePlatformToken("bench", TimeSpan.FromHours(1)));
                foreach (var t in tenants)
                {
                    (await admin.PostAsJsonAsync("/admin/v1/tenants", new { id = t, display_name = t })).EnsureSuccessStatusCode();
                }
            }

            return new Target("one_process", all, (_, t, u) =>
            {
                var c = new HttpClient { BaseAddress = all.Address, Timeout = TimeSpan.FromSeconds(60) };
                c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.IssueUserToken(TenantId.Parse(t), UserId.Parse(u), [Bruno.Core.Identity.Scopes.Query, Bruno.Core.Identity.Scopes.Ingest], TimeSpan.FromHours(1)));
                return c;
            }, [], [all], null, root);
        }

        /// <summary>A client of gateway <paramref name="gateway"/> for the user, made once.</summary>
        public HttpClient Client(int gateway, string tenant, string user)
        {
            var key = $"{gateway}/{tenant}/{user}";
            return _clients.TryGetValue(key, out var c) ? c : _clients[key] = _client(gateway, tenant, user);
        }

        /// <summary>The askers of a kind of phase: both tenants through the first gateway, or through both.</summary>
        public HttpClient[] Askers(string kind) => kind == "one_gateway"
            ? [Client(0, "bench-a", "asker"), Client(0, "bench-b", "asker")]
            : [Client(0, "bench-a", "asker"), Client(1, "bench-a", "asker"), Client(0, "bench-b", "asker"), Client(1, "bench-b", "asker")];

        public (long Started, TimeSpan Stores, TimeSpan Gateways) Cpu() => (Stopwatch.GetTimestamp(), Sum(Stores), Sum(Gateways));

        /// <summary>Processor seconds this target's store nodes and gateways used since <paramref name="before"/>, and the wall seconds.</summary>
        public (double Wall, double Stores, double Total) CpuSince((long Started, TimeSpan Stores, TimeSpan Gateways) before)
        {
            var stores = (Sum(Stores) - before.Stores).TotalSeconds;
            return (Stopwatch.GetElapsedTime(before.Started).TotalSeconds, stores, stores + (Sum(Gateways) - before.Gateways).TotalSeconds);
        }

        private static TimeSpan Sum(IEnumerable<BrunoProcess> processes) => processes.Aggregate(TimeSpan.Zero, (t, p) => t + p.ProcessorTime);

        public async ValueTask DisposeAsync()
        {
            foreach (var c in _clients.Values)
            {
                c.Dispose();
            }

            await _owner.DisposeAsync();
            if (_root is not null)
            {
                Directory.Delete(_root, recursive: true);
            }
        }
    }

    /// <summary>Ingests the documents into each tenant (one client per tenant, the tenants in parallel).</summary>
    private static async Task IngestAsync(HttpClient[] loaders, List<(string Id, string Text)> corpus) =>
        await Task.WhenAll(loaders.Select(async http =>
        {
            foreach (var (id, text) in corpus)
            {
                using var response = await http.PostAsJsonAsync("/api/v1/documents", new { id, title = id, content = text });
                response.EnsureSuccessStatusCode();
            }
        }));

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
        public double StealSeconds;

        public JsonObject Summary()
        {
            var summary = Percentiles([.. Latencies]);
            summary["rps"] = Math.Round(Latencies.Count / Seconds, 1);
            var rates = RoundRates.Order().ToList();
            summary["rps_per_round"] = new JsonArray([.. RoundRates.Select(r => (JsonNode)Math.Round(r, 1))]);
            summary["rps_median"] = Math.Round(rates.Count % 2 == 1 ? rates[rates.Count / 2] : (rates[(rates.Count / 2) - 1] + rates[rates.Count / 2]) / 2, 1);
            summary["errors"] = Errors;
            summary["cpu_ms_per_question"] = Math.Round(CpuSeconds * 1000 / Math.Max(1, Latencies.Count), 2);
            summary["store_cpu_ms_per_question"] = Math.Round(StoreCpu * 1000 / Math.Max(1, Latencies.Count), 2);
            summary["steal_s"] = Math.Round(StealSeconds, 2); // the machine's cores taken by the hypervisor during these phases
            return summary;
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
