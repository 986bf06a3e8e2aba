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
/// own process), beside one process doing everything on the same data.</item>
/// </list>
/// Needs PostgreSQL for the catalog: BRUNO_TEST_POSTGRES, else scripts/postgres.sh is started and stopped.
/// </summary>
internal static class Tiers
{
    public static async Task<int> RunAsync(string outFile, bool quick, string[] vocabulary)
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
            result["hop"] = await HopAsync(quick ? 300 : 3_000);
            result["throughput"] = await ThroughputAsync(quick, vocabulary);
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

    /// <summary>Closed-loop questions: one process doing everything, then one gateway, then two, over the same data.</summary>
    private static async Task<JsonObject> ThroughputAsync(bool quick, string[] vocabulary)
    {
        var (documents, seconds, clients) = quick ? (10, 5, 8) : (40, 20, 16);
        var random = new Random(5);
        var corpus = Enumerable.Range(0, documents).Select(d => (Id: $"doc-{d:D3}", Text: string.Join("\n\n", Enumerable.Range(0, 20).Select(s =>
            $"## Section {s}\n" + string.Join(". ", Enumerable.Range(0, 5).Select(_ => string.Join(' ', Enumerable.Range(0, 12).Select(_ => vocabulary[random.Next(vocabulary.Length)]))))))))
            .ToList();
        var questions = Enumerable.Range(0, 300).Select(_ => string.Join(' ', Enumerable.Range(0, 6).Select(_ => vocabulary[random.Next(vocabulary.Length)])) + "?").ToArray();
        var report = new JsonObject { ["documents"] = documents, ["clients"] = clients, ["seconds"] = seconds };

        // the two tiers twice: each tenant on one node, then (the default) with a replica in sync on the other
        foreach (var replication in new[] { "none", "sync" })
        {
            var shape = new JsonObject();
            report[replication == "none" ? "tiers_one_copy" : "tiers_replicated"] = shape;
            await using var cluster = await TestCluster.StartAsync(stores: 2, gateways: 2, CancellationToken.None, settings: new Dictionary<string, string> { ["BRUNO_CLUSTER__REPLICATION"] = replication });
            var tenants = new[] { "bench-a", "bench-b" };
            await cluster.CreateTenantsAsync(0, CancellationToken.None, tenants);
            shape["ingest"] = await IngestAsync(tenants.Select(t => cluster.Client(0, cluster.UserToken(t, "loader"))).ToArray(), corpus);
            shape["placement"] = new JsonObject { ["bench-a"] = await cluster.OwnerAsync("bench-a", CancellationToken.None), ["bench-b"] = await cluster.OwnerAsync("bench-b", CancellationToken.None) };
            var oneGateway = tenants.Select(t => cluster.Client(0, cluster.UserToken(t, "asker"))).ToArray();
            var twoGateways = tenants.SelectMany(t => new[] { cluster.Client(0, cluster.UserToken(t, "asker")), cluster.Client(1, cluster.UserToken(t, "asker")) }).ToArray();
            await Closed(oneGateway, questions, 4, 3); // warm-up of both gateways
            await Closed(twoGateways, questions, 4, 3);
            shape["one_gateway"] = await Closed(oneGateway, questions, clients, seconds);
            shape["two_gateways"] = await Closed(twoGateways, questions, clients, seconds);
            foreach (var c in oneGateway.Concat(twoGateways))
            {
                c.Dispose();
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
            report["one_process"] = await Closed(askers, questions, clients, seconds);
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

    private static async Task<JsonObject> Closed(HttpClient[] targets, string[] questions, int clients, int seconds)
    {
        var latencies = new List<double>();
        var errors = 0;
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
                lock (latencies)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    errors += response.IsSuccessStatusCode ? 0 : 1;
                }
            }
        }));
        var summary = Percentiles(latencies);
        summary["rps"] = Math.Round(latencies.Count / sw.Elapsed.TotalSeconds, 1);
        summary["errors"] = errors;
        return summary;
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
