using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Storage.Tests;

public sealed class KeyAndLifetimeTests
{
    [Fact]
    public void MasterKey_IsCreatedOwnerOnly_AndReadBackTheSame()
    {
        var dir = Path.Combine(Path.GetTempPath(), "bruno-key-" + Guid.NewGuid().ToString("N"));
        try
        {
            var path = Path.Combine(dir, "master.key");
            string first;
            using (var created = MasterKey.LoadOrCreate(path))
            {
                first = created.ToBase64();
            }

            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            using (var loaded = MasterKey.LoadOrCreate(path))
            {
                Assert.Equal(first, loaded.ToBase64());
            }

            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            Assert.Throws<StorageException>(() => MasterKey.LoadOrCreate(path));
            Assert.Throws<FormatException>(() => MasterKey.FromBase64("c2hvcnQ="));
            Assert.Throws<FormatException>(() => MasterKey.FromBase64("not base64 at all!"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task IdleTenants_AreClosedAfterTheTimeout_AndReopenOnUse()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var store = new TempStore(o => new StorageEngineOptions { DataRoot = o.DataRoot, MasterKey = o.MasterKey, TimeProvider = time, IdleTimeout = TimeSpan.FromMinutes(5) });
        var c = await store.CollectionAsync("acme");
        await c.UpsertAsync([Rows.Row("r", "kept across the close", 1)], ct: TestContext.Current.CancellationToken);
        Assert.Equal(1, store.Engine.OpenTenantCount);

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, store.Engine.OpenTenantCount);

        time.Advance(TimeSpan.FromMinutes(4)); // past the timeout: the timer closes it
        Assert.Equal(0, store.Engine.OpenTenantCount);

        Assert.Equal("kept across the close", (await store.Engine.Tenant(TenantId.Parse("acme")).Collection("chunks").GetAsync("r", ct: TestContext.Current.CancellationToken))!.Text);
        Assert.Equal(1, store.Engine.OpenTenantCount);
    }
}
