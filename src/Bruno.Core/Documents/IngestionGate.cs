using System.Collections.Concurrent;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Documents;

/// <summary>
/// Too many documents are being read at once: <see cref="TenantLimit"/> when this tenant already has its share in
/// progress (HTTP 429), otherwise the whole process is busy (HTTP 503). Retry after <see cref="RetryAfter"/>.
/// </summary>
public sealed class IngestionBusyException(string message, bool tenantLimit, TimeSpan retryAfter) : Exception(message)
{
    /// <summary>Whether the tenant's own limit refused it (rather than the process's).</summary>
    public bool TenantLimit { get; } = tenantLimit;

    /// <summary>When to try again.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>
/// Runs the reading and embedding of documents off the request threads, bounded: at most
/// <see cref="IngestionOptions.EffectiveConcurrency"/> at once in the process, each on a thread of its own, and at most
/// <see cref="IngestionOptions.MaxConcurrentPerTenant"/> running or waiting per tenant. One tenant's uploads therefore
/// never hold more than its share of the slots, and never the threads that answer other tenants' questions. Throws
/// <see cref="IngestionBusyException"/> when the tenant's share is taken, when the queue is full, or when no slot
/// frees within <see cref="IngestionOptions.QueueSeconds"/>. Thread-safe.
/// </summary>
public sealed class IngestionGate : IDisposable
{
    private readonly IngestionOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentDictionary<TenantId, int> _perTenant = new();
    private int _queued;

    /// <summary>A gate with the process's settings.</summary>
    public IngestionGate(IOptions<BrunoOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value.Ingestion;
        _slots = new SemaphoreSlim(_options.EffectiveConcurrency, _options.EffectiveConcurrency);
    }

    /// <summary>Documents being read or embedded right now.</summary>
    public int Running => _options.EffectiveConcurrency - _slots.CurrentCount;

    /// <summary>Documents waiting for a slot.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>Runs <paramref name="work"/> for <paramref name="tenant"/> on a dedicated thread once a slot is free.</summary>
    public async Task<T> RunAsync<T>(TenantId tenant, Func<CancellationToken, T> work, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (_perTenant.AddOrUpdate(tenant, 1, (_, n) => n + 1) > _options.MaxConcurrentPerTenant)
        {
            Leave(tenant);
            throw new IngestionBusyException($"This tenant already has {_options.MaxConcurrentPerTenant} documents being processed; send the next when one is done.", tenantLimit: true, TimeSpan.FromSeconds(5));
        }

        try
        {
            if (!_slots.Wait(0, CancellationToken.None))
            {
                if (Interlocked.Increment(ref _queued) > _options.MaxQueued)
                {
                    Interlocked.Decrement(ref _queued);
                    throw Busy();
                }

                try
                {
                    if (!await _slots.WaitAsync(TimeSpan.FromSeconds(_options.QueueSeconds), ct))
                    {
                        throw Busy();
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref _queued);
                }
            }

            try
            {
                return await Task.Factory.StartNew(() => work(ct), ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            Leave(tenant);
        }
    }

    private IngestionBusyException Busy() =>
        new("The service is processing as many documents as it can; try again shortly.", tenantLimit: false, TimeSpan.FromSeconds(Math.Clamp(_options.QueueSeconds, 5, 60)));

    private void Leave(TenantId tenant)
    {
        if (_perTenant.AddOrUpdate(tenant, 0, (_, n) => n - 1) <= 0)
        {
            _perTenant.TryRemove(new KeyValuePair<TenantId, int>(tenant, 0));
        }
    }

    /// <inheritdoc />
    public void Dispose() => _slots.Dispose();
}
