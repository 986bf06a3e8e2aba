using System.Buffers;
using System.Text.RegularExpressions;
using Bruno.Storage.Format;
using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>Pins what is written to disk. A change here is a format change: bump the version and migrate.</summary>
public sealed partial class FormatTests
{
    [Fact]
    public void PersistedEnums_KeepTheirNumbers()
    {
        Assert.Equal(1, (int)MetadataKind.String);
        Assert.Equal(2, (int)MetadataKind.Number);
        Assert.Equal(3, (int)MetadataKind.Time);
        Assert.Equal(4, (int)MetadataKind.Bool);
        Assert.Equal(1, (int)VectorMetric.Cosine);
        Assert.Equal(2, (int)VectorMetric.Dot);
        Assert.Equal(2, TenantDatabase.FormatVersion);
        Assert.Equal(0x42524E4F, TenantDatabase.ApplicationId);
        Assert.Equal(1112690255, TenantDatabase.ApplicationId); // the literal written by CreateSchema
    }

    [Fact]
    public void RowCodec_Version1_IsByteExact()
    {
        var row = new StoredRow
        {
            Id = "d#1",
            Text = "hé",
            Vector = new float[] { 1f, -2f },
            UserId = UserId.Parse("u"),
            Metadata = new Dictionary<string, MetadataValue> { ["b"] = true, ["a"] = "x" },
        };
        var w = new ArrayBufferWriter<byte>();
        RowCodec.Write(w, row, 0x0102030405060708);
        Assert.Equal(
            "01" + "03642331" + "0368C3A9" + "0807060504030201" + "0175" + "02" + "0161" + "01" + "0178" + "0162" + "04" + "01" + "02" + "0000803F" + "000000C0",
            Convert.ToHexString(w.WrittenSpan));
        var back = RowCodec.Read(w.WrittenSpan);
        Assert.Equal("hé", back.Text);
        Assert.Equal([1f, -2f], back.Vector.ToArray());
        Assert.True(back.Metadata["b"].AsBool);
    }

    [Fact]
    public async Task StoreFile_CarriesTheVersionHeader()
    {
        await using var store = new TempStore();
        await store.CollectionAsync("acme");
        await store.CloseAsync();
        using var db = EncryptionTests.Sqlite(store, "acme");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = "PRAGMA application_id";
        Assert.Equal((long)TenantDatabase.ApplicationId, (long)cmd.ExecuteScalar()!);
        cmd.CommandText = "PRAGMA user_version";
        Assert.Equal(2L, (long)cmd.ExecuteScalar()!);
        var keyFile = File.ReadAllBytes(Path.Combine(store.Root, "keys", "acme.key"));
        Assert.Equal("BRKR"u8.ToArray(), keyFile[..4]);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(store.Root, "keys", "acme.key")));
    }

    [Fact]
    public async Task NewerFormat_IsRefusedClearly()
    {
        await using var store = new TempStore();
        await store.CollectionAsync("acme");
        await store.CloseAsync();
        using (var db = EncryptionTests.Sqlite(store, "acme"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "PRAGMA user_version=3";
            cmd.ExecuteNonQuery();
        }

        await store.ReopenAsync();
        var e = await Assert.ThrowsAsync<StorageFormatException>(() => store.Engine.Tenant(TenantId.Parse("acme")).ListCollectionsAsync(TestContext.Current.CancellationToken));
        Assert.Contains("version 3", e.Message, StringComparison.Ordinal);
    }

    /// <summary>No SQL in the engine is built by pasting values: every value goes through a parameter.</summary>
    [Fact]
    public void StorageSource_HasNoInterpolatedSql()
    {
        var repo = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(repo.FullName, "Bruno.slnx")))
        {
            repo = repo.Parent ?? throw new InvalidOperationException("repository root not found");
        }

        var src = Path.Combine(repo.FullName, "src", "Bruno.Storage");
        var files = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            foreach (var line in File.ReadLines(file))
            {
                Assert.False(InterpolatedSql().IsMatch(line), $"{Path.GetFileName(file)}: {line.Trim()}");
                Assert.False(line.Contains("'{", StringComparison.Ordinal) && line.Contains("$\"", StringComparison.Ordinal) && SqlWord().IsMatch(line), $"{Path.GetFileName(file)}: {line.Trim()}");
            }
        }
    }

    [GeneratedRegex(@"(CommandText\s*=|Command\(|Exec\()\s*\$")]
    private static partial Regex InterpolatedSql();

    [GeneratedRegex(@"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|PRAGMA)\b")]
    private static partial Regex SqlWord();
}
