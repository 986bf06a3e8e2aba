using Bruno.Core.Documents;
using Bruno.Storage;
using Bruno.Storage.Model;

namespace Bruno.Core.Retrieval;

/// <summary>How candidates are ranked: Bruno's re-ranked hybrid search, or one first-stage list alone (the baselines
/// an evaluation compares against; they are neither re-ranked nor gated).</summary>
public enum RankingMode
{
    /// <summary>Dense and BM25 candidates fused, re-ranked by <see cref="RelevanceModel"/>, gated by the relevance bar.</summary>
    Reranked,

    /// <summary>BM25 alone, in its own order, top passages taken as they come.</summary>
    KeywordOnly,

    /// <summary>Dense similarity alone, in its own order, top passages taken as they come.</summary>
    DenseOnly,
}

/// <summary>A retrieved passage: where it comes from, its body (without the chunk's context line), what the re-ranker
/// saw in it, and the probability that it is relevant.</summary>
public sealed record Candidate(string ChunkId, string DocumentId, string Title, string Section, int Page, string Body, PassageFeatures Features, double Relevance)
{
    /// <summary>The passage's analysed text.</summary>
    public required PassageText Analysed { get; init; }
}

/// <summary>What a retrieval found: the question's profile, every candidate best first, the passages that cleared the
/// bar (at most the configured number; for the baselines, their top candidates ungated), and the probability that the documents hold no
/// answer (<see cref="AnswerabilityModel"/>).</summary>
public sealed record RetrievalResult(QueryProfile Query, IReadOnlyList<Candidate> Ranked, IReadOnlyList<Candidate> Passages, double NoAnswer)
{
    /// <summary>Whether an answer may be given: some passage cleared the bar, and the documents likely hold one.</summary>
    public bool Answerable(RetrievalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Passages.Count > 0 && 1 - NoAnswer >= options.MinAnswerability;
    }
}

/// <summary>
/// Finds the passages for a question: the engine's hybrid search (dense and BM25 candidates fused by reciprocal rank)
/// brings <see cref="RetrievalOptions.RerankCandidates"/> candidates with the question's term statistics, and a dense
/// search of whole documents their similarity; each candidate is scored by <see cref="RelevanceModel"/>; identical
/// passages of one document collapse into one (never passages of different documents, however similar); the best that
/// clear <see cref="RetrievalOptions.MinRelevance"/> are kept, and whether the documents hold an answer at all is
/// judged by <see cref="AnswerabilityModel"/> (see <see cref="RetrievalResult.Answerable"/>).
/// Throws what the engine throws.
/// </summary>
public sealed class Retriever(DocumentService documents)
{
    /// <summary>Documents whose similarity to the question (as a whole) is looked up for the re-ranker.</summary>
    private const int DocumentCandidates = 50;

    /// <summary>
    /// Retrieves for <paramref name="question"/> (validated by the caller) embedded as <paramref name="vector"/>, from
    /// the documents <paramref name="viewer"/> may read: every search is pre-filtered by the engine on their access lists.
    /// </summary>
    public async Task<RetrievalResult> RetrieveAsync(ITenantStore store, Viewer viewer, string question, ReadOnlyMemory<float> vector, RetrievalOptions options, RankingMode mode = RankingMode.Reranked, Storage.Telemetry.SearchTimings? timings = null, int? finalCount = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(viewer);
        var collection = await documents.CollectionAsync(store);
        var chunks = viewer.Restrict(Filter.All.Where("kind", "chunk"));
        var statistics = new TermStatistics();
        var k = Math.Clamp(options.RerankCandidates, 1, SearchRequest.MaxK);
        var hits = await collection.SearchAsync(new SearchRequest
        {
            Mode = mode switch { RankingMode.KeywordOnly => SearchMode.FullText, RankingMode.DenseOnly => SearchMode.Vector, _ => SearchMode.Hybrid },
            Vector = vector,
            // BM25 over the question's content words ("how do I", "can you" and the like match every page); the
            // baselines search the question as it is, as plain BM25 and dense search would
            Text = mode == RankingMode.Reranked ? KeywordText(question) : question,
            K = k,
            CandidatesPerList = Math.Max(k, options.CandidatesPerList),
            RrfK = options.RrfK,
            Filter = chunks,
            Timings = timings,
            Statistics = statistics,
        }, ct);
        if (mode == RankingMode.DenseOnly)
        {
            // a dense search computes no term statistics; the features still need them
            await collection.SearchAsync(new SearchRequest { Mode = SearchMode.FullText, Text = question, K = 1, Filter = chunks, Statistics = statistics }, ct);
        }

        // the documents nearest the question as a whole (each document row holds the mean of its chunks)
        IReadOnlyList<SearchHit> nearestDocuments;
        using (Telemetry.BrunoTelemetry.Start("document_search", store.Id))
        {
            nearestDocuments = await collection.SearchAsync(new SearchRequest { Mode = SearchMode.Vector, Vector = vector, K = DocumentCandidates, Filter = viewer.Restrict(Filter.All.Where("kind", "document")) }, ct);
        }

        var documentScores = nearestDocuments.ToDictionary(h => h.Row.Metadata["document_id"].AsString, h => (double)h.Score, StringComparer.Ordinal);
        var floor = documentScores.Count == 0 ? 0 : documentScores.Values.Min();
        var perDocumentHits = hits.GroupBy(h => h.Row.Metadata["document_id"].AsString, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var query = QueryProfile.Build(question, statistics);
        var candidates = new List<Candidate>(hits.Count);
        var seen = new HashSet<(string, string)>();
        foreach (var hit in hits)
        {
            var m = hit.Row.Metadata;
            var documentId = m["document_id"].AsString;
            var text = hit.Row.Text;
            var at = m.TryGetValue("body_at", out var b) && b.Kind == MetadataKind.Number ? (int)b.AsNumber : 0;
            var body = at > 0 && at <= text.Length ? text[at..] : text;
            if (!seen.Add((documentId, Normalized(body))))
            {
                continue; // the same text twice in one document
            }

            var title = m["title"].AsString;
            var section = m["section"].AsString;
            var page = m.TryGetValue("page", out var p) && p.Kind == MetadataKind.Number ? (int)p.AsNumber : 0;
            var analysed = new PassageText(body, title, section);
            var fusion = mode == RankingMode.Reranked ? hit.Score * (options.RrfK + 1) / 2.0 : 0;
            var features = PassageFeatures.Of(query, vector.Span, hit.Row.Vector.Span, analysed, fusion, statistics.AverageLength) with
            {
                DocumentDense = documentScores.GetValueOrDefault(documentId, floor),
                Siblings = (double)perDocumentHits[documentId] / hits.Count,
            };
            candidates.Add(new Candidate(hit.Row.Id, documentId, title, section, page, body, features, RelevanceModel.Probability(features)) { Analysed = analysed });
        }

        var final = Math.Clamp(finalCount ?? options.FinalCount, 1, 50);
        if (mode != RankingMode.Reranked)
        {
            return new RetrievalResult(query, candidates, [.. candidates.Take(final)], AnswerabilityModel.NoAnswer(query, candidates));
        }

        var ranked = candidates.OrderByDescending(c => c.Relevance).ThenBy(c => c.ChunkId, StringComparer.Ordinal).ToList();
        var noAnswer = AnswerabilityModel.NoAnswer(query, ranked);
        // the best that clear the bar, however many come from one document: capping a document's share (three were
        // kept once) dropped the section that held the command asked for when one document held every good passage
        var passages = ranked.TakeWhile(c => c.Relevance >= options.MinRelevance).Take(final).ToList();
        return new RetrievalResult(query, ranked, passages, noAnswer);
    }

    /// <summary>The question without its function words (the whole question when nothing else is left).</summary>
    internal static string KeywordText(string question)
    {
        var words = Lexicon.Words(question).Where(w => !Lexicon.IsFunctionWord(w)).ToList();
        return words.Count == 0 ? question : string.Join(' ', words);
    }

    private static string Normalized(string text) => string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();
}
