using System.Diagnostics;
using System.Numerics.Tensors;
using System.Text;
using Bruno.Core.Documents;
using Bruno.Storage;
using Bruno.Storage.Model;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Agents;

/// <summary>A question.</summary>
public sealed record Question(string Query, string? SessionId = null, int? TopK = null);

/// <summary>A passage an answer cites, numbered as in the answer's <c>[n]</c> markers.</summary>
public sealed record Source(int N, string DocumentId, string Title, string Section, string ChunkId, double Score, string Snippet);

/// <summary>Token counts of a generated answer (zero for the extractive answerer).</summary>
public sealed record Usage(int PromptTokens, int CompletionTokens);

/// <summary>An answer with its sources.</summary>
public sealed record Answer(string Text, IReadOnlyList<Source> Sources, double Confidence, string Model, string SessionId, Usage Usage, string? TraceId);

/// <summary>
/// Answers questions from a tenant's knowledge: dense and BM25 candidates (top 20 each) fused by reciprocal rank
/// (k = 60), near-duplicates dropped (cosine &gt; 0.95), the best 5 kept, then an answer composed from them with
/// <c>[n]</c> citations. Without a chat model the answer is extractive (the best sentences of the passages). Throws
/// <see cref="ArgumentException"/> for an empty or over-long question.
/// </summary>
public sealed class AskService(IEmbeddingGenerator<string, Embedding<float>> embedder, DocumentService documents, IOptions<BrunoOptions> options)
{
    /// <summary>Longest question, in characters.</summary>
    public const int MaxQuestionLength = 4_000;

    /// <summary>Model name reported by the extractive answerer.</summary>
    public const string ExtractiveModel = "extractive";

    /// <summary>Retrieves the passages for <paramref name="question"/> and composes the answer.</summary>
    public async Task<Answer> AskAsync(TenantStore store, Question question, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(question);
        var text = question.Query?.Trim() ?? string.Empty;
        if (text.Length is 0 or > MaxQuestionLength || text.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A question has 1-{MaxQuestionLength} characters.");
        }

        var session = question.SessionId ?? Guid.NewGuid().ToString("N");
        var passages = await RetrieveAsync(store, text, question.TopK, ct);
        var (answer, confidence) = Extractive(text, passages);
        return new Answer(answer, passages.Select(p => p.Source).ToList(), confidence, ExtractiveModel, session, new Usage(0, 0), Activity.Current?.TraceId.ToString());
    }

    /// <summary>The passages an answer would use, best first, numbered from 1.</summary>
    public async Task<IReadOnlyList<Passage>> RetrieveAsync(TenantStore store, string query, int? topK, CancellationToken ct = default)
    {
        var opts = options.Value.Retrieval;
        var final = Math.Clamp(topK ?? opts.FinalCount, 1, opts.CandidatesPerList);
        var vector = (await embedder.GenerateAsync([query], cancellationToken: ct))[0].Vector;
        var collection = await store.EnsureCollectionAsync(documents.Spec);
        var hits = await collection.SearchAsync(new SearchRequest
        {
            Mode = SearchMode.Hybrid,
            Vector = vector,
            Text = query,
            K = opts.CandidatesPerList,
            CandidatesPerList = opts.CandidatesPerList,
            RrfK = opts.RrfK,
            Filter = Filter.All.Where("kind", "chunk"),
        });

        var kept = new List<SearchHit>();
        foreach (var hit in hits)
        {
            if (kept.Count == final)
            {
                break;
            }

            if (kept.All(k => TensorPrimitives.CosineSimilarity(k.Row.Vector.Span, hit.Row.Vector.Span) <= opts.DuplicateSimilarity))
            {
                kept.Add(hit);
            }
        }

        // The context budget (characters / 4 tokens) bounds what the answer may draw from.
        var budget = opts.ContextTokens * 4;
        var passages = new List<Passage>();
        foreach (var hit in kept)
        {
            if (budget <= 0)
            {
                break;
            }

            var body = hit.Row.Text.Length <= budget ? hit.Row.Text : hit.Row.Text[..budget];
            budget -= body.Length;
            var m = hit.Row.Metadata;
            var n = passages.Count + 1;
            passages.Add(new Passage(body, new Source(n, m["document_id"].AsString, m["title"].AsString, m["section"].AsString, hit.Row.Id, Math.Round(hit.Score, 6), Snippet(body))));
        }

        return passages;
    }

    /// <summary>
    /// Picks, from the passages, the sentences that share the most words with the question (at most three, at least half
    /// as many shared words as the best, in passage order), each followed by its passage's citation. Confidence: the share of the question's words the answer covers.
    /// </summary>
    internal static (string Answer, double Confidence) Extractive(string question, IReadOnlyList<Passage> passages)
    {
        if (passages.Count == 0)
        {
            return ("I found nothing in this tenant's documents about that.", 0);
        }

        var asked = Words(question);
        var scored = new List<(double Score, int Overlap, int Passage, int Order, string Sentence)>();
        var order = 0;
        for (var p = 0; p < passages.Count; p++)
        {
            foreach (var sentence in Sentences(passages[p].Text))
            {
                if (sentence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length < 3)
                {
                    continue; // headings and fragments say nothing on their own
                }

                var words = Words(sentence);
                var overlap = asked.Count(words.Contains);
                scored.Add((overlap + (1.0 / (p + 2)), overlap, p, order++, sentence));
            }
        }

        if (scored.Count == 0)
        {
            return (passages[0].Source.Snippet + " [1]", 0);
        }

        // Sentences that share at least half as many words with the question as the best one does (at least one).
        var top = scored.Max(s => s.Overlap);
        var best = scored.Where(s => top == 0 || s.Overlap * 2 >= top).OrderByDescending(s => s.Score).Take(top == 0 ? 1 : 3).OrderBy(s => s.Order).ToList();
        var answer = new StringBuilder();
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in best)
        {
            answer.Append(s.Sentence.Trim()).Append(" [").Append(passages[s.Passage].Source.N).Append("] ");
            covered.UnionWith(Words(s.Sentence).Where(asked.Contains));
        }

        var confidence = asked.Count == 0 ? 0 : Math.Round((double)covered.Count / asked.Count, 2);
        return (answer.ToString().Trim(), confidence);
    }

    private static IReadOnlySet<string> Words(string text) => TextTerms.Of(text);

    private static IEnumerable<string> Sentences(string text)
    {
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' || (text[i] is '.' or '!' or '?' && (i + 1 == text.Length || char.IsWhiteSpace(text[i + 1]))))
            {
                if (i + 1 - start > 1)
                {
                    yield return text[start..(i + 1)];
                }

                start = i + 1;
            }
        }

        if (start < text.Length && text[start..].Trim().Length > 0)
        {
            yield return text[start..];
        }
    }

    private static string Snippet(string text) => text.Length <= 240 ? text : text[..240] + "…";
}

/// <summary>A retrieved passage with the source it is cited as.</summary>
public sealed record Passage(string Text, Source Source);
