using System.Buffers;
using Bruno.Storage.Identity;
using Bruno.Storage.Index;
using Bruno.Storage.Model;

namespace Bruno.Storage.Engine;

/// <summary>A unit of work for a tenant's write loop. Completed only after its changes are committed (fsynced) and visible.</summary>
internal abstract class WriteOp
{
    private readonly TaskCompletionSource<long> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<long> Done => _done.Task;

    /// <summary>Barrier ops run alone in their own transaction, after everything queued before them is committed.</summary>
    public virtual bool Barrier => false;

    public virtual int RowCount => 1;

    public void Complete(long result) => _done.TrySetResult(result);

    public void Fail(Exception e) => _done.TrySetException(e);

    /// <summary>Gives back pooled buffers the operation holds; called by the write loop when it is done with it.</summary>
    public virtual void Release()
    {
    }
}

/// <summary>
/// A sealed segment ready for the database: its random id, owner slot (null: tenant-wide), the ids of its rows, and the
/// blob (the first <see cref="Length"/> bytes of a pooled array).
/// </summary>
internal sealed record PreparedSegment(byte[] Uid, byte[]? Owner, string[] Ids, byte[] Payload, int Length);

/// <summary>Rows to store: sealed segments and analysed rows whose vectors live in one pooled array, given back by <see cref="Release"/>.</summary>
internal sealed class UpsertOp(CollectionState collection, PreparedSegment[] segments, AnalyzedRow[] rows, float[] vectors) : WriteOp
{
    private int _released;

    public CollectionState Collection => collection;

    /// <summary>Ids deleted in the same operation (a replacement that leaves fewer rows behind).</summary>
    public string[] Deletes { get; set; } = [];

    public PreparedSegment[] Segments => segments;

    public AnalyzedRow[] Rows => rows;

    public override int RowCount => rows.Length;

    /// <summary>
    /// Returns the pooled arrays, once the write is committed and applied, or has failed; a failed write also gives back
    /// its rows' spill records. Idempotent.
    /// </summary>
    public override void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            if (!Done.IsCompletedSuccessfully)
            {
                // never published: the spill records its rows took are still the operation's
                collection.FreeRecords(rows.Select(r => r.Record));
            }

            ArrayPool<float>.Shared.Return(vectors);
            foreach (var s in segments)
            {
                ArrayPool<byte>.Shared.Return(s.Payload);
            }
        }
    }
}

internal sealed class DeleteIdsOp(CollectionState collection, string[] ids) : WriteOp
{
    public CollectionState Collection => collection;

    public string[] Ids => ids;

    public override int RowCount => ids.Length;
}

internal sealed class DeleteWhereOp(CollectionState collection, Filter filter) : WriteOp
{
    public CollectionState Collection => collection;

    public Filter Filter => filter;

    public override bool Barrier => true;
}

/// <summary>Gives the rows matching a filter new readers, rewriting them from memory (no new vectors).</summary>
internal sealed class UpdateReadersOp(CollectionState collection, Filter filter, Principal[]? readers) : WriteOp
{
    public CollectionState Collection => collection;

    public Filter Filter => filter;

    public Principal[]? Readers => readers;

    public override bool Barrier => true;
}

internal sealed class CreateCollectionOp(CollectionSpec spec) : WriteOp
{
    public CollectionSpec Spec => spec;

    public override bool Barrier => true;
}

internal sealed class EraseUserOp(UserId user) : WriteOp
{
    public UserId User => user;

    public override bool Barrier => true;
}

/// <summary>Removes rows whose owner key no longer exists (a user erasure interrupted by a crash after the key was destroyed).</summary>
internal sealed class PurgeOwnersOp(List<byte[]> owners) : WriteOp
{
    public List<byte[]> Owners => owners;

    public override bool Barrier => true;
}

/// <summary>Writes a collection's HNSW graph as a checkpoint (asked for by its indexer), in a transaction of its own.</summary>
internal sealed class CheckpointOp(CollectionState collection) : WriteOp
{
    public CollectionState Collection => collection;

    public override bool Barrier => true;
}
