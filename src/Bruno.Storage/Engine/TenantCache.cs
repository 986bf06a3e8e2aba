using Bruno.Storage.Identity;

namespace Bruno.Storage.Engine;

/// <summary>
/// Open tenants, least recently used first out. A tenant opens on first acquire (once, however many callers race),
/// stays open while leased, and closes when idle past the timeout or when more than the maximum are open. A tenant
/// being closed is reopened only after its close finished (the folder lock must be free). Create and delete run
/// exclusively: they wait for leases in flight to end and hold new ones back.
/// </summary>
internal sealed class TenantCache : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly EngineContext _ctx;
    private readonly int _maxOpen;
    private readonly TimeSpan _idle;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new();
    private readonly Dictionary<string, Task> _closing = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _exclusive = new(StringComparer.Ordinal);
    private readonly HashSet<string> _fenced = new(StringComparer.Ordinal);
    private readonly ITimer _timer;
    private bool _disposed;

    public TenantCache(EngineContext ctx, int maxOpen, TimeSpan idle)
    {
        (_ctx, _maxOpen, _idle) = (ctx, maxOpen, idle);
        Directory.CreateDirectory(ctx.FenceFolder, Dirs.OwnerOnly);
        foreach (var marker in Directory.EnumerateFiles(ctx.FenceFolder))
        {
            _fenced.Add(Path.GetFileName(marker));
        }

        var period = TimeSpan.FromTicks(Math.Clamp(idle.Ticks / 2, TimeSpan.FromSeconds(1).Ticks, TimeSpan.FromMinutes(1).Ticks));
        _timer = ctx.Time.CreateTimer(_ => CloseIdle(), null, period, period);
    }

    /// <summary>Whether writes to the tenant are fenced (it is being moved to another store node).</summary>
    public bool IsFenced(TenantId tenant)
    {
        lock (_gate)
        {
            return _fenced.Contains(tenant.Value);
        }
    }

    /// <summary>Throws <see cref="TenantFencedException"/> when writes to the tenant are fenced. Call while holding a lease.</summary>
    public void ThrowIfFenced(TenantId tenant)
    {
        if (IsFenced(tenant))
        {
            throw new TenantFencedException(tenant.Value);
        }
    }

    /// <summary>
    /// Fences or unfences the tenant's writes. Fencing records a marker on disk first (a restart keeps the fence), then
    /// waits for every operation in flight: when the task completes no write is running and none will start.
    /// </summary>
    public async Task SetFenceAsync(TenantId tenant, bool fenced)
    {
        var marker = Path.Combine(_ctx.FenceFolder, tenant.Value);
        if (fenced)
        {
            if (!File.Exists(marker))
            {
                Format.Durable.WriteNew(marker, []);
            }

            lock (_gate)
            {
                _fenced.Add(tenant.Value);
            }

            await RunExclusiveAsync(tenant, () => { }); // drains writes that passed the check before the fence
        }
        else
        {
            lock (_gate)
            {
                _fenced.Remove(tenant.Value);
            }

            File.Delete(marker);
            Format.Durable.SyncDirectory(_ctx.FenceFolder);
        }
    }

    /// <summary>
    /// Live rows of the tenant without opening it: an open tenant reports its count; a closed one is counted by
    /// <paramref name="countClosed"/> while no open can start. Null while it is being opened, closed or changed.
    /// </summary>
    public long? Rows(TenantId tenant, Func<long?> countClosed)
    {
        var key = tenant.Value;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var e))
            {
                return e.Opening.IsCompletedSuccessfully ? e.Opening.Result.Collections.Values.Sum(c => (long)c.LiveCount) : null;
            }

            if (_disposed || _exclusive.ContainsKey(key) || _closing.ContainsKey(key))
            {
                return null;
            }

            _exclusive[key] = done.Task; // acquires wait for it, like for a create or a delete
        }

        try
        {
            return countClosed();
        }
        finally
        {
            lock (_gate)
            {
                _exclusive.Remove(key);
            }

            done.SetResult();
        }
    }

    public int OpenCount
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public async Task<Lease> AcquireAsync(TenantId tenant, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var key = tenant.Value;
        while (true)
        {
            Task? wait = null;
            Entry? entry = null;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_exclusive.TryGetValue(key, out var running))
                {
                    wait = running;
                }
                else
                {
                    if (!_entries.TryGetValue(key, out entry))
                    {
                        var closing = _closing.GetValueOrDefault(key) ?? Task.CompletedTask;
                        entry = new Entry(tenant, OpenAfterAsync(closing, tenant));
                        entry.Node = _lru.AddFirst(entry);
                        _entries[key] = entry;
                    }

                    entry.Refs++;
                    _lru.Remove(entry.Node!);
                    _lru.AddFirst(entry.Node!);
                }
            }

            if (wait is not null)
            {
                await wait.ContinueWith(static _ => { }, TaskScheduler.Default).WaitAsync(ct);
                continue;
            }

            try
            {
                var instance = await entry!.Opening;
                EvictOverflow();
                return new Lease(this, entry, instance);
            }
            catch
            {
                lock (_gate)
                {
                    entry!.Refs--;
                    if (_entries.TryGetValue(key, out var current) && current == entry)
                    {
                        _entries.Remove(key);
                        _lru.Remove(entry.Node!);
                    }
                }

                throw;
            }
        }
    }

    /// <summary>Runs <paramref name="action"/> with the tenant closed and no lease in flight; acquires wait until it ends.</summary>
    public async Task<T> RunExclusiveAsync<T>(TenantId tenant, Func<T> action)
    {
        var key = tenant.Value;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        while (true)
        {
            Task? wait;
            Entry? entry = null;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_exclusive.TryGetValue(key, out wait))
                {
                    // another create/delete of this tenant runs: wait for it, then try again
                }
                else
                {
                    _exclusive[key] = done.Task;
                    if (_entries.Remove(key, out entry))
                    {
                        _lru.Remove(entry.Node!);
                        if (entry.Refs > 0)
                        {
                            entry.Drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        }
                    }
                }
            }

            if (wait is not null)
            {
                await wait.ContinueWith(static _ => { }, TaskScheduler.Default);
                continue;
            }

            try
            {
                if (entry is not null)
                {
                    if (entry.Drained is { } drained)
                    {
                        await drained.Task;
                    }

                    await CloseAsync(entry);
                }

                Task? closing;
                lock (_gate)
                {
                    closing = _closing.GetValueOrDefault(key);
                }

                if (closing is not null)
                {
                    await closing.ContinueWith(static _ => { }, TaskScheduler.Default);
                }

                return await Task.Run(action);
            }
            finally
            {
                lock (_gate)
                {
                    _exclusive.Remove(key);
                }

                done.SetResult();
            }
        }
    }

    public Task RunExclusiveAsync(TenantId tenant, Action action) => RunExclusiveAsync(tenant, () =>
    {
        action();
        return true;
    });

    /// <summary>Closes every open tenant nobody is using (the idle timer's work; also used by benchmarks).</summary>
    public Task CloseIdle(bool all = false)
    {
        var closes = new List<Task>();
        var now = _ctx.Time.GetTimestamp();
        lock (_gate)
        {
            foreach (var entry in _lru.ToList())
            {
                if (entry.Refs == 0 && entry.Opening.IsCompletedSuccessfully && (all || _ctx.Time.GetElapsedTime(entry.LastUsed, now) >= _idle))
                {
                    closes.Add(DetachAndClose(entry));
                }
            }
        }

        return Task.WhenAll(closes);
    }

    public async ValueTask DisposeAsync()
    {
        List<Task> closes;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            closes = [.. _entries.Values.ToList().Select(DetachAndClose), .. _closing.Values];
        }

        await _timer.DisposeAsync();
        await Task.WhenAll(closes);
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            entry.Refs--;
            entry.LastUsed = _ctx.Time.GetTimestamp();
            if (entry.Refs == 0)
            {
                entry.Drained?.TrySetResult();
            }
        }

        EvictOverflow();
    }

    private void EvictOverflow()
    {
        lock (_gate)
        {
            var node = _lru.Last;
            while (_entries.Count > _maxOpen && node is not null)
            {
                var previous = node.Previous;
                var entry = node.Value;
                if (entry.Refs == 0 && entry.Opening.IsCompletedSuccessfully)
                {
                    _ = DetachAndClose(entry);
                }

                node = previous;
            }
        }
    }

    /// <summary>Under the gate: forgets the entry and starts closing it; a reopen waits for the returned task.</summary>
    private Task DetachAndClose(Entry entry)
    {
        var key = entry.Tenant.Value;
        _entries.Remove(key);
        _lru.Remove(entry.Node!);
        var close = CloseAsync(entry);
        _closing[key] = close;
        _ = close.ContinueWith(
            t =>
            {
                lock (_gate)
                {
                    if (_closing.TryGetValue(key, out var c) && c == t)
                    {
                        _closing.Remove(key);
                    }
                }
            },
            TaskScheduler.Default);
        return close;
    }

    private static async Task CloseAsync(Entry entry)
    {
        try
        {
            var instance = await entry.Opening;
            await instance.DisposeAsync();
        }
        catch (Exception) when (!entry.Opening.IsCompletedSuccessfully)
        {
            // it never opened: nothing to close
        }
    }

    private async Task<TenantInstance> OpenAfterAsync(Task closing, TenantId tenant)
    {
        await closing.ContinueWith(static _ => { }, TaskScheduler.Default);
        return await Task.Run(() => TenantInstance.Open(_ctx, tenant));
    }

    internal sealed class Entry(TenantId tenant, Task<TenantInstance> opening)
    {
        public TenantId Tenant { get; } = tenant;

        public Task<TenantInstance> Opening { get; } = opening;

        public LinkedListNode<Entry>? Node { get; set; }

        public int Refs { get; set; }

        public long LastUsed { get; set; }

        public TaskCompletionSource? Drained { get; set; }
    }

    /// <summary>A use of an open tenant; dispose to let it close.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly TenantCache _cache;
        private readonly Entry _entry;
        private int _released;

        internal Lease(TenantCache cache, Entry entry, TenantInstance instance) => (_cache, _entry, Instance) = (cache, entry, instance);

        public TenantInstance Instance { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                _cache.Release(_entry);
            }
        }
    }
}
