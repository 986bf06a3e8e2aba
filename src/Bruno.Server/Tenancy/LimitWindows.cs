using System.Collections.Concurrent;
using Bruno.Core.Cluster;
using Bruno.Storage.Identity;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Where the tokens of a tenant's fixed-window budgets come from (decision 0035): the process itself
/// (<see cref="LocalLimitTokens"/>, one process counts alone) or the catalog shared by gateways
/// (<see cref="CatalogLimitTokens"/>). Never throws: a source that cannot reach what it draws on counts alone.
/// </summary>
internal interface ILimitTokens
{
    /// <summary>Whether other processes draw on the same budgets (then a window's tokens come in slices).</summary>
    bool Shared { get; }

    /// <summary>How many tokens to ask for at once from a budget of <paramref name="limit"/>.</summary>
    int SliceOf(int limit);

    /// <summary>
    /// Grants up to <paramref name="wanted"/> tokens of <paramref name="tenant"/>'s budget <paramref name="scope"/> in the
    /// window ending at <paramref name="end"/>, whose limit is <paramref name="limit"/>, of which this process already
    /// holds <paramref name="held"/>. No tokens and a known total mean the window's budget is spent.
    /// </summary>
    LimitSlice Grant(TenantId tenant, string scope, DateTimeOffset end, int limit, int wanted, int held);
}

/// <summary>One process counts alone: the whole of a window's budget at once (what <see cref="RequestLimits"/> always did).</summary>
internal sealed class LocalLimitTokens : ILimitTokens
{
    public bool Shared => false;

    public int SliceOf(int limit) => limit;

    public LimitSlice Grant(TenantId tenant, string scope, DateTimeOffset end, int limit, int wanted, int held)
    {
        var tokens = Math.Max(0, Math.Min(wanted, limit - held));
        return new LimitSlice(tokens, held + tokens);
    }
}

/// <summary>
/// The counting of fixed, clock-aligned windows (a window is keyed by its end, so <c>X-RateLimit-Reset</c> is exact),
/// one budget per tenant, scope and window, over a source of tokens (<see cref="ILimitTokens"/>). A request takes a
/// token from what this process holds; when it holds none it asks the source for a slice, and a spent window is
/// remembered so that refusals cost no further round trip. A token taken for a request that a later level refused is
/// given back (<see cref="GiveBack"/>) and serves the next request. Tokens granted while the source counted alone
/// (<see cref="LimitSlice.Total"/> null: the catalog was away) are charged to the source when it answers again.
/// Never throws.
/// </summary>
internal sealed class LimitWindows(ILimitTokens tokens)
{
    private readonly ConcurrentDictionary<(TenantId Tenant, string Scope, long End), Budget> _budgets = new();

    /// <summary>Whether other processes share the budgets.</summary>
    public bool Shared => tokens.Shared;

    /// <summary>
    /// Takes one token of the budget; false when the window's budget is spent (as far as this process can know).
    /// <paramref name="remaining"/>: the tokens still free (not granted to any process, plus this one's unused).
    /// </summary>
    public bool TryTake(TenantId tenant, string scope, DateTimeOffset end, int limit, out int remaining)
    {
        var budget = _budgets.GetOrAdd((tenant, scope, end.UtcTicks), static _ => new Budget());
        lock (budget)
        {
            remaining = 0;
            if (budget.Used >= limit)
            {
                return false; // never more than the limit in one process, whatever it was granted under a larger one
            }

            if (budget.Used >= budget.Granted)
            {
                if (budget.SpentAt >= limit)
                {
                    return false;
                }

                var slice = tokens.Grant(tenant, scope, end, limit, tokens.SliceOf(limit) + budget.Owed, budget.Granted);
                var granted = slice.Tokens;
                if (slice.Total is { } total)
                {
                    var repaid = Math.Min(granted, budget.Owed); // tokens counted alone, now charged to the shared budget
                    (budget.Owed, granted, budget.Total) = (budget.Owed - repaid, granted - repaid, total);
                    if (total >= limit)
                    {
                        budget.SpentAt = limit; // nothing left to grant: once these are used, refuse without asking
                    }
                }
                else
                {
                    budget.Owed += granted;
                }

                budget.Granted += granted;
                if (budget.Used >= budget.Granted)
                {
                    return false;
                }
            }

            budget.Used++;
            remaining = Math.Max(0, limit - (int)Math.Min(int.MaxValue, budget.Total)) + (budget.Granted - budget.Used);
            remaining = Math.Min(remaining, limit - budget.Used);
            return true;
        }
    }

    /// <summary>Returns a token <see cref="TryTake"/> took for a request that was refused after all.</summary>
    public void GiveBack(TenantId tenant, string scope, DateTimeOffset end)
    {
        if (_budgets.TryGetValue((tenant, scope, end.UtcTicks), out var budget))
        {
            lock (budget)
            {
                budget.Used = Math.Max(0, budget.Used - 1);
            }
        }
    }

    /// <summary>Drops the budgets of windows that ended (their unused tokens lapse with the window).</summary>
    public void Sweep(DateTimeOffset now)
    {
        foreach (var key in _budgets.Keys)
        {
            if (key.End <= now.UtcTicks)
            {
                _budgets.TryRemove(key, out _);
            }
        }
    }

    private sealed class Budget
    {
        public int Granted;
        public int Used;
        public long Total;
        public int SpentAt;
        public int Owed;
    }
}
