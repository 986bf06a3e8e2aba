namespace Bruno.Storage.Index;

/// <summary>The background indexer that keeps the HNSW graph up to date, and waiting for it to catch up.</summary>
internal sealed partial class CollectionState
{
    /// <summary>Waits until the background indexer has caught up with every slot written so far.</summary>
    internal async Task WaitForIndexAsync(CancellationToken ct)
    {
        while (true)
        {
            var caughtUp = Volatile.Read(ref _caughtUp); // read before the check: a catch-up after it completes this one
            var g = _g;
            if (g.Live < _settings.AnnThreshold || (g.Ann is { } ann && ann.Count >= g.Arena.Count))
            {
                return;
            }

            await caughtUp.Task.WaitAsync(ct);
        }
    }

    private void MaybeStartIndexer()
    {
        if (_g.Live < _settings.AnnThreshold)
        {
            return;
        }

        if (_indexer is null)
        {
            _indexer = Task.Factory.StartNew(IndexLoop, _closing.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        else
        {
            _indexerWake.Release();
        }
    }

    private void IndexLoop()
    {
        var token = _closing.Token;
        while (!token.IsCancellationRequested)
        {
            var g = _g;
            var ann = g.Ann;
            if (ann is null)
            {
                ann = new Hnsw(g.Space, _settings.HnswM, _settings.HnswEfConstruction);
                _lock.EnterWriteLock();
                try
                {
                    if (ReferenceEquals(g, _g))
                    {
                        g.Ann = ann;
                    }
                }
                finally
                {
                    _lock.ExitWriteLock();
                }
            }

            while (!token.IsCancellationRequested && ReferenceEquals(g, _g) && ann.Count < g.Arena.Count)
            {
                var bulk = Volatile.Read(ref _bulkUntil) - Environment.TickCount64;
                if (bulk > 0 && g.Arena.Count - ann.Count < MaxDeferredRows)
                {
                    // A bulk load is running: leave the cores to it. Exact search covers the rows not yet in the graph.
                    try
                    {
                        _indexerWake.Wait((int)bulk, token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    continue;
                }

                ann.InsertNext();
            }

            if (ReferenceEquals(g, _g) && ann.Count >= g.Arena.Count)
            {
                Interlocked.Exchange(ref _caughtUp, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                try
                {
                    _indexerWake.Wait(token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
