using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Bruno.Storage.Identity;

namespace Bruno.Storage.Tests;

public sealed class EncryptionTests
{
    private static string Canary() => "canary-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    [Fact]
    public async Task Canaries_AppearNowhereInPlaintext_UnderTheDataRoot()
    {
        await using var store = new TempStore();
        var c = await store.CollectionAsync("acme");
        var canaries = Enumerable.Range(0, 40).Select(_ => Canary()).ToList();
        var vectorCanary = new float[] { 1.2345678f, -8.765432f, 3.1415927f, 2.7182817f, 0.5772157f, 1.6180339f, 1.4142135f, 1.7320508f };
        var rows = canaries.Select((k, i) => Rows.Row(
            $"doc-{k}#{i}",
            $"The secret sentence is {k}, remember it.",
            i,
            i % 2 == 0 ? "alice" : null,
            new() { ["title"] = $"title {k}", ["source"] = $"/files/{k}.pdf" })).ToList();
        rows.Add(Rows.Row("vector-canary", "v", 1) with { Vector = vectorCanary });
        await c.UpsertAsync(rows, ct: TestContext.Current.CancellationToken);
        await c.DeleteAsync([rows[0].Id], ct: TestContext.Current.CancellationToken); // deleted rows must not leave plaintext behind either
        await c.UpsertAsync([rows[1] with { Text = "rewritten" }], ct: TestContext.Current.CancellationToken);

        // Scan while open (journal present), then after closing.
        foreach (var phase in new[] { "open", "closed" })
        {
            foreach (var k in canaries)
            {
                Assert.True(store.FilesContaining(k).Count == 0, $"{phase}: canary {k} found in plaintext");
            }

            foreach (var term in new[] { "secret sentence", "remember", "alice" })
            {
                Assert.Empty(store.FilesContaining(term));
            }

            var vectorBytes = MemoryMarshal.AsBytes(vectorCanary.AsSpan()).ToArray();
            Assert.DoesNotContain(store.RawFiles(), f => f.Bytes.AsSpan().IndexOf(vectorBytes.AsSpan(0, 16)) >= 0);
            await store.CloseAsync();
        }

        await store.ReopenAsync();
        var again = store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks");
        Assert.Equal(canaries.Count, await again.CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Contains(canaries[5], (await again.GetAsync(rows[5].Id, ct: TestContext.Current.CancellationToken))!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongMasterKey_CannotOpenATenant()
    {
        await using var store = new TempStore();
        await (await store.CollectionAsync("acme")).UpsertAsync([Rows.Row("r", "secret", 1)], ct: TestContext.Current.CancellationToken);
        await store.CloseAsync();
        await using var other = new TempStore(root: store.Root);
        await Assert.ThrowsAsync<DataUnreadableException>(() => other.Engine.Tenant(TenantId.Parse("acme")).ListCollectionsAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task RowBlobs_CannotBeMovedBetweenTenants()
    {
        await using var store = new TempStore();
        await (await store.CollectionAsync("alpha")).UpsertAsync([Rows.Row("r", "alpha's secret", 1)], ct: TestContext.Current.CancellationToken);
        await (await store.CollectionAsync("bravo")).UpsertAsync([Rows.Row("r", "bravo's text", 2)], ct: TestContext.Current.CancellationToken);
        await store.CloseAsync();

        // An attacker with write access copies alpha's row blob into bravo's file.
        using (var alpha = Sqlite(store, "alpha"))
        using (var bravo = Sqlite(store, "bravo"))
        {
            alpha.Open();
            bravo.Open();
            using var read = alpha.CreateCommand();
            read.CommandText = "SELECT payload FROM segments";
            var blob = (byte[])read.ExecuteScalar()!;
            using var write = bravo.CreateCommand();
            write.CommandText = "UPDATE segments SET payload = $p";
            write.Parameters.AddWithValue("$p", blob);
            write.ExecuteNonQuery();
        }

        await using var again = new TempStore(root: store.Root, key: store.Key);
        await Assert.ThrowsAsync<DataUnreadableException>(() => again.Engine.Tenant(TenantId.Parse("bravo")).Collection("chunks").CountAsync(ct: TestContext.Current.CancellationToken));
        Assert.Equal(1, await again.Engine.Tenant(TenantId.Parse("alpha")).Collection("chunks").CountAsync(ct: TestContext.Current.CancellationToken));
    }

    internal static Microsoft.Data.Sqlite.SqliteConnection Sqlite(TempStore store, string tenant) =>
        new($"Data Source={Path.Combine(store.Root, "tenants", tenant, "store.db")};Pooling=False");
}
