using System.Globalization;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Core.Cluster;

/// <summary>What one slice request got: <see cref="Tokens"/> granted now, and the tokens granted in the window so far
/// across every gateway (<see cref="Total"/>; null when unknown, e.g. counted alone while the catalog is away).</summary>
public readonly record struct LimitSlice(int Tokens, long? Total);

/// <summary>
/// The request-limit budgets gateways share in the catalog (table <c>limit_windows</c>, decision 0035). A budget is a
/// tenant's, named by its scope (<c>minute</c>, <c>hour</c>, <c>day</c>, <c>client/…</c>, <c>tool/…</c>), per fixed
/// window keyed by the window's end; each gateway takes slices of tokens from it with one conditional
/// <c>INSERT … ON CONFLICT DO UPDATE … WHERE granted &lt; limit</c>, so the tokens granted in a window never exceed the
/// limit, however many gateways ask at once. Also records which gateways are live (<c>limit_gateways</c>) and deletes
/// windows that ended.
/// </summary>
/// <remarks>
/// Every method runs one or two statements through <see cref="CatalogDatabase"/>: a catalog outage throws
/// <see cref="CatalogUnavailableException"/>, any other database failure a <see cref="System.Data.Common.DbException"/>;
/// callers decide what to do without the catalog (the server's limits count a fair share alone).
/// </remarks>
public sealed class LimitLedger(CatalogDatabase db, string gateway, TimeProvider? time = null)
{
    /// <summary>The largest slice a gateway takes at once.</summary>
    public const int MaxSlice = 1_000;

    /// <summary>A gateway that has not registered for this long is no longer counted as live.</summary>
    public static readonly TimeSpan LiveFor = TimeSpan.FromSeconds(90);

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private int _liveGateways;

    /// <summary>This gateway's name (<see cref="ClusterOptions.InstanceName"/>).</summary>
    public string Gateway { get; } = gateway;

    /// <summary>The gateways seen live at the last <see cref="Register"/> (this one included); 0 before it ran.</summary>
    public int LiveGateways => Volatile.Read(ref _liveGateways);

    /// <summary>
    /// The slice a gateway takes of a budget of <paramref name="limit"/> tokens: a twentieth of it, at least 1 and at most
    /// <see cref="MaxSlice"/>. Small limits take small slices (a gateway holding unused tokens starves the others little),
    /// large ones fewer round trips.
    /// </summary>
    public static int SliceOf(int limit) => Math.Clamp((limit + 19) / 20, 1, MaxSlice);

    /// <summary>
    /// Grants up to <paramref name="wanted"/> tokens of <paramref name="tenant"/>'s budget <paramref name="scope"/> in the
    /// window ending at <paramref name="windowEnd"/>, whose limit is <paramref name="limit"/>: fewer when less is left,
    /// none when the window's budget is spent (then <see cref="LimitSlice.Total"/> is at least the limit). One statement.
    /// </summary>
    public LimitSlice Grant(TenantId tenant, string scope, DateTimeOffset windowEnd, int limit, int wanted)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(wanted, 1);
        var rows = db.Query(
            """
            INSERT INTO limit_windows(tenant, scope, window_end, granted, last_grant) VALUES (@t, @s, @end, @first, @first)
            ON CONFLICT (tenant, scope, window_end) DO UPDATE SET
              granted = limit_windows.granted + (CASE WHEN @want < @limit - limit_windows.granted THEN @want ELSE @limit - limit_windows.granted END),
              last_grant = (CASE WHEN @want < @limit - limit_windows.granted THEN @want ELSE @limit - limit_windows.granted END)
            WHERE limit_windows.granted < @limit
            RETURNING granted, last_grant;
            """,
            r => (Total: Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), Tokens: Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture)),
            ("@t", tenant.Value), ("@s", scope), ("@end", windowEnd.UtcTicks), ("@first", (long)Math.Min(wanted, limit)), ("@want", (long)wanted), ("@limit", (long)limit));
        return rows.Count == 0 ? new LimitSlice(0, limit) : new LimitSlice((int)rows[0].Tokens, rows[0].Total);
    }

    /// <summary>The tokens granted so far in a window (0 when none; tests and operators' checks).</summary>
    public long Granted(TenantId tenant, string scope, DateTimeOffset windowEnd) =>
        db.Query("SELECT granted FROM limit_windows WHERE tenant = @t AND scope = @s AND window_end = @end;", r => Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture),
            ("@t", tenant.Value), ("@s", scope), ("@end", windowEnd.UtcTicks)).SingleOrDefault();

    /// <summary>Records this gateway as live now and reads how many are (<see cref="LiveGateways"/>); returns that number.</summary>
    public int Register()
    {
        var now = _time.GetUtcNow().UtcTicks;
        db.Execute("INSERT INTO limit_gateways(name, seen_at) VALUES (@n, @now) ON CONFLICT (name) DO UPDATE SET seen_at = @now;", ("@n", Gateway), ("@now", now));
        var live = db.Query("SELECT COUNT(*) FROM limit_gateways WHERE seen_at >= @since;", r => Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), ("@since", now - LiveFor.Ticks)).Single();
        Volatile.Write(ref _liveGateways, Math.Max(1, live));
        return LiveGateways;
    }

    /// <summary>Deletes the windows that ended and gateways not seen for a day; returns the windows deleted.</summary>
    public int Sweep()
    {
        var now = _time.GetUtcNow().UtcTicks;
        db.Execute("DELETE FROM limit_gateways WHERE seen_at < @since;", ("@since", now - TimeSpan.TicksPerDay));
        return db.Execute("DELETE FROM limit_windows WHERE window_end <= @now;", ("@now", now));
    }
}
