using System.Text.Json;
using Bruno.Core.Agents;
using Bruno.Core.Evaluation;
using Bruno.Core.Retrieval;
using Bruno.Storage;

namespace Bruno.Quality.Benchmarks;

/// <summary>
/// Rows for fitting (one JSON object per line): every re-ranked candidate's features with its label (from an expected
/// document or not), and every case's answer signals (composed from its five best candidates whatever the bar) with
/// whether that answer holds the expected phrase.
/// </summary>
internal static class Features
{
    public static async Task<List<string>> CollectAsync(AskService ask, ITenantStore store, string corpus, List<EvaluationCase> cases, RetrievalOptions settings, Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>? sentenceEmbedder = null)
    {
        var rows = new List<string>();
        var open = new RetrievalOptions { CandidatesPerList = settings.CandidatesPerList, RrfK = settings.RrfK, RerankCandidates = settings.RerankCandidates, MinRelevance = 0, MinAnswerability = 0, FinalCount = settings.FinalCount, AnswerSentences = settings.AnswerSentences };
        foreach (var c in cases)
        {
            var (retrieval, queryVector) = await ask.RetrieveForEvaluationAsync(store, Reader.Admin, c.Question, open, RankingMode.Reranked);
            var expected = (c.ExpectedDocuments ?? []).ToHashSet(StringComparer.Ordinal);
            foreach (var candidate in retrieval.Ranked)
            {
                rows.Add(JsonSerializer.Serialize(new
                {
                    type = "passage",
                    corpus,
                    id = c.Id,
                    style = c.Style,
                    label = expected.Contains(candidate.DocumentId) ? 1 : 0,
                    phrase = c.ExpectedPhrase is { } p && candidate.Body.Contains(p, StringComparison.OrdinalIgnoreCase) ? 1 : 0,
                    x = candidate.Features.Vector(),
                }));
            }

            var candidates = ExtractiveAnswerer.Candidates(retrieval.Query, retrieval.Passages);
            var sentenceVectors = sentenceEmbedder is null || candidates.Count == 0 ? null : await sentenceEmbedder.GenerateAsync(candidates.Select(x => x.Text));
            for (var si = 0; si < candidates.Count; si++)
            {
                var sentence = candidates[si];
                var passage = retrieval.Passages[sentence.Passage];
                var sdense = sentenceVectors is null ? 0 : System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(queryVector.Span, sentenceVectors[si].Vector.Span);
                rows.Add(JsonSerializer.Serialize(new
                {
                    type = "sentence",
                    corpus,
                    id = c.Id,
                    style = c.Style,
                    label = c.ExpectedPhrase is { } p && expected.Contains(passage.DocumentId) && Collapse(sentence.Text).Contains(Collapse(p), StringComparison.OrdinalIgnoreCase) ? 1 : 0,
                    x = sentence.Features.Vector(),
                    sdense,
                }));
            }

            var response = AskService.Respond(retrieval, open);
            var composed = ExtractiveAnswerer.Compose(retrieval, open.AnswerSentences);
            var correct = !c.MustNotAnswer && c.ExpectedPhrase is { } phrase && Collapse(response.Text).Contains(Collapse(phrase), StringComparison.OrdinalIgnoreCase);
            rows.Add(JsonSerializer.Serialize(new
            {
                type = "answer",
                corpus,
                id = c.Id,
                style = c.Style,
                answerable = c.MustNotAnswer ? 0 : 1,
                correct = correct ? 1 : 0,
                top = retrieval.Ranked.Count == 0 ? 0 : retrieval.Ranked[0].Relevance,
                gate = AnswerabilityModel.Signals(retrieval.Query, retrieval.Ranked),
                x = composed.Signals.Vector(),
            }));
        }

        return rows;
    }

    private static string Collapse(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
}
