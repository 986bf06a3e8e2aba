using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bruno.Storage;
using Bruno.Storage.Benchmarks;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

// Storage benchmark. Usage (see docs/benchmarks.md):
//   dotnet run -c Release --project bench/Bruno.Storage.Benchmarks -- [--quick] [--idle-tenants N] [--out FILE] [--datasets DIR]
//   --multi DIR / --large DIR: measure on a given dataset in the shared format (e.g. from bench/lancedb/gen.mjs)
//   --only access: access lists (issue 21) on the large dataset, written to bench/results/storage-access.json by default
//   --compare OTHER.json (repeatable): after the run, or on --results FILE (repeatable) without running, one table of
//   Bruno against the other engines' result files (medians where several files of an engine are given)
//   --quantization none|int8|binary: how the benchmark's collections hold vectors in memory (docs/decisions/0045; default int8)
var argList = args.ToList();
string Arg(string name, string fallback) => argList.IndexOf(name) is var i and >= 0 && i + 1 < argList.Count ? argList[i + 1] : fallback;
List<string> Args(string name) => [.. argList.Select((a, i) => (a, i)).Where(x => x.a == name && x.i + 1 < argList.Count).Select(x => argList[x.i + 1])];
var quick = argList.Contains("--quick");
var datasets = Path.GetFullPath(Arg("--datasets", "bench/datasets"));
var only = Arg("--only", "all"); // all | tenants | multi | cold | large | access, reopen (not part of all), or several: multi,cold,large
var parts = only.Split(',');
bool Want(string part) => parts.Contains(part) || (part is not ("access" or "reopen") && parts.Contains("all"));
var outFile = Path.GetFullPath(Arg("--out", only is "access" or "reopen" ? $"bench/results/storage-{only}.json" : "bench/results/storage.json"));
var compare = Args("--compare");
var compareOut = Path.GetFullPath(Arg("--compare-out", Path.ChangeExtension(outFile, ".compare.json")));
if (Args("--results") is { Count: > 0 } given)
{
    return Comparison.Run(given, compare, compareOut);
}

QuantizationChoice.Value = Enum.Parse<VectorQuantization>(Arg("--quantization", "int8"), ignoreCase: true);
var idleTenants = int.Parse(Arg("--idle-tenants", quick ? "1000" : "5000"), System.Globalization.CultureInfo.InvariantCulture);
var (multiT, multiN, largeN) = quick ? (4, 2000, 20_000) : (20, 5000, 100_000);
const int Dim = 384;
const int Queries = 200;

var multiDir = Path.GetFullPath(Arg("--multi", Path.Combine(datasets, $"multi-{multiT}x{multiN}x{Dim}")));
var largeDir = Path.GetFullPath(Arg("--large", Path.Combine(datasets, $"large-1x{largeN}x{Dim}")));
if (Want("multi") && !File.Exists(Path.Combine(multiDir, "manifest.json")))
{
    Console.WriteLine($"generating {multiDir}");
    Dataset.Generate(multiDir, multiT, multiN, Dim, Queries, 42, "t");
}

var needLarge = Want("large") || Want("cold") || Want("access") || Want("reopen");
if (needLarge && !File.Exists(Path.Combine(largeDir, "manifest.json")))
{
    Console.WriteLine($"generating {largeDir}");
    Dataset.Generate(largeDir, 1, largeN, Dim, Queries, 4242, "big");
}

// Both datasets are read, and their files checked against the manifest, before anything is measured.
Dataset? multiData = null, largeData = null;
try
{
    multiData = Want("multi") ? Dataset.Load(multiDir) : null;
    largeData = needLarge ? Dataset.Load(largeDir) : null;
}
catch (DatasetException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

var result = new JsonObject
{
    ["engine"] = "bruno",
    ["engine_version"] = typeof(StorageEngine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
    ["date"] = DateTimeOffset.UtcNow.ToString("O"),
    ["machine"] = new JsonObject
    {
        ["cores"] = Environment.ProcessorCount,
        ["os"] = Environment.OSVersion.ToString(),
        ["runtime"] = Environment.Version.ToString(),
        ["cpu"] = CpuName(),
        ["loadavg"] = File.ReadAllText("/proc/loadavg").Trim(),
    },
    ["quick"] = quick,
    ["datasets"] = new JsonObject { ["multi"] = multiData?.Info.DeepClone(), ["large"] = largeData?.Info.DeepClone() },
    ["quantization"] = QuantizationChoice.Value.ToString().ToLowerInvariant(),
};

var root = Path.Combine(Path.GetTempPath(), "bruno-bench-" + Guid.NewGuid().ToString("N"));
using var key = MasterKey.Generate();
try
{
    // First, while the process holds nothing else, so that resident memory before and after is a fair comparison.
    if (Want("tenants"))
    {
        await using var engine = new StorageEngine(new StorageEngineOptions { DataRoot = root + "-idle", MasterKey = key, MaxOpenTenants = 64 });
        result["tenants"] = await ManyTenants(engine, idleTenants);
    }

    if (Want("multi"))
    {
        await using var engine = new StorageEngine(new StorageEngineOptions { DataRoot = root, MasterKey = key });
        result["multi"] = await Multi(engine, multiData!);
    }

    if (Want("cold"))
    {
        await using var engine = new StorageEngine(new StorageEngineOptions { DataRoot = root + "-cold", MasterKey = key });
        result["cold_open"] = await ColdOpen(engine, largeData!);
    }

    if (Want("large"))
    {
        // A data root of its own: on other generators' data the large tenant may bear a multi tenant's id (t000).
        await using var engine = new StorageEngine(new StorageEngineOptions { DataRoot = root + "-large", MasterKey = key, });
        result["large"] = await Large(engine, largeData!);
    }

    if (Want("reopen"))
    {
        // The stored HNSW graph (format 3, decision 0044): ingest, index, close (the checkpoint), reopen, first queries.
        var options = new StorageEngineOptions { DataRoot = root, MasterKey = key };
        var data = largeData!;
        var t = data.Tenants[0];
        var engine = new StorageEngine(options);
        var c = await NewCollection(engine, t.Id, data.Dimension);
        var sw = Stopwatch.StartNew();
        await Ingest(c, t, data.Dimension, t.Count);
        await c.WaitForIndexAsync();
        var build = sw.Elapsed.TotalSeconds;
        sw.Restart();
        await engine.DisposeAsync();
        var close = sw.Elapsed.TotalSeconds;
        await using var reopened = new StorageEngine(options);
        c = reopened.Tenant(TenantId.Parse(t.Id)).Collection("chunks");
        sw.Restart();
        var status = await c.GraphStatusAsync();
        var open = sw.Elapsed.TotalSeconds;
        var lat = new Lat();
        double hit = 0, total = 0;
        for (var q = 0; q < t.Queries.Length / data.Dimension; q++)
        {
            var v = t.Queries.AsMemory(q * data.Dimension, data.Dimension);
            hit += Recall(await lat.Time(() => c.SearchAsync(new SearchRequest { Vector = v, K = data.K })), t.Truth[q], t);
            total += data.K;
        }

        var after = await c.GraphStatusAsync();
        result["reopen"] = new JsonObject
        {
            ["rows"] = t.Count,
            ["dim"] = data.Dimension,
            ["ingest_and_index_s"] = Math.Round(build, 1),
            ["close_with_checkpoint_s"] = Math.Round(close, 2),
            ["open_s"] = Math.Round(open, 2),
            ["graph"] = status.Load.ToString(),
            ["loaded_nodes"] = status.LoadedNodes,
            ["inserted_nodes_after_first_queries"] = after.InsertedNodes,
            ["first_queries_after_open"] = lat.Json(hit / total),
            ["store_bytes"] = new FileInfo(Path.Combine(root, "tenants", t.Id, "store.db")).Length,
        };
    }

    if (Want("access"))
    {
        // FilteredExactRows 0: access-filtered searches go through the graph unless the request asks for exact
        await using var engine = new StorageEngine(new StorageEngineOptions { DataRoot = root, MasterKey = key, FilteredExactRows = 0 });
        result["access"] = await Access(engine, largeData!);
    }
}
finally
{
    foreach (var dir in new[] { root, root + "-idle", root + "-cold", root + "-large" })
    {
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, true);
        }
    }
}

result["peak_rss_mb"] = PeakRssMb();
Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
File.WriteAllText(outFile, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine(result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"written to {outFile}");
return compare.Count > 0 ? Comparison.Run([outFile], compare, compareOut) : 0;

static async Task<JsonObject> Multi(StorageEngine engine, Dataset data)
{
    await WarmUp(engine, data.Tenants[0], data.Dimension);
    var collections = new List<(TenantData Data, TenantCollection C)>();
    foreach (var t in data.Tenants)
    {
        collections.Add((t, await NewCollection(engine, t.Id, data.Dimension)));
    }

    // One client per tenant, four tenants ingesting at once: how a shared node is loaded.
    long rows = 0;
    var sw = Stopwatch.StartNew();
    await Parallel.ForEachAsync(collections, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (tc, _) =>
        Interlocked.Add(ref rows, await Ingest(tc.C, tc.Data, data.Dimension, tc.Data.Count)));
    var ingest = rows / sw.Elapsed.TotalSeconds;
    var exact = new Lat();
    var filtered = new Lat();
    var hybrid = new Lat();
    double hit = 0, hitU3 = 0, total = 0;
    foreach (var (t, c) in collections)
    {
        for (var q = 0; q < t.Queries.Length / data.Dimension; q++)
        {
            var v = t.Queries.AsMemory(q * data.Dimension, data.Dimension);
            var r = await exact.Time(() => c.SearchAsync(new SearchRequest { Vector = v, K = data.K, Exact = true }));
            hit += Recall(r, t.Truth[q], t);
            var f = await filtered.Time(() => c.SearchAsync(new SearchRequest { Vector = v, K = data.K, Filter = Filter.ForUser(UserId.Parse("u3")) }));
            hitU3 += Recall(f, t.TruthU3[q], t);
            total += data.K;
            var text = string.Join(' ', t.Text(t.Truth[q][0]).Split(' ').Take(4));
            await hybrid.Time(() => c.SearchAsync(new SearchRequest { Mode = SearchMode.Hybrid, Vector = v, Text = text, K = data.K }));
        }
    }

    // mixed loop: every tenant open, tenant and query drawn from the format's mulberry32 sequence (the same in every harness)
    var mixed = new Lat();
    var sequence = data.MixedSequence().ToList();
    foreach (var (ti, q) in sequence)
    {
        var (t, c) = collections[ti];
        await mixed.Time(() => c.SearchAsync(new SearchRequest { Vector = t.Queries.AsMemory(q * data.Dimension, data.Dimension), K = data.K }));
    }

    var bytes = new List<long>();
    foreach (var (t, _) in collections)
    {
        bytes.Add((await engine.Tenant(TenantId.Parse(t.Id)).GetStatsAsync()).BytesOnDisk);
    }

    return new JsonObject
    {
        ["tenants"] = data.Tenants.Count,
        ["rows_per_tenant"] = data.Tenants[0].Count,
        ["dim"] = data.Dimension,
        ["ingest_rows_per_s_4_tenants_at_once"] = Math.Round(ingest),
        ["exact"] = exact.Json(hit / total),
        ["filtered_u3"] = filtered.Json(hitU3 / total),
        ["hybrid"] = hybrid.Json(null),
        ["mixed_all_tenants_open"] = mixed.Json(null),
        ["mixed_sequence"] = new JsonObject { ["rng"] = "mulberry32", ["seed"] = data.Seed, ["queries"] = sequence.Count, ["sha256"] = Dataset.SequenceSha(sequence) },
        ["disk_bytes_per_tenant"] = (long)bytes.Average(),
        ["disk_bytes_per_row"] = Math.Round(bytes.Average() / data.Tenants[0].Count),
    };
}

static async Task<JsonObject> Large(StorageEngine engine, Dataset data)
{
    var t = data.Tenants[0];
    await WarmUp(engine, t, data.Dimension);

    // One client keeping four batches in flight, on a scratch tenant deleted afterwards.
    var pipe = await NewCollection(engine, "pipelined", data.Dimension);
    var pipeWatch = Stopwatch.StartNew();
    var pipelined = await Ingest(pipe, t, data.Dimension, t.Count, inFlight: 4) / pipeWatch.Elapsed.TotalSeconds;
    await engine.DeleteTenantAsync(pipe.Tenant);

    var c = await NewCollection(engine, t.Id, data.Dimension);
    var sw = Stopwatch.StartNew();
    var rows = await Ingest(c, t, data.Dimension, t.Count);
    var ingest = rows / sw.Elapsed.TotalSeconds;
    sw.Restart();
    await c.WaitForIndexAsync();
    var build = sw.Elapsed.TotalSeconds;
    var sweep = new JsonArray();
    JsonObject? atDefault = null;
    foreach (var ef in new int?[] { 32, 64, null, 128, 200 })
    {
        var lat = new Lat();
        double hit = 0, total = 0;
        for (var q = 0; q < t.Queries.Length / data.Dimension; q++)
        {
            var v = t.Queries.AsMemory(q * data.Dimension, data.Dimension);
            var r = await lat.Time(() => c.SearchAsync(new SearchRequest { Vector = v, K = data.K, Ef = ef }));
            hit += Recall(r, t.Truth[q], t);
            total += data.K;
        }

        var j = lat.Json(hit / total);
        j["ef"] = ef?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default (96)";
        atDefault ??= ef is null ? j.DeepClone().AsObject() : null;
        sweep.Add(j);
    }

    var exact = new Lat();
    double exactHit = 0, exactTotal = 0;
    for (var q = 0; q < Math.Min(50, t.Queries.Length / data.Dimension); q++)
    {
        var v = t.Queries.AsMemory(q * data.Dimension, data.Dimension);
        exactHit += Recall(await exact.Time(() => c.SearchAsync(new SearchRequest { Vector = v, K = data.K, Exact = true })), t.Truth[q], t);
        exactTotal += data.K;
    }

    var filtered = new Lat();
    double fHit = 0, fTotal = 0;
    for (var q = 0; q < t.Queries.Length / data.Dimension; q++)
    {
        var v = t.Queries.AsMemory(q * data.Dimension, data.Dimension);
        fHit += Recall(await filtered.Time(() => c.SearchAsync(new SearchRequest { Vector = v, K = data.K, Filter = Filter.ForUser(UserId.Parse("u3")) })), t.TruthU3[q], t);
        fTotal += data.K;
    }

    return new JsonObject
    {
        ["rows"] = t.Count,
        ["dim"] = data.Dimension,
        ["ingest_rows_per_s_one_client"] = Math.Round(ingest),
        ["ingest_rows_per_s_one_client_4_batches_in_flight"] = Math.Round(pipelined),
        ["hnsw_build_s"] = Math.Round(build, 1),
        ["approx_default"] = atDefault,
        ["approx_ef_sweep"] = sweep,
        ["exact_50_queries"] = exact.Json(exactHit / exactTotal),
        ["filtered_u3"] = filtered.Json(fHit / fTotal),
    };
}

// Access lists (issue 21, decision 0028) on the large dataset: 50 groups; a row is readable by the whole tenant (2 %),
// one group (49 %) or two (49 %), drawn with a fixed seed, so a caller in 3 groups reads about 10 % of the rows. The
// truth is computed here by brute force over the rows the caller may read. The same rows without readers, in a second
// tenant, are "today": an unrestricted caller's search there and on the tenant with readers shows what the feature
// costs a caller it does not restrict.
static async Task<JsonObject> Access(StorageEngine engine, Dataset data)
{
    var t = data.Tenants[0];
    var dim = data.Dimension;
    await WarmUp(engine, t, dim);
    var groups = Enumerable.Range(0, 50).Select(i => Principal.Group($"group-{i:D2}")).ToArray();
    var rng = new Random(21);
    var vectors = t.AllVectors();
    var readers = new Principal[]?[t.Count];
    for (var i = 0; i < readers.Length; i++)
    {
        var draw = rng.NextDouble();
        var first = rng.Next(50);
        readers[i] = draw < 0.02 ? null : draw < 0.51 ? [groups[first]] : [groups[first], groups[(first + 1 + rng.Next(49)) % 50]];
    }

    var acl = await NewCollection(engine, "acl", dim);
    var sw = Stopwatch.StartNew();
    await Ingest(acl, t, dim, t.Count, readers: i => readers[i]);
    var ingest = t.Count / sw.Elapsed.TotalSeconds;
    var plain = await NewCollection(engine, "plain", dim);
    sw.Restart();
    await Ingest(plain, t, dim, t.Count);
    var ingestPlain = t.Count / sw.Elapsed.TotalSeconds;
    await acl.WaitForIndexAsync();
    await plain.WaitForIndexAsync();
    var queries = t.Queries.Length / dim;

    // A caller holding `held`: its filter, how many rows it reads, and the true top 10 among them per query.
    (Filter Filter, int Visible, int[][] Truth) Caller(Principal[] held)
    {
        var set = held.ToHashSet();
        var visible = Enumerable.Range(0, readers.Length).Where(i => readers[i] is not { } r || r.Any(set.Contains)).ToArray();
        var truth = new int[queries][];
        for (var q = 0; q < queries; q++)
        {
            var query = t.Queries.AsSpan(q * dim, dim);
            var top = new PriorityQueue<int, float>();
            foreach (var i in visible)
            {
                top.Enqueue(i, System.Numerics.Tensors.TensorPrimitives.Dot(query, vectors.AsSpan(i * dim, dim)));
                if (top.Count > data.K)
                {
                    top.Dequeue();
                }
            }

            var best = new int[top.Count];
            for (var j = best.Length - 1; j >= 0; j--)
            {
                best[j] = top.Dequeue();
            }

            truth[q] = best;
        }

        return (Filter.ReadableBy(held), visible.Length, truth);
    }

    async Task<JsonObject> Measure(TenantCollection c, Filter filter, int[][]? truth, bool exact, int? ef = null)
    {
        var lat = new Lat();
        double hit = 0, total = 0, full = 0;
        for (var q = 0; q < queries; q++)
        {
            var v = t.Queries.AsMemory(q * dim, dim);
            var r = await lat.Time(() => c.SearchAsync(new SearchRequest { Vector = v, K = data.K, Filter = filter, Exact = exact, Ef = ef }));
            full += r.Count == data.K ? 1 : 0;
            if (truth is not null)
            {
                hit += Recall(r, truth[q], t);
                total += data.K;
            }
        }

        var j = lat.Json(truth is null ? null : hit / total);
        j["full_top_k_share"] = Math.Round(full / queries, 4);
        return j;
    }

    var three = Caller([groups[3], groups[17], groups[41]]);
    var exactFiltered = await Measure(acl, three.Filter, three.Truth, exact: true);
    var hnswFiltered = await Measure(acl, three.Filter, three.Truth, exact: false);
    var efSweep = new JsonArray();
    foreach (var ef in new[] { 64, 128, 200 })
    {
        var j = await Measure(acl, three.Filter, three.Truth, exact: false, ef);
        j["ef"] = ef;
        efSweep.Add(j);
    }

    // where exact over the candidates and the filtered graph cross: callers reading from about 2 % to 40 % of the rows
    var sweep = new JsonArray();
    foreach (var n in new[] { 1, 2, 3, 6, 12, 25 })
    {
        var caller = Caller([.. groups.Take(n)]);
        var e = await Measure(acl, caller.Filter, caller.Truth, exact: true);
        var h = await Measure(acl, caller.Filter, caller.Truth, exact: false);
        sweep.Add(new JsonObject
        {
            ["groups"] = n,
            ["visible_rows"] = caller.Visible,
            ["exact_p50_ms"] = e["p50_ms"]!.DeepClone(),
            ["hnsw_p50_ms"] = h["p50_ms"]!.DeepClone(),
            ["hnsw_recall_at_10"] = h["recall_at_10"]!.DeepClone(),
        });
    }

    // an unrestricted caller (no access filter): the tenant with readers against the same rows without them, four
    // rounds, the order swapped every round, so that the machine's drift and any order effect fall on both
    var unrestricted = new JsonArray();
    for (var round = 0; round < 4; round++)
    {
        var j = new JsonObject { ["round"] = round + 1 };
        foreach (var (name, c) in round % 2 == 0 ? new[] { ("with_readers", acl), ("without_readers", plain) } : [("without_readers", plain), ("with_readers", acl)])
        {
            j["hnsw_" + name] = await Measure(c, Filter.All, null, exact: false);
            j["exact_" + name] = await Measure(c, Filter.All, null, exact: true);
        }

        unrestricted.Add(j);
    }

    return new JsonObject
    {
        ["rows"] = t.Count,
        ["dim"] = dim,
        ["groups"] = groups.Length,
        ["caller_groups"] = 3,
        ["visible_rows"] = three.Visible,
        ["ingest_rows_per_s_with_readers"] = Math.Round(ingest),
        ["ingest_rows_per_s_without_readers"] = Math.Round(ingestPlain),
        ["exact_filtered"] = exactFiltered,
        ["hnsw_filtered_default_ef"] = hnswFiltered,
        ["hnsw_filtered_ef_sweep"] = efSweep,
        ["selectivity_sweep"] = sweep,
        ["unrestricted"] = unrestricted,
    };
}

// Opening a closed 10,000-row tenant (first 10,000 rows of the large dataset, 10 users) until its first query
// is answered: vector search, then hybrid search, each after closing it again.
static async Task<JsonObject> ColdOpen(StorageEngine engine, Dataset data)
{
    var t = data.Tenants[0];
    await WarmUp(engine, t, data.Dimension);
    var cold = await NewCollection(engine, "cold10k", data.Dimension);
    await Ingest(cold, t, data.Dimension, 10_000);
    var query = t.Queries.AsMemory(0, data.Dimension);
    var text = t.Text(0);
    var vector = new List<double>();
    var hybrid = new List<double>();
    for (var i = 0; i < 15; i++)
    {
        await engine.CloseUnusedTenantsAsync();
        var sw = Stopwatch.StartNew();
        _ = await cold.SearchAsync(new SearchRequest { Vector = query, K = 10 });
        vector.Add(sw.Elapsed.TotalMilliseconds);
        await engine.CloseUnusedTenantsAsync();
        sw.Restart();
        _ = await cold.SearchAsync(new SearchRequest { Vector = query, Text = text, K = 10, Mode = SearchMode.Hybrid });
        hybrid.Add(sw.Elapsed.TotalMilliseconds);
    }

    static JsonObject Summary(List<double> ms)
    {
        ms.Sort();
        return new JsonObject { ["p50"] = Math.Round(ms[ms.Count / 2], 1), ["min"] = Math.Round(ms[0], 1), ["max"] = Math.Round(ms[^1], 1) };
    }

    return new JsonObject { ["rows"] = 10_000, ["opens"] = vector.Count, ["to_first_vector_query_ms"] = Summary(vector), ["to_first_hybrid_query_ms"] = Summary(hybrid) };
}

static async Task<JsonObject> ManyTenants(StorageEngine engine, int count)
{
    var vector = new float[384];
    vector[0] = 1;
    // The first tenth warms everything that is paid once (JIT, SQLite, thread pool, heap growth); the marginal cost
    // of a closed tenant is what the other nine tenths add.
    var warm = Math.Max(1, count / 10);
    double baseline = 0;
    var sw = Stopwatch.StartNew();
    for (var i = 0; i < count; i++)
    {
        if (i == warm)
        {
            await engine.CloseUnusedTenantsAsync();
            GC.Collect(2, GCCollectionMode.Forced, true, true);
            baseline = CurrentRssMb();
        }

        var c = await NewCollection(engine, $"small-{i:D6}", 384);
        await c.UpsertAsync([.. Enumerable.Range(0, 10).Select(r => new StoredRow { Id = $"r{r}", Text = $"small tenant {i} row {r}", Vector = vector })]);
    }

    var createSeconds = sw.Elapsed.TotalSeconds;
    await engine.CloseUnusedTenantsAsync();
    GC.Collect(2, GCCollectionMode.Forced, true, true);
    var idle = CurrentRssMb();

    // memory of tenants in use: 64 open at once
    var inUse = Math.Min(64, count);
    for (var i = 0; i < inUse; i++)
    {
        _ = await engine.Tenant(TenantId.Parse($"small-{i:D6}")).Collection("chunks").CountAsync();
    }

    GC.Collect(2, GCCollectionMode.Forced, true, true);
    var open64 = CurrentRssMb();
    return new JsonObject
    {
        ["tenants"] = count,
        ["create_per_s"] = Math.Round(count / createSeconds),
        ["rss_mb_after_first_tenth"] = baseline,
        ["rss_mb_all_closed"] = idle,
        ["idle_overhead_kb_per_tenant"] = Math.Round((idle - baseline) * 1024 / (count - warm), 2),
        ["open_tenants_measured"] = inUse,
        ["rss_mb_open"] = open64,
        ["open_kb_per_small_tenant"] = Math.Round((open64 - idle) * 1024 / inUse, 1),
        ["open_tenants_after"] = engine.OpenTenantCount,
    };
}

// Upserts the first `count` rows of a tenant in batches of 1,000, keeping up to `inFlight` batches outstanding
// (1: the client awaits each batch before sending the next).
static async Task<long> Ingest(TenantCollection c, TenantData t, int dim, int count, int inFlight = 1, Func<int, IReadOnlyList<Principal>?>? readers = null)
{
    // Read from the files batch by batch (the dataset is not held in memory): a batch's vectors stay in their buffer until
    // its write is acknowledged, so there is one buffer per batch in flight, plus the one being read.
    long written = 0;
    var pending = new Queue<Task<long>>();
    var buffers = Enumerable.Range(0, inFlight + 1).Select(_ => new float[1000 * dim]).ToArray();
    var lines = new List<RowLine>(1000);
    for (var start = 0; start < count; start += 1000)
    {
        var n = Math.Min(count, start + 1000) - start;
        var vectors = buffers[(start / 1000) % buffers.Length];
        t.Read(start, n, lines, vectors);
        var batch = new List<StoredRow>(n);
        for (var j = 0; j < n; j++)
        {
            var row = lines[j];
            batch.Add(new StoredRow
            {
                Id = row.Id,
                Text = row.Text,
                Vector = vectors.AsMemory(j * dim, dim),
                UserId = UserId.Parse(row.UserId),
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(row.CreatedAt),
                Readers = readers?.Invoke(start + j),
            });
        }

        if (pending.Count == inFlight)
        {
            written += await pending.Dequeue();
        }

        pending.Enqueue(c.UpsertAsync(batch));
    }

    while (pending.Count > 0)
    {
        written += await pending.Dequeue();
    }

    return written;
}

// Runs the write and read paths on a scratch tenant until the JIT has compiled them fully (tiered compilation
// starts every method unoptimised), then deletes it: what follows measures the engine, not the compiler.
static async Task WarmUp(StorageEngine engine, TenantData t, int dim)
{
    var c = await NewCollection(engine, "warmup", dim);
    var texts = new List<RowLine>();
    t.Read(0, Math.Min(t.Count, 50), texts, null);
    for (var round = 0; round < 20; round++)
    {
        await Ingest(c, t, dim, Math.Min(t.Count, 5_000));
        for (var q = 0; q < 50; q++)
        {
            var v = t.Queries.AsMemory((q % (t.Queries.Length / dim)) * dim, dim);
            _ = await c.SearchAsync(new SearchRequest { Vector = v, Text = texts[q % texts.Count].Text, K = 10, Mode = SearchMode.Hybrid });
        }

        await engine.CloseUnusedTenantsAsync();
    }

    await engine.DeleteTenantAsync(c.Tenant);
}

// A new tenant with one collection, "chunks", of dot-product vectors.
static async Task<TenantCollection> NewCollection(StorageEngine engine, string tenant, int dim)
{
    var id = TenantId.Parse(tenant);
    await engine.CreateTenantAsync(id);
    return await engine.Tenant(id).EnsureCollectionAsync(new CollectionSpec("chunks", dim, "bench", VectorMetric.Dot, QuantizationChoice.Value));
}

// Truth holds row indices (the order of rows.jsonl); hits carry the ids that rows.jsonl gave those rows.
static double Recall(IReadOnlyList<SearchHit> hits, int[] truth, TenantData t)
{
    var want = truth.Select(i => t.Ids[i]).ToHashSet();
    return hits.Count(h => want.Contains(h.Row.Id));
}

static double CurrentRssMb() => ReadStatus("VmRSS:");

static double PeakRssMb() => ReadStatus("VmHWM:");

static double ReadStatus(string field)
{
    var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
    return Math.Round(double.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) / 1024, 1);
}

static string CpuName() => File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() ?? "unknown";

/// <summary>The quantisation the benchmark's collections are created with (--quantization).</summary>
internal static class QuantizationChoice
{
    public static VectorQuantization Value { get; set; } = VectorQuantization.Int8;
}

/// <summary>Per-query latencies.</summary>
internal sealed class Lat
{
    private readonly List<double> _ms = [];
    private readonly Stopwatch _wall = new();

    public async Task<T> Time<T>(Func<Task<T>> work)
    {
        _wall.Start();
        var sw = Stopwatch.StartNew();
        var r = await work();
        _ms.Add(sw.Elapsed.TotalMilliseconds);
        _wall.Stop();
        return r;
    }

    public JsonObject Json(double? recall)
    {
        _ms.Sort();
        double P(double p) => Math.Round(_ms[Math.Min(_ms.Count - 1, (int)(p * _ms.Count))], 3);
        var j = new JsonObject { ["queries"] = _ms.Count, ["p50_ms"] = P(0.5), ["p95_ms"] = P(0.95), ["p99_ms"] = P(0.99), ["qps"] = Math.Round(_ms.Count / _wall.Elapsed.TotalSeconds) };
        if (recall is { } r)
        {
            j["recall_at_10"] = Math.Round(r, 4);
        }

        return j;
    }
}
