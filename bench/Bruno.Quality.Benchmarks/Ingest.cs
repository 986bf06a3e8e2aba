using System.Diagnostics;
using System.Text.Json.Nodes;
using Bruno.Core.Documents;
using Bruno.Storage;
using Microsoft.Extensions.AI;

namespace Bruno.Quality.Benchmarks;

/// <summary>Ingests a corpus page by page (as a client uploading one file at a time would) and measures it against the
/// embedding model alone on the same chunk texts.</summary>
internal static class Ingest
{
    public static async Task<JsonObject> RunAsync(DocumentService documents, IEmbeddingGenerator<string, Embedding<float>> embedder, ITenantStore store, Corpus corpus, List<string> files)
    {
        var started = Stopwatch.GetTimestamp();
        var chunks = 0;
        var refused = new JsonArray();
        foreach (var file in files)
        {
            try
            {
                var info = await documents.PutFileAsync(store, Reader.Admin, new DocumentFile(corpus.IdOf(file), null, corpus.ContentType, await File.ReadAllBytesAsync(file)));
                chunks += info.Chunks;
            }
            catch (DocumentRejectedException e)
            {
                refused.Add($"{Path.GetFileName(file)}: {e.Message}");
            }
        }

        var ingest = Stopwatch.GetElapsedTime(started).TotalSeconds;
        // the model alone: the same chunk texts, in batches of 32 as the service sends them, nothing else
        var texts = new List<string>();
        var collection = await documents.CollectionAsync(store);
        foreach (var row in await collection.ReadAllAsync())
        {
            if (row.Metadata.TryGetValue("kind", out var k) && k.AsString == "chunk")
            {
                texts.Add(row.Text);
            }
        }

        started = Stopwatch.GetTimestamp();
        foreach (var batch in texts.Chunk(32))
        {
            await embedder.GenerateAsync(batch);
        }

        var model = Stopwatch.GetElapsedTime(started).TotalSeconds;
        Console.WriteLine($"   ingest: {files.Count} pages, {chunks} chunks in {ingest:F1} s ({chunks / ingest:F0} chunks/s); the model alone {model:F1} s ({texts.Count / model:F0} chunks/s): {ingest / model:F2}x");
        return new JsonObject
        {
            ["pages"] = files.Count,
            ["chunks"] = chunks,
            ["seconds"] = Math.Round(ingest, 2),
            ["model_seconds"] = Math.Round(model, 2),
            ["ratio_to_model"] = Math.Round(ingest / model, 3),
            ["refused"] = refused,
        };
    }
}
