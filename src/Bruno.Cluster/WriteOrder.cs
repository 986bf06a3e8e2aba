using P = Bruno.Cluster.Remote.Protocol;

namespace Bruno.Cluster;

/// <summary>
/// What a write of a tenant touches: some rows of one collection, a whole collection (<see cref="Ids"/> null: a write
/// by filter, or the collection's creation), or the whole tenant (<see cref="Collection"/> null: a user's erasure, a
/// fence). Two writes that touch nothing in common give the same result in either order, so they may run at once.
/// </summary>
public sealed record WriteKeys(string? Collection, IReadOnlySet<string>? Ids)
{
    /// <summary>The whole tenant: conflicts with every write.</summary>
    public static readonly WriteKeys Tenant = new(null, null);

    /// <summary>True when the two may touch the same row, so their order decides the outcome.</summary>
    public bool Conflicts(WriteKeys other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Collection is null || other.Collection is null)
        {
            return true;
        }

        if (!string.Equals(Collection, other.Collection, StringComparison.Ordinal))
        {
            return false;
        }

        if (Ids is null || other.Ids is null)
        {
            return true;
        }

        var (small, large) = Ids.Count <= other.Ids.Count ? (Ids, other.Ids) : (other.Ids, Ids);
        return small.Any(large.Contains);
    }

    /// <summary>What a replicated write touches. Throws <see cref="ArgumentException"/> when it names no operation.</summary>
    public static WriteKeys Of(P.ReplicatedWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        return write.OpCase switch
        {
            P.ReplicatedWrite.OpOneofCase.Replace => new(write.Replace.Collection, write.Replace.Rows.Select(r => r.Id).Concat(write.Replace.DeleteIds).ToHashSet(StringComparer.Ordinal)),
            P.ReplicatedWrite.OpOneofCase.Delete => new(write.Delete.Collection, write.Delete.Ids.ToHashSet(StringComparer.Ordinal)),
            P.ReplicatedWrite.OpOneofCase.DeleteWhere => new(write.DeleteWhere.Collection, null),
            P.ReplicatedWrite.OpOneofCase.UpdateReaders => new(write.UpdateReaders.Collection, null),
            P.ReplicatedWrite.OpOneofCase.EnsureCollection => new(write.EnsureCollection.Spec?.Name ?? string.Empty, null),
            P.ReplicatedWrite.OpOneofCase.EraseUser => Tenant,
            _ => throw new ArgumentException("A replicated write names no operation."),
        };
    }
}

/// <summary>
/// The order of one tenant's writes on a node (decision 0039): a write waits for every write admitted before it that it
/// conflicts with (<see cref="WriteKeys.Conflicts"/>) and runs at once with the others. An owner keeps a write admitted
/// until both copies applied it, so conflicting writes reach the replica one after the other, in the order the owner
/// applied them, and both copies end alike; writes that touch different rows overlap, and the engine commits them
/// together. Never throws but for a cancelled wait.
/// </summary>
public sealed class WriteOrder
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Admitted> _inFlight = new();

    /// <summary>Writes admitted and not yet done.</summary>
    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _inFlight.Count;
            }
        }
    }

    /// <summary>
    /// Admits a write touching <paramref name="keys"/>: returns once every earlier write it conflicts with is done. The
    /// write is done when the returned handle is disposed; until then, later conflicting writes wait for it.
    /// </summary>
    public async Task<IDisposable> EnterAsync(WriteKeys keys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var admitted = new Admitted(this, keys);
        List<Task>? before = null;
        lock (_lock)
        {
            foreach (var a in _inFlight)
            {
                if (a.Keys.Conflicts(keys))
                {
                    (before ??= []).Add(a.Done.Task);
                }
            }

            admitted.Node = _inFlight.AddLast(admitted);
        }

        if (before is not null)
        {
            try
            {
                await Task.WhenAll(before).WaitAsync(ct);
            }
            catch
            {
                admitted.Dispose(); // given up: later writes do not wait for it
                throw;
            }
        }

        return admitted;
    }

    private sealed class Admitted(WriteOrder order, WriteKeys keys) : IDisposable
    {
        public readonly WriteKeys Keys = keys;
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public LinkedListNode<Admitted>? Node;

        public void Dispose()
        {
            lock (order._lock)
            {
                if (Node is null)
                {
                    return;
                }

                order._inFlight.Remove(Node);
                Node = null;
            }

            Done.TrySetResult();
        }
    }
}
