using Bruno.Core.Documents;

namespace Bruno.Quality.Benchmarks;

/// <summary>Looking at what extraction and chunking make of one file.</summary>
internal static class Tools
{
    public static int Dump(string file, bool chunks)
    {
        var type = Path.GetExtension(file) switch { ".html" or ".htm" => "text/html", ".pdf" => "application/pdf", ".md" => "text/markdown", _ => "text/plain" };
        var doc = TextExtractor.Extract(File.ReadAllBytes(file), type, new IngestionOptions());
        Console.WriteLine($"TITLE: {doc.Title}");
        foreach (var (k, v) in doc.Metadata)
        {
            Console.WriteLine($"META {k} = {v}");
        }

        var pieces = Chunker.Split(doc, doc.Title ?? Path.GetFileNameWithoutExtension(file), 254, 32);
        if (chunks)
        {
            foreach (var c in pieces)
            {
                Console.WriteLine($"----- chunk {c.Position} [{c.Section}] p{c.Page} tokens~{Chunker.Tokens(c.Text)}");
                Console.WriteLine(c.Text);
            }
        }
        else
        {
            foreach (var b in doc.Blocks)
            {
                Console.WriteLine($"[{b.Kind}{(b.Level > 0 ? b.Level : "")}{(b.Page > 0 ? " p" + b.Page : "")}] {b.Text}");
            }
        }

        Console.WriteLine($"== {doc.Blocks.Count} blocks, {pieces.Count} chunks, {doc.Characters} chars");
        return 0;
    }
}

/// <summary>Ingests a folder into a temporary tenant and shows, for each question, the ranked candidates and the answer.</summary>
internal static class AskTool
{
    public static async Task<int> RunAsync(string folder, IReadOnlyList<string> questions)
    {
        var root = Path.Combine(Path.GetTempPath(), "bruno-ask-" + Guid.NewGuid().ToString("N"));
        var options = Microsoft.Extensions.Options.Options.Create(new Bruno.Core.BrunoOptions());
        using var embedder = new Bruno.Core.Embeddings.MiniLmEmbeddingGenerator();
        var documents = new DocumentService(embedder, options);
        var ask = new Bruno.Core.Agents.AskService(embedder, new Bruno.Core.Retrieval.Retriever(documents), options);
        await using var engine = new Bruno.Storage.StorageEngine(new Bruno.Storage.StorageEngineOptions { DataRoot = root, MasterKey = Bruno.Storage.Crypto.MasterKey.Generate() });
        var tenant = Bruno.Storage.Identity.TenantId.Parse("ask");
        await engine.CreateTenantAsync(tenant);
        var store = engine.Tenant(tenant);
        foreach (var file in Directory.GetFiles(folder, "*", SearchOption.AllDirectories).Where(f => f.EndsWith(".md", StringComparison.Ordinal) || f.EndsWith(".html", StringComparison.Ordinal)))
        {
            var type = file.EndsWith(".md", StringComparison.Ordinal) ? "text/markdown" : "text/html";
            var id = System.Text.RegularExpressions.Regex.Replace(Path.ChangeExtension(Path.GetRelativePath(folder, file), null)!.Replace('/', '.'), "[^A-Za-z0-9._-]", "-");
            await documents.PutFileAsync(store, Reader.Admin, new DocumentFile(id, null, type, await File.ReadAllBytesAsync(file)));
        }

        foreach (var q in questions)
        {
            var (retrieval, _) = await ask.RetrieveForEvaluationAsync(store, Reader.Admin, q, options.Value.Retrieval, Bruno.Core.Retrieval.RankingMode.Reranked);
            Console.WriteLine($"### {q}");
            foreach (var c in retrieval.Ranked.Take(8))
            {
                Console.WriteLine($"  {c.Relevance:0.000} {c.DocumentId} [{c.Section}] {string.Join(' ', c.Features.Vector().Select(v => v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))} :: {c.Body[..Math.Min(100, c.Body.Length)].ReplaceLineEndings(" ")}");
            }

            Console.WriteLine($"  passages {retrieval.Passages.Count} code? {retrieval.Query.AsksForCode}: {string.Join(" | ", retrieval.Passages.Select(p => p.Section))}");
            var response = Bruno.Core.Agents.AskService.Respond(retrieval, options.Value.Retrieval);
            Console.WriteLine($"  => answered {response.Answered} conf {response.Confidence:0.00}: {response.Text}");
        }

        Directory.Delete(root, recursive: true);
        return 0;
    }
}

/// <summary>Why answers missed: for failing answerable cases, the passages, where the expected phrase was, and the answer.</summary>
internal static class Explain
{
    public static async Task RunAsync(Bruno.Core.Agents.AskService ask, Bruno.Storage.ITenantStore store, IReadOnlyList<Bruno.Core.Evaluation.CaseResult> results, IReadOnlyList<Bruno.Core.Evaluation.EvaluationCase> cases, Bruno.Core.Retrieval.RetrievalOptions settings, int count)
    {
        var shown = 0;
        for (var i = 0; i < results.Count && shown < count; i++)
        {
            var r = results[i];
            var c = cases[i];
            if (r.Correct || c.ExpectedPhrase is null)
            {
                continue;
            }

            shown++;
            var (retrieval, _) = await ask.RetrieveForEvaluationAsync(store, Reader.Admin, c.Question, settings, Bruno.Core.Retrieval.RankingMode.Reranked);
            Console.WriteLine($"### {c.Id}: {c.Question}  [expect {string.Join(",", c.ExpectedDocuments ?? [])} '{c.ExpectedPhrase}']");
            foreach (var (p, n) in retrieval.Ranked.Take(6).Select((p, n) => (p, n)))
            {
                var has = p.Body.Contains(c.ExpectedPhrase, StringComparison.OrdinalIgnoreCase);
                var where = has ? Bruno.Core.Documents.Sentences.Split(p.Body.ReplaceLineEndings(" ")).FirstOrDefault(s => s.Contains(c.ExpectedPhrase, StringComparison.OrdinalIgnoreCase)) : null;
                Console.WriteLine($"  {(n < retrieval.Passages.Count ? "*" : " ")}{p.Relevance:0.00} {p.DocumentId}{(c.ExpectedDocuments!.Contains(p.DocumentId) ? "(+)" : string.Empty)} [{p.Section}] {(has ? "PHRASE: " + where?[..Math.Min(where.Length, 200)] : string.Empty)}");
            }

            Console.WriteLine($"  => {r.Answer.ReplaceLineEndings(" ")[..Math.Min(400, r.Answer.Length)]}");
        }
    }
}

/// <summary>Where the expected phrase sits in the passages when an answer misses it: prose, code, a table, the context line.</summary>
internal static class Misses
{
    public static async Task RunAsync(Bruno.Core.Agents.AskService ask, Bruno.Storage.ITenantStore store, IReadOnlyList<Bruno.Core.Evaluation.EvaluationCase> cases, Bruno.Core.Retrieval.RetrievalOptions settings)
    {
        var open = new Bruno.Core.Retrieval.RetrievalOptions { MinRelevance = 0, MinAnswerability = 0 };
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in cases.Where(c => c.ExpectedPhrase is not null))
        {
            var (retrieval, _) = await ask.RetrieveForEvaluationAsync(store, Reader.Admin, c.Question, open, Bruno.Core.Retrieval.RankingMode.Reranked);
            var response = Bruno.Core.Agents.AskService.Respond(retrieval, open);
            var phrase = c.ExpectedPhrase!;
            string where;
            if (response.Text.Contains(phrase, StringComparison.OrdinalIgnoreCase))
            {
                where = "in the answer";
            }
            else if (!retrieval.Passages.Any(p => (p.Title + " " + p.Section + "\n" + p.Body).Contains(phrase, StringComparison.OrdinalIgnoreCase)))
            {
                where = "not in the five passages";
            }
            else
            {
                var sentences = Bruno.Core.Agents.ExtractiveAnswerer.Candidates(retrieval.Query, retrieval.Passages);
                if (sentences.Any(s => s.Text.Contains(phrase, StringComparison.OrdinalIgnoreCase)))
                {
                    where = "in a quotable sentence not chosen";
                    if (Environment.GetEnvironmentVariable("BRUNO_SHOW_MISSES") == "1")
                    {
                        var ranked = sentences.OrderByDescending(x => x.Score).ToList();
                        var hit = ranked.FindIndex(x => x.Text.Contains(phrase, StringComparison.OrdinalIgnoreCase));
                        Console.WriteLine($"## {c.Question} ['{phrase}'] rank {hit + 1} of {ranked.Count}");
                        foreach (var x in ranked.Take(3).Append(ranked[hit]))
                        {
                            Console.WriteLine($"   {x.Score:0.00} p{x.Passage + 1} [{string.Join(' ', x.Features.Vector().Select(v => v.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))}] {x.Text[..Math.Min(150, x.Text.Length)]}");
                        }
                    }
                }
                else
                {
                    var body = string.Join("\n", retrieval.Passages.Select(p => p.Body));
                    var line = body.Split('\n').FirstOrDefault(l => l.Contains(phrase, StringComparison.OrdinalIgnoreCase)) ?? string.Empty;
                    where = line.StartsWith('|') ? "in a table row" : retrieval.Passages.Any(p => (p.Title + " " + p.Section).Contains(phrase, StringComparison.OrdinalIgnoreCase)) && !body.Contains(phrase, StringComparison.OrdinalIgnoreCase) ? "in a title or heading only" : "in code or a fragment";
                }
            }

            counts[where] = counts.GetValueOrDefault(where) + 1;
        }

        foreach (var (k, v) in counts.OrderByDescending(p => p.Value))
        {
            Console.WriteLine($"   {k}: {v}");
        }
    }
}
