using System.Collections.Concurrent;
using Bruno.Core;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Tenancy;

/// <summary>What a limit decided: allowed (with the client's minute budget for the headers), or refused and why.</summary>
internal sealed record LimitDecision(bool Allowed, string Level, int Limit, int Remaining, int ResetSeconds, TimeSpan RetryAfter, string Detail)
{
    /// <summary>This refusal started a penalty (it is recorded in the tenant's audit log once).</summary>
    public bool PenaltyStarted { get; init; }
}

/// <summary>
/// A tenant's request rates from its plan, checked in order: a penalty in force, the tenant's requests a minute, an hour
/// and a day, then the client's (user's or API key's) requests a minute, then requests in flight. Windows are fixed and
/// aligned to the clock (a minute starts at :00), so the reset instant in <c>X-RateLimit-Reset</c> is exact. A refused
/// request is not counted. The windows are counted by <see cref="LimitWindows"/> over a source of tokens: in one process
/// the process itself; on gateways the catalog, in slices, so that every gateway together admits at most the plan
/// (decision 0035; while the catalog is away each counts a fair share alone). Per process whatever the role: requests in
/// flight, and the penalty (a client that keeps calling past three times its minute limit, counted by this process, is
/// refused everything by it for five minutes). Never throws.
/// </summary>
internal sealed class RequestLimits(IOptions<BrunoOptions> options, TimeProvider time, ILimitTokens tokens)
{
    private static readonly TimeSpan Penalty = TimeSpan.FromMinutes(5);
    private static readonly (string Name, TimeSpan Length)[] TenantWindows = [("minute", TimeSpan.FromMinutes(1)), ("hour", TimeSpan.FromHours(1)), ("day", TimeSpan.FromDays(1))];

    private readonly LimitWindows _windows = new(tokens);
    private readonly ConcurrentDictionary<(string Key, long End), int> _attempts = new(); // a client's attempts per minute, keyed by its end
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _penalties = new(StringComparer.Ordinal);
    private long _lastSweep;

    /// <summary>Counts one request of <paramref name="caller"/> on plan <paramref name="plan"/>; on success the caller must <see cref="Release"/>.</summary>
    public LimitDecision TryAcquire(Caller caller, string plan)
    {
        var limits = options.Value.Plans.GetValueOrDefault(plan) ?? options.Value.Plans["default"];
        var now = time.GetUtcNow();
        Sweep(now);
        var tenant = caller.Tenant.Value;
        var client = $"{tenant}/{caller.User.Value}";
        var clientScope = "client/" + caller.User.Value;
        var clientReset = End(now, TimeSpan.FromMinutes(1));

        if (_penalties.TryGetValue(client, out var until) && until > now)
        {
            return Refuse("penalty", limits.ClientRequestsPerMinute, until, now, "This client went more than three times over its limit; it is refused everything for five minutes.");
        }

        // the client's attempts this minute, refused ones included, decide the penalty
        var attempts = _attempts.AddOrUpdate((client, clientReset.UtcTicks), 1, (_, n) => n + 1);
        if (attempts > 3 * limits.ClientRequestsPerMinute)
        {
            _penalties[client] = now + Penalty;
            return Refuse("penalty", limits.ClientRequestsPerMinute, now + Penalty, now, "This client went more than three times over its limit; it is refused everything for five minutes.") with { PenaltyStarted = true };
        }

        var taken = new List<(string Scope, DateTimeOffset End)>(4);
        void GiveBack()
        {
            foreach (var (scope, end) in taken)
            {
                _windows.GiveBack(caller.Tenant, scope, end);
            }
        }

        foreach (var (name, length) in TenantWindows)
        {
            var limit = name switch { "minute" => limits.RequestsPerMinute, "hour" => limits.RequestsPerHour, _ => limits.RequestsPerDay };
            var reset = End(now, length);
            if (!_windows.TryTake(caller.Tenant, name, reset, limit, out _))
            {
                GiveBack();
                return Refuse("tenant", limit, reset, now, $"The tenant's limit of {limit} requests a {name} is reached.");
            }

            taken.Add((name, reset));
        }

        if (!_windows.TryTake(caller.Tenant, clientScope, clientReset, limits.ClientRequestsPerMinute, out var remaining))
        {
            GiveBack();
            return Refuse("client", limits.ClientRequestsPerMinute, clientReset, now, $"This client's limit of {limits.ClientRequestsPerMinute} requests a minute is reached.");
        }

        taken.Add((clientScope, clientReset));
        if (_inFlight.AddOrUpdate(tenant, 1, (_, n) => n + 1) > limits.Concurrent)
        {
            _inFlight.AddOrUpdate(tenant, 0, (_, n) => n - 1);
            GiveBack();
            return Refuse("concurrency", limits.Concurrent, now + TimeSpan.FromSeconds(1), now, $"The tenant's limit of {limits.Concurrent} requests at once is reached.");
        }

        return new LimitDecision(true, "client", limits.ClientRequestsPerMinute, remaining, Seconds(clientReset - now), TimeSpan.Zero, string.Empty);
    }

    /// <summary>Ends a request that <see cref="TryAcquire"/> allowed.</summary>
    public void Release(Caller caller) => _inFlight.AddOrUpdate(caller.Tenant.Value, 0, (_, n) => Math.Max(0, n - 1));

    /// <summary>The end of the fixed window of <paramref name="length"/> that holds <paramref name="now"/>.</summary>
    internal static DateTimeOffset End(DateTimeOffset now, TimeSpan length) =>
        new(((now.UtcTicks / length.Ticks) + 1) * length.Ticks, TimeSpan.Zero);

    private static LimitDecision Refuse(string level, int limit, DateTimeOffset reset, DateTimeOffset now, string detail)
    {
        var seconds = Math.Max(1, Seconds(reset - now));
        return new LimitDecision(false, level, limit, 0, seconds, TimeSpan.FromSeconds(seconds), $"{detail} Retry after {seconds} s.");
    }

    private static int Seconds(TimeSpan span) => (int)Math.Ceiling(span.TotalSeconds);

    /// <summary>Drops counters of windows that ended (at most once a minute).</summary>
    private void Sweep(DateTimeOffset now)
    {
        var minute = now.UtcTicks / TimeSpan.TicksPerMinute;
        if (Interlocked.Exchange(ref _lastSweep, minute) == minute)
        {
            return;
        }

        _windows.Sweep(now);
        foreach (var key in _attempts.Keys)
        {
            if (key.End <= now.UtcTicks)
            {
                _attempts.TryRemove(key, out _);
            }
        }

        foreach (var (client, until) in _penalties)
        {
            if (until <= now)
            {
                _penalties.TryRemove(client, out _);
            }
        }
    }
}
