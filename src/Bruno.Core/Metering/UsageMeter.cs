using System.Collections.Concurrent;
using System.Data.Common;
using System.Globalization;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Core.Metering;

/// <summary>The kinds of billable events.</summary>
public static class UsageKinds
{
    /// <summary>An admitted request.</summary>
    public const string Requests = "requests";

    /// <summary>Prompt tokens sent to the language model.</summary>
    public const string LlmPromptTokens = "llm_prompt_tokens";

    /// <summary>Completion tokens the language model wrote.</summary>
    public const string LlmCompletionTokens = "llm_completion_tokens";

    /// <summary>Tokens embedded.</summary>
    public const string EmbeddingTokens = "embedding_tokens";

    /// <summary>The tenant's bytes on disk, sampled once an hour (summed: byte-hours).</summary>
    public const string StorageByteHours = "storage_byte_hours";

    /// <summary>CPU time, milliseconds.</summary>
    public const string CpuMilliseconds = "cpu_ms";

    /// <summary>Every kind, in report order.</summary>
    public static readonly IReadOnlyList<string> All = [Requests, LlmPromptTokens, LlmCompletionTokens, EmbeddingTokens, StorageByteHours, CpuMilliseconds];
}

/// <summary>
/// One billable event. <paramref name="Id"/> makes it idempotent: recording the same id again, from this process or
/// another sharing the catalog, never counts twice.
/// </summary>
/// <param name="Id">Idempotency id, 1-200 printable characters.</param>
/// <param name="Tenant">The tenant billed.</param>
/// <param name="Kind">One of <see cref="UsageKinds"/>.</param>
/// <param name="Quantity">How much (0 or more).</param>
/// <param name="At">When it happened (it is counted in that hour).</param>
public sealed record UsageEvent(string Id, TenantId Tenant, string Kind, long Quantity, DateTimeOffset At);

/// <summary>One hour of one tenant's usage.</summary>
public sealed record UsageHour(DateTimeOffset Hour, UsageTotals Usage);

/// <summary>
/// Records billable events in the catalog and aggregates them per tenant per hour (and so per month). Events are queued
/// in memory and written in batches by <see cref="FlushAsync"/> (a background job calls it every few seconds, and at
/// shutdown): a crash loses at most the unflushed batch, never double-counts. Each event's id goes into a ledger in the
/// same transaction as its hour's total, so a replay — a retried flush, a second process — adds nothing. Thread-safe.
/// Database failures surface as <see cref="DbException"/> from <see cref="FlushAsync"/>; the batch stays queued.
/// </summary>
public sealed class UsageMeter : IDisposable
{
    private readonly CatalogDatabase _db;
    private readonly TimeProvider _time;
    private readonly ConcurrentQueue<UsageEvent> _queue = new();
    private readonly SemaphoreSlim _flush = new(1, 1);
    private readonly ConcurrentDictionary<(TenantId, long Hour), long> _pendingLlm = new();

    /// <summary>The meter over <paramref name="db"/>, its tables made by <see cref="CatalogSchema"/>.</summary>
    public UsageMeter(CatalogDatabase db, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        (_db, _time) = (db, time ?? TimeProvider.System);
    }

    /// <summary>Events queued and not yet written.</summary>
    public int Pending => _queue.Count;

    /// <summary>Queues an event; throws <see cref="ArgumentException"/> for a bad id, kind or quantity.</summary>
    public void Record(UsageEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (string.IsNullOrEmpty(e.Id) || e.Id.Length > 200 || e.Id.Any(char.IsControl))
        {
            throw new ArgumentException("A usage event id is 1-200 printable characters.", nameof(e));
        }

        if (!UsageKinds.All.Contains(e.Kind, StringComparer.Ordinal) || e.Quantity < 0)
        {
            throw new ArgumentException("Unknown usage kind or negative quantity.", nameof(e));
        }

        _ = e.Tenant.Value;
        if (e.Quantity == 0)
        {
            return;
        }

        if (e.Kind is UsageKinds.LlmPromptTokens or UsageKinds.LlmCompletionTokens)
        {
            _pendingLlm.AddOrUpdate((e.Tenant, HourOf(e.At)), e.Quantity, (_, n) => n + e.Quantity);
        }

        _queue.Enqueue(e);
    }

    /// <summary>
    /// Attaches <paramref name="scope"/> to the tenant: the request is counted now, and each model call's tokens as they
    /// are counted, under ids derived from <paramref name="requestId"/> (unique per request), so a replay counts once.
    /// </summary>
    public void Attach(UsageScope scope, TenantId tenant, string requestId)
    {
        ArgumentNullException.ThrowIfNull(scope);
        Record(new UsageEvent($"{requestId}:req", tenant, UsageKinds.Requests, 1, _time.GetUtcNow()));
        var n = 0;
        scope.Attach((kind, quantity) => Record(new UsageEvent($"{requestId}:{kind}:{Interlocked.Increment(ref n)}", tenant, kind, quantity, _time.GetUtcNow())));
    }

    /// <summary>Writes every queued event (in batches of up to 500, one transaction each). Returns how many were new.</summary>
    public async Task<int> FlushAsync(CancellationToken ct = default)
    {
        await _flush.WaitAsync(ct);
        try
        {
            var counted = 0;
            while (!_queue.IsEmpty)
            {
                var batch = new List<UsageEvent>(500);
                while (batch.Count < 500 && _queue.TryPeek(out var e))
                {
                    batch.Add(e);
                    _queue.TryDequeue(out _);
                }

                try
                {
                    counted += Write(batch);
                }
                catch (DbException)
                {
                    foreach (var e in batch)
                    {
                        _queue.Enqueue(e); // kept for the next flush; ids make the retry safe
                    }

                    throw;
                }

                foreach (var e in batch.Where(e => e.Kind is UsageKinds.LlmPromptTokens or UsageKinds.LlmCompletionTokens))
                {
                    _pendingLlm.AddOrUpdate((e.Tenant, HourOf(e.At)), 0, (_, n) => n - e.Quantity);
                }
            }

            return counted;
        }
        finally
        {
            _flush.Release();
        }
    }

    /// <summary>
    /// Writes <paramref name="events"/> at once (idempotently); returns how many were new. For replays and tests. Rows
    /// are locked in one order (ids sorted, then hours), so concurrent writers of overlapping batches do not deadlock;
    /// a serialisation failure is retried.
    /// </summary>
    public int Write(IReadOnlyList<UsageEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var sorted = events.DistinctBy(e => e.Id).OrderBy(e => e.Id, StringComparer.Ordinal).ToList();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return WriteOnce(sorted);
            }
            catch (Npgsql.PostgresException e) when (attempt < 5 && e.SqlState is "40P01" or "40001")
            {
                // a deadlock or serialisation failure rolled the batch back: run it again
            }
        }
    }

    private int WriteOnce(List<UsageEvent> sorted)
    {
        using var c = _db.Open();
        using var tx = c.BeginTransaction();
        var fresh = new List<UsageEvent>();
        foreach (var e in sorted)
        {
            using var insert = CatalogDatabase.Command(c,
                "INSERT INTO usage_events(id, tenant, kind, quantity, at) VALUES (@id, @t, @k, @q, @a) ON CONFLICT (id) DO NOTHING;",
                ("@id", e.Id), ("@t", e.Tenant.Value), ("@k", e.Kind), ("@q", e.Quantity), ("@a", e.At.UtcTicks));
            insert.Transaction = tx;
            if (insert.ExecuteNonQuery() == 1)
            {
                fresh.Add(e); // seen before: not counted again
            }
        }

        foreach (var g in fresh.GroupBy(e => (Tenant: e.Tenant.Value, Hour: HourOf(e.At), e.Kind)).OrderBy(g => g.Key.Tenant, StringComparer.Ordinal).ThenBy(g => g.Key.Hour).ThenBy(g => g.Key.Kind, StringComparer.Ordinal))
        {
            using var add = CatalogDatabase.Command(c,
                "INSERT INTO usage_hourly(tenant, hour, kind, quantity) VALUES (@t, @h, @k, @q) ON CONFLICT (tenant, hour, kind) DO UPDATE SET quantity = usage_hourly.quantity + excluded.quantity;",
                ("@t", g.Key.Tenant), ("@h", g.Key.Hour), ("@k", g.Key.Kind), ("@q", g.Sum(e => e.Quantity)));
            add.Transaction = tx;
            add.ExecuteNonQuery();
        }

        tx.Commit();
        return fresh.Count;
    }

    /// <summary>The tenant's usage per hour in [<paramref name="from"/>, <paramref name="to"/>), hours with none left out.</summary>
    public IReadOnlyList<UsageHour> Hours(TenantId tenant, DateTimeOffset from, DateTimeOffset to)
    {
        var rows = _db.Query(
            "SELECT hour, kind, quantity FROM usage_hourly WHERE tenant = @t AND hour >= @f AND hour < @to ORDER BY hour;",
            r => (Hour: r.GetInt64(0), Kind: r.GetString(1), Quantity: r.GetInt64(2)),
            ("@t", tenant.Value), ("@f", from.UtcTicks), ("@to", to.UtcTicks));
        return [.. rows.GroupBy(r => r.Hour).Select(g => new UsageHour(new DateTimeOffset(g.Key, TimeSpan.Zero), UsageTotals.From(g.ToDictionary(r => r.Kind, r => r.Quantity, StringComparer.Ordinal))))];
    }

    /// <summary>The tenant's totals in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public UsageTotals Totals(TenantId tenant, DateTimeOffset from, DateTimeOffset to) => UsageTotals.From(_db.Query(
            "SELECT kind, SUM(quantity) FROM usage_hourly WHERE tenant = @t AND hour >= @f AND hour < @to GROUP BY kind;",
            r => (Kind: r.GetString(0), Quantity: Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture)),
            ("@t", tenant.Value), ("@f", from.UtcTicks), ("@to", to.UtcTicks))
        .ToDictionary(r => r.Kind, r => r.Quantity, StringComparer.Ordinal));

    /// <summary>LLM tokens (prompt and completion) of the tenant since <paramref name="from"/>, written or still queued.</summary>
    public long LlmTokensSince(TenantId tenant, DateTimeOffset from)
    {
        var written = Totals(tenant, from, DateTimeOffset.MaxValue);
        var queued = _pendingLlm.Where(p => p.Key.Item1 == tenant && p.Key.Hour >= HourOf(from)).Sum(p => p.Value);
        return written.LlmPromptTokens + written.LlmCompletionTokens + Math.Max(0, queued);
    }

    /// <summary>
    /// Removes records older than <paramref name="before"/> — idempotency ids and hourly totals — for one tenant (its
    /// retention). Returns the rows removed.
    /// </summary>
    public int Prune(TenantId tenant, DateTimeOffset before) =>
        _db.Execute("DELETE FROM usage_events WHERE tenant = @t AND at < @b;", ("@t", tenant.Value), ("@b", before.UtcTicks))
        + _db.Execute("DELETE FROM usage_hourly WHERE tenant = @t AND hour < @b;", ("@t", tenant.Value), ("@b", HourOf(before)));

    /// <summary>The start of the hour of <paramref name="at"/>, in ticks.</summary>
    public static long HourOf(DateTimeOffset at) => at.UtcTicks - (at.UtcTicks % TimeSpan.TicksPerHour);

    /// <summary>The month <c>yyyy-MM</c> as [start, end) in UTC; throws <see cref="ArgumentException"/> for anything else.</summary>
    public static (DateTimeOffset Start, DateTimeOffset End) Month(string month)
    {
        if (month is null || !DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var start))
        {
            throw new ArgumentException("month must be written yyyy-MM, e.g. 2026-11.");
        }

        var s = new DateTimeOffset(start.Year, start.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return (s, s.AddMonths(1));
    }

    /// <summary>The current time of the meter's clock.</summary>
    public DateTimeOffset Now => _time.GetUtcNow();

    /// <inheritdoc />
    public void Dispose() => _flush.Dispose();
}
