using System.Text;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>A real engine on a temporary data root, deleted on dispose. Each test makes its own.</summary>
internal sealed class TempStore : IAsyncDisposable
{
    private readonly StorageEngineOptions _options;

    public TempStore(Func<StorageEngineOptions, StorageEngineOptions>? configure = null, string? root = null, MasterKey? key = null)
    {
        Root = root ?? Path.Combine(Path.GetTempPath(), "bruno-test-" + Guid.NewGuid().ToString("N"));
        Key = key ?? MasterKey.Generate();
        var options = new StorageEngineOptions { DataRoot = Root, MasterKey = Key };
        _options = configure?.Invoke(options) ?? options;
        Engine = new StorageEngine(_options);
    }

    public string Root { get; }

    public MasterKey Key { get; }

    public StorageEngine Engine { get; private set; }

    public static CollectionSpec Spec(int dim = 8, string name = "chunks", VectorMetric metric = VectorMetric.Cosine) => new(name, dim, "test-model", metric);

    /// <summary>Creates a tenant and a collection in it.</summary>
    public async Task<TenantCollection> CollectionAsync(string tenant, CollectionSpec? spec = null)
    {
        var id = TenantId.Parse(tenant);
        if (!Engine.TenantExists(id))
        {
            await Engine.CreateTenantAsync(id);
        }

        return await Engine.Tenant(id).EnsureCollectionAsync(spec ?? Spec());
    }

    /// <summary>Closes the engine (every tenant) and opens a fresh one on the same root and key.</summary>
    public async Task ReopenAsync()
    {
        await Engine.DisposeAsync();
        Engine = new StorageEngine(_options);
    }

    public async Task CloseAsync() => await Engine.DisposeAsync();

    /// <summary>
    /// Every file under the root, as raw bytes. The owner lock of an open tenant cannot be read while it is held;
    /// it never holds data, which is asserted instead.
    /// </summary>
    public IEnumerable<(string Path, byte[] Bytes)> RawFiles()
    {
        foreach (var path in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(path) == "owner.lock")
            {
                Assert.Equal(0, new FileInfo(path).Length);
                continue;
            }

            yield return (path, File.ReadAllBytes(path));
        }
    }

    /// <summary>Files under the root whose bytes contain <paramref name="text"/> in UTF-8 or UTF-16.</summary>
    public List<string> FilesContaining(string text)
    {
        var utf8 = Encoding.UTF8.GetBytes(text);
        var utf16 = Encoding.Unicode.GetBytes(text);
        return [.. RawFiles().Where(f => f.Bytes.AsSpan().IndexOf(utf8) >= 0 || f.Bytes.AsSpan().IndexOf(utf16) >= 0).Select(f => f.Path)];
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}

internal static class Rows
{
    public static float[] Vector(int seed, int dim = 8)
    {
        var rng = new Random(seed);
        var v = new float[dim];
        for (var i = 0; i < dim; i++)
        {
            v[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return v;
    }

    public static StoredRow Row(string id, string text, int seed, string? user = null, Dictionary<string, MetadataValue>? metadata = null, int dim = 8, DateTimeOffset created = default) => new()
    {
        Id = id,
        Text = text,
        Vector = Vector(seed, dim),
        UserId = user is null ? null : UserId.Parse(user),
        Metadata = metadata ?? [],
        CreatedAt = created,
    };
}
