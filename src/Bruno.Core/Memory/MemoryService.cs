using System.Globalization;
using Bruno.Core.Documents;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;
using Microsoft.Extensions.AI;

namespace Bruno.Core.Memory;

/// <summary>
/// A user's memory: episodic turns (question, answer, sources, session, feedback), facts (explicit notes and facts
/// extracted from turns) and preferences (response style and format, with a strength that grows and decays). Each is a
/// row owned by that user, so sealed under the user's own key. Every method takes the user from the caller and filters
/// by it in the store; nothing here can read another user's rows, and nothing becomes tenant-wide except through
/// <see cref="PromoteFactAsync"/>. Erasure destroys the user's key.
/// Throws <see cref="ArgumentException"/> for empty or over-long text; storage failures surface as <see cref="StorageException"/>.
/// </summary>
public sealed partial class MemoryService(IEmbeddingGenerator<string, Embedding<float>> embedder, DocumentService documents, TimeProvider? time = null)
{
    /// <summary>Longest note or question kept, in characters.</summary>
    public const int MaxTextLength = 4_000;

    /// <summary>Longest feedback comment, in characters.</summary>
    public const int MaxCommentLength = 1_000;

    private const string Kind = "kind";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The memory collection for the configured embedding model (its name follows the knowledge collection's).</summary>
    public CollectionSpec Spec => documents.Spec with { Name = "memory_" + documents.Spec.Name[DocumentService.CollectionPrefix.Length..] };

    /// <summary>
    /// Stores an answered question as a turn of <paramref name="user"/>; returns its id. Preferences the question states
    /// ("please keep it short") are created or reinforced in the same write. <paramref name="preferencesUsed"/> are the
    /// ids of the preferences that shaped the answer: rating it up reinforces them.
    /// </summary>
    /// <remarks>The turn is indexed by the question's vector (already computed to answer it): similar questions find it.</remarks>
    public async Task<string> RecordTurnAsync(ITenantStore store, UserId user, string session, string question, string answer, IEnumerable<string> sources, ReadOnlyMemory<float> questionVector, IEnumerable<string>? preferencesUsed = null)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "record_turn", "episodic");
        var now = _time.GetUtcNow();
        var q = Clip(question);
        var meta = new Dictionary<string, MetadataValue>(StringComparer.Ordinal)
        {
            [Kind] = "turn",
            ["session"] = Clip(session, 200),
            ["sources"] = Clip(string.Join(' ', sources), 4_000),
            ["question_chars"] = q.Length,
        };
        if (preferencesUsed?.ToList() is { Count: > 0 } used)
        {
            meta["preferences"] = string.Join(' ', used);
        }

        var turn = new StoredRow { Id = "turn:" + Guid.NewGuid().ToString("N"), Text = $"Q: {q}\nA: {Clip(answer)}", Vector = questionVector, UserId = user, Metadata = meta, CreatedAt = now };
        var collection = await CollectionAsync(store);
        await collection.UpsertAsync([turn, .. await StatedPreferencesAsync(collection, user, q, now, Spec.Dimension)]);
        return turn.Id;
    }

    /// <summary>
    /// Stores an explicit note ("remember that ...") as a verified fact of <paramref name="user"/>; a note that states a
    /// fact ("my locker code is 4471") is kept as that fact, so saying it again updates one row. Preferences it states are
    /// created or reinforced.
    /// </summary>
    public async Task<MemoryItem> RememberAsync(ITenantStore store, UserId user, string text, CancellationToken ct = default)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "remember", "semantic");
        text = (text ?? string.Empty).Trim();
        if (text.Length is 0 or > MaxTextLength || text.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"A note has 1-{MaxTextLength} characters.");
        }

        var now = _time.GetUtcNow();
        var meta = new Dictionary<string, MetadataValue>(StringComparer.Ordinal) { [Kind] = "fact", ["source"] = "explicit", ["confidence"] = 1.0, ["verified"] = true, ["last_seen"] = now, ["mentions"] = 1.0 };
        var facts = MemoryExtraction.Facts(text);
        string id;
        if (facts.Count == 1)
        {
            var f = facts[0];
            (meta["subject"], meta["predicate"], meta["object"]) = (f.Subject, f.Predicate, f.Object);
            id = MemoryExtraction.StableId("fact:", user, f.Subject, f.Predicate, f.Object);
        }
        else
        {
            id = MemoryExtraction.StableId("fact:", user, text);
        }

        var row = new StoredRow { Id = id, Text = text, Vector = (await embedder.GenerateAsync([text], cancellationToken: ct))[0].Vector, UserId = user, Metadata = meta, CreatedAt = now };
        var collection = await CollectionAsync(store);
        await collection.UpsertAsync([row, .. await StatedPreferencesAsync(collection, user, text, now, Spec.Dimension)], ct);
        return Item(row, now);
    }

    /// <summary>The user's memories most related to <paramref name="query"/> (turns and facts), best first.</summary>
    public async Task<IReadOnlyList<MemoryItem>> RecallAsync(ITenantStore store, UserId user, string query, int k = 5, CancellationToken ct = default)
    {
        query = CheckQuery(query);
        var vector = (await embedder.GenerateAsync([query], cancellationToken: ct))[0].Vector;
        return await RecallAsync(store, user, query, vector, k);
    }

    /// <summary>As <see cref="RecallAsync(ITenantStore, UserId, string, int, CancellationToken)"/>, with the query's vector already computed (answering a question embeds it once).</summary>
    public async Task<IReadOnlyList<MemoryItem>> RecallAsync(ITenantStore store, UserId user, string query, ReadOnlyMemory<float> vector, int k = 5)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "recall", "all");
        var hits = await (await CollectionAsync(store)).SearchAsync(new SearchRequest
        {
            Mode = SearchMode.Hybrid,
            Vector = vector,
            Text = CheckQuery(query),
            K = Math.Clamp(k, 1, 50),
            Filter = Filter.ForUser(user).WhereIn(Kind, "turn", "fact"),
        });
        var now = _time.GetUtcNow();
        return [.. hits.Select(h => Item(h.Row, now))];
    }

    /// <summary>The last <paramref name="n"/> turns of the user's session, oldest first.</summary>
    public async Task<IReadOnlyList<MemoryItem>> RecentTurnsAsync(ITenantStore store, UserId user, string session, int n, CancellationToken ct = default)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "recent_turns", "episodic");
        ct.ThrowIfCancellationRequested();
        var turns = await (await CollectionAsync(store)).LatestAsync(Filter.ForUser(user).Where("session", Clip(session, 200)).Where(Kind, "turn"), Math.Clamp(n, 1, 50), ct); // the selective condition first
        var now = _time.GetUtcNow();
        return [.. turns.Reverse().Select(t => Item(t, now))];
    }

    /// <summary>The user's preferences in force now (strength at least the floor), strongest first, at most ten per kind.</summary>
    public async Task<IReadOnlyList<Preference>> PreferencesAsync(ITenantStore store, UserId user)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "preferences", "procedural");
        var rows = await (await CollectionAsync(store)).LatestAsync(Filter.ForUser(user).Where(Kind, "preference"), SearchRequest.MaxK);
        var now = _time.GetUtcNow();
        return [.. rows.Select(r => ToPreference(r, now))
            .Where(p => p.Strength >= PreferenceRules.Floor)
            .GroupBy(p => p.Kind, StringComparer.Ordinal)
            .SelectMany(g => g.OrderByDescending(p => p.Strength).Take(PreferenceRules.MaxPerKind))
            .OrderByDescending(p => p.Strength)];
    }

    /// <summary>
    /// Records the user's rating of one of their own answers (<paramref name="helpful"/>: up or down) with an optional
    /// comment. Rating up reinforces the preferences that shaped that answer. False when the user has no such turn.
    /// </summary>
    public async Task<bool> FeedbackAsync(ITenantStore store, UserId user, string turnId, bool helpful, string? comment = null)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "feedback", "episodic");
        comment = comment?.Trim();
        if (comment is { Length: > MaxCommentLength } || (comment?.Contains('\0', StringComparison.Ordinal) ?? false))
        {
            throw new ArgumentException($"A feedback comment has at most {MaxCommentLength} characters.");
        }

        if (!IdentifierRules.ValidateRowId(turnId).StartsWith("turn:", StringComparison.Ordinal))
        {
            return false;
        }

        var collection = await CollectionAsync(store);
        var turn = await collection.GetAsync(turnId);
        if (turn is null || turn.UserId != user)
        {
            return false; // another user's turn is answered as missing
        }

        var now = _time.GetUtcNow();
        var meta = new Dictionary<string, MetadataValue>(turn.Metadata, StringComparer.Ordinal) { ["feedback"] = helpful ? "up" : "down", ["feedback_at"] = now };
        meta.Remove("feedback_comment");
        if (!string.IsNullOrEmpty(comment))
        {
            meta["feedback_comment"] = comment;
        }

        var rows = new List<StoredRow> { turn with { Metadata = meta } };
        if (helpful && meta.TryGetValue("preferences", out var used) && used.Kind == MetadataKind.String)
        {
            foreach (var id in used.AsString.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (await collection.GetAsync(id) is { } pref && pref.UserId == user && KindOf(pref) == "preference")
                {
                    rows.Add(Reinforced(pref, now));
                }
            }
        }

        await collection.UpsertAsync(rows);
        return true;
    }

    /// <summary>Everything held about <paramref name="user"/>, by kind.</summary>
    public async Task<MemoryExport> ExportAsync(ITenantStore store, UserId user, CancellationToken ct = default)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "export", "all");
        var all = await AllAsync(await CollectionAsync(store), Filter.ForUser(user), ct);
        var now = _time.GetUtcNow();
        var items = all.Select(r => Item(r, now)).ToList();
        return new MemoryExport(
            user.Value,
            [.. items.Where(m => m.Kind == "turn").OrderBy(m => m.CreatedAt)],
            [.. items.Where(m => m.Kind == "fact").OrderBy(m => m.CreatedAt)],
            [.. items.Where(m => m.Kind == "preference").OrderBy(m => m.CreatedAt)]);
    }

    /// <summary>Deletes one memory of the user; false when the user has no memory with that id.</summary>
    public async Task<bool> ForgetAsync(ITenantStore store, UserId user, string id)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "forget", "all");
        var collection = await CollectionAsync(store);
        var row = await collection.GetAsync(IdentifierRules.ValidateRowId(id));
        if (row is null || row.UserId != user)
        {
            return false; // another user's memory is answered as missing
        }

        return await collection.DeleteAsync([id]) == 1;
    }

    /// <summary>Erases the user: destroys the user's key (every copy of their rows, backups included, becomes unreadable), then deletes the rows.</summary>
    public async Task<ErasureReceipt> EraseAsync(ITenantStore store, UserId user)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "erase", "all");
        var rows = await store.EraseUserAsync(user);
        return new ErasureReceipt(user.Value, rows, _time.GetUtcNow(), "the user's encryption key was destroyed, then the rows it sealed were deleted");
    }

    /// <summary>
    /// Copies one fact of <paramref name="user"/> into the tenant's knowledge as a document readable by
    /// <paramref name="access"/> (when null: the list of an earlier promotion of it, else the whole tenant), as <paramref name="promoter"/> may write it
    /// (<see cref="DocumentService.PutAsync"/>): the only way anything of a user's memory becomes shared. The fact stays
    /// in the user's memory. Returns the document, or null when the user has no such fact.
    /// </summary>
    public async Task<DocumentInfo?> PromoteFactAsync(ITenantStore store, UserId user, string factId, Viewer promoter, DocumentAccess? access = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(promoter);
        Telemetry.BrunoTelemetry.Memory(store.Id, "promote", "semantic");
        var collection = await CollectionAsync(store);
        var fact = await collection.GetAsync(IdentifierRules.ValidateRowId(factId), ct);
        if (fact is null || fact.UserId != user || KindOf(fact) != "fact")
        {
            return null;
        }

        // The document names neither the user nor the fact's id: only the statement itself becomes shared.
        var documentId = "fact-" + fact.Id["fact:".Length..];
        return await documents.PutAsync(
            store,
            promoter,
            new DocumentInput(documentId, "Promoted fact", "text/plain", fact.Text, new Dictionary<string, string>(StringComparer.Ordinal) { ["promoted_by"] = promoter.User.Value, ["source"] = "memory" })
            {
                Access = access,
            },
            ct);
    }

    /// <summary>
    /// Consolidates one tenant's memory, one user at a time: extracts facts from the turns created in
    /// (<paramref name="since"/>, <paramref name="until"/>], merges duplicate facts, decays preferences (dropping those
    /// below the floor and keeping the ten strongest per kind), and deletes turns and unconfirmed extracted facts older
    /// than the policy's retention. Each user's changes are one atomic write.
    /// </summary>
    public async Task<ConsolidationReport> ConsolidateAsync(ITenantStore store, Tenants.MemoryPolicy policy, DateTimeOffset since, DateTimeOffset until, CancellationToken ct = default)
    {
        Telemetry.BrunoTelemetry.Memory(store.Id, "consolidate", "all");
        ArgumentNullException.ThrowIfNull(policy);
        var collection = await CollectionAsync(store);
        var now = _time.GetUtcNow();
        var cutoff = now - TimeSpan.FromDays(policy.RetentionDays);
        var report = ConsolidationReport.Empty;
        foreach (var user in await collection.UsersAsync(ct))
        {
            ct.ThrowIfCancellationRequested();
            report = report.Add(await ConsolidateUserAsync(collection, user, since, until, cutoff, now, ct));
        }

        return report;
    }

    private async Task<ConsolidationReport> ConsolidateUserAsync(ITenantCollection collection, UserId user, DateTimeOffset since, DateTimeOffset until, DateTimeOffset cutoff, DateTimeOffset now, CancellationToken ct)
    {
        var mine = Filter.ForUser(user);
        var upserts = new Dictionary<string, StoredRow>(StringComparer.Ordinal);
        var deletes = new HashSet<string>(StringComparer.Ordinal);

        // 1. Facts stated in the new turns (the user's own words, not the answers).
        var turns = await AllAsync(collection, mine.Where(Kind, "turn").CreatedBetween(since.AddTicks(1), until.AddTicks(1)), ct);
        var stated = new List<(ExtractedFact Fact, StoredRow Turn)>();
        foreach (var turn in turns.OrderBy(t => t.CreatedAt))
        {
            stated.AddRange(MemoryExtraction.Facts(QuestionOf(turn)).Select(f => (f, turn)));
        }

        var facts = (await AllAsync(collection, mine.Where(Kind, "fact"), ct)).ToDictionary(f => f.Id, StringComparer.Ordinal);
        var extracted = 0;
        if (stated.Count > 0)
        {
            var vectors = await embedder.GenerateAsync(stated.Select(s => s.Fact.Text).Distinct(StringComparer.Ordinal).ToList(), cancellationToken: ct);
            var byText = vectors.Zip(stated.Select(s => s.Fact.Text).Distinct(StringComparer.Ordinal)).ToDictionary(p => p.Second, p => p.First.Vector, StringComparer.Ordinal);
            foreach (var (fact, turn) in stated)
            {
                var id = MemoryExtraction.StableId("fact:", user, fact.Subject, fact.Predicate, fact.Object);
                var row = facts.TryGetValue(id, out var known)
                    ? Supported(known, fact.Confidence, turn.CreatedAt)
                    : new StoredRow
                    {
                        Id = id,
                        Text = fact.Text,
                        Vector = byText[fact.Text],
                        UserId = user,
                        CreatedAt = turn.CreatedAt,
                        Metadata = new Dictionary<string, MetadataValue>(StringComparer.Ordinal)
                        {
                            [Kind] = "fact",
                            ["subject"] = fact.Subject,
                            ["predicate"] = fact.Predicate,
                            ["object"] = fact.Object,
                            ["confidence"] = fact.Confidence,
                            ["verified"] = false,
                            ["source"] = turn.Id,
                            ["last_seen"] = turn.CreatedAt,
                            ["mentions"] = 1.0,
                        },
                    };
                facts[id] = row;
                upserts[id] = row;
                extracted++;
            }
        }

        // 2. Duplicates: same subject and predicate and close in meaning. The newest statement's object survives (the
        // user said it last), with the support of the others.
        var merged = 0;
        var triples = facts.Values.Where(f => Str(f, "subject") is not null && Str(f, "predicate") is not null).ToList();
        foreach (var group in triples.GroupBy(f => (Str(f, "subject"), Str(f, "predicate"))))
        {
            var kept = new List<StoredRow>();
            foreach (var fact in group.OrderByDescending(LastSeen))
            {
                var same = kept.FindIndex(k => Cosine(k.Vector, fact.Vector) >= FactRules.DuplicateSimilarity);
                if (same < 0)
                {
                    kept.Add(fact);
                    continue;
                }

                kept[same] = Absorb(kept[same], fact);
                upserts[kept[same].Id] = kept[same];
                upserts.Remove(fact.Id);
                deletes.Add(fact.Id);
                facts.Remove(fact.Id);
                merged++;
            }
        }

        // 3. Retention: extracted facts nobody confirmed within the retention period go with the turns they came from.
        var factsExpired = 0;
        foreach (var fact in facts.Values.Where(f => !Bool(f, "verified") && LastSeen(f) < cutoff).ToList())
        {
            upserts.Remove(fact.Id);
            deletes.Add(fact.Id);
            factsExpired++;
        }

        // 4. Preferences decay; below the floor, or beyond the ten strongest of a kind, they are dropped.
        var (decayed, dropped) = (0, 0);
        var preferences = await collection.LatestAsync(mine.Where(Kind, "preference"), SearchRequest.MaxK, ct);
        foreach (var group in preferences.GroupBy(p => Str(p, "preference_kind") ?? string.Empty, StringComparer.Ordinal))
        {
            var ranked = group.Select(p => (Row: p, Strength: ToPreference(p, now).Strength)).OrderByDescending(p => p.Strength).ToList();
            for (var i = 0; i < ranked.Count; i++)
            {
                var (row, strength) = ranked[i];
                if (strength < PreferenceRules.Floor || i >= PreferenceRules.MaxPerKind)
                {
                    deletes.Add(row.Id);
                    dropped++;
                }
                else
                {
                    upserts[row.Id] = WithStrength(row, strength, now);
                    decayed++;
                }
            }
        }

        if (upserts.Count > 0 || deletes.Count > 0)
        {
            await collection.ReplaceAsync([.. upserts.Values], [.. deletes], ct);
        }

        // 5. Turns past retention.
        var old = mine.Where(Kind, "turn").CreatedBetween(null, cutoff);
        var turnsExpired = await collection.CountAsync(old, ct) > 0 ? await collection.DeleteWhereAsync(old, ct) : 0;

        return new ConsolidationReport(1, turns.Count, extracted, merged, decayed, dropped, turnsExpired, factsExpired);
    }

    /// <summary>Rows for the preferences <paramref name="text"/> states: new ones at the initial strength, known ones reinforced.</summary>
    private static async Task<List<StoredRow>> StatedPreferencesAsync(ITenantCollection collection, UserId user, string text, DateTimeOffset now, int dimension)
    {
        var rows = new List<StoredRow>();
        foreach (var p in MemoryExtraction.Preferences(text))
        {
            var id = MemoryExtraction.StableId("pref:", user, p.Kind, p.Value);
            var known = await collection.GetAsync(id);
            rows.Add(known is not null && known.UserId == user
                ? Reinforced(known, now)
                : new StoredRow
                {
                    Id = id,
                    Text = $"{p.Kind}: {p.Value}",
                    Vector = Unit(dimension), // never searched by meaning (recall leaves preferences out)
                    UserId = user,
                    CreatedAt = now,
                    Metadata = new Dictionary<string, MetadataValue>(StringComparer.Ordinal)
                    {
                        [Kind] = "preference",
                        ["preference_kind"] = p.Kind,
                        ["value"] = p.Value,
                        ["strength"] = PreferenceRules.Initial,
                        ["strength_at"] = now,
                        ["reinforcements"] = 0.0,
                    },
                });
        }

        return rows;
    }

    private static float[] Unit(int dimension)
    {
        var v = new float[dimension];
        v[0] = 1;
        return v;
    }

    private static StoredRow Reinforced(StoredRow pref, DateTimeOffset now)
    {
        var strength = Math.Min(1.0, ToPreference(pref, now).Strength * PreferenceRules.Reinforce);
        var row = WithStrength(pref, strength, now);
        ((Dictionary<string, MetadataValue>)row.Metadata)["reinforcements"] = Num(pref, "reinforcements") + 1;
        return row;
    }

    private static StoredRow WithStrength(StoredRow pref, double strength, DateTimeOffset now) =>
        pref with { Metadata = new Dictionary<string, MetadataValue>(pref.Metadata, StringComparer.Ordinal) { ["strength"] = Math.Round(strength, 6), ["strength_at"] = now } };

    private static Preference ToPreference(StoredRow row, DateTimeOffset now) => new(
        row.Id,
        Str(row, "preference_kind") ?? "unknown",
        Str(row, "value") ?? string.Empty,
        Math.Round(PreferenceRules.Decayed(Num(row, "strength"), row.Metadata.TryGetValue("strength_at", out var at) && at.Kind == MetadataKind.Time ? at.AsTime : row.CreatedAt, now), 4));

    /// <summary>A known fact stated again: more confident (×1.2, capped at 1) and verified.</summary>
    private static StoredRow Supported(StoredRow fact, double confidence, DateTimeOffset seen) =>
        fact with
        {
            Metadata = new Dictionary<string, MetadataValue>(fact.Metadata, StringComparer.Ordinal)
            {
                ["confidence"] = Math.Round(Math.Min(1.0, Math.Max(Num(fact, "confidence"), confidence) * FactRules.Support), 4),
                ["verified"] = true,
                ["last_seen"] = seen > LastSeen(fact) ? seen : LastSeen(fact),
                ["mentions"] = Num(fact, "mentions") + 1,
            },
        };

    /// <summary><paramref name="kept"/> (the newer) absorbing a duplicate: its support and its mentions.</summary>
    private static StoredRow Absorb(StoredRow kept, StoredRow duplicate)
    {
        var row = Supported(kept, Num(duplicate, "confidence"), LastSeen(duplicate));
        ((Dictionary<string, MetadataValue>)row.Metadata)["mentions"] = Num(kept, "mentions") + Num(duplicate, "mentions");
        if (Bool(duplicate, "verified") || Bool(kept, "verified"))
        {
            ((Dictionary<string, MetadataValue>)row.Metadata)["verified"] = true;
        }

        return row;
    }

    private static string QuestionOf(StoredRow turn)
    {
        var n = (int)Num(turn, "question_chars");
        return turn.Text.Length >= 3 + n ? turn.Text.Substring(3, n) : string.Empty;
    }

    private static async Task<List<StoredRow>> AllAsync(ITenantCollection collection, Filter filter, CancellationToken ct)
    {
        var rows = new List<StoredRow>();
        string? after = null;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var page = await collection.ListAsync(filter, after, 500, ct);
            rows.AddRange(page);
            if (page.Count < 500)
            {
                return rows;
            }

            after = page[^1].Id;
        }
    }

    private Task<ITenantCollection> CollectionAsync(ITenantStore store) => store.EnsureCollectionAsync(Spec);

    private static MemoryItem Item(StoredRow row, DateTimeOffset now)
    {
        var details = row.Metadata.Where(m => m.Key != Kind).ToDictionary(m => m.Key, m => Show(m.Value), StringComparer.Ordinal);
        if (KindOf(row) == "preference")
        {
            details["strength"] = ToPreference(row, now).Strength.ToString(CultureInfo.InvariantCulture); // as of now
        }

        return new MemoryItem(row.Id, KindOf(row), row.Text, row.CreatedAt, details);
    }

    private static string Show(MetadataValue v) => v.Kind switch
    {
        MetadataKind.Time => v.AsTime.ToString("O", CultureInfo.InvariantCulture),
        MetadataKind.Number => v.AsNumber.ToString(CultureInfo.InvariantCulture),
        MetadataKind.Bool => v.AsBool ? "true" : "false",
        _ => v.ToString() ?? string.Empty,
    };

    private static string KindOf(StoredRow row) => Str(row, Kind) ?? "unknown";

    private static string? Str(StoredRow row, string key) => row.Metadata.TryGetValue(key, out var v) && v.Kind == MetadataKind.String ? v.AsString : null;

    private static double Num(StoredRow row, string key) => row.Metadata.TryGetValue(key, out var v) && v.Kind == MetadataKind.Number ? v.AsNumber : 0;

    private static bool Bool(StoredRow row, string key) => row.Metadata.TryGetValue(key, out var v) && v.Kind == MetadataKind.Bool && v.AsBool;

    private static DateTimeOffset LastSeen(StoredRow row) => row.Metadata.TryGetValue("last_seen", out var v) && v.Kind == MetadataKind.Time ? v.AsTime : row.CreatedAt;

    private static double Cosine(ReadOnlyMemory<float> a, ReadOnlyMemory<float> b) =>
        a.Length == b.Length && a.Length > 0 ? System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a.Span, b.Span) : 0;

    private static string CheckQuery(string? query)
    {
        query = (query ?? string.Empty).Trim();
        return query.Length is 0 or > MaxTextLength ? throw new ArgumentException($"A recall query has 1-{MaxTextLength} characters.") : query;
    }

    private static string Clip(string text, int max = MaxTextLength) => text.Length <= max ? text : text[..max];
}
