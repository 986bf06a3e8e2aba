using System.Text.Json;
using Bruno.Testing;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Bruno.Cli.Tests;

/// <summary>The <c>bruno</c> commands in-process, against a real server: output, JSON and exit codes.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await RunningServer.StartAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No });
        var code = await BrunoCli.RunAsync([.. args, "--data", _server.Root, "--server", _server.Address.ToString()], console, errors);
        return (code, output.ToString(), errors.ToString());
    }

    [Fact]
    public async Task CreateIngestAsk_WorkEndToEnd_WithJsonForScripts()
    {
        var tenant = $"cli-{Guid.NewGuid():N}"[..20];
        var (code, output, _) = await RunAsync("tenant", "create", tenant, "--name", "CLI test", "--json");
        Assert.Equal(0, code);
        Assert.Equal(tenant, JsonDocument.Parse(output).RootElement.GetProperty("id").GetString());

        var folder = Directory.CreateTempSubdirectory("bruno-cli-docs-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "faq.md"), "# Opening hours\nThe library opens at nine in the morning on weekdays.", TestContext.Current.CancellationToken);
            Directory.CreateDirectory(Path.Combine(folder, "sub"));
            await File.WriteAllTextAsync(Path.Combine(folder, "sub", "notes.txt"), "Parking is free for visitors after six in the evening.", TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(folder, "image.png"), "not text", TestContext.Current.CancellationToken);

            (code, output, _) = await RunAsync("ingest", folder, "--tenant", tenant, "--json");
            Assert.Equal(0, code);
            Assert.Equal(2, JsonDocument.Parse(output).RootElement.GetProperty("documents").GetInt32());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        (code, output, _) = await RunAsync("ask", "When does the library open?", "--tenant", tenant);
        Assert.Equal(0, code);
        Assert.Contains("nine in the morning", output, StringComparison.Ordinal);
        Assert.Contains("[1]", output, StringComparison.Ordinal);

        (code, output, _) = await RunAsync("tenant", "list", "--json");
        Assert.Equal(0, code);
        Assert.Contains(JsonDocument.Parse(output).RootElement.EnumerateArray(), t => t.GetProperty("id").GetString() == tenant);

        (code, output, _) = await RunAsync("reembed", "--tenant", tenant, "--json");
        Assert.Equal(0, code); // same model: nothing to move
        Assert.Equal(0, JsonDocument.Parse(output).RootElement.GetProperty("documents").GetInt32());

        var (again, _, err) = await RunAsync("tenant", "create", tenant);
        Assert.Equal(1, again); // 409 from the server is the user's error
        Assert.Contains("already exists", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_WritesThePlatformAndATenantsFolder_AndPrintsTheSecretsToCreate()
    {
        var tenant = "render-" + Guid.NewGuid().ToString("N")[..6];
        Assert.Equal(0, (await RunAsync("tenant", "create", tenant)).Code);
        var dir = Directory.CreateTempSubdirectory("bruno-cli-render-").FullName;
        try
        {
            var (code, output, _) = await RunAsync("render", "platform", "--out", dir);
            Assert.Equal(0, code);
            Assert.Contains("files written", output, StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(dir, "platform", "deployment.yaml")));
            Assert.True(File.Exists(Path.Combine(dir, "platform", "image", "Dockerfile")));
            Assert.True(File.Exists(Path.Combine(dir, "clusters", "production", "bruno-tenants.yaml"))); // the entry point flux bootstrap syncs
            Assert.True(File.Exists(Path.Combine(dir, "infrastructure", "controllers", "kustomization.yaml")));
            Assert.False(Directory.Exists(Path.Combine(dir, "flux-system"))); // bootstrap's own folder is under clusters/<name>/
            Assert.Contains("--path=./clusters/production", output, StringComparison.Ordinal);

            (code, output, _) = await RunAsync("render", "platform", "--secrets");
            Assert.Equal(0, code);
            Assert.Contains("create secret generic bruno-catalog --from-file=connection-string=", output, StringComparison.Ordinal);
            Assert.DoesNotContain("--from-literal", output, StringComparison.Ordinal); // no value on a command line

            (code, output, _) = await RunAsync("tenant", "render", tenant, "--out", dir, "--json");
            Assert.Equal(0, code);
            Assert.Contains($"tenants/{tenant}/workloads/deployment.yaml", JsonDocument.Parse(output).RootElement.EnumerateArray().Select(e => e.GetString()));
            Assert.Contains($"namespace: agent-bruno-{tenant}", await File.ReadAllTextAsync(Path.Combine(dir, "tenants", tenant, "workloads", "deployment.yaml"), TestContext.Current.CancellationToken), StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(dir, "flux-tenants", $"tenant-{tenant}.yaml")));

            (code, output, _) = await RunAsync("tenant", "secrets", tenant);
            Assert.Equal(0, code);
            Assert.Contains($"-n agent-bruno-{tenant} create secret generic agent-bruno-keys --from-file=", output, StringComparison.Ordinal);
            Assert.DoesNotContain("--from-literal", output, StringComparison.Ordinal);

            // only a Kamaji tenant's cluster has worker nodes to join: one line, exit 1
            var (notKamaji, _, why) = await RunAsync("tenant", "join", tenant);
            Assert.Equal(1, notKamaji);
            Assert.Contains("only a Kamaji tenant", why, StringComparison.Ordinal);

            // a level this machine's settings cannot render (the LLM endpoint is an in-cluster selector): one line, exit 1
            var isolated = "render-k-" + Guid.NewGuid().ToString("N")[..6];
            Assert.Equal(0, (await RunAsync("tenant", "create", isolated, "--isolation", "kamaji")).Code);
            var (failed, _, err) = await RunAsync("tenant", "render", isolated, "--out", dir);
            Assert.Equal(1, failed);
            Assert.Contains("Llm:Cidrs", err, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(dir, "tenants", isolated)));
            Assert.Equal(1, (await RunAsync("render", "platform")).Code); // no --out
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Migrate_MovesATenantToAnotherLevelAndInstallation_VerifiedThenConfirmedOrAborted()
    {
        await using var target = await RunningServer.StartAsync();
        var ct = TestContext.Current.CancellationToken;
        var (tenant, other) = ("move-" + Guid.NewGuid().ToString("N")[..6], "undo-" + Guid.NewGuid().ToString("N")[..6]);
        var docs = Directory.CreateTempSubdirectory("bruno-cli-migrate-docs-").FullName;
        var dir = Directory.CreateTempSubdirectory("bruno-cli-migrate-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(docs, "hours.md"), "# Hours\n\nThe archive opens at nine on Tuesdays.\n", ct);
            foreach (var t in new[] { tenant, other })
            {
                Assert.Equal(0, (await RunAsync("tenant", "create", t, "--isolation", "kamaji")).Code);
                Assert.Equal(0, (await RunAsync("ingest", docs, "--tenant", t)).Code);
            }

            string[] Target(params string[] args) => [.. args, "--target-server", target.Address.ToString(), "--target-data", target.Root];
            var (code, output, err) = await RunAsync(Target("tenant", "migrate", tenant, "--to", "namespace", "--out", dir));
            Assert.True(code == 0, err);
            foreach (var step in new[] { "1/6 rendered", "2/6 suspended", "3/6 exported", "4/6 imported", "5/6 verified", "6/6 switch routing" })
            {
                Assert.Contains(step, output, StringComparison.Ordinal);
            }

            Assert.True(File.Exists(Path.Combine(dir, "tenants", tenant, "workloads", "deployment.yaml"))); // the new level's manifests
            using var targetAdmin = target.Client(target.PlatformToken());
            var moved = JsonDocument.Parse(await targetAdmin.GetStringAsync($"/admin/v1/tenants/{tenant}", ct)).RootElement;
            Assert.Equal(("namespace", "active"), (moved.GetProperty("isolation").GetString(), moved.GetProperty("status").GetString()));
            using var sourceAdmin = _server.Client(_server.PlatformToken());
            async Task<List<string>> DataAsync(HttpClient admin) => [.. JsonDocument.Parse(await admin.GetStringAsync($"/admin/v1/tenants/{tenant}/inventory", ct)).RootElement
                .GetProperty("collections").EnumerateArray().Where(c => c.GetProperty("name").GetString() != "audit").Select(c => c.ToString())];
            var data = await DataAsync(sourceAdmin);
            Assert.NotEmpty(data);
            Assert.Equal(data, await DataAsync(targetAdmin)); // every row of every collection, by digest (the audit log goes on on each side)
            using var user = target.Client(target.UserToken(tenant, "alice"));
            Assert.Contains("nine", await (await user.PostAsync("/api/v1/query", RunningServer.Json(new { query = "When does the archive open?" }), ct)).Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
            using var oldUser = _server.Client(_server.UserToken(tenant, "alice"));
            Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await oldUser.GetAsync("/api/v1/documents", ct)).StatusCode); // the old copy is fenced

            Assert.Equal(1, (await RunAsync("tenant", "migrate", tenant, "--confirm")).Code); // no --yes
            (code, output, _) = await RunAsync("tenant", "migrate", tenant, "--confirm", "--yes");
            Assert.Equal(0, code);
            Assert.Contains("erased", output, StringComparison.Ordinal);
            var old = JsonDocument.Parse(await sourceAdmin.GetStringAsync($"/admin/v1/tenants/{tenant}", ct)).RootElement;
            Assert.Equal("deleted", old.GetProperty("status").GetString());

            // an aborted move: the target's copy removed, the tenant served here again
            Assert.Equal(0, (await RunAsync(Target("tenant", "migrate", other, "--to", "namespace", "--out", dir))).Code);
            Assert.Equal(0, (await RunAsync(Target("tenant", "migrate", other, "--abort"))).Code);
            Assert.Equal(System.Net.HttpStatusCode.NotFound, (await targetAdmin.GetAsync($"/admin/v1/tenants/{other}/inventory", ct)).StatusCode);
            using var otherUser = _server.Client(_server.UserToken(other, "alice"));
            Assert.Equal(System.Net.HttpStatusCode.OK, (await otherUser.GetAsync("/api/v1/documents", ct)).StatusCode);

            // already there, or no target: one line, exit 1, nothing changed
            (code, _, err) = await RunAsync(Target("tenant", "migrate", other, "--to", "kamaji", "--out", dir));
            Assert.Equal(1, code);
            Assert.Contains("already", err, StringComparison.Ordinal);
            Assert.Equal(1, (await RunAsync("tenant", "migrate", other, "--to", "namespace", "--out", dir)).Code);
            Assert.Equal(System.Net.HttpStatusCode.OK, (await otherUser.GetAsync("/api/v1/documents", ct)).StatusCode);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(docs, recursive: true);
        }
    }

    [Fact]
    public async Task TokenIssue_SignsTokensTheServerAccepts()
    {
        var (code, output, _) = await RunAsync("token", "issue", "--platform-admin", "--json");
        Assert.Equal(0, code);
        var token = JsonDocument.Parse(output).RootElement.GetProperty("token").GetString()!;
        using var client = _server.Client(token);
        (await client.GetAsync("/admin/v1/tenants", TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task ConsoleLink_SignsInOnce_AndIsNoBearerTokenOfTheApi()
    {
        var tenant = $"cli-c-{Guid.NewGuid():N}"[..20];
        await _server.CreateTenantsAsync(tenant);
        var (code, output, err) = await RunAsync("console", "link", "--tenant", tenant, "--user", "alice", "--role", "editor", "--json");
        Assert.True(code == 0, err);
        var url = new Uri(JsonDocument.Parse(output).RootElement.GetProperty("url").GetString()!);
        Assert.Equal("/console/signin", url.AbsolutePath);
        var link = System.Web.HttpUtility.ParseQueryString(url.Query)["link"]!;

        // the link is not a credential of the API
        using (var asBearer = _server.Client(link))
        {
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await asBearer.GetAsync("/api/v1/documents", TestContext.Current.CancellationToken)).StatusCode);
        }

        var links = _server.Services.GetRequiredService<Bruno.Core.Tenants.ConsoleLinks>();
        var signIn = await links.RedeemAsync(link);
        Assert.NotNull(signIn);
        Assert.Equal((tenant, "alice"), (signIn.Tenant.Value, signIn.User.Value));
        Assert.Equal(["ingest", "memory", "query"], signIn.Scopes.Order(StringComparer.Ordinal));
        Assert.Null(await links.RedeemAsync(link)); // once
        Assert.Null(await links.RedeemAsync(link[..^2] + "xx")); // forged
    }

    [Fact]
    public async Task ConsoleLink_ForAnOperator_SignsInAnOperatorWithNoTenant_Once()
    {
        var (code, output, err) = await RunAsync("console", "link", "--operator", "ops-ann", "--json");
        Assert.True(code == 0, err);
        var url = new Uri(JsonDocument.Parse(output).RootElement.GetProperty("url").GetString()!);
        Assert.Equal("/console/signin", url.AbsolutePath);
        var link = System.Web.HttpUtility.ParseQueryString(url.Query)["link"]!;

        var links = _server.Services.GetRequiredService<Bruno.Core.Tenants.ConsoleLinks>();
        Assert.Null(await links.RedeemAsync(link)); // not a tenant user's link (and not spent by trying)
        var signIn = await links.RedeemOperatorAsync(link);
        Assert.NotNull(signIn);
        Assert.Equal("ops-ann", signIn.Operator.Value);
        Assert.Null(await links.RedeemOperatorAsync(link)); // once

        // a tenant user's link is not an operator's; --operator alone names the operator "operator"
        var (_, userOutput, _) = await RunAsync("console", "link", "--tenant", "acme", "--user", "alice");
        Assert.Null(await links.RedeemOperatorAsync(System.Web.HttpUtility.ParseQueryString(new Uri(userOutput.Trim()).Query)["link"]));
        var (mixedCode, _, mixedErr) = await RunAsync("console", "link", "--operator", "--tenant", "acme", "--user", "alice");
        Assert.Equal((1, "error: --operator signs in an operator: give it without --tenant, --user or --role."), (mixedCode, mixedErr.Trim()));
        var (plainCode, plainOutput, _) = await RunAsync("console", "link", "--operator");
        Assert.Equal(0, plainCode);
        Assert.Equal("operator", (await links.RedeemOperatorAsync(System.Web.HttpUtility.ParseQueryString(new Uri(plainOutput.Trim()).Query)["link"]))?.Operator.Value);
    }

    [Theory]
    [InlineData("console", "link")] // neither --operator nor --tenant and --user
    [InlineData("console", "link", "--operator", "--tenant", "acme")]
    [InlineData("console", "link", "--operator", "ops", "--user", "alice")]
    [InlineData("console", "link", "--operator", "--role", "admin")]
    [InlineData("console", "link", "--operator", "../ops")]
    [InlineData("console", "link", "--tenant", "acme")] // no --user
    [InlineData("console", "link", "--tenant", "acme", "--user", "alice", "--role", "root")]
    [InlineData("token", "issue")] // neither --platform-admin nor --tenant
    [InlineData("token", "issue", "--tenant", "acme", "--user", "alice", "--scope", "root")]
    [InlineData("tenant", "create", "../escape")]
    [InlineData("tenant", "show", "UPPER")]
    [InlineData("no-such-command")]
    [InlineData("ask", "question without a tenant")]
    [InlineData("ingest", "/no/such/folder", "--tenant", "acme")]
    [InlineData("memory", "export", "--tenant", "acme")] // no --user
    [InlineData("memory", "erase", "--tenant", "acme", "--user", "alice")] // no --yes
    [InlineData("memory", "export", "--tenant", "acme", "--user", "../alice")]
    [InlineData("tenant", "export", "acme")] // no --out
    [InlineData("tenant", "export", "acme", "--out", "x.bundle", "--passphrase", "on the command line")]
    [InlineData("tenant", "import", "/no/such/bundle", "--passphrase-file", "/no/such/file")]
    [InlineData("tenant", "list", "--bogus")] // issue 20: an option no command defines is refused, not ignored
    [InlineData("login", "--token", "a", "--api-key", "b")]
    [InlineData("user", "role", "alice", "superuser", "--tenant", "acme")] // issue 21: a role that does not exist
    [InlineData("user", "role", "alice", "--tenant", "acme")] // neither a role nor --remove
    [InlineData("group", "create", "../eng", "--tenant", "acme")]
    [InlineData("group", "add", "eng", "alice")] // no --tenant
    [InlineData("ingest", ".", "--tenant", "acme", "--access", "group:a|b")] // issue 21: a malformed access entry
    [InlineData("document", "access", "plan", "tenant,group:eng", "--tenant", "acme")] // 'tenant' is alone or absent
    public async Task UserErrors_ExitWith1_AndOneLineOnStandardError(params string[] args)
    {
        var (code, _, err) = await RunAsync(args);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", err, StringComparison.Ordinal);
        Assert.Single(err.TrimEnd().Split('\n'));
    }

    [Fact]
    public async Task AnUnreachableServer_ExitsWith2()
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output) });
        var code = await BrunoCli.RunAsync(["tenant", "list", "--data", _server.Root, "--server", "http://127.0.0.1:9"], console, errors);
        Assert.Equal(2, code);
        Assert.Contains("cannot reach the server", errors.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserRolesAndGroups_AreManagedThroughTheRunningServer()
    {
        var tenant = $"cli-r-{Guid.NewGuid():N}"[..20];
        await _server.CreateTenantsAsync(tenant);

        var (code, output, err) = await RunAsync("user", "role", "alice", "owner", "--tenant", tenant);
        Assert.True(code == 0, err);
        Assert.Contains("alice is owner", output, StringComparison.Ordinal);
        (code, output, _) = await RunAsync("user", "role", "bob", "editor", "--tenant", tenant);
        Assert.Equal(0, code);
        (code, output, _) = await RunAsync("user", "list", "--tenant", tenant, "--json");
        Assert.Equal(0, code);
        Assert.Equal(["alice:owner", "bob:editor"], JsonDocument.Parse(output).RootElement.GetProperty("items").EnumerateArray()
            .Select(r => $"{r.GetProperty("user").GetString()}:{r.GetProperty("role").GetString()}"));
        (code, _, err) = await RunAsync("user", "role", "alice", "--remove", "--tenant", tenant);
        Assert.Equal(1, code); // the last owner stays: a 409, said in one line
        Assert.Contains("last owner", err, StringComparison.Ordinal);

        (code, _, err) = await RunAsync("group", "create", "eng", "--tenant", tenant);
        Assert.True(code == 0, err);
        (code, _, _) = await RunAsync("group", "add", "eng", "bob", "--admin", "--tenant", tenant);
        Assert.Equal(0, code);
        (code, output, _) = await RunAsync("group", "members", "eng", "--tenant", tenant);
        Assert.Equal(0, code);
        Assert.Contains("bob\tgroup admin", output, StringComparison.Ordinal);
        (code, output, _) = await RunAsync("group", "list", "--tenant", tenant);
        Assert.Contains("eng\t1 members", output, StringComparison.Ordinal);
        (code, _, _) = await RunAsync("group", "remove", "eng", "bob", "--tenant", tenant);
        Assert.Equal(0, code);
        (code, _, _) = await RunAsync("group", "delete", "eng", "--tenant", tenant);
        Assert.Equal(0, code);
        (code, _, err) = await RunAsync("group", "members", "eng", "--tenant", tenant);
        Assert.Equal(1, code);
        Assert.Contains("No such group", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IngestWithAnAccessList_AndDocumentAccess_SetWhoMayRead()
    {
        var tenant = $"cli-d-{Guid.NewGuid():N}"[..20];
        await _server.CreateTenantsAsync(tenant);
        var folder = Directory.CreateTempSubdirectory("bruno-cli-access").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "plan.md"), "# Plan\nThe eng roadmap puts search first, CLICANARY.", TestContext.Current.CancellationToken);
            var (code, _, err) = await RunAsync("ingest", folder, "--tenant", tenant, "--access", "group:eng");
            Assert.True(code == 0, err);
            (code, var output, _) = await RunAsync("document", "list", "--tenant", tenant);
            Assert.Equal(0, code);
            Assert.Contains("plan.md\tPlan\t1 chunks\tgroup:eng", output, StringComparison.Ordinal);

            // asked as a user outside the group, then as one in it (groups come from the catalog at each request)
            (code, output, _) = await RunAsync("ask", "What does the eng roadmap put first?", "--tenant", tenant, "--user", "ann", "--json");
            Assert.Equal(0, code);
            Assert.DoesNotContain("CLICANARY", output, StringComparison.Ordinal);
            (code, output, err) = await RunAsync("document", "access", "plan.md", "user:ann", "--tenant", tenant);
            Assert.True(code == 0, err);
            Assert.Contains("plan.md: readable by user:ann", output, StringComparison.Ordinal);
            (code, output, _) = await RunAsync("ask", "What does the eng roadmap put first?", "--tenant", tenant, "--user", "ann", "--json");
            Assert.Equal(0, code);
            Assert.Contains("CLICANARY", output, StringComparison.Ordinal);

            (code, _, err) = await RunAsync("document", "access", "no-such-doc", "tenant", "--tenant", tenant);
            Assert.Equal(1, code);
            Assert.Contains("No such document", err, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task MemoryExportAndErase_ActOnOneUserOfOneTenant()
    {
        var ct = TestContext.Current.CancellationToken;
        var tenant = $"cli-m-{Guid.NewGuid():N}"[..20];
        await _server.CreateTenantsAsync(tenant);

        foreach (var (user, note) in new[] { ("gina", "My parking spot is 12 CLIMEMCANARY."), ("hal", "My parking spot is 40.") })
        {
            using var client = _server.Client(_server.UserToken(tenant, user, Bruno.Core.Identity.Scopes.Memory));
            (await client.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = note }), ct)).EnsureSuccessStatusCode();
        }

        var (code, output, _) = await RunAsync("memory", "export", "--tenant", tenant, "--user", "gina");
        Assert.Equal(0, code);
        var export = JsonDocument.Parse(output).RootElement;
        Assert.Equal("gina", export.GetProperty("user").GetString());
        Assert.Contains("CLIMEMCANARY", export.GetProperty("facts")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("spot is 40", output, StringComparison.Ordinal);

        var file = Path.Combine(Path.GetTempPath(), $"bruno-export-{Guid.NewGuid():N}.json");
        try
        {
            (code, output, _) = await RunAsync("memory", "export", "--tenant", tenant, "--user", "gina", "--out", file);
            Assert.Equal(0, code);
            Assert.Contains("1 facts", output, StringComparison.Ordinal);
            Assert.Contains("CLIMEMCANARY", await File.ReadAllTextAsync(file, ct), StringComparison.Ordinal);
            var (again, _, err) = await RunAsync("memory", "export", "--tenant", tenant, "--user", "gina", "--out", file);
            Assert.Equal(1, again); // never overwrites
            Assert.Contains("exists", err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }

        (code, output, _) = await RunAsync("memory", "erase", "--tenant", tenant, "--user", "gina", "--yes", "--json");
        Assert.Equal(0, code);
        Assert.Equal(1, JsonDocument.Parse(output).RootElement.GetProperty("rows_deleted").GetInt64());
        (_, output, _) = await RunAsync("memory", "export", "--tenant", tenant, "--user", "gina");
        Assert.Empty(JsonDocument.Parse(output).RootElement.GetProperty("facts").EnumerateArray());
        (_, output, _) = await RunAsync("memory", "export", "--tenant", tenant, "--user", "hal");
        Assert.Single(JsonDocument.Parse(output).RootElement.GetProperty("facts").EnumerateArray());
    }

    [Fact]
    public async Task TenantLifecycleCommands_ChangeStateAndPlan()
    {
        var tenant = $"cli-l-{Guid.NewGuid():N}"[..20];
        var (code, output, _) = await RunAsync("tenant", "create", tenant, "--plan", "premium", "--isolation", "kamaji", "--compliance", "gdpr, hipaa", "--json");
        Assert.Equal(0, code);
        var created = JsonDocument.Parse(output).RootElement;
        Assert.Equal(("premium", "kamaji", 2), (created.GetProperty("plan").GetString(), created.GetProperty("isolation").GetString(), created.GetProperty("compliance").GetArrayLength()));

        foreach (var (verb, status) in new[] { ("suspend", "suspended"), ("resume", "active"), ("offload", "offloaded"), ("resume", "active") })
        {
            (code, output, _) = await RunAsync("tenant", verb, tenant);
            Assert.Equal(0, code);
            Assert.Contains($"\t{status}\t", output, StringComparison.Ordinal);
        }

        var (again, _, err) = await RunAsync("tenant", "resume", tenant);
        Assert.Equal(1, again); // 409: already active
        Assert.Contains("is active", err, StringComparison.Ordinal);
        (code, output, _) = await RunAsync("tenant", "plan", tenant, "default", "--json");
        Assert.Equal("default", JsonDocument.Parse(output).RootElement.GetProperty("plan").GetString());

        (code, _, err) = await RunAsync("tenant", "delete", tenant);
        Assert.Equal(1, code);
        Assert.Contains("--yes", err, StringComparison.Ordinal);
        var receipt = Path.Combine(_server.Root, $"receipt-{tenant}.json");
        (code, output, _) = await RunAsync("tenant", "delete", tenant, "--yes", "--receipt", receipt, "--json");
        Assert.Equal(0, code);
        Assert.Equal("deleted", JsonDocument.Parse(output).RootElement.GetProperty("status").GetString());

        // the signed erasure receipt checks out, and an altered one does not
        (code, output, _) = await RunAsync("receipt", "verify", receipt);
        Assert.Equal(0, code);
        Assert.Contains($"valid: tenant {tenant} erased at", output, StringComparison.Ordinal);
        await File.WriteAllTextAsync(receipt, (await File.ReadAllTextAsync(receipt, TestContext.Current.CancellationToken)).Replace("\"files_removed\": ", "\"files_removed\": 1", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        (code, output, _) = await RunAsync("receipt", "verify", receipt);
        Assert.Equal(1, code);
        Assert.Contains("NOT valid", output, StringComparison.Ordinal);
        (var missing, _, err) = await RunAsync("receipt", "verify", receipt + ".none");
        Assert.Equal(1, missing);
        Assert.StartsWith("error: no receipt at", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiptVerify_AcceptsWhatTheApiReturns()
    {
        // issue 19: the JSON of DELETE /admin/v1/tenants/{t}/users/{u} (the receipt nested under "receipt") was refused
        var ct = TestContext.Current.CancellationToken;
        var tenant = "receipt-" + Guid.NewGuid().ToString("N")[..8];
        await _server.CreateTenantsAsync(tenant);
        using (var dora = _server.Client(_server.UserToken(tenant, "dora", Bruno.Core.Identity.Scopes.Memory)))
        {
            (await dora.PostAsync("/api/v1/me/memory", RunningServer.Json(new { text = "My desk is 4B." }), ct)).EnsureSuccessStatusCode();
        }

        using var platform = _server.Client(_server.PlatformToken());
        var response = await (await platform.DeleteAsync($"/admin/v1/tenants/{tenant}/users/dora", ct)).Content.ReadAsStringAsync(ct);
        var file = Path.Combine(_server.Root, $"erasure-{tenant}.json");
        await File.WriteAllTextAsync(file, response, ct);
        var (code, output, _) = await RunAsync("receipt", "verify", file);
        Assert.Equal(0, code);
        Assert.Contains($"valid: user dora of tenant {tenant} erased at", output, StringComparison.Ordinal);

        // the list of a tenant's receipts, too
        var list = await (await platform.GetAsync($"/admin/v1/tenants/{tenant}/receipts", ct)).Content.ReadAsStringAsync(ct);
        await File.WriteAllTextAsync(file, list, ct);
        (code, output, _) = await RunAsync("receipt", "verify", file);
        Assert.Equal(0, code);
        Assert.Contains("valid: user dora", output, StringComparison.Ordinal);

        // and a response that holds no receipt is named as such
        await File.WriteAllTextAsync(file, """{"user":"dora","rows_deleted":1}""", ct);
        (code, _, var err) = await RunAsync("receipt", "verify", file);
        Assert.Equal(1, code);
        Assert.Contains("is not an erasure receipt", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditVerify_PassesAnIntactLog_AndLocatesTampering()
    {
        var tenant = $"cli-a-{Guid.NewGuid():N}"[..20];
        Assert.Equal(0, (await RunAsync("tenant", "create", tenant)).Code);
        foreach (var verb in new[] { "suspend", "resume", "suspend", "resume" })
        {
            Assert.Equal(0, (await RunAsync("tenant", verb, tenant)).Code);
        }

        var (code, output, _) = await RunAsync("audit", "verify", "--tenant", tenant);
        Assert.Equal(0, code);
        Assert.Contains("5 entries", output, StringComparison.Ordinal);
        Assert.Contains("intact", output, StringComparison.Ordinal);
        (code, output, _) = await RunAsync("audit", "list", "--tenant", tenant, "--action", "tenant.suspend", "--json");
        Assert.Equal(2, JsonDocument.Parse(output).RootElement.GetProperty("entries").GetArrayLength());

        // keep the signed checkpoints off the server, then rewrite history with a consistent chain
        var kept = Path.Combine(_server.Root, "kept-checkpoints.json");
        using (var platform = _server.Client(_server.PlatformToken()))
        {
            (await platform.PostAsync($"/admin/v1/tenants/{tenant}/audit/checkpoints", null, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        }

        Assert.Equal(0, (await RunAsync("audit", "checkpoints", "--tenant", tenant, "--out", kept)).Code);
        var tenants = _server.Services.GetRequiredService<Bruno.Core.Tenants.TenantService>();
        var audit = tenants.Store(Bruno.Storage.Identity.TenantId.Parse(tenant)).Collection(Bruno.Core.Audit.AuditLog.CollectionName);
        var rows = (await audit.ReadAllAsync(ct: TestContext.Current.CancellationToken)).OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        var second = Bruno.Core.Audit.AuditLog.Parse(rows[1]);
        await audit.UpsertAsync([Bruno.Core.Audit.AuditLog.ToRow(second with { Actor = "operator:nobody" })], ct: TestContext.Current.CancellationToken);

        (code, output, _) = await RunAsync("audit", "verify", "--tenant", tenant);
        Assert.Equal(1, code);
        Assert.Contains("entry 2: entry was altered", output, StringComparison.Ordinal);
        Assert.Contains("NOT intact", output, StringComparison.Ordinal);

        // the last entry removed: the checkpoint kept elsewhere still shows the truncation
        await audit.UpsertAsync([rows[1]], ct: TestContext.Current.CancellationToken);
        await audit.DeleteAsync([rows[^1].Id], ct: TestContext.Current.CancellationToken);
        (code, output, _) = await RunAsync("audit", "verify", "--tenant", tenant, "--checkpoints", kept, "--json");
        Assert.Equal(1, code);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.False(result.GetProperty("intact").GetBoolean());
        Assert.Contains("truncated", result.GetProperty("findings")[0].GetProperty("problem").GetString(), StringComparison.Ordinal);

        var (bad, _, err) = await RunAsync("audit", "verify", "--tenant", "../etc");
        Assert.Equal(1, bad);
        Assert.StartsWith("error:", err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TenantExportAndImport_WriteAPrivateBundleAtomically_AndRestoreIt()
    {
        var ct = TestContext.Current.CancellationToken;
        var tenant = $"cli-b-{Guid.NewGuid():N}"[..20];
        using (var user = await _server.TenantClientAsync(tenant))
        {
            (await user.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "hours", content = "The museum opens at ten BUNDLECANARY." }), ct)).EnsureSuccessStatusCode();
        }

        var folder = Directory.CreateTempSubdirectory("bruno-cli-bundle-").FullName;
        try
        {
            var passphrase = Path.Combine(folder, "passphrase");
            await File.WriteAllTextAsync(passphrase, "museum opening hours passphrase\n", ct);
            var wrong = Path.Combine(folder, "wrong");
            await File.WriteAllTextAsync(wrong, "not the right passphrase at all\n", ct);
            var bundle = Path.Combine(folder, "acme.bundle");

            var (code, output, err) = await RunAsync("tenant", "export", tenant, "--out", bundle, "--passphrase-file", passphrase, "--json");
            Assert.True(code == 0, err);
            var written = JsonDocument.Parse(output).RootElement;
            Assert.Equal(new FileInfo(bundle).Length, written.GetProperty("bytes").GetInt64());
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(bundle, ct))), written.GetProperty("sha256").GetString());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(bundle));
            Assert.DoesNotContain("BUNDLECANARY", System.Text.Encoding.UTF8.GetString(await File.ReadAllBytesAsync(bundle, ct)), StringComparison.Ordinal);
            Assert.Equal([bundle, passphrase, wrong], Directory.GetFiles(folder).Order(StringComparer.Ordinal)); // no partial file left

            // an existing file is never overwritten; an unknown tenant leaves no file
            (code, _, err) = await RunAsync("tenant", "export", tenant, "--out", bundle, "--passphrase-file", passphrase);
            Assert.Equal((1, true), (code, err.Contains("exists", StringComparison.Ordinal)));
            var none = Path.Combine(folder, "none.bundle");
            (code, _, err) = await RunAsync("tenant", "export", "no-such-tenant", "--out", none, "--passphrase-file", passphrase);
            Assert.Equal((1, true), (code, err.Contains("No such tenant", StringComparison.Ordinal)));
            Assert.Equal(3, Directory.GetFiles(folder).Length);

            // import under another id: a copy that answers like the original
            var copy = $"cli-c-{Guid.NewGuid():N}"[..20];
            (code, output, err) = await RunAsync("tenant", "import", bundle, "--as", copy, "--passphrase-file", passphrase, "--json");
            Assert.True(code == 0, err);
            Assert.Equal((copy, "active"), (JsonDocument.Parse(output).RootElement.GetProperty("id").GetString(), JsonDocument.Parse(output).RootElement.GetProperty("status").GetString()));
            (code, output, _) = await RunAsync("ask", "When does the museum open?", "--tenant", copy);
            Assert.Contains("BUNDLECANARY", output, StringComparison.Ordinal);

            // refusals: one line, exit 1, and nothing created
            var other = $"cli-o-{Guid.NewGuid():N}"[..20];
            foreach (var (args, expected) in new (string[], string)[]
            {
                (["tenant", "import", bundle, "--as", copy, "--passphrase-file", passphrase], "already exists"),
                (["tenant", "import", bundle, "--as", other, "--passphrase-file", wrong], "passphrase does not open"),
                (["tenant", "import", passphrase, "--as", other, "--passphrase-file", passphrase], "not a Bruno tenant bundle"),
                (["tenant", "import", bundle, "--as", other], "BRUNO_BUNDLE_PASSPHRASE"),
                (["tenant", "import", bundle, "--as", other, "--passphrase-file", Path.Combine(folder, "missing")], "does not exist"),
            })
            {
                (code, _, err) = await RunAsync(args);
                Assert.True(code == 1 && err.Contains(expected, StringComparison.Ordinal), $"{string.Join(' ', args)}: {code} {err}");
                Assert.Single(err.TrimEnd().Split('\n'));
            }

            (code, output, _) = await RunAsync("tenant", "list", "--json");
            Assert.DoesNotContain(other, output, StringComparison.Ordinal);

            // the passphrase from the environment (this class's tests run one at a time)
            Environment.SetEnvironmentVariable("BRUNO_BUNDLE_PASSPHRASE", "museum opening hours passphrase");
            try
            {
                (code, output, err) = await RunAsync("tenant", "import", bundle, "--as", other);
                Assert.True(code == 0, err);
                Assert.Contains($"{other}\tactive", output, StringComparison.Ordinal);
            }
            finally
            {
                Environment.SetEnvironmentVariable("BRUNO_BUNDLE_PASSPHRASE", null);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Usage_ShowsTheMonthAsATable_JsonOrCsv()
    {
        var tenant = $"cli-u-{Guid.NewGuid():N}"[..20];
        using (var user = await _server.TenantClientAsync(tenant))
        {
            (await user.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "d", content = "The gym opens at six." }), TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        }

        var month = DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var (code, output, _) = await RunAsync("usage", "--tenant", tenant, "--month", month);
        Assert.Equal(0, code);
        Assert.Contains("requests", output, StringComparison.Ordinal);
        Assert.Contains("projected month", output, StringComparison.Ordinal);
        (code, output, _) = await RunAsync("usage", "--tenant", tenant, "--json");
        Assert.Equal(1, JsonDocument.Parse(output).RootElement.GetProperty("usage").GetProperty("requests").GetInt64());
        (code, output, _) = await RunAsync("usage", "--tenant", tenant, "--csv");
        Assert.StartsWith("hour,requests,", output, StringComparison.Ordinal);

        var (bad, _, err) = await RunAsync("usage", "--tenant", tenant, "--month", "November");
        Assert.Equal(1, bad);
        Assert.Equal("error: --month must be written yyyy-MM, e.g. 2026-11", err.Trim());
        (bad, _, err) = await RunAsync("usage", "--tenant", "nobody-here");
        Assert.Equal(1, bad);
        Assert.Equal("error: No such tenant.", err.Trim());
    }

    [Fact]
    public async Task EvalRun_PrintsTheFigures_AndExitsOneBelowAThreshold_SoThatCiCanGateAKnowledgeBase()
    {
        var tenant = $"cli-ev-{Guid.NewGuid():N}"[..20];
        Assert.Equal(0, (await RunAsync("tenant", "create", tenant)).Code);
        var folder = Directory.CreateTempSubdirectory("bruno-cli-eval-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "hours.md"), "# Opening hours\nThe library opens at nine in the morning on weekdays.\n# Parking\nParking is free for visitors after six in the evening.", TestContext.Current.CancellationToken);
            Assert.Equal(0, (await RunAsync("ingest", folder, "--tenant", tenant)).Code);
            var cases = Path.Combine(folder, "cases.jsonl");
            await File.WriteAllLinesAsync(cases,
            [
                """{"id": "open", "question": "What time does the library open?", "expected_documents": ["hours.md"], "expected_phrase": "nine in the morning"}""",
                """{"id": "park", "question": "is parking free in the evening", "expected_documents": ["hours.md"], "expected_phrase": "after six", "style": "keyword"}""",
                """{"id": "mars", "question": "How far away is Mars?", "must_not_answer": true}""",
            ], TestContext.Current.CancellationToken);

            var (code, output, _) = await RunAsync("eval", "run", cases, "--tenant", tenant, "--label", "ci", "--min-hit5", "0.9");
            Assert.Equal(0, code);
            Assert.Contains("hit@5", output, StringComparison.Ordinal);
            Assert.Contains("answer accuracy", output, StringComparison.Ordinal);

            (code, output, _) = await RunAsync("eval", "run", cases, "--tenant", tenant, "--json", "--no-keep");
            Assert.Equal(0, code);
            Assert.Equal(1.0, JsonDocument.Parse(output).RootElement.GetProperty("metrics").GetProperty("hit_at_1").GetDouble());

            // a threshold no run can meet: exit 1, saying which figure
            var (failed, _, err) = await RunAsync("eval", "run", cases, "--tenant", tenant, "--max-calibration-error", "0");
            Assert.True(failed == 1 || err.Length == 0, err); // a perfectly calibrated run is possible in principle
            if (failed == 1)
            {
                Assert.Contains("calibration error", err, StringComparison.Ordinal);
            }

            (code, output, _) = await RunAsync("eval", "list", "--tenant", tenant, "--json");
            Assert.Equal(0, code);
            Assert.Equal(2, JsonDocument.Parse(output).RootElement.GetProperty("items").GetArrayLength()); // the --no-keep run is not kept

            await File.WriteAllTextAsync(cases, "{\"question\": \"x\"\nnot json", TestContext.Current.CancellationToken);
            (failed, _, err) = await RunAsync("eval", "run", cases, "--tenant", tenant);
            Assert.Equal(1, failed);
            Assert.Contains("cases.jsonl:1: not valid JSON", err, StringComparison.Ordinal);
            (failed, _, err) = await RunAsync("eval", "run", Path.Combine(folder, "missing.jsonl"), "--tenant", tenant);
            Assert.Equal(1, failed);
            Assert.Contains("does not exist", err, StringComparison.Ordinal);
            (failed, _, err) = await RunAsync("eval", "run", Path.Combine(folder, "hours.md"), "--tenant", tenant, "--min-hit5", "2");
            Assert.Equal(1, failed);
            Assert.Contains("between 0 and 1", err, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task Ingest_GoesOnPastARefusedFile_ListsIt_AndExitsOne()
    {
        var tenant = $"cli-in-{Guid.NewGuid():N}"[..20];
        Assert.Equal(0, (await RunAsync("tenant", "create", tenant)).Code);
        var folder = Directory.CreateTempSubdirectory("bruno-cli-refused-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "a-good.md"), "# Title from the file\nGood text here.", TestContext.Current.CancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(folder, "b-broken.pdf"), HostileFiles.MalformedPdf(), TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(folder, "c-good.txt"), "More good text.", TestContext.Current.CancellationToken);

            var (code, output, err) = await RunAsync("ingest", folder, "--tenant", tenant, "--json");
            Assert.Equal(1, code);
            var result = JsonDocument.Parse(output).RootElement;
            Assert.Equal(2, result.GetProperty("documents").GetInt32());
            Assert.Contains("b-broken.pdf: The file is not a PDF that can be read.", result.GetProperty("refused")[0].GetString(), StringComparison.Ordinal);
            // under --json the error is JSON too (issue 20)
            Assert.Equal("1 of 3 files were refused (listed above)", JsonDocument.Parse(err).RootElement.GetProperty("error").GetProperty("message").GetString());
            Assert.Equal("Title from the file", result.GetProperty("items")[0].GetProperty("title").GetString()); // the file's own title, not its name
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
