using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>
/// The full-precision vectors of int8 collections held out of memory while a tenant is open (docs/decisions/0048):
/// the same answers as with them in memory, through writes, replacements, deletes and a reopen; a file with no name and
/// no plaintext; a removed row's record zeroed; an altered record refused, and a reopen rebuilding the file from the store.
/// </summary>
public sealed class SpillTests
{
    private const int Dim = 32;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(VectorQuantization.Int8)]
    [InlineData(VectorQuantization.Binary)]
    public async Task Int8VectorsLeaveTheHeap_BinaryOnesStay_AndSearchesAnswerAsWithThemInMemory(VectorQuantization quantization)
    {
        await using var spilled = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 500 });
        await using var inMemory = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, AnnThreshold = 500, FullVectorsInMemory = true });
        var spec = TempStore.Spec(Dim) with { Quantization = quantization };
        var expected = new Dictionary<string, float[]>();
        foreach (var store in new[] { spilled, inMemory })
        {
            var c = await store.CollectionAsync("acme", spec);
            var rows = Enumerable.Range(0, 2_000).Select(i => Rows.Row($"r{i}", $"text {i}", i, user: i % 3 == 0 ? "u1" : null, dim: Dim)).ToList();
            await c.UpsertAsync(rows, Ct);
            var replaced = Enumerable.Range(0, 150).Select(i => Rows.Row($"r{i * 7}", "replaced", 90_000 + i, dim: Dim)).ToList();
            await c.UpsertAsync(replaced, Ct);
            await c.DeleteAsync([.. Enumerable.Range(0, 100).Select(i => $"r{(i * 11) + 1}")], Ct);
            foreach (var r in rows.Concat(replaced))
            {
                expected[r.Id] = r.Vector.ToArray();
            }
        }

        for (var round = 0; round < 2; round++)
        {
            var a = await ReadyAsync(spilled, spec);
            var b = await ReadyAsync(inMemory, spec);
            var live = 2_000 - 100;
            var (bytes, spilledThere) = await b.VectorStatusAsync(Ct);
            Assert.True(bytes >= live * Dim * sizeof(float), $"{bytes} bytes in memory");
            Assert.Equal(0, spilledThere);
            if (quantization == VectorQuantization.Int8)
            {
                Assert.Equal((0L, live), await a.VectorStatusAsync(Ct));
            }
            else
            {
                // binary codes bound nothing, so its exact searches read every candidate: it keeps them in memory
                Assert.Equal((bytes, 0), await a.VectorStatusAsync(Ct));
            }

            for (var q = 0; q < 20; q++)
            {
                var query = Rows.Vector(5_000 + q, Dim);

                // exact: the same hits, order and scores as the engine that holds the vectors in memory
                var request = new SearchRequest { Vector = query, K = 10, Exact = true, Mode = SearchMode.Vector };
                var got = await a.SearchAsync(request, Ct);
                Assert.Equal((await b.SearchAsync(request, Ct)).Select(h => (h.Row.Id, h.Score)), got.Select(h => (h.Row.Id, h.Score)));
                Assert.All(got, h => Assert.Equal(expected[h.Row.Id], h.Row.Vector.ToArray()));

                // approximate (each engine's graph depends on when its indexer ran): every hit carries its row's vector
                // and its full-precision score, in score order, ties by id
                var approx = await a.SearchAsync(request with { Exact = false }, Ct);
                Assert.Equal(10, approx.Count);
                foreach (var hit in approx)
                {
                    var v = expected[hit.Row.Id];
                    Assert.Equal(v, hit.Row.Vector.ToArray());
                    Assert.Equal(TensorPrimitives.Dot(query, v) / (TensorPrimitives.Norm(query) * TensorPrimitives.Norm(v)), hit.Score);
                }

                Assert.Equal(approx.OrderByDescending(h => h.Score).ThenBy(h => h.Row.Id, StringComparer.Ordinal).Select(h => h.Row.Id), approx.Select(h => h.Row.Id));
            }

            var row = await a.GetAsync("r7", Ct);
            Assert.Equal(expected["r7"], row!.Vector.ToArray()); // replaced: the new vector
            Assert.Null(await a.GetAsync("r12", Ct));

            // a reopen fills the spill file again from the store's segments
            await spilled.ReopenAsync();
            await inMemory.ReopenAsync();
        }
    }

    [Fact]
    public async Task TheSpillFile_HasNoName_HoldsNoPlaintext_AndZeroesTheRecordsOfRemovedAndErasedRows()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        var rows = Enumerable.Range(0, 300).Select(i => Rows.Row($"r{i}", "t", i, user: i < 100 ? "u1" : null, dim: Dim)).ToList();
        await c.UpsertAsync(rows, Ct);
        Assert.Equal((0L, 300), await c.VectorStatusAsync(Ct));

        // nothing named in the folder; the file is open, unlinked, under the tenant's folder
        Assert.DoesNotContain(store.RawFiles(), f => Path.GetFileName(f.Path).StartsWith(".vectors-", StringComparison.Ordinal));
        var file = SpillFileOf(store);
        var bytes = File.ReadAllBytes(file);
        foreach (var r in rows)
        {
            Assert.True(bytes.AsSpan().IndexOf(MemoryMarshal.AsBytes(r.Vector.Span)) < 0, $"{r.Id}'s vector is in the file in clear");
            Assert.True(bytes.AsSpan().IndexOf(MemoryMarshal.AsBytes(r.Vector.Span[..4])) < 0, $"part of {r.Id}'s vector is in the file in clear");
        }

        Assert.Equal(300, SealedRecords(bytes));

        await c.DeleteAsync(["r150", "r151"], Ct);
        Assert.Equal(298, SealedRecords(File.ReadAllBytes(file)));
        await store.Engine.Tenant(TenantId.Parse("acme")).EraseUserAsync(UserId.Parse("u1"), Ct);
        Assert.Equal(198, SealedRecords(File.ReadAllBytes(file)));
        Assert.Equal((0L, 198), await c.VectorStatusAsync(Ct));

        // freed records are reused: the file does not grow while rows come and go, one at a time or in batches
        var length = new FileInfo(file).Length;
        for (var i = 0; i < 50; i++)
        {
            await c.UpsertAsync([Rows.Row($"n{i}", "t", 7_000 + i, dim: Dim)], Ct);
            await c.DeleteAsync([$"n{i}"], Ct);
        }

        for (var i = 0; i < 5; i++)
        {
            await c.UpsertAsync([.. Enumerable.Range(0, 100).Select(j => Rows.Row($"b{j}", "t", 8_000 + (i * 100) + j, dim: Dim))], Ct);
            await c.UpsertAsync([.. Enumerable.Range(0, 100).Select(j => Rows.Row($"b{j}", "t", 9_000 + (i * 100) + j, dim: Dim))], Ct); // replaced
            await c.DeleteAsync([.. Enumerable.Range(0, 100).Select(j => $"b{j}")], Ct);
        }

        Assert.Equal(length, new FileInfo(file).Length);
        Assert.Equal(198, SealedRecords(File.ReadAllBytes(file)));

        var target = TargetOf(file);
        Assert.NotNull(target);
        await store.CloseAsync();
        Assert.DoesNotContain(Directory.GetFiles("/proc/self/fd"), fd => TargetOf(fd) == target); // closed with its tenant
    }

    [Fact]
    public async Task AnAlteredSpillRecord_FailsTheSearch_AndAReopenRebuildsTheFileFromTheStore()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme", TempStore.Spec(Dim));
        await c.UpsertAsync([.. Enumerable.Range(0, 50).Select(i => Rows.Row($"r{i}", "t", i, dim: Dim))], Ct);
        var request = new SearchRequest { Vector = Rows.Vector(3, Dim), K = 50, Exact = true, Mode = SearchMode.Vector };

        // altered before any of them is read (a thread keeps the vectors it read last, already authenticated)
        var file = SpillFileOf(store);
        var bytes = File.ReadAllBytes(file);
        for (var i = 0; i < bytes.Length; i += 97)
        {
            bytes[i] ^= 0x40;
        }

        File.WriteAllBytes(file, bytes);
        await Assert.ThrowsAsync<DataUnreadableException>(() => c.SearchAsync(request, Ct));
        await Assert.ThrowsAsync<DataUnreadableException>(() => c.GetAsync("r3", Ct));

        await store.ReopenAsync();
        c = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        var hits = await c.SearchAsync(request, Ct);
        Assert.Equal("r3", hits[0].Row.Id);
        Assert.Equal(Rows.Vector(3, Dim), hits[0].Row.Vector.ToArray());
    }

    private static async Task<TenantCollection> ReadyAsync(TempStore store, CollectionSpec spec)
    {
        var c = await store.Engine.Tenant(TenantId.Parse("acme")).EnsureCollectionAsync(spec, Ct);
        await c.WaitForIndexAsync(Ct);
        return c;
    }

    /// <summary>The open, unlinked spill file of the one tenant under <paramref name="store"/>'s root, through this process's descriptors.</summary>
    private static string SpillFileOf(TempStore store)
    {
        var files = Directory.GetFiles("/proc/self/fd")
            .Select(fd => (Fd: fd, Target: TargetOf(fd)))
            .Where(f => f.Target is { } t && t.StartsWith(store.Root, StringComparison.Ordinal) && t.Contains("/.vectors-", StringComparison.Ordinal))
            .ToList();
        var single = Assert.Single(files);
        Assert.EndsWith("(deleted)", single.Target);
        return single.Fd;
    }

    /// <summary>Where a descriptor points; null for one that other tests closed meanwhile (they run in parallel).</summary>
    private static string? TargetOf(string fd)
    {
        try
        {
            return new FileInfo(fd).LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Records (8-byte counter, the vector, a 16-byte tag) that are not all zeros.</summary>
    private static int SealedRecords(byte[] file)
    {
        const int record = 8 + (Dim * sizeof(float)) + 16;
        Assert.Equal(0, file.Length % record);
        return Enumerable.Range(0, file.Length / record).Count(i => file.AsSpan(i * record, record).ContainsAnyExcept((byte)0));
    }
}
