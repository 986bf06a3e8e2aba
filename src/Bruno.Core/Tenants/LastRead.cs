using System.Collections.Concurrent;

namespace Bruno.Core.Tenants;

/// <summary>
/// What the catalog last answered for a key, to answer with while the catalog is away (decision 0033): a read that
/// fails as an outage (<see cref="CatalogDatabase.IsOutage"/>) returns the value read at most <see cref="CatalogDatabase.OutageGrace"/> ago;
/// otherwise the failure is thrown. A read that works replaces what is kept. At most 10,000 keys are kept.
/// </summary>
internal sealed class LastRead<TKey, TValue>(TimeProvider time)
    where TKey : notnull
{
    private const int MaxKept = 10_000;
    private readonly ConcurrentDictionary<TKey, (TValue Value, long At)> _kept = new();

    /// <summary>The value <paramref name="read"/> returns now, or during an outage the one kept for the key if recent enough.</summary>
    public TValue Get(TKey key, Func<TValue> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        try
        {
            var value = read();
            if (_kept.Count >= MaxKept)
            {
                _kept.Clear();
            }

            _kept[key] = (value, time.GetTimestamp());
            return value;
        }
        catch (Exception e) when (CatalogDatabase.IsOutage(e) && _kept.TryGetValue(key, out var kept) && time.GetElapsedTime(kept.At) <= CatalogDatabase.OutageGrace)
        {
            return kept.Value;
        }
    }

    /// <summary>Forgets everything kept (a change made through this process).</summary>
    public void Clear() => _kept.Clear();
}
