using Bruno.Core.Cluster;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Core.Tests;

/// <summary>
/// Decision 0035: the request-limit budgets gateways share in the catalog. Slices of a window's budget are granted with
/// one conditional statement each, so their sum never exceeds the limit, however many ask at once.
/// </summary>
public sealed class LimitLedgerTests : IDisposable
{
    private static readonly TenantId Acme = TenantId.Parse("acme");
    private static readonly DateTimeOffset Noon = DateTimeOffset.Parse("2026-12-06T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-ledger-").FullName;
    private readonly List<CatalogDatabase> _open = [];

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    [Theory]
    [MemberData(nameof(Backends))]
    public void Slices_AreGrantedUntilTheLimit_TheLastOneSmaller_ThenNone_AndEachWindowHasItsOwnBudget(string backend)
    {
        var ledger = new LimitLedger(Database(backend).WithTenants("acme"), "gw-1");
        var end = Noon.AddMinutes(1);
        Assert.Equal(new LimitSlice(4, 4), ledger.Grant(Acme, "minute", end, 10, 4));
        Assert.Equal(new LimitSlice(4, 8), ledger.Grant(Acme, "minute", end, 10, 4));
        Assert.Equal(new LimitSlice(2, 10), ledger.Grant(Acme, "minute", end, 10, 4)); // what was left
        Assert.Equal(new LimitSlice(0, 10), ledger.Grant(Acme, "minute", end, 10, 4)); // spent
        Assert.Equal(10, ledger.Granted(Acme, "minute", end));

        // another budget and the next window start afresh; a wish larger than the limit gets the limit
        Assert.Equal(new LimitSlice(3, 3), ledger.Grant(Acme, "client/ann", end, 3, 5));
        Assert.Equal(new LimitSlice(4, 4), ledger.Grant(Acme, "minute", end.AddMinutes(1), 10, 4));

        // a limit raised in the window (a plan changed) grants what the new limit leaves
        Assert.Equal(new LimitSlice(2, 12), ledger.Grant(Acme, "minute", end, 12, 4));
    }

    [Fact]
    public async Task EightGatewaysAtOnce_AreNeverGrantedMoreThanTheLimit_AndTogetherGetAllOfIt()
    {
        var db = Database("postgres").WithTenants("acme");
        var end = Noon.AddHours(1);
        const int limit = 1_000;
        var gateways = Enumerable.Range(1, 8).Select(i => new LimitLedger(db, $"gw-{i}")).ToList();
        var got = await Task.WhenAll(gateways.Select(g => Task.Run(() =>
        {
            var tokens = 0;
            var asks = 0;
            while (true)
            {
                asks++;
                var slice = g.Grant(Acme, "hour", end, limit, 7 + (asks % 5)); // slices of several sizes, so that the last ones are partial
                Assert.InRange(slice.Total!.Value, tokens, limit);
                if (slice.Tokens == 0)
                {
                    return tokens;
                }

                tokens += slice.Tokens;
            }
        }, TestContext.Current.CancellationToken)));
        Assert.Equal(limit, got.Sum());
        Assert.Equal(limit, gateways[0].Granted(Acme, "hour", end));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(20, 1)]
    [InlineData(21, 2)]
    [InlineData(100, 5)]
    [InlineData(1_000, 50)]
    [InlineData(1_000_000, 1_000)]
    public void SliceSize_IsATwentiethOfTheLimit_AtLeastOne_AtMostAThousand(int limit, int slice) => Assert.Equal(slice, LimitLedger.SliceOf(limit));

    [Theory]
    [MemberData(nameof(Backends))]
    public void Gateways_RegisterAsLive_AndTheSweepDeletesEndedWindows_AndForgottenGateways(string backend)
    {
        var db = Database(backend).WithTenants("acme");
        var time = new FakeTimeProvider(Noon.AddSeconds(10));
        var (one, two) = (new LimitLedger(db, "gw-1", time), new LimitLedger(db, "gw-2", time));
        Assert.Equal(0, one.LiveGateways); // not registered yet: unknown
        Assert.Equal(1, one.Register());
        Assert.Equal(2, two.Register());
        time.Advance(LimitLedger.LiveFor + TimeSpan.FromSeconds(1));
        Assert.Equal(1, one.Register()); // gw-2 was not heard from

        one.Grant(Acme, "minute", Noon.AddMinutes(1), 10, 2);
        one.Grant(Acme, "minute", Noon.AddMinutes(3), 10, 2);
        one.Grant(Acme, "hour", Noon.AddHours(1), 100, 5);
        Assert.Equal(1, one.Sweep()); // now is 12:01:41: the minute that ended at 12:01 goes
        Assert.Equal(0, one.Granted(Acme, "minute", Noon.AddMinutes(1)));
        Assert.Equal(2, one.Granted(Acme, "minute", Noon.AddMinutes(3)));
        Assert.Equal(5, one.Granted(Acme, "hour", Noon.AddHours(1)));

        time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(2, one.Sweep());
        Assert.Equal(1, one.Register()); // gw-2's row went with the sweep: a day unseen
        Assert.Equal(1L, db.Query("SELECT COUNT(*) FROM limit_gateways;", r => Convert.ToInt64(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)).Single());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void TheTable_RefusesWhatNoGrantCouldWrite(string backend)
    {
        var db = Database(backend).WithTenants("acme");
        Assert.ThrowsAny<System.Data.Common.DbException>(() => db.Execute("INSERT INTO limit_windows VALUES ('acme', 'minute', 1, 2, 3);")); // a slice larger than the total
        Assert.ThrowsAny<System.Data.Common.DbException>(() => db.Execute("INSERT INTO limit_windows VALUES ('acme', '', 1, 2, 2);"));
        Assert.ThrowsAny<System.Data.Common.DbException>(() => db.Execute("INSERT INTO limit_windows VALUES ('ghost', 'minute', 1, 2, 2);")); // no such tenant
    }

    private CatalogDatabase Database(string backend)
    {
        var db = backend == "postgres" ? CatalogDatabase.Postgres(TestPostgres.NewDatabase()) : CatalogDatabase.Sqlite(Path.Combine(_root, $"{Guid.NewGuid():N}.db"));
        _open.Add(db);
        return db;
    }

    public void Dispose()
    {
        foreach (var db in _open)
        {
            db.Dispose();
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }
}
