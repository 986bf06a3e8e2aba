using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Memory;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>Memory on the real store and model: export, forget, and erasure that holds against a restored backup.</summary>
public sealed class MemoryTests : IDisposable
{
    private static readonly MiniLmEmbeddingGenerator Embedder = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bruno-memory-" + Guid.NewGuid().ToString("N"));
    private readonly MasterKey _key = MasterKey.Generate();

    private static MemoryService Memory => new(Embedder, new DocumentService(Embedder, Options.Create(new BrunoOptions())));

    private StorageEngine Engine() => new(new StorageEngineOptions { DataRoot = _root, MasterKey = _key });

    [Fact]
    public async Task Erasure_LeavesNothingReadable_EvenFromACopyTakenBefore()
    {
        var ct = TestContext.Current.CancellationToken;
        var acme = TenantId.Parse("acme");
        var alice = UserId.Parse("alice");
        var bob = UserId.Parse("bob");
        var backup = _root + "-backup";
        await using (var engine = Engine())
        {
            await engine.CreateTenantAsync(acme, ct: TestContext.Current.CancellationToken);
            var store = engine.Tenant(acme);
            await Memory.RememberAsync(store, alice, "Alice's passport number is P1234567.", ct);
            await Memory.RememberAsync(store, bob, "Bob likes tea.", ct);
            var all = await Memory.ExportAsync(store, alice, ct);
            Assert.Single(all.Facts);
            Assert.True(await Memory.ForgetAsync(store, alice, all.Facts[0].Id));
            await Memory.RememberAsync(store, alice, "Alice's passport number is P7654321.", ct);
            Assert.Equal(["Alice's passport number is P7654321."], (await Memory.ExportAsync(store, alice, ct)).Facts.Select(f => f.Text));

            CopyFolder(Path.Combine(_root, "tenants", "acme"), backup); // the backup: the tenant's files before the erasure

            var receipt = await Memory.EraseAsync(engine.Tenant(acme), alice);
            Assert.Equal(1, receipt.RowsDeleted);
        }

        // Restore the backup over the tenant's folder: alice's rows are back on disk, sealed under her destroyed key.
        Directory.Delete(Path.Combine(_root, "tenants", "acme"), recursive: true);
        CopyFolder(backup, Path.Combine(_root, "tenants", "acme"));
        await using (var engine = Engine())
        {
            var store = engine.Tenant(acme);
            var aliceNow = await Memory.ExportAsync(store, alice, ct);
            Assert.Empty(aliceNow.Facts);
            Assert.Empty(aliceNow.Turns);
            Assert.Equal(["Bob likes tea."], (await Memory.ExportAsync(store, bob, ct)).Facts.Select(f => f.Text));
        }

        Directory.Delete(backup, recursive: true);
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            if (Path.GetFileName(file) != "owner.lock")
            {
                File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
            }
        }
    }

    public void Dispose()
    {
        _key.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
