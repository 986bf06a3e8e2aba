using System.Net;
using Bruno.Core.Identity;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>The service with its catalog on a real PostgreSQL server: tenants, keys and suspension through the HTTP API.</summary>
public sealed class PostgresCatalogTests
{
    private static readonly string[] BotScopes = [Scopes.Query, Scopes.Ingest];

    [Fact]
    public async Task TheServiceRunsOnAPostgresCatalog_SharedByTwoProcesses()
    {
        var database = TestPostgres.NewDatabase();
        var settings = new Dictionary<string, string?> { ["Bruno:Catalog:Provider"] = "postgres", ["Bruno:Catalog:ConnectionString"] = database };
        await using var first = await RunningServer.StartAsync(settings);
        using var platform = first.Client(first.PlatformToken());
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = "pg-acme", display_name = "Acme on PostgreSQL" }), Http.Ct)).EnsureSuccessStatusCode();
        await Http.AssertProblemAsync(await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = "pg-acme", display_name = "Again" }), Http.Ct), HttpStatusCode.Conflict);

        using var admin = first.Client(first.UserToken("pg-acme", "boss", Scopes.Admin));
        var key = (await Http.JsonAsync(await admin.PostAsync("/api/v1/api-keys", RunningServer.Json(new { name = "bot", scopes = BotScopes }), Http.Ct))).GetProperty("key").GetString();
        using var bot = first.Client(key!);
        (await bot.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "hours", content = "The office opens at eight." }), Http.Ct)).EnsureSuccessStatusCode();
        Assert.Contains("eight", (await Http.JsonAsync(await bot.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the office open?" }), Http.Ct))).GetProperty("answer").GetString(), StringComparison.Ordinal);

        // A second process on the same catalog sees the tenant and its key, and the suspension the first one records.
        await using var second = await RunningServer.StartAsync(settings);
        var listed = await Http.JsonAsync(await second.Client(second.PlatformToken()).GetAsync("/admin/v1/tenants", Http.Ct));
        Assert.Contains("pg-acme", listed.ToString(), StringComparison.Ordinal);
        (await platform.PostAsync("/admin/v1/tenants/pg-acme/suspend", null, Http.Ct)).EnsureSuccessStatusCode();
        using var botOnSecond = second.Client(key!);
        await Http.AssertProblemAsync(await botOnSecond.GetAsync("/api/v1/documents", Http.Ct), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ABadCatalogSettingStopsStartUp_NamingIt()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:Catalog:Provider"] = "postgres" }));
        Assert.Contains("Bruno:Catalog:ConnectionString", e.Message, StringComparison.Ordinal);
    }
}
