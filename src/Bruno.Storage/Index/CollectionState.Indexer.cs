namespace Bruno.Storage.Index;

/// <summary>The background indexer that keeps the HNSW graph up to date, waiting for it to catch up, and the graph's checkpoints.</summary>
internal sealed partial class CollectionState
{
    /// <summary>
    /// A checkpoint is wanted once the indexer has caught up and this many nodes, or a tenth of the last checkpoint's,
    /// whichever is more, are new since it (decision 0044): rewriting the graph costs at most about ten times its final
    /// size in total, and a crash leaves at most a tenth of it to insert again.
    /// </summary>
    public const int CheckpointMinNodes = 256;

    private long _inserted;
    private Hnsw? _checkpointGraph;
    private int _checkpointNodes;
    private int _checkpointQueued;
    private readonly Lock _checkpointGate = new();

    /// <summary>Called (on the indexer's thread) when a checkpoint of the graph is due; the tenant queues one for its write loop.</summary>
    public Action<CollectionState>? CheckpointWanted { get; set; }

    /// <summary>Nodes of the stored graph loaded at open (0 when none was used).</summary>
    public int LoadedNodes { get; private set; }

    /// <summary>Nodes the indexer inserted since the collection was opened (a loaded graph's nodes are not counted).</summary>
    public long InsertedNodes => Interlocked.Read(ref _inserted);

    /// <summary>Nodes of the graph as last checkpointed (or loaded), for the graph in use; 0 when it has none.</summary>
    public int CheckpointNodes
    {
        get
        {
            lock (_checkpointGate)
            {
                return ReferenceEquals(_checkpointGraph, _g.Ann) ? _checkpointNodes : 0;
            }
        }
    }

    /// <summary>The graph's state (tests and telemetry).</summary>
    public GraphStatus GraphStatus() => new(GraphLoadOutcome, LoadedNodes, InsertedNodes, _g.Ann?.Count ?? 0, CheckpointNodes);

    /// <summary>The ordinal of the live row <paramref name="id"/>, or null.</summary>
    public long? OrdinalOf(string id)
    {
        _lock.EnterReadLock();
        try
        {
            return _g.IdToSlot.TryGetValue(id, out var slot) ? _g.Ordinals[slot] : null;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Whether the graph in use has nodes its last checkpoint lacks.</summary>
    public bool GraphAhead => _g.Ann is { } ann && ann.Count > CheckpointNodes;

    /// <summary>
    /// The graph as it stands, for a checkpoint: its node ordinals in node order, links, entry and M. Takes the read lock
    /// only to copy the ordinals; the links are read without it (lists are replaced, never edited). Null without a graph.
    /// </summary>
    public GraphSnapshot? SnapshotGraph()
    {
        _lock.EnterReadLock();
        try
        {
            var g = _g;
            if (g.Ann is not { } ann)
            {
                return null;
            }

            var (entry, count) = ann.Published();
            return count == 0 ? null : new GraphSnapshot(ann, count, entry, g.Ordinals.AsSpan(0, count).ToArray(), Spec.Dimension);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Records that <paramref name="snapshot"/> is now the stored graph (its transaction committed).</summary>
    public void Checkpointed(GraphSnapshot snapshot)
    {
        lock (_checkpointGate)
        {
            if (!ReferenceEquals(_checkpointGraph, snapshot.Graph) || snapshot.Count > _checkpointNodes)
            {
                (_checkpointGraph, _checkpointNodes) = (snapshot.Graph, snapshot.Count);
            }
        }
    }

    /// <summary>Lets the indexer ask for a checkpoint again (the one it asked for ran or was dropped).</summary>
    public void CheckpointDone() => Volatile.Write(ref _checkpointQueued, 0);

    /// <summary>Stops the background indexer and waits for it (a tenant closing: the graph then stays as it is).</summary>
    public void StopIndexer()
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        _closing.Cancel();
        _indexerWake.Release();
        try
        {
            _indexer?.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException)
        {
            // the indexer only stops; nothing to report
        }
    }

    private void MaybeAskForCheckpoint(Hnsw ann)
    {
        int since;
        int stored;
        lock (_checkpointGate)
        {
            stored = ReferenceEquals(_checkpointGraph, ann) ? _checkpointNodes : 0;
            since = ann.Count - stored;
        }

        if (since >= Math.Max(CheckpointMinNodes, stored / 10) && CheckpointWanted is { } wanted && Interlocked.Exchange(ref _checkpointQueued, 1) == 0)
        {
            wanted(this);
        }
    }

    /// <summary>Waits until the background indexer has caught up with every slot written so far.</summary>
    internal async Task WaitForIndexAsync(CancellationToken ct)
    {
        while (true)
        {
            var caughtUp = Volatile.Read(ref _caughtUp); // read before the check: a catch-up after it completes this one
            var g = _g;
            if (g.Live < _settings.AnnThreshold || (g.Ann is { } ann && ann.Count >= g.Count))
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

            while (!token.IsCancellationRequested && ReferenceEquals(g, _g) && ann.Count < g.Count)
            {
                var bulk = Volatile.Read(ref _bulkUntil) - Environment.TickCount64;
                if (bulk > 0 && g.Count - ann.Count < MaxDeferredRows)
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
                Interlocked.Increment(ref _inserted);
            }

            if (ReferenceEquals(g, _g) && ann.Count >= g.Count)
            {
                MaybeAskForCheckpoint(ann);
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

/// <summary>A graph as it stood when a checkpoint was taken: nodes [0, Count), their ordinals, the entry node.</summary>
internal sealed record GraphSnapshot(Hnsw Graph, int Count, int Entry, long[] Ordinals, int Dimension);

/// <summary>
/// A collection's HNSW graph: what opening it did with the stored graph, how many nodes that one had, how many the
/// indexer inserted since, how many the graph has, and how many its last checkpoint holds.
/// </summary>
internal sealed record GraphStatus(GraphLoad Load, int LoadedNodes, long InsertedNodes, int Nodes, int CheckpointNodes);
