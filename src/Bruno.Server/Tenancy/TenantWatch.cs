using System.Collections.Concurrent;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Server.Tenancy;

/// <summary>
/// Cuts a tenant's requests in flight when it is suspended or deleted: every request of a
/// tenant endpoint and of the MCP endpoint is tracked while it runs; a change made in this process cuts at once, and a
/// poll of the catalog every half second catches changes made by another process sharing it. A cut request's
/// cancellation token fires: a stream ends with an <c>error</c> event saying why, a request that has not answered yet
/// gets 403, and an MCP call's connection is closed.
/// </summary>
internal sealed class TenantWatch(TenantService tenants, ILogger<TenantWatch> logger) : BackgroundService
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);
    private readonly ConcurrentDictionary<TenantId, ConcurrentDictionary<TrackedRequest, byte>> _open = new();

    /// <summary>Tracks one request of <paramref name="tenant"/> until it is disposed; <paramref name="onCut"/> runs when the tenant is cut.</summary>
    public TrackedRequest Track(TenantId tenant, Action? onCut, CancellationToken requestAborted)
    {
        var request = new TrackedRequest(this, tenant, onCut, requestAborted);
        _open.GetOrAdd(tenant, _ => new()).TryAdd(request, 0);
        return request;
    }

    /// <summary>Cuts every open request of <paramref name="tenant"/> (its state just changed in this process).</summary>
    public void Cut(TenantId tenant)
    {
        if (_open.TryGetValue(tenant, out var requests))
        {
            foreach (var r in requests.Keys)
            {
                r.CutNow();
            }
        }
    }

    // a catalog that cannot be read cuts nothing: the poll is retried with backoff (Core.BackgroundLoop)
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Core.BackgroundLoop.RunAsync("tenant-watch", Poll, _ =>
        {
            foreach (var (tenant, requests) in _open)
            {
                if (requests.IsEmpty)
                {
                    _open.TryRemove(new KeyValuePair<TenantId, ConcurrentDictionary<TrackedRequest, byte>>(tenant, requests));
                }
                else if (tenants.Find(tenant)?.Status is null or TenantStatus.Suspended or TenantStatus.Deleting or TenantStatus.Deleted)
                {
                    Cut(tenant); // offloaded is not cut: its next request reactivates it
                }
            }

            return Task.CompletedTask;
        }, logger, TimeProvider.System, stoppingToken);

    private void Forget(TrackedRequest request)
    {
        if (_open.TryGetValue(request.Tenant, out var requests))
        {
            requests.TryRemove(request, out _);
        }
    }

    /// <summary>One request in flight: its token fires when the request ends or its tenant is cut.</summary>
    internal sealed class TrackedRequest : IDisposable
    {
        private readonly TenantWatch _watch;
        private readonly CancellationTokenSource _cts;
        private readonly Action? _onCut;
        private int _cut;

        public TrackedRequest(TenantWatch watch, TenantId tenant, Action? onCut, CancellationToken requestAborted)
        {
            (_watch, Tenant, _onCut) = (watch, tenant, onCut);
            _cts = CancellationTokenSource.CreateLinkedTokenSource(requestAborted);
        }

        public TenantId Tenant { get; }

        public CancellationToken Token => _cts.Token;

        /// <summary>True once the tenant was cut (not merely the client gone).</summary>
        public bool WasCut => Volatile.Read(ref _cut) == 1;

        public void CutNow()
        {
            if (Interlocked.Exchange(ref _cut, 1) == 0)
            {
                try
                {
                    _cts.Cancel();
                    _onCut?.Invoke();
                }
                catch (ObjectDisposedException)
                {
                    // the request just ended
                }
            }
        }

        public void Dispose()
        {
            _watch.Forget(this);
            _cts.Dispose();
        }
    }
}
