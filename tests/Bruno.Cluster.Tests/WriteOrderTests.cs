using P = Bruno.Cluster.Remote.Protocol;

namespace Bruno.Cluster.Tests;

/// <summary>
/// The order of a tenant's writes on a node (<see cref="WriteOrder"/>): writes touching different rows run at once, a
/// write that may touch a row of an earlier one waits for it, and a tenant-wide one waits for all and holds all.
/// </summary>
public sealed class WriteOrderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static WriteKeys Rows(string collection, params string[] ids) => new(collection, ids.ToHashSet(StringComparer.Ordinal));

    [Fact]
    public void Conflicts_AreSharedRows_AWholeCollection_OrTheWholeTenant()
    {
        Assert.False(Rows("docs", "a", "b").Conflicts(Rows("docs", "c")));
        Assert.True(Rows("docs", "a", "b").Conflicts(Rows("docs", "c", "b")));
        Assert.False(Rows("docs", "a").Conflicts(Rows("memory", "a"))); // the same id in another collection is another row
        Assert.True(new WriteKeys("docs", null).Conflicts(Rows("docs", "z")));
        Assert.False(new WriteKeys("docs", null).Conflicts(Rows("memory", "z")));
        Assert.True(WriteKeys.Tenant.Conflicts(Rows("memory", "z")));
        Assert.True(Rows("memory", "z").Conflicts(WriteKeys.Tenant));
    }

    [Fact]
    public void TheKeysOfAReplicatedWrite_AreWhatItMayTouch()
    {
        var replace = new P.ReplicatedWrite { Replace = new P.ReplaceRequest { Collection = "docs", Rows = { new P.Row { Id = "a" } }, DeleteIds = { "b" } } };
        Assert.Equal(Rows("docs", "a", "b"), WriteKeys.Of(replace), new KeysComparer());
        Assert.Equal(new WriteKeys("docs", null), WriteKeys.Of(new P.ReplicatedWrite { DeleteWhere = new P.FilterRequest { Collection = "docs" } }));
        Assert.Equal(new WriteKeys("docs", null), WriteKeys.Of(new P.ReplicatedWrite { EnsureCollection = new P.EnsureCollectionRequest { Spec = new P.CollectionSpec { Name = "docs" } } }));
        Assert.Same(WriteKeys.Tenant, WriteKeys.Of(new P.ReplicatedWrite { EraseUser = new P.UserRef { User = "alice" } }));
        Assert.Throws<ArgumentException>(() => WriteKeys.Of(new P.ReplicatedWrite()));
    }

    [Fact]
    public async Task DisjointWritesRunAtOnce_AConflictingOneWaitsForTheEarlierOnly_InTheOrderAdmitted()
    {
        var order = new WriteOrder();
        var a = await order.EnterAsync(Rows("docs", "x"), Ct);
        var b = await order.EnterAsync(Rows("docs", "y"), Ct); // disjoint: admitted while a runs
        var c = order.EnterAsync(Rows("docs", "x", "z"), Ct); // shares x with a
        var d = order.EnterAsync(Rows("docs", "z"), Ct); // shares z with c, which came first
        Assert.False(c.IsCompleted);
        Assert.False(d.IsCompleted);
        Assert.Equal(4, order.InFlight);

        b.Dispose();
        Assert.False(c.IsCompleted); // b was not in its way
        a.Dispose();
        using (await c.WaitAsync(TestContext.Current.CancellationToken))
        {
            Assert.False(d.IsCompleted); // c holds z
        }

        (await d.WaitAsync(TestContext.Current.CancellationToken)).Dispose();
        Assert.Equal(0, order.InFlight);
    }

    [Fact]
    public async Task ATenantWideWrite_WaitsForEveryEarlierWrite_AndHoldsEveryLaterOne()
    {
        var order = new WriteOrder();
        var a = await order.EnterAsync(Rows("docs", "x"), Ct);
        var fence = order.EnterAsync(WriteKeys.Tenant, Ct);
        var later = order.EnterAsync(Rows("memory", "m"), Ct); // nothing in common with a, but the fence came first
        Assert.False(fence.IsCompleted);
        Assert.False(later.IsCompleted);
        a.Dispose();
        var held = await fence.WaitAsync(TestContext.Current.CancellationToken);
        Assert.False(later.IsCompleted);
        held.Dispose();
        (await later.WaitAsync(TestContext.Current.CancellationToken)).Dispose();
    }

    [Fact]
    public async Task AWaitGivenUp_HoldsNoLaterWrite()
    {
        var order = new WriteOrder();
        var a = await order.EnterAsync(Rows("docs", "x"), Ct);
        using var cancel = new CancellationTokenSource();
        var b = order.EnterAsync(Rows("docs", "x", "y"), cancel.Token);
        var c = order.EnterAsync(Rows("docs", "y"), Ct); // waits for b alone
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);
        (await c.WaitAsync(TestContext.Current.CancellationToken)).Dispose(); // b gave up: c goes while a still runs
        Assert.Equal(1, order.InFlight);
        a.Dispose();
    }

    private sealed class KeysComparer : IEqualityComparer<WriteKeys>
    {
        public bool Equals(WriteKeys? x, WriteKeys? y) => x?.Collection == y?.Collection && (x?.Ids ?? new HashSet<string>()).SetEquals(y?.Ids ?? new HashSet<string>());

        public int GetHashCode(WriteKeys obj) => obj.Collection?.GetHashCode(StringComparison.Ordinal) ?? 0;
    }
}
