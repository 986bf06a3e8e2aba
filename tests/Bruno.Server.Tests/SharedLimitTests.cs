using Bruno.Core;
using Bruno.Core.Cluster;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Server.Tests;

/// <summary>
/// Decision 0035: request limits that hold across gateways. Two <see cref="RequestLimits"/> over one PostgreSQL catalog
/// stand for two gateways; a fake clock decides the windows.
/// </summary>
public sealed class SharedLimitTests
{
    private static readonly TenantId Acme = TenantId.Parse("acme");

    [Fact]
    public void TwoGateways_AdmitTogetherAtMostThePlan_InEachWindow_AndTheClientsLimitToo()
    {
        using var db = CatalogDatabase.Postgres(TestPostgres.NewDatabase()).WithTenants("acme");
        var clock = Clock(seconds: 10);
        var gateways = new[] { Gateway(db, "gw-1", clock), Gateway(db, "gw-2", clock) };

        // 60 requests of seven users, spread over both gateways: 20 admitted, the others refused by the tenant's minute
        var decisions = Enumerable.Range(0, 60).Select(i => Call(gateways[i % 2], $"u{i % 7}", "twenty")).ToList();
        Assert.Equal(20, decisions.Count(d => d.Allowed));
        Assert.All(decisions.Where(d => !d.Allowed), d => Assert.Equal(("tenant", TimeSpan.FromSeconds(50)), (d.Level, d.RetryAfter)));
        Assert.True(decisions.Where((d, i) => d.Allowed && i % 2 == 1).Any(), "the second gateway admitted some");

        // the next minute has a budget of its own, the hour's counts both
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(20, Enumerable.Range(0, 60).Count(i => Call(gateways[i % 2], $"u{i % 7}", "twenty").Allowed));
        var ledger = new LimitLedger(db, "reader");
        Assert.Equal(100, ledger.Granted(Acme, "hour", RequestLimits.End(clock.GetUtcNow(), TimeSpan.FromHours(1)))); // one slice of 50 (1,000 / 20) each, of which 20 are used

        // a client's limit (5 a minute) across both gateways, with its remaining count in the headers
        clock.Advance(TimeSpan.FromMinutes(1));
        var ann = Enumerable.Range(0, 8).Select(i => Call(gateways[i % 2], "ann", "five-each")).ToList();
        Assert.Equal(5, ann.Count(d => d.Allowed));
        Assert.Equal([4, 3, 2, 1, 0], ann.Where(d => d.Allowed).Select(d => d.Remaining));
        Assert.All(ann.Skip(5), d => Assert.Equal("client", d.Level));
    }

    [Fact]
    public async Task EightTasksHammeringTwoGateways_AreAdmittedExactlyThePlan_NeverMore()
    {
        using var db = CatalogDatabase.Postgres(TestPostgres.NewDatabase()).WithTenants("acme");
        var clock = Clock(seconds: 5);
        var gateways = new[] { Gateway(db, "gw-1", clock), Gateway(db, "gw-2", clock) };
        var admitted = await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(
            () => Enumerable.Range(0, 60).Count(_ => Call(gateways[t % 2], $"u{t}", "hundred").Allowed),
            TestContext.Current.CancellationToken)));
        Assert.Equal(100, admitted.Sum()); // 480 attempts; slices of 5 never over-granted, and nothing is left unused at the end
        Assert.Equal(100, new LimitLedger(db, "reader").Granted(Acme, "minute", RequestLimits.End(clock.GetUtcNow(), TimeSpan.FromMinutes(1))));
    }

    [Fact]
    public async Task WhenTheCatalogStops_EachGatewayCountsItsFairShareAlone_WithoutFailing_AndRejoinsWhenItIsBack()
    {
        await using var pg = await OwnPostgres.StartAsync();
        using var db = CatalogDatabase.Postgres(pg.ConnectionString).WithTenants("acme");
        var clock = Clock(seconds: 10);
        var logs = new JsonLogCapture();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs));
        var (one, two) = (new LimitLedger(db, "gw-1", clock), new LimitLedger(db, "gw-2", clock));
        one.Register();
        two.Register();
        one.Register(); // both live: each one's fair share is half the limit
        var (a, tokensA) = Gateway(one, clock, factory);
        var (b, tokensB) = Gateway(two, clock, factory);
        Assert.Equal(4, Enumerable.Range(0, 4).Count(i => Call(a, $"u{i}", "twenty").Allowed));

        await pg.StopAsync();
        // a holds 4 of its share of 10: 6 more; b alone: 10; then the tenant's limit refuses (no exception, no 500)
        var duringA = Enumerable.Range(0, 12).Select(i => Call(a, $"u{i}", "twenty")).ToList();
        var duringB = Enumerable.Range(0, 12).Select(i => Call(b, $"u{i}", "twenty")).ToList();
        Assert.Equal((6, 10), (duringA.Count(d => d.Allowed), duringB.Count(d => d.Allowed)));
        Assert.All(duringA.Concat(duringB).Where(d => !d.Allowed), d => Assert.Equal("tenant", d.Level));
        Assert.True(tokensA.Alone && tokensB.Alone);
        Assert.Equal(2, logs.WithEventId(3501).Count); // once per gateway, not per request

        await pg.StartAgainAsync();
        clock.Advance(CatalogLimitTokens.RetryAfter); // the same minute: a gateway asks the catalog again after 5 s
        Assert.True(Call(a, "u1", "twenty").Allowed); // the catalog had granted 4: a's 6 counted alone are charged, 1 more is its
        Assert.False(tokensA.Alone);
        Assert.False(Call(b, "u1", "twenty").Allowed); // b's 10 are charged too: the window is spent
        Assert.Equal(2, logs.WithEventId(3502).Count); // each gateway, once
        Assert.Equal(20, one.Granted(Acme, "minute", RequestLimits.End(clock.GetUtcNow(), TimeSpan.FromMinutes(1))));

        // the next window is shared again, exactly
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(20, Enumerable.Range(0, 40).Count(i => Call(i % 2 == 0 ? a : b, $"u{i % 5}", "twenty").Allowed));
    }

    private static FakeTimeProvider Clock(int seconds)
    {
        var now = DateTimeOffset.UtcNow;
        return new FakeTimeProvider(now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerMinute)).AddMinutes(-5).AddSeconds(seconds));
    }

    private static IOptions<BrunoOptions> Plans()
    {
        var options = new BrunoOptions();
        options.Plans["twenty"] = new PlanOptions { RequestsPerMinute = 20, RequestsPerHour = 1_000, RequestsPerDay = 10_000, Concurrent = 1_000, ClientRequestsPerMinute = 1_000 };
        options.Plans["five-each"] = new PlanOptions { RequestsPerMinute = 1_000, RequestsPerHour = 1_000, RequestsPerDay = 10_000, Concurrent = 1_000, ClientRequestsPerMinute = 5 };
        options.Plans["hundred"] = new PlanOptions { RequestsPerMinute = 100, RequestsPerHour = 10_000, RequestsPerDay = 100_000, Concurrent = 1_000, ClientRequestsPerMinute = 1_000 };
        return Options.Create(options);
    }

    private static RequestLimits Gateway(CatalogDatabase db, string name, TimeProvider clock) =>
        Gateway(new LimitLedger(db, name, clock), clock, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).Limits;

    private static (RequestLimits Limits, CatalogLimitTokens Tokens) Gateway(LimitLedger ledger, TimeProvider clock, ILoggerFactory logs)
    {
        var tokens = new CatalogLimitTokens(ledger, clock, logs.CreateLogger<CatalogLimitTokens>());
        return (new RequestLimits(Plans(), clock, tokens), tokens);
    }

    /// <summary>One request: admitted ones end at once (what the response's completion does).</summary>
    private static LimitDecision Call(RequestLimits limits, string user, string plan)
    {
        var caller = new Caller(Acme, UserId.Parse(user), new HashSet<string>());
        var decision = limits.TryAcquire(caller, plan);
        if (decision.Allowed)
        {
            limits.Release(caller);
        }

        return decision;
    }
}
