using System.Net;
using Bruno.Core.Identity;
using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>The service with its catalog on a real PostgreSQL server: tenants, keys and suspension through the HTTP API.</summary>
public sealed class PostgresCatalogTests
{
    private static readonly string[] BotScopes = [Scopes.Query, Scopes.Ingest];
    private static readonly string[] Hipaa = ["hipaa"];

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
    public async Task AuditUsageRetentionAndReceipts_WorkOnAPostgresCatalog()
    {
        var settings = new Dictionary<string, string?> { ["Bruno:Catalog:Provider"] = "postgres", ["Bruno:Catalog:ConnectionString"] = TestPostgres.NewDatabase() };
        await using var server = await RunningServer.StartAsync(settings);
        using var platform = server.Client(server.PlatformToken());
        (await platform.PostAsync("/admin/v1/tenants", RunningServer.Json(new { id = "pg-ops", compliance = Hipaa }), Http.Ct)).EnsureSuccessStatusCode();
        using var user = server.Client(server.UserToken("pg-ops", "ann", Scopes.Query, Scopes.Ingest));
        (await user.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "hours", content = "The lab opens at six." }), Http.Ct)).EnsureSuccessStatusCode();
        (await user.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the lab open?" }), Http.Ct)).EnsureSuccessStatusCode();
        (await platform.PutAsync("/admin/v1/tenants/pg-ops/settings/retention", RunningServer.Json(new { audit_days = 30 }), Http.Ct)).EnsureSuccessStatusCode();

        var usage = (await Http.JsonAsync(await platform.GetAsync("/admin/v1/tenants/pg-ops/usage", Http.Ct))).GetProperty("usage");
        Assert.Equal(2, usage.GetProperty("requests").GetInt64());
        Assert.True(usage.GetProperty("embedding_tokens").GetInt64() > 0);
        var audit = (await Http.JsonAsync(await platform.GetAsync("/admin/v1/tenants/pg-ops/audit", Http.Ct))).GetProperty("entries");
        Assert.Equal(["tenant.create", "document.put", "settings.retention"], audit.EnumerateArray().Select(e => e.GetProperty("action").GetString()));
        Assert.Equal(Hipaa, audit[0].GetProperty("compliance").EnumerateArray().Select(f => f.GetString()));
        var retention = await Http.JsonAsync(await platform.GetAsync("/admin/v1/tenants/pg-ops/settings/retention", Http.Ct));
        Assert.Equal((30, 400), (retention.GetProperty("audit_days").GetInt32(), retention.GetProperty("usage_days").GetInt32()));
        Assert.Equal(1, (await Http.JsonAsync(await platform.PostAsync("/admin/v1/retention/run", null, Http.Ct))).GetProperty("tenants").GetInt32());

        var deleted = await Http.JsonAsync(await platform.DeleteAsync("/admin/v1/tenants/pg-ops", Http.Ct));
        Assert.Equal("tenant", deleted.GetProperty("receipt").GetProperty("receipt").GetProperty("kind").GetString());
        Assert.Single((await Http.JsonAsync(await platform.GetAsync("/admin/v1/tenants/pg-ops/receipts", Http.Ct))).EnumerateArray());
    }

    [Fact]
    public async Task ABadCatalogSettingStopsStartUp_NamingIt()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:Catalog:Provider"] = "postgres" }));
        Assert.Contains("Bruno:Catalog:ConnectionString", e.Message, StringComparison.Ordinal);
    }
}
