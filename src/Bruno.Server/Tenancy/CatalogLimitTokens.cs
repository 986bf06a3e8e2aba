using System.Data.Common;
using Bruno.Core.Cluster;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Server.Tenancy;

/// <summary>
/// A gateway's tokens, in slices of the budgets every gateway shares in the catalog (<see cref="LimitLedger"/>,
/// decision 0035), so that all gateways together admit at most a plan's limit per window. When the catalog cannot grant
/// (an outage, or any database failure) the gateway counts alone for <see cref="RetryAfter"/> before asking again: it
/// may hold its fair share of each window, the limit divided by the gateways seen live (the whole limit when it never
/// learnt how many), counting what it already holds. Never throws: a failure is logged once (event 3501) and its end
/// once (3502), and no request fails because of it.
/// </summary>
internal sealed partial class CatalogLimitTokens(LimitLedger ledger, TimeProvider time, ILogger<CatalogLimitTokens> logger) : ILimitTokens
{
    /// <summary>How long a gateway counts alone after the catalog failed before it asks again.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private long _askAgainAt; // UTC ticks
    private int _alone;

    public bool Shared => true;

    /// <summary>Whether the gateway is counting alone (the catalog failed and has not granted since).</summary>
    public bool Alone => Volatile.Read(ref _alone) == 1;

    public int SliceOf(int limit) => LimitLedger.SliceOf(limit);

    public LimitSlice Grant(TenantId tenant, string scope, DateTimeOffset end, int limit, int wanted, int held)
    {
        var now = time.GetUtcNow();
        if (now.UtcTicks >= Interlocked.Read(ref _askAgainAt))
        {
            try
            {
                var slice = ledger.Grant(tenant, scope, end, limit, wanted);
                if (Interlocked.Exchange(ref _alone, 0) == 1)
                {
                    Rejoined(logger);
                }

                return slice;
            }
            catch (Exception e) when (e is CatalogUnavailableException or DbException or TimeoutException or InvalidOperationException)
            {
                Interlocked.Exchange(ref _askAgainAt, (now + RetryAfter).UtcTicks);
                if (Interlocked.Exchange(ref _alone, 1) == 0)
                {
                    CountingAlone(logger, ledger.LiveGateways, CatalogDatabase.IsOutage(e) ? "unreachable" : "failed", e.GetType().Name);
                }
            }
        }

        var share = FairShare(limit, ledger.LiveGateways);
        return new LimitSlice(Math.Max(0, Math.Min(wanted, share - held)), null);
    }

    /// <summary>What one gateway may admit of <paramref name="limit"/> alone: its share among <paramref name="gateways"/> (rounded up), or all of it when that number is unknown (0).</summary>
    public static int FairShare(int limit, int gateways) => gateways <= 1 ? limit : (limit + gateways - 1) / gateways;

    [LoggerMessage(EventId = 3501, Level = LogLevel.Warning, Message = "The catalog cannot grant request-limit tokens ({State}: {Error}); this gateway counts its fair share of each limit alone, among {Gateways} live gateways (0: unknown, the whole limit), and asks again every 5 s")]
    private static partial void CountingAlone(ILogger logger, int gateways, string state, string error);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Information, Message = "The catalog grants request-limit tokens again; this gateway shares the limits with the others")]
    private static partial void Rejoined(ILogger logger);
}
