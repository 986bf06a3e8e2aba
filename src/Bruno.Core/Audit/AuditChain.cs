using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Bruno.Core.Audit;

/// <summary>
/// One entry of a tenant's audit log. <see cref="Hash"/> is the SHA-256 of the entry's canonical form, which includes
/// <see cref="PrevHash"/>, the hash of the entry before it: changing, removing, reordering or inserting an entry breaks
/// the chain from that point on.
/// </summary>
/// <param name="Seq">Position in the log, from 1, without gaps.</param>
/// <param name="At">When it happened (UTC; never earlier than the entry before).</param>
/// <param name="Tenant">The tenant.</param>
/// <param name="Actor">Who acted: a user id, an API key, <c>operator:NAME</c>, or <c>system</c>.</param>
/// <param name="Action">What happened, e.g. <c>tenant.suspend</c>, <c>auth.denied</c>.</param>
/// <param name="Resource">What it was done to.</param>
/// <param name="Result"><c>success</c>, <c>failure</c> or <c>denied</c>.</param>
/// <param name="RequestId">The request that caused it (empty for jobs).</param>
/// <param name="Compliance">The tenant's compliance flags when it happened.</param>
/// <param name="PrevHash">Hash of entry <c>Seq - 1</c> (64 zeros for the first).</param>
/// <param name="Hash">Hash of this entry.</param>
public sealed record AuditEntry(
    long Seq, DateTimeOffset At, string Tenant, string Actor, string Action, string Resource, string Result,
    string RequestId, IReadOnlyList<string> Compliance, string PrevHash, string Hash)
{
    /// <summary>The hash before the first entry.</summary>
    public static readonly string Genesis = new('0', 64);

    /// <summary>The entry's canonical bytes (everything but <see cref="Hash"/>, in a fixed order): what is hashed.</summary>
    public byte[] Canonical()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("seq", Seq);
            w.WriteString("at", At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("tenant", Tenant);
            w.WriteString("actor", Actor);
            w.WriteString("action", Action);
            w.WriteString("resource", Resource);
            w.WriteString("result", Result);
            w.WriteString("request_id", RequestId);
            w.WriteStartArray("compliance");
            foreach (var flag in Compliance)
            {
                w.WriteStringValue(flag);
            }

            w.WriteEndArray();
            w.WriteString("prev", PrevHash);
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The hash this entry should have.</summary>
    public string ComputeHash() => Convert.ToHexStringLower(SHA256.HashData(Canonical()));

    /// <summary>The entry that follows <paramref name="previous"/> (null: the first), with its hash computed.</summary>
    public static AuditEntry Next(AuditEntry? previous, DateTimeOffset at, string tenant, AuditEvent e, IReadOnlyList<string> compliance)
    {
        ArgumentNullException.ThrowIfNull(e);
        var when = previous is not null && at < previous.At ? previous.At : at;
        var entry = new AuditEntry(
            (previous?.Seq ?? 0) + 1, when, tenant, e.Actor, e.Action, e.Resource, e.Result, e.RequestId ?? string.Empty,
            compliance, previous?.Hash ?? Genesis, string.Empty);
        return entry with { Hash = entry.ComputeHash() };
    }
}

/// <summary>What a caller reports to the audit log; the log adds the position, time, tenant, flags and hashes.</summary>
/// <param name="Actor">Who acted.</param>
/// <param name="Action">What happened (dotted, lower case).</param>
/// <param name="Resource">What it was done to.</param>
/// <param name="Result"><c>success</c>, <c>failure</c> or <c>denied</c>.</param>
/// <param name="RequestId">The request, if any.</param>
public sealed record AuditEvent(string Actor, string Action, string Resource, string Result = AuditResults.Success, string? RequestId = null);

/// <summary>The results an audit entry records.</summary>
public static class AuditResults
{
    /// <summary>It was done.</summary>
    public const string Success = "success";

    /// <summary>It was attempted and failed (a bad credential, say).</summary>
    public const string Failure = "failure";

    /// <summary>It was refused by policy (scope, state, limit).</summary>
    public const string Denied = "denied";
}

/// <summary>
/// A signed statement that the tenant's log held <see cref="Seq"/> entries ending in <see cref="Hash"/> at
/// <see cref="At"/>. Kept in the catalog, outside the tenant's store, and exportable.
/// </summary>
public sealed record AuditCheckpoint(string Tenant, long Seq, string Hash, DateTimeOffset At, string KeyId, string Signature)
{
    /// <summary>The signed bytes.</summary>
    public static byte[] SignedBytes(string tenant, long seq, string hash, DateTimeOffset at) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"bruno-audit-checkpoint/1\n{tenant}\n{seq}\n{hash}\n{at.UtcTicks}"));

    /// <summary>Whether the signature is valid for one of <paramref name="trusted"/>.</summary>
    public bool IsValid(IEnumerable<TrustedKey> trusted) => PlatformSigner.Verify(trusted, KeyId, SignedBytes(Tenant, Seq, Hash, At), Signature);
}

/// <summary>One thing wrong with a log.</summary>
/// <param name="Seq">Where (the entry's position, or the checkpoint's).</param>
/// <param name="Problem">What.</param>
public sealed record AuditFinding(long Seq, string Problem);

/// <summary>Checks an audit log against its chain and signed checkpoints. Pure: no I/O.</summary>
public static class AuditVerifier
{
    /// <summary>The action that starts a tenant's log on a new installation (and, imported under a new id, under that id).</summary>
    public const string ImportAction = "tenant.import";

    /// <summary>
    /// Every problem with <paramref name="entries"/> (in stored order) given the <paramref name="checkpoints"/> and the
    /// keys trusted to have signed them; empty when the log is intact. Detects an edited entry (its hash), a removed,
    /// reordered or inserted one (positions and links), a log cut short of a checkpoint, and a forged or altered
    /// checkpoint. A log whose oldest entries were removed by retention must start right after a valid checkpoint. Entries
    /// name <paramref name="tenant"/>, or an id it was imported from before its <see cref="ImportAction"/> entry.
    /// </summary>
    public static IReadOnlyList<AuditFinding> Verify(string tenant, IReadOnlyList<AuditEntry> entries, IReadOnlyList<AuditCheckpoint> checkpoints, IReadOnlyList<TrustedKey> trusted)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ArgumentNullException.ThrowIfNull(checkpoints);
        var findings = new List<AuditFinding>();
        var valid = new Dictionary<long, AuditCheckpoint>();
        foreach (var c in checkpoints)
        {
            if (c.Tenant != tenant || !c.IsValid(trusted))
            {
                findings.Add(new AuditFinding(c.Seq, "checkpoint signature is not valid (forged, altered, or signed by an untrusted key)"));
            }
            else if (valid.TryGetValue(c.Seq, out var other) && other.Hash != c.Hash)
            {
                findings.Add(new AuditFinding(c.Seq, "two signed checkpoints disagree about this position"));
            }
            else
            {
                valid[c.Seq] = c;
            }
        }

        var bySeq = new Dictionary<long, AuditEntry>();
        AuditEntry? previous = null;
        var owner = entries.Count > 0 ? entries[0].Tenant : tenant;
        for (var i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            if (e.Tenant != owner)
            {
                if (e.Action == ImportAction)
                {
                    owner = e.Tenant; // imported under another id: the history before it was the old id's
                }
                else
                {
                    findings.Add(new AuditFinding(e.Seq, "entry belongs to another tenant"));
                }
            }

            if (e.ComputeHash() != e.Hash)
            {
                findings.Add(new AuditFinding(e.Seq, "entry was altered (its hash does not match its content)"));
            }

            if (previous is null)
            {
                var anchored = e.Seq == 1 ? e.PrevHash == AuditEntry.Genesis : valid.TryGetValue(e.Seq - 1, out var anchor) && anchor.Hash == e.PrevHash;
                if (!anchored)
                {
                    findings.Add(new AuditFinding(e.Seq, e.Seq == 1
                        ? "first entry does not start the chain"
                        : $"log starts at entry {e.Seq} without a signed checkpoint at {e.Seq - 1} (entries before it were removed)"));
                }
            }
            else
            {
                if (e.Seq != previous.Seq + 1)
                {
                    findings.Add(new AuditFinding(e.Seq, e.Seq <= previous.Seq
                        ? $"entry out of order or duplicated (follows entry {previous.Seq})"
                        : $"entries {previous.Seq + 1}-{e.Seq - 1} are missing"));
                }

                if (e.PrevHash != previous.Hash)
                {
                    findings.Add(new AuditFinding(e.Seq, $"chain broken: does not link to the entry before it ({previous.Seq})"));
                }

                if (e.At < previous.At)
                {
                    findings.Add(new AuditFinding(e.Seq, "time runs backwards"));
                }
            }

            bySeq.TryAdd(e.Seq, e);
            previous = e;
        }

        if (owner != tenant)
        {
            findings.Add(new AuditFinding(entries.Count == 0 ? 0 : entries[^1].Seq, "the log belongs to another tenant"));
        }

        var first = entries.Count == 0 ? long.MaxValue : entries[0].Seq;
        var last = entries.Count == 0 ? 0 : entries.Max(e => e.Seq);
        foreach (var c in valid.Values.OrderBy(c => c.Seq))
        {
            if (c.Seq > last)
            {
                findings.Add(new AuditFinding(c.Seq, $"log truncated: a signed checkpoint covers {c.Seq} entries but the log ends at {last}"));
            }
            else if (c.Seq >= first && (!bySeq.TryGetValue(c.Seq, out var e) || e.Hash != c.Hash))
            {
                findings.Add(new AuditFinding(c.Seq, "entry does not match the signed checkpoint (the log before it was changed)"));
            }
        }

        return [.. findings.OrderBy(f => f.Seq)];
    }
}
