using System.ComponentModel;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Kubernetes;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>
/// <c>bruno tenant migrate T --to LEVEL --target-server URL --target-data DIR --out DIR</c>: moves a tenant to another
/// isolation level, printing each step as it performs it: render the new level's manifests (before anything changes,
/// so a level that cannot be rendered changes nothing), suspend the tenant here (its writes stop), export its bundle,
/// import it on the target installation at the new level, compare every collection's row count and digest on both
/// sides, and leave the copy here suspended until <c>--confirm --yes</c> erases it (after routing was switched) or
/// <c>--abort</c> resumes it and removes the target's copy. A failed step undoes the ones before it.
/// </summary>
internal sealed class TenantMigrateCommand : AsyncCommand<TenantMigrateCommand.Settings>
{
    public sealed class Settings : RenderSettings
    {
        [CommandArgument(0, "<TENANT>")]
        [Description("Tenant id.")]
        public string Tenant { get; init; } = string.Empty;

        [CommandOption("--to <LEVEL>")]
        [Description("The new isolation level: namespace, kamaji or dedicated-cluster.")]
        public string? To { get; init; }

        [CommandOption("--target-server <URL>")]
        [Description("Address of the installation that will serve the tenant at its new level.")]
        public string? TargetServer { get; init; }

        [CommandOption("--target-data <DIR>")]
        [Description("That installation's data folder (its signing key makes the operator token).")]
        public string? TargetData { get; init; }

        [CommandOption("--confirm")]
        [Description("After routing was switched: erase the old copy here (with --yes).")]
        public bool Confirm { get; init; }

        [CommandOption("--abort")]
        [Description("Undo a migration: remove the target's copy, resume the tenant here.")]
        public bool Abort { get; init; }

        [CommandOption("--yes")]
        [Description("Confirm the erasure of the old copy.")]
        public bool Yes { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var id = TenantId.Parse(settings.Tenant);
        var console = CliConsole.Current;
        var token = settings.PlatformCredential("cli-migrate", TimeSpan.FromMinutes(30));
        using var source = new ApiClient(settings.ServerUri(), token, Timeout.InfiniteTimeSpan);
        if (settings.Confirm)
        {
            if (!settings.Yes)
            {
                throw new CliException(BrunoCli.UserError, "--confirm erases the old copy of the tenant and cannot be undone; add --yes");
            }

            var current = await source.SendAsync(HttpMethod.Get, $"/admin/v1/tenants/{id.Value}", null, cancellationToken);
            if (current.GetProperty("status").GetString() != "suspended")
            {
                throw new CliException(BrunoCli.UserError, $"tenant {id.Value} is {current.GetProperty("status").GetString()} here, not suspended by a migration: nothing was erased");
            }

            var erased = await source.SendAsync(HttpMethod.Delete, $"/admin/v1/tenants/{id.Value}", null, cancellationToken);
            CliConsole.For(settings).Write(erased, c => c.WriteLine($"the old copy of {id.Value} is erased here (receipt {Receipt(erased)})"));
            return BrunoCli.Ok;
        }

        using var target = TargetClient(settings);
        if (settings.Abort)
        {
            var removed = await TryEraseAsync(target, id, cancellationToken);
            await source.SendAsync(HttpMethod.Post, $"/admin/v1/tenants/{id.Value}/resume", null, cancellationToken);
            CliConsole.For(settings).Write(new { tenant = id.Value, target_copy_removed = removed, resumed = true }, c => c.WriteLine($"migration of {id.Value} undone: {(removed ? "the target's copy removed, " : string.Empty)}the tenant resumed here"));
            return BrunoCli.Ok;
        }

        var to = settings.To is { } level && TenantProfile.IsolationLevels.Contains(level)
            ? level
            : throw new CliException(BrunoCli.UserError, $"--to must be one of {string.Join(", ", TenantProfile.IsolationLevels)}");
        var folder = settings.OutputFolder();
        var record = Record(await source.SendAsync(HttpMethod.Get, $"/admin/v1/tenants/{id.Value}", null, cancellationToken));
        if (record.Profile.Isolation == to)
        {
            throw new CliException(BrunoCli.UserError, $"tenant {id.Value} is already at the {to} level");
        }

        // 1. The new level's manifests, before anything changes.
        var moved = record with { Status = TenantStatus.Active, Profile = record.Profile with { Isolation = to } };
        var files = new ManifestRenderer(settings.KubernetesOptions(), settings.Options().PlanResources()).RenderTenant(moved.ToDeployment());
        ManifestWriter.Write(folder, files);
        console.WriteLine($"1/6 rendered {id.Value} at the {to} level: {files.Count} files under {Path.GetFullPath(folder)}");

        // 2. Writes stop here.
        var wasActive = record.Status != TenantStatus.Suspended;
        if (wasActive)
        {
            await source.SendAsync(HttpMethod.Post, $"/admin/v1/tenants/{id.Value}/suspend", null, cancellationToken);
        }

        console.WriteLine($"2/6 suspended {id.Value} here: its requests get 403 until the move is confirmed or aborted");
        var imported = false;
        var spool = Directory.CreateTempSubdirectory("bruno-migrate-");
        try
        {
            // 3. The bundle, under a passphrase that never leaves this process.
            var passphrase = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            var bundle = Path.Combine(spool.FullName, id.Value + ".bundle");
            long bytes;
            await using (var file = new FileStream(bundle, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                (bytes, _) = await source.DownloadAsync(HttpMethod.Post, $"/admin/v1/tenants/{id.Value}/export", new { passphrase }, file, cancellationToken);
            }

            console.WriteLine($"3/6 exported {id.Value}: {bytes} bytes, encrypted");

            // 4. The copy on the target, at the new level.
            await using (var file = File.OpenRead(bundle))
            {
                using var content = new StreamContent(file);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
                await target.SendAsync(HttpMethod.Post, $"/admin/v1/tenants/import?isolation={Uri.EscapeDataString(to)}", content, cancellationToken, new Dictionary<string, string>
                {
                    ["X-Bundle-Passphrase-Base64"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(passphrase)),
                });
            }

            imported = true;
            console.WriteLine($"4/6 imported {id.Value} on {settings.TargetServer} at the {to} level");

            // 5. Both copies compared: every collection's rows and digest, and the audit log, which goes on separately
            // on each side (the export is recorded here, the import there), up to the entry before the import.
            var here = await source.SendAsync(HttpMethod.Get, $"/admin/v1/tenants/{id.Value}/inventory", null, cancellationToken);
            var there = await target.SendAsync(HttpMethod.Get, $"/admin/v1/tenants/{id.Value}/inventory", null, cancellationToken);
            var (a, b) = (Inventory(here), Inventory(there));
            if (!a.SequenceEqual(b) || !await SameAuditAsync(source, target, id, cancellationToken))
            {
                throw new CliException(BrunoCli.SystemError, $"the copies of {id.Value} differ after the import (here {Describe(a)}, there {Describe(b)}); the move was undone");
            }

            console.WriteLine($"5/6 verified: {a.Count} collections, {a.Sum(c => c.Rows)} rows, every digest equal; the audit log's chain continues from the same entry");
        }
        catch
        {
            if (imported)
            {
                await TryEraseAsync(target, id, CancellationToken.None);
            }

            if (wasActive)
            {
                await source.SendAsync(HttpMethod.Post, $"/admin/v1/tenants/{id.Value}/resume", null, CancellationToken.None);
            }

            throw;
        }
        finally
        {
            spool.Delete(recursive: true);
        }

        console.WriteLine($"6/6 switch routing: commit {Path.GetFullPath(folder)} (Flux applies the new level), point {id.Value}'s traffic at {settings.TargetServer}, then");
        console.WriteLine($"    bruno tenant migrate {id.Value} --confirm --yes    erases the old copy here (it stays suspended until then)");
        console.WriteLine($"    bruno tenant migrate {id.Value} --abort --target-server {settings.TargetServer} --target-data {settings.TargetData}    undoes the move");
        return BrunoCli.Ok;
    }

    private static ApiClient TargetClient(Settings settings)
    {
        if (string.IsNullOrWhiteSpace(settings.TargetServer) || string.IsNullOrWhiteSpace(settings.TargetData))
        {
            throw new CliException(BrunoCli.UserError, "--target-server URL and --target-data DIR (the target installation) are required");
        }

        if (!Uri.TryCreate(settings.TargetServer, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new CliException(BrunoCli.UserError, $"--target-server must be an http(s) address, not '{settings.TargetServer}'");
        }

        if (!Directory.Exists(Path.Combine(settings.TargetData, "secrets")))
        {
            throw new CliException(BrunoCli.UserError, $"--target-data '{settings.TargetData}' is not an installation's data folder (no secrets/)");
        }

        var tokens = TokenService.ForDataDirectory(new DataDirectory(settings.TargetData), settings.Options());
        return new ApiClient(uri, tokens.IssuePlatformToken("cli-migrate", TimeSpan.FromMinutes(30)), Timeout.InfiniteTimeSpan);
    }

    private static async Task<bool> TryEraseAsync(ApiClient target, TenantId id, CancellationToken ct)
    {
        try
        {
            await target.SendAsync(HttpMethod.Delete, $"/admin/v1/tenants/{id.Value}", null, ct);
            return true;
        }
        catch (CliException)
        {
            return false; // not there
        }
    }

    private static TenantRecord Record(JsonElement t) =>
        new(TenantId.Parse(t.GetProperty("id").GetString()), t.GetProperty("display_name").GetString()!, Enum.Parse<TenantStatus>(t.GetProperty("status").GetString()!, ignoreCase: true), t.GetProperty("created_at").GetDateTimeOffset())
        {
            Profile = new TenantProfile(
                t.GetProperty("plan").GetString()!,
                t.GetProperty("isolation").GetString()!,
                t.TryGetProperty("compliance", out var flags) && flags.ValueKind == JsonValueKind.Array ? [.. flags.EnumerateArray().Select(f => f.GetString()!)] : []),
        };

    // Every collection but the audit log, which is compared by its hash chain.
    private static List<(string Name, long Rows, string Digest)> Inventory(JsonElement inventory) =>
        [.. inventory.GetProperty("collections").EnumerateArray()
            .Where(c => c.GetProperty("name").GetString() != Core.Audit.AuditLog.CollectionName)
            .Select(c => (c.GetProperty("name").GetString()!, c.GetProperty("rows").GetInt64(), c.GetProperty("digest").GetString()!))];

    // The target's import entry chains onto the source's entry just before it: same hash, so the same log up to there.
    private static async Task<bool> SameAuditAsync(ApiClient source, ApiClient target, TenantId id, CancellationToken ct)
    {
        var imports = (await target.SendAsync(HttpMethod.Get, $"/admin/v1/tenants/{id.Value}/audit?action=tenant.import&limit=1000", null, ct)).GetProperty("entries");
        if (imports.GetArrayLength() == 0)
        {
            return false;
        }

        var import = imports[imports.GetArrayLength() - 1];
        var seq = import.GetProperty("seq").GetInt64();
        var previous = import.GetProperty("prev_hash").GetString();
        var before = (await source.SendAsync(HttpMethod.Get, $"/admin/v1/tenants/{id.Value}/audit?after={Math.Max(0, seq - 2)}&limit=1", null, ct)).GetProperty("entries");
        return seq == 1
            ? previous == Core.Audit.AuditEntry.Genesis
            : before.GetArrayLength() == 1 && before[0].GetProperty("seq").GetInt64() == seq - 1 && before[0].GetProperty("hash").GetString() == previous;
    }

    private static string Describe(List<(string Name, long Rows, string Digest)> inventory) =>
        string.Join(", ", inventory.Select(c => $"{c.Name} {c.Rows} rows"));

    private static string Receipt(JsonElement erased) =>
        erased.TryGetProperty("receipt", out var r) && r.TryGetProperty("id", out var rid) ? rid.ToString() : "none";
}
