using Bruno.Core.Documents;
using Bruno.Core.Metering;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Core.Tests;

/// <summary>
/// Metering on both catalog backends: replays and concurrent writers never count twice, hours and months aggregate,
/// the cost model reproduces the design's table, and the token and user quotas refuse at their limits.
/// </summary>
public sealed class MeteringTests : IDisposable
{
    private static readonly TenantId Acme = TenantId.Parse("acme");
    private static readonly TenantId Other = TenantId.Parse("other");
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-metering-").FullName;
    private readonly List<IDisposable> _disposables = [];
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 10, 30, 0, TimeSpan.Zero));

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    private CatalogDatabase Database(string backend)
    {
        var db = backend == "postgres" ? CatalogDatabase.Postgres(TestPostgres.NewDatabase()) : CatalogDatabase.Sqlite(Path.Combine(_root, $"catalog-{Guid.NewGuid():N}.db"));
        _disposables.Add(db);
        return db;
    }

    private UsageMeter Meter(CatalogDatabase db)
    {
        var meter = new UsageMeter(db, _time);
        _disposables.Add(meter);
        return meter;
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ReplaysAndConcurrentWriters_NeverCountTwice(string backend)
    {
        var db = Database(backend);
        var (first, second) = (Meter(db), Meter(db)); // two processes sharing one catalog
        var at = _time.GetUtcNow();
        var events = Enumerable.Range(0, 400).Select(i => new UsageEvent($"e{i}", i % 4 == 0 ? Other : Acme, UsageKinds.All[i % 6], 1 + (i % 7), at.AddMinutes(i % 50))).ToList();

        // every event sent four times: by two meters, from four threads at once, in different orders
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var meter = w % 2 == 0 ? first : second;
            foreach (var e in w < 2 ? events : Enumerable.Reverse(events))
            {
                meter.Record(e);
            }

            await meter.FlushAsync(TestContext.Current.CancellationToken);
        }, TestContext.Current.CancellationToken)));
        Assert.Equal(0, first.Write(events)); // and a straight replay adds nothing

        var expected = events.Where(e => e.Tenant == Acme).GroupBy(e => e.Kind).ToDictionary(g => g.Key, g => g.Sum(e => e.Quantity), StringComparer.Ordinal);
        var (start, end) = UsageMeter.Month("2026-11");
        Assert.Equal(UsageTotals.From(expected), first.Totals(Acme, start, end));
        Assert.Equal(UsageTotals.From(expected), second.Totals(Acme, start, end));

        // hours: the events spread over 10:30-11:19, so two hours
        var hours = first.Hours(Acme, start, end);
        Assert.Equal([new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 28, 11, 0, 0, TimeSpan.Zero)], hours.Select(h => h.Hour));
        Assert.Equal(expected[UsageKinds.Requests], hours.Sum(h => h.Usage.Requests));
        Assert.Equal(UsageTotals.Zero, first.Totals(Acme, start.AddMonths(1), end.AddMonths(1)));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Retention_PrunesOldRecords_OfOneTenant(string backend)
    {
        var meter = Meter(Database(backend));
        var old = _time.GetUtcNow().AddDays(-500);
        meter.Record(new UsageEvent("old", Acme, UsageKinds.Requests, 1, old));
        meter.Record(new UsageEvent("new", Acme, UsageKinds.Requests, 1, _time.GetUtcNow()));
        meter.Record(new UsageEvent("other-old", Other, UsageKinds.Requests, 1, old));
        await meter.FlushAsync(TestContext.Current.CancellationToken);
        Assert.Equal(2, meter.Prune(Acme, _time.GetUtcNow().AddDays(-400))); // its id and its hour
        Assert.Equal(1, meter.Totals(Acme, DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Requests);
        Assert.Equal(1, meter.Totals(Other, DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Requests);
    }

    [Fact]
    public void CostModel_ReproducesTheDesignsTable()
    {
        var prices = new CostOptions();
        var plan = new BrunoOptions().Plans["default"];
        var month = CostModel.Price(prices, plan, "kamaji", UsageTotals.Zero, CostOptions.HoursPerMonth, CostOptions.HoursPerMonth);
        Assert.Equal(8, month.Base);                     // control plane $5, observability $2, networking $1
        Assert.Equal(20, month.Compute, 0.01);           // worker share: 2 cores, 4 GiB
        Assert.Equal(5, month.Storage, 0.001);           // a 50 GiB volume
        Assert.Equal(33, month.Total, 0.01);             // "~$33/tenant/month" before LLM costs
        Assert.Equal(28, CostModel.Price(prices, plan, "namespace", UsageTotals.Zero, 730, 730).Total, 0.01);

        // the tiers: $50, $40, $35 and $33 a tenant
        var tiers = CostModel.Tiers(prices, plan, "kamaji", [10, 50, 100, 1000]);
        Assert.Equal([50.0, 40.0, 35.0, 33.0], tiers.Select(t => Math.Round(t.PerTenant)));
        Assert.Equal([500.0, 2000.0, 3500.0, 33000.0], tiers.Select(t => Math.Round(t.Total / 10) * 10));

        // half a month costs half the reserved lines; tokens and stored bytes are charged as used
        prices.LlmPromptPer1k = 0.5;
        prices.LlmCompletionPer1k = 1.5;
        var used = new UsageTotals(10, 10_000, 2_000, 0, 200L * (1L << 30) * 360, 0); // 200 GiB for 360 hours
        var half = CostModel.Price(prices, plan, "kamaji", used, 360, 720);
        Assert.Equal(4, half.Base);
        Assert.Equal(5 + 3, half.Llm);
        Assert.Equal(10, half.Storage, 0.001);           // 100 GiB-months stored beats the half volume
        Assert.Equal(half.Total * 2, half.ProjectedMonth, 0.001);
    }

    [Fact]
    public async Task LlmBudget_RefusesPastTheHourAndTheMonth()
    {
        var meter = Meter(Database("sqlite"));
        var budget = new LlmBudget(meter, _time);
        var plan = new PlanOptions { LlmTokensPerHour = 1_000, LlmTokensPerMonth = 2_500 };
        Assert.Equal(1_000, budget.EnsureAvailable(Acme, plan));

        meter.Record(new UsageEvent("a", Acme, UsageKinds.LlmPromptTokens, 900, _time.GetUtcNow()));
        Assert.Equal(100, budget.EnsureAvailable(Acme, plan)); // queued usage counts before it is written
        meter.Record(new UsageEvent("b", Acme, UsageKinds.LlmCompletionTokens, 100, _time.GetUtcNow()));
        await meter.FlushAsync(TestContext.Current.CancellationToken);
        var limited = Assert.Throws<RateLimitedException>(() => budget.EnsureAvailable(Acme, plan));
        Assert.Equal(("llm_tokens", TimeSpan.FromMinutes(30)), (limited.Level, limited.RetryAfter));
        Assert.Equal(1_000, budget.EnsureAvailable(Other, plan)); // another tenant is not touched

        _time.Advance(TimeSpan.FromHours(1));
        budget.EnsureAvailable(Acme, plan); // a new hour
        meter.Record(new UsageEvent("c", Acme, UsageKinds.LlmPromptTokens, 900, _time.GetUtcNow()));
        _time.Advance(TimeSpan.FromHours(1));
        meter.Record(new UsageEvent("d", Acme, UsageKinds.LlmPromptTokens, 700, _time.GetUtcNow()));
        var quota = Assert.Throws<QuotaExceededException>(() => budget.EnsureAvailable(Acme, plan));
        Assert.Equal("llm_tokens_month", quota.Quota);
        Assert.Contains("2026-12-01", quota.Message, StringComparison.Ordinal);

        _time.SetUtcNow(new DateTimeOffset(2026, 12, 1, 0, 0, 1, TimeSpan.Zero));
        Assert.Equal(1_000, budget.EnsureAvailable(Acme, plan)); // a new month
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Users_AreCountedUpToThePlan_MachinesAreNot(string backend)
    {
        var users = new TenantUsers(Database(backend).WithTenants("acme", "other"), _time); // users belong to known tenants (catalog schema 2)
        users.Admit(Acme, UserId.Parse("ann"), 2);
        users.Admit(Acme, UserId.Parse("bob"), 2);
        users.Admit(Acme, UserId.Parse("ann"), 2); // known: no change
        users.Admit(Acme, UserId.Parse("key:0123456789abcdef"), 2);
        var refused = Assert.Throws<QuotaExceededException>(() => users.Admit(Acme, UserId.Parse("cat"), 2));
        Assert.Equal(("users", 2L, 2L), (refused.Quota, refused.Limit, refused.Used));
        users.Admit(Other, UserId.Parse("cat"), 2); // another tenant's count is its own

        users.Remove(Acme, UserId.Parse("bob"));
        users.Admit(Acme, UserId.Parse("cat"), 2);
        Assert.Equal(2, users.Count(Acme));
    }

    public void Dispose()
    {
        foreach (var d in _disposables)
        {
            d.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }
}
