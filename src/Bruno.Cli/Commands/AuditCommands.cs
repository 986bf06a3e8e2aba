using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Bruno.Core;
using Bruno.Core.Audit;
using Bruno.Storage.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>Settings of the audit commands: the tenant, as an option.</summary>
internal class AuditSettings : CliSettings
{
    [CommandOption("--tenant <TENANT>")]
    [Description("The tenant whose log to read.")]
    public string Tenant { get; init; } = string.Empty;

    /// <summary>The checked tenant id (throws <see cref="InvalidIdentifierException"/> before any call).</summary>
    public TenantId Id => TenantId.Parse(Tenant);
}

/// <summary>Reads a tenant's whole log and its checkpoints through the admin API.</summary>
internal static class AuditReader
{
    public static async Task<List<AuditEntry>> EntriesAsync(CliSettings settings, TenantId tenant, CancellationToken ct)
    {
        var entries = new List<AuditEntry>();
        long after = 0;
        while (true)
        {
            var page = await Admin.CallAsync(settings, HttpMethod.Get, $"/admin/v1/tenants/{tenant.Value}/audit?limit=1000&after={after}", null, ct);
            entries.AddRange(page.GetProperty("entries").Deserialize<List<AuditEntry>>(AuditJson.Options) ?? []);
            if (page.GetProperty("next").ValueKind != JsonValueKind.Number)
            {
                return entries;
            }

            after = page.GetProperty("next").GetInt64();
        }
    }

    public static async Task<List<AuditCheckpoint>> CheckpointsAsync(CliSettings settings, TenantId tenant, CancellationToken ct) =>
        (await Admin.CallAsync(settings, HttpMethod.Get, $"/admin/v1/tenants/{tenant.Value}/audit/checkpoints", null, ct)).Deserialize<List<AuditCheckpoint>>(AuditJson.Options) ?? [];
}

/// <summary>
/// <c>bruno audit verify --tenant T [--public-key FILE] [--checkpoints FILE]</c>: fetches the log and its checkpoints and
/// checks the chain and the signatures here, with a public key from this machine (the data root's, or the one given),
/// optionally against checkpoints kept elsewhere. Exit 0 when intact; 1 and every finding when not.
/// </summary>
internal sealed class AuditVerifyCommand : AsyncCommand<AuditVerifyCommand.Settings>
{
    public sealed class Settings : AuditSettings
    {
        [CommandOption("--public-key <FILE>")]
        [Description("PEM public key trusted to sign checkpoints; repeat it for several processes (default: the data root's platform-signing.pub.pem).")]
        public string[]? PublicKey { get; init; }

        [CommandOption("--checkpoints <FILE>")]
        [Description("Checkpoints saved earlier with `bruno audit checkpoints --out` (checked in addition to the server's).")]
        public string? Checkpoints { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var tenant = settings.Id;
        var trusted = new List<TrustedKey>();
        foreach (var keyFile in settings.PublicKey is { Length: > 0 } given ? given : [new DataDirectory(settings.Options().DataRoot).PlatformPublicKeyPath])
        {
            if (!File.Exists(keyFile))
            {
                throw new CliException(BrunoCli.UserError, $"no public key at {keyFile} (pass --public-key)");
            }

            trusted.Add(TrustedKey.FromPem(await File.ReadAllTextAsync(keyFile, cancellationToken)));
        }

        var kept = new List<AuditCheckpoint>();
        if (settings.Checkpoints is not null)
        {
            try
            {
                kept = JsonSerializer.Deserialize<List<AuditCheckpoint>>(await File.ReadAllTextAsync(settings.Checkpoints, cancellationToken), AuditJson.Options) ?? [];
            }
            catch (JsonException)
            {
                throw new CliException(BrunoCli.UserError, $"{settings.Checkpoints} is not a checkpoint file written by `bruno audit checkpoints --out`");
            }
        }

        var entries = await AuditReader.EntriesAsync(settings, tenant, cancellationToken);
        var checkpoints = (await AuditReader.CheckpointsAsync(settings, tenant, cancellationToken)).Concat(kept).ToList();
        var findings = AuditVerifier.Verify(tenant.Value, entries, checkpoints, trusted);
        var result = new { tenant = tenant.Value, entries = entries.Count, checkpoints = checkpoints.Count, intact = findings.Count == 0, findings };
        CliConsole.For(settings).Write(result, c =>
        {
            foreach (var f in findings)
            {
                c.WriteLine($"entry {f.Seq}: {f.Problem}");
            }

            c.WriteLine(findings.Count == 0
                ? $"audit log of {tenant.Value}: {entries.Count} entries, {checkpoints.Count} signed checkpoints, intact"
                : $"audit log of {tenant.Value}: NOT intact ({findings.Count} findings)");
        });
        return findings.Count == 0 ? BrunoCli.Ok : BrunoCli.UserError;
    }
}

/// <summary><c>bruno audit list --tenant T [--action A] [--actor X] [--result R] [--after N] [--limit N]</c>: one page.</summary>
internal sealed class AuditListCommand : AsyncCommand<AuditListCommand.Settings>
{
    private static readonly string[] Columns = ["seq", "at", "actor", "action", "resource", "result"];

    public sealed class Settings : AuditSettings
    {
        [CommandOption("--action <ACTION>")]
        public string? Action { get; init; }

        [CommandOption("--actor <ACTOR>")]
        public string? Actor { get; init; }

        [CommandOption("--result <RESULT>")]
        public string? Result { get; init; }

        [CommandOption("--after <N>")]
        [Description("Start after this position.")]
        public long After { get; init; }

        [CommandOption("--limit <N>")]
        [Description("Page size, 1-1000 (default 100).")]
        public int Limit { get; init; } = 100;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var tenant = settings.Id;
        var query = string.Join('&', new[] { ("action", settings.Action), ("actor", settings.Actor), ("result", settings.Result) }
            .Where(p => p.Item2 is not null).Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2!)}")
            .Append(string.Create(CultureInfo.InvariantCulture, $"after={settings.After}&limit={settings.Limit}")));
        var page = await Admin.CallAsync(settings, HttpMethod.Get, $"/admin/v1/tenants/{tenant.Value}/audit?{query}", null, cancellationToken);
        CliConsole.For(settings).Write(page, c =>
        {
            foreach (var e in page.GetProperty("entries").EnumerateArray())
            {
                c.WriteLine(string.Join('\t', Columns.Select(k => e.GetProperty(k).ToString())));
            }
        });
        return BrunoCli.Ok;
    }
}

/// <summary><c>bruno audit checkpoints --tenant T [--out FILE]</c>: the signed checkpoints, to keep off the machine.</summary>
internal sealed class AuditCheckpointsCommand : AsyncCommand<AuditCheckpointsCommand.Settings>
{
    public sealed class Settings : AuditSettings
    {
        [CommandOption("--out <FILE>")]
        [Description("Write them to this file (JSON) instead of the terminal.")]
        public string? Out { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var tenant = settings.Id;
        var checkpoints = await AuditReader.CheckpointsAsync(settings, tenant, cancellationToken);
        if (settings.Out is not null)
        {
            await File.WriteAllTextAsync(settings.Out, JsonSerializer.Serialize(checkpoints, AuditJson.Options), cancellationToken);
        }

        CliConsole.For(settings).Write(checkpoints, c =>
        {
            foreach (var cp in checkpoints)
            {
                c.WriteLine($"{cp.Seq}\t{cp.Hash}\t{cp.At:O}\tkey {cp.KeyId}");
            }
        });
        return BrunoCli.Ok;
    }
}
