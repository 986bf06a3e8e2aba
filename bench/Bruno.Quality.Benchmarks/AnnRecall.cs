using System.Diagnostics;
using System.Text.Json.Nodes;
using Bruno.Core.Evaluation;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.Extensions.AI;

namespace Bruno.Quality.Benchmarks;

/// <summary>
/// HNSW recall on real embeddings: the corpus's chunks (MiniLM, 384 dimensions), the cases' questions as queries, the
/// retriever's own filter (chunks only), and each breadth's top 10 against the exact top 10. Run with a lowered ANN
/// threshold (<c>--ann-threshold</c>): the corpora are below the default, so without it every search is exact.
/// </summary>
internal static class AnnRecall
{
    private static readonly int[] Breadths = [16, 32, 64, 96, 128, 200];

    public static async Task<JsonObject> RunAsync(StorageEngine engine, TenantId tenant, string collection, IEmbeddingGenerator<string, Embedding<float>> embedder, IReadOnlyList<EvaluationCase> cases, string name)
    {
        var chunks = engine.Tenant(tenant).Collection(collection);
        var wait = Stopwatch.StartNew();
        await chunks.WaitForIndexAsync();
        var graph = await chunks.GraphStatusAsync();
        var questions = cases.Select(c => c.Question).Distinct(StringComparer.Ordinal).ToList();
        var vectors = (await embedder.GenerateAsync(questions)).Select(e => e.Vector).ToList();
        var filter = Filter.All.Where("kind", "chunk");
        var truth = new List<HashSet<string>>();
        foreach (var v in vectors)
        {
            var exact = await chunks.SearchAsync(new SearchRequest { Vector = v, K = 10, Exact = true, Filter = filter });
            truth.Add([.. exact.Select(h => h.Row.Id)]);
        }

        var sweep = new JsonArray();
        foreach (var ef in Breadths)
        {
            var found = 0;
            var wanted = 0;
            var latencies = new List<double>();
            for (var q = 0; q < vectors.Count; q++)
            {
                var started = Stopwatch.GetTimestamp();
                var hits = await chunks.SearchAsync(new SearchRequest { Vector = vectors[q], K = 10, Ef = ef, Filter = filter });
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                found += hits.Count(h => truth[q].Contains(h.Row.Id));
                wanted += truth[q].Count;
            }

            latencies.Sort();
            var recall = wanted == 0 ? 1 : (double)found / wanted;
            Console.WriteLine($"   ann ef {ef,3}: recall@10 {recall:F4}, p50 {latencies[latencies.Count / 2]:F2} ms ({vectors.Count} questions)");
            sweep.Add(new JsonObject { ["ef"] = ef, ["recall_at_10"] = Math.Round(recall, 4), ["p50_ms"] = Math.Round(latencies[latencies.Count / 2], 3) });
        }

        var rows = await chunks.CountAsync(filter);
        Console.WriteLine($"   {name}: {rows} chunks, graph of {graph.Nodes} nodes ready after {wait.Elapsed.TotalSeconds:F1} s");
        return new JsonObject { ["chunks"] = rows, ["graph_nodes"] = graph.Nodes, ["questions"] = vectors.Count, ["sweep"] = sweep };
    }
}
