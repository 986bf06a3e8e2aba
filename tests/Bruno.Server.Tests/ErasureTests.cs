using System.Net;
using System.Text;
using System.Text.Json;
using Bruno.Core;
using Bruno.Core.Audit;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Bruno.Server.Tests;

/// <summary>
/// Deleting a tenant through the API: crypto-shredding (no byte of its canary left anywhere under the data root, and a
/// copy of its files taken before cannot be read back), a tombstone, and a signed receipt; erasing one user likewise.
/// </summary>
public sealed class ErasureTests
{
    private const string Canary = "Locker 12 holds the spare keys CANARYPANGOLIN.";

    [Fact]
    public async Task DeletingATenant_ShredsItsData_AndReturnsASignedReceipt()
    {
        await using var server = await RunningServer.StartAsync();
        var tenant = ServerFixture.NewTenant("gone");
        using var user = await server.TenantClientAsync(tenant);
        (await user.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "keys", content = Canary }), Http.Ct)).EnsureSuccessStatusCode();
        (await user.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Where are the spare keys?" }), Http.Ct)).EnsureSuccessStatusCode();

        // a backup of the tenant's files, taken before the erasure
        var store = Path.Combine(server.Root, "store");
        var backup = Path.Combine(server.Root, "backup-" + tenant);
        await server.Services.GetRequiredService<StorageEngine>().CloseTenantAsync(TenantId.Parse(tenant), ct: TestContext.Current.CancellationToken);
        CopyFolder(Path.Combine(store, "tenants", tenant), backup);

        using var platform = server.Client(server.PlatformToken());
        var deleted = await Http.JsonAsync(await platform.DeleteAsync($"/admin/v1/tenants/{tenant}", Http.Ct));
        Assert.Equal("deleted", deleted.GetProperty("status").GetString());
        var receipt = deleted.GetProperty("receipt").Deserialize<SignedReceipt>(AuditJson.Options)!;
        Assert.Equal(("tenant", tenant, "operator"), (receipt.Receipt.Kind, receipt.Receipt.Tenant, receipt.Receipt.ErasedBy)); // the token's subject
        Assert.True(receipt.Receipt.FilesRemoved > 0 && receipt.Receipt.BytesRemoved > 0);
        Assert.Matches("^[0-9a-f]{64}$", receipt.Receipt.KeyRingSha256!);
        Assert.Matches("^[0-9]+:[0-9a-f]{64}$", receipt.Receipt.AuditHead!);
        var key = TrustedKey.FromPem(await File.ReadAllTextAsync(new DataDirectory(server.Root).PlatformPublicKeyPath, Http.Ct));
        Assert.True(receipt.IsValid([key]));
        Assert.False((receipt with { Receipt = receipt.Receipt with { ErasedBy = "operator:someone-else" } }).IsValid([key]));
        var kept = await Http.JsonAsync(await platform.GetAsync($"/admin/v1/tenants/{tenant}/receipts", Http.Ct));
        Assert.Equal(receipt.Receipt.Id, kept[0].GetProperty("receipt").GetProperty("id").GetString());

        // nothing of the canary anywhere under the data root (catalog, keys, other tenants' files), except the backup
        var needle = Encoding.UTF8.GetBytes("CANARYPANGOLIN");
        foreach (var file in Directory.EnumerateFiles(server.Root, "*", SearchOption.AllDirectories).Where(f => !f.StartsWith(backup, StringComparison.Ordinal)))
        {
            Assert.True((await File.ReadAllBytesAsync(file, Http.Ct)).AsSpan().IndexOf(needle) < 0, $"canary found in {file}");
        }

        Assert.True((await File.ReadAllBytesAsync(Directory.EnumerateFiles(backup, "*", SearchOption.AllDirectories).First(), Http.Ct)).AsSpan().IndexOf(needle) < 0); // never in plaintext at all

        // the backup put back in place cannot be read: its keys are gone
        CopyFolder(backup, Path.Combine(store, "tenants", tenant));
        var engine = server.Services.GetRequiredService<StorageEngine>();
        await Assert.ThrowsAnyAsync<StorageException>(() => engine.Tenant(TenantId.Parse(tenant)).ListCollectionsAsync(TestContext.Current.CancellationToken));
        await Http.AssertProblemAsync(await user.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ErasingAUser_ReturnsASignedReceipt_AndFreesItsPlaceInThePlan()
    {
        await using var server = await RunningServer.StartAsync();
        var tenant = ServerFixture.NewTenant("user-gone");
        await server.CreateTenantsAsync(tenant);
        using var dora = server.Client(server.UserToken(tenant, "dora", Scopes.Query, Scopes.Memory));
        (await dora.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "I keep my bike in shed 4." }), Http.Ct)).EnsureSuccessStatusCode();
        var users = server.Services.GetRequiredService<TenantUsers>();
        Assert.Equal(1, users.Count(TenantId.Parse(tenant)));

        using var platform = server.Client(server.PlatformToken());
        var erased = await Http.JsonAsync(await platform.DeleteAsync($"/admin/v1/tenants/{tenant}/users/dora", Http.Ct));
        Assert.Equal(1, erased.GetProperty("rows_deleted").GetInt64());
        var receipt = erased.GetProperty("receipt").Deserialize<SignedReceipt>(AuditJson.Options)!;
        Assert.Equal(("user", "dora", 1L), (receipt.Receipt.Kind, receipt.Receipt.User, receipt.Receipt.RowsDeleted));
        var key = TrustedKey.FromPem(await File.ReadAllTextAsync(new DataDirectory(server.Root).PlatformPublicKeyPath, Http.Ct));
        Assert.True(receipt.IsValid([key]));
        Assert.Equal(0, users.Count(TenantId.Parse(tenant)));
        Assert.Empty((await Http.JsonAsync(await dora.GetAsync("/api/v1/me/memory", Http.Ct))).GetProperty("facts").EnumerateArray());
        await Http.AssertProblemAsync(await platform.DeleteAsync("/admin/v1/tenants/nobody/users/dora", Http.Ct), HttpStatusCode.NotFound);
        await Http.AssertProblemAsync(await platform.DeleteAsync($"/admin/v1/tenants/{tenant}/users/..%2F", Http.Ct), HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("self")]
    [InlineData("tenant-admin")]
    [InlineData("platform")]
    public async Task ErasingAUser_LeavesNoTraceOfItsIdInTheCatalog(string path)
    {
        // issue 19: after an erasure the catalog still named the user; every door of erasure is checked, every table read
        await using var server = await RunningServer.StartAsync();
        var tenant = ServerFixture.NewTenant("user-trace");
        await server.CreateTenantsAsync(tenant);
        const string user = "zelda-erased-7";
        using var zelda = server.Client(server.UserToken(tenant, user, Scopes.Query, Scopes.Memory));
        (await zelda.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "My locker is number 31." }), Http.Ct)).EnsureSuccessStatusCode();
        var catalog = server.Services.GetRequiredService<CatalogDatabase>();
        Assert.NotEmpty(CatalogRowsNaming(catalog, user));

        using var admin = server.Client(server.UserToken(tenant, "ada", Scopes.Admin));
        using var platform = server.Client(server.PlatformToken());
        var response = path switch
        {
            "self" => await zelda.DeleteAsync("/api/v1/me/memory", Http.Ct),
            "tenant-admin" => await admin.DeleteAsync($"/api/v1/users/{user}/memory", Http.Ct),
            _ => await platform.DeleteAsync($"/admin/v1/tenants/{tenant}/users/{user}", Http.Ct),
        };
        response.EnsureSuccessStatusCode();

        // the signed receipt is the one record that names whom it covers (the proof of the erasure); nothing else may
        var left = CatalogRowsNaming(catalog, user);
        Assert.Single(left, row => row.StartsWith("erasure_receipts: ", StringComparison.Ordinal));
        Assert.All(left, row => Assert.StartsWith("erasure_receipts: ", row, StringComparison.Ordinal));
    }

    /// <summary>Every row of every catalog table whose text holds <paramref name="value"/> (table name and row).</summary>
    private static List<string> CatalogRowsNaming(CatalogDatabase catalog, string value)
    {
        var tables = catalog.Query("SELECT name FROM sqlite_master WHERE type = 'table';", r => r.GetString(0));
        var found = new List<string>();
        foreach (var table in tables)
        {
            found.AddRange(catalog.Query($"SELECT * FROM \"{table}\";", r =>
            {
                var cells = Enumerable.Range(0, r.FieldCount).Select(i => r.IsDBNull(i) ? string.Empty : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).ToList();
                return table + ": " + string.Join(" | ", cells);
            }).Where(row => row.Contains(value, StringComparison.Ordinal)));
        }

        return found;
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }
}
