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
        Assert.Equal(3, TenantDatabase.FormatVersion);
        Assert.Equal(2, TenantDatabase.PreviousFormatVersion);
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
    public void Segment_Version2_IsByteExact()
    {
        var row = new StoredRow { Id = "a", Text = "hi", Vector = new float[] { 1f }, CreatedAt = default };
        var w = new SegmentWriter();
        w.Start();
        w.Add(row, 0x0102030405, row.Vector.Span, 0x0102030405060708, [("hi", 1)], 1);
        var bytes = w.Finish().ToArray();
        Assert.Equal(
            "02" + "01000000" // version, rows
            + "0504030201000000" + "15000000" // ordinal (u64), row length
            + "01" + "0161" + "026869" + "0807060504030201" + "00" + "00" + "01" + "0000803F" // the row (version 1): no user, no metadata, its vector
            + "01000000" + "02" + "6869" // term table
            + "01" + "01" + "00" + "01", // the row's terms: length 1, one term, index 0, frequency 1
            Convert.ToHexString(bytes));
        var reader = new SegmentReader(bytes);
        Assert.True(reader.NextRow(out var record, out var ordinal));
        Assert.Equal(0x0102030405, ordinal);
        Assert.Equal("hi", RowCodec.Read(record).Text);
    }

    [Fact]
    public void Graph_IsByteExact()
    {
        Assert.Equal("01" + "10000000" + "08000000" + "03000000" + "01000000" + "01000000", Convert.ToHexString(GraphCodec.Header(16, 8, 3, 1, 1)));
        int[][][] links = [[[1, 2]], [[0, 2], []], [[0, 9]]]; // node 9 is beyond the snapshot: left out
        var chunk = GraphCodec.Chunk([5L, 6L, 7L], n => links[n], 0, 3, 3);
        Assert.Equal(
            "0500000000000000" + "01" + "02" + "01" + "02"
            + "0600000000000000" + "02" + "02" + "00" + "02" + "00"
            + "0700000000000000" + "01" + "01" + "00",
            Convert.ToHexString(chunk));
        var ordinals = new long[3];
        var back = new int[3][][];
        GraphCodec.ReadChunk(chunk, 0, 3, 3, ordinals, back);
        Assert.Equal([5L, 6L, 7L], ordinals);
        Assert.Equal([0, 2], back[1][0]);
        Assert.Equal([0], back[2][0]);
        Assert.Throws<StorageFormatException>(() => GraphCodec.ReadChunk(chunk, 0, 3, 2, ordinals, back)); // a link to a node that does not exist
        Assert.Throws<StorageFormatException>(() => GraphCodec.ReadHeader(GraphCodec.Header(16, 8, 3, 3, 1)));
    }

    [Fact]
    public async Task Format2Store_IsUpgradedInPlace_InOneTransaction()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "format2");
        var root = Path.Combine(Path.GetTempPath(), "bruno-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(root, "tenants", "legacy"));
        Directory.CreateDirectory(Path.Combine(root, "keys"));
        File.Copy(Path.Combine(fixture, "store.db"), Path.Combine(root, "tenants", "legacy", "store.db"));
        File.Copy(Path.Combine(fixture, "legacy.key"), Path.Combine(root, "keys", "legacy.key"));
        using var key = Crypto.MasterKey.FromBase64(File.ReadAllText(Path.Combine(fixture, "master.key")).Trim());
        await using var store = new TempStore(root: root, key: key);
        Assert.Equal(2L, Pragma(store, "user_version"));

        // A failed commit (a crash would do the same) leaves the store at format 2, as it was.
        var path = Path.Combine(root, "tenants", "legacy", "store.db");
        var before = File.ReadAllBytes(path);
        TenantDatabase.FailCommit = p => p == path;
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => store.Engine.Tenant(TenantId.Parse("legacy")).ListCollectionsAsync(TestContext.Current.CancellationToken));
        }
        finally
        {
            TenantDatabase.FailCommit = null;
        }

        await store.ReopenAsync();
        Assert.Equal(2L, Pragma(store, "user_version"));
        Assert.Equal(before.Length, File.ReadAllBytes(path).Length);

        await store.ReopenAsync();
        var c = store.Engine.Tenant(TenantId.Parse("legacy")).Collection("chunks");
        var spec = Assert.Single(await store.Engine.Tenant(TenantId.Parse("legacy")).ListCollectionsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(VectorQuantization.Int8, spec.Quantization); // collections from before quantisation take the default
        var rows = (await c.ReadAllAsync(ct: TestContext.Current.CancellationToken)).ToDictionary(r => r.Id);
        var expected = Format2Rows.All().Where(r => r.Id != "t3").ToList();
        Assert.Equal(expected.Count, rows.Count);
        foreach (var want in expected)
        {
            var got = rows[want.Id];
            Assert.Equal(want.Text, got.Text);
            Assert.Equal(want.UserId, got.UserId);
            Assert.Equal(want.CreatedAt, got.CreatedAt);
            Assert.Equal(want.Readers, got.Readers);
            Assert.Equal(want.Vector.ToArray(), got.Vector.ToArray());
            Assert.Equal(want.Metadata.OrderBy(kv => kv.Key), got.Metadata.OrderBy(kv => kv.Key));
        }

        var ordinals = new HashSet<long>();
        foreach (var want in expected)
        {
            Assert.True(ordinals.Add((await c.OrdinalOfAsync(want.Id, TestContext.Current.CancellationToken))!.Value));
        }

        Assert.Equal(Enumerable.Range(1, expected.Count).Select(i => (long)i).ToHashSet(), ordinals);
        var hits = await c.SearchAsync(new SearchRequest { Text = "lighthouse", K = 5, Mode = SearchMode.FullText }, TestContext.Current.CancellationToken);
        Assert.Equal(5, hits.Count);
        await store.CloseAsync();
        Assert.Equal(3L, Pragma(store, "user_version"));
        Assert.Equal(1L, Count(store, "SELECT count(*) FROM sqlite_master WHERE name = 'graph'"));
        Assert.Equal("ok", Text(store, "PRAGMA integrity_check"));
    }

    private static long Pragma(TempStore store, string name) => Count(store, "PRAGMA " + name);

    private static long Count(TempStore store, string sql)
    {
        using var db = EncryptionTests.Sqlite(store, "legacy");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Text(TempStore store, string sql)
    {
        using var db = EncryptionTests.Sqlite(store, "legacy");
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
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
        Assert.Equal(3L, (long)cmd.ExecuteScalar()!);
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
            cmd.CommandText = "PRAGMA user_version=4";
            cmd.ExecuteNonQuery();
        }

        await store.ReopenAsync();
        var e = await Assert.ThrowsAsync<StorageFormatException>(() => store.Engine.Tenant(TenantId.Parse("acme")).ListCollectionsAsync(TestContext.Current.CancellationToken));
        Assert.Contains("version 4", e.Message, StringComparison.Ordinal);
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
