using System.Text.Json;
using System.Text.Json.Nodes;
using Bruno.Core;
using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Evaluation;
using Bruno.Core.Retrieval;
using Bruno.Quality.Benchmarks;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

// Answer-quality benchmark (see docs/benchmarks.md, "Answer quality"):
//   dotnet run -c Release --project bench/Bruno.Quality.Benchmarks -- [--corpus NAME|all] [--data DIR] [--out FILE]
// Ingests each corpus of bench/eval (third-party documentation a Debian package installs: python3-doc,
// postgresql-doc-15, debian-policy; apt-get install them first) page by page through the real ingestion path, then
// runs its cases (bench/eval/NAME/cases.jsonl) through Bruno's retrieval and extractive answer, and through a
// BM25-only and a dense-only baseline on the same chunks. Prints a table, writes JSON (default
// bench/results/quality.json). --data DIR keeps the ingested stores between runs (ingest is skipped when present).
// --final N and --rerank N override FinalCount and RerankCandidates; --min-relevance X the relevance bar.
// --ann-recall --ann-threshold N: instead of the cases' answers, HNSW recall@10 against exact search on the corpus's
// chunks (real embeddings), the cases' questions as queries, at several breadths (ef).
//   ... -- dump FILE [--chunks]        what extraction (and chunking) makes of one file
//   ... -- features --corpus NAME --data DIR --out FILE   candidate features and labels, for fitting the models
//   ... -- fit FILE...                 fits the re-ranker and confidence models on feature files, prints the weights
var argList = args.ToList();
string? Option(string name) => argList.IndexOf(name) is var i and >= 0 && i + 1 < argList.Count ? argList[i + 1] : null;

if (argList.Count >= 2 && argList[0] == "dump")
{
    return Tools.Dump(argList[1], argList.Contains("--chunks"));
}

if (argList.Count >= 3 && argList[0] == "ask")
{
    return await AskTool.RunAsync(argList[1], [.. argList.Skip(2)]);
}

if (argList.Count >= 2 && argList[0] == "fit")
{
    return Fitting.Run([.. argList.Skip(1)]);
}

var featuresMode = argList.Count > 0 && argList[0] == "features";
var corpusName = Option("--corpus") ?? "all";
var evalRoot = Path.GetFullPath("bench/eval");
if (!Directory.Exists(evalRoot))
{
    Console.Error.WriteLine("run from the repository root (bench/eval not found)");
    return 1;
}

var corpora = corpusName == "all" ? Directory.GetDirectories(evalRoot).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList() : [corpusName];
var dataRoot = Option("--data") is { } d ? Path.GetFullPath(d) : Path.Combine(Path.GetTempPath(), "bruno-quality-" + Guid.NewGuid().ToString("N"));
var keepData = Option("--data") is not null;
Directory.CreateDirectory(dataRoot);
using var masterKey = MasterKey.LoadOrCreate(Path.Combine(dataRoot, "master.key"));

var options = Options.Create(new BrunoOptions());
foreach (var (key, set) in new (string, Action<string>)[] { ("--final", v => options.Value.Retrieval.FinalCount = int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)), ("--rerank", v => options.Value.Retrieval.RerankCandidates = int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)) })
{
    if (Option(key) is { } value)
    {
        set(value);
    }
}

if (Option("--min-relevance") is { } bar)
{
    options.Value.Retrieval.MinRelevance = double.Parse(bar, System.Globalization.CultureInfo.InvariantCulture);
}

using var embedder = new MiniLmEmbeddingGenerator();
using var gate = new IngestionGate(options);
var documents = new DocumentService(embedder, options, gate);
var ask = new AskService(embedder, new Retriever(documents), options);
var evaluations = new EvaluationService(ask, documents);
// --ann-threshold N: collections above N rows search through HNSW (the corpora are below the default 20,000).
var storageOptions = new StorageEngineOptions { DataRoot = Path.Combine(dataRoot, "store"), MasterKey = masterKey };
if (Option("--ann-threshold") is { } threshold)
{
    storageOptions = new StorageEngineOptions { DataRoot = storageOptions.DataRoot, MasterKey = masterKey, AnnThreshold = int.Parse(threshold, System.Globalization.CultureInfo.InvariantCulture) };
}

await using var engine = new StorageEngine(storageOptions);

var result = new JsonObject
{
    ["date"] = DateTimeOffset.UtcNow.ToString("O"),
    ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["os"] = Environment.OSVersion.ToString(), ["runtime"] = Environment.Version.ToString() },
    ["settings"] = JsonSerializer.SerializeToNode(options.Value.Retrieval),
};
var corporaJson = new JsonObject();
result["corpora"] = corporaJson;
var featureRows = new List<string>();
foreach (var name in corpora)
{
    var folder = Path.Combine(evalRoot, name!);
    var corpus = Corpus.Load(folder);
    var cases = Corpus.Cases(folder);
    var tenant = TenantId.Parse(("q-" + name).Replace('_', '-'));
    if (!engine.TenantExists(tenant))
    {
        await engine.CreateTenantAsync(tenant);
    }

    var store = engine.Tenant(tenant);
    var files = corpus.Files();
    if (files.Count == 0)
    {
        Console.Error.WriteLine($"{name}: no files under {corpus.Root}; install the Debian package {corpus.Package}");
        return 1;
    }

    var info = new JsonObject { ["package"] = corpus.Package, ["description"] = corpus.Description, ["pages"] = files.Count, ["cases"] = cases.Count };
    var present = new HashSet<string>(StringComparer.Ordinal);
    for (string? after = null; ;)
    {
        var page = await documents.ListAsync(store, Reader.Admin, after, 200);
        present.UnionWith(page.Select(p => p.Id));
        if (page.Count < 200)
        {
            break;
        }

        after = page[^1].Id;
    }

    var missing = files.Where(f => !present.Contains(corpus.IdOf(f))).ToList();
    if (missing.Count > 0)
    {
        info["ingest"] = await Ingest.RunAsync(documents, embedder, store, corpus, missing);
    }

    Console.WriteLine($"== {name}: {files.Count} pages, {cases.Count} cases ({cases.Count(c => !c.MustNotAnswer)} answerable)");
    if (argList.Contains("--misses"))
    {
        await Misses.RunAsync(ask, store, cases, options.Value.Retrieval);
        continue;
    }

    if (argList.Contains("--ann-recall"))
    {
        info["ann_recall"] = await AnnRecall.RunAsync(engine, tenant, documents.Spec.Name, embedder, cases, name!);
        corporaJson[name!] = info;
        continue;
    }

    if (featuresMode)
    {
        featureRows.AddRange(await Features.CollectAsync(ask, store, name!, cases, options.Value.Retrieval, argList.Contains("--sentence-vectors") ? embedder : null));
        continue;
    }

    var modes = new JsonObject();
    foreach (var (label, mode) in new[] { ("bruno", RankingMode.Reranked), ("bm25_only", RankingMode.KeywordOnly), ("dense_only", RankingMode.DenseOnly) })
    {
        var run = await evaluations.RunAsync(store, Reader.Admin, cases, options.Value.Retrieval, label, keep: false, mode);
        Report.Print(name!, label, run);
        if (mode == RankingMode.Reranked && Option("--explain") is { } explain)
        {
            await Explain.RunAsync(ask, store, run.Cases, cases, options.Value.Retrieval, int.Parse(explain, System.Globalization.CultureInfo.InvariantCulture));
        }
        modes[label] = Report.Json(run, includeCases: label == "bruno");
    }

    info["runs"] = modes;
    corporaJson[name!] = info;
}

if (featuresMode)
{
    var file = Option("--out") ?? "bench/results/features.jsonl";
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
    await File.WriteAllLinesAsync(file, featureRows);
    Console.WriteLine($"{featureRows.Count} rows -> {file}");
}
else
{
    var outFile = Path.GetFullPath(Option("--out") ?? "bench/results/quality.json");
    Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
    await File.WriteAllTextAsync(outFile, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    Console.WriteLine($"-> {outFile}");
}

if (!keepData)
{
    await engine.DisposeAsync();
    Directory.Delete(dataRoot, recursive: true);
}

return 0;
