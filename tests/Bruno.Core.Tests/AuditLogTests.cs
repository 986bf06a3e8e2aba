using Bruno.Core.Audit;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Core.Tests;

/// <summary>
/// The audit log on the real store and both catalog backends: appends chain, checkpoints are signed, retention keeps
/// what remains verifiable, and every kind of tampering — edits, removals, reorders, insertions, truncation, forged
/// checkpoints — is detected and located.
/// </summary>
public sealed class AuditLogTests : IAsyncDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("bruno-audit-").FullName;
    private readonly List<IAsyncDisposable> _engines = [];
    private readonly List<IDisposable> _disposables = [];
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero));

    public static TheoryData<string> Backends => ["sqlite", "postgres"];

    private (AuditLog Log, TenantService Tenants, TrustedKey Key) Start(string backend)
    {
        var db = backend == "postgres" ? CatalogDatabase.Postgres(TestPostgres.NewDatabase()) : CatalogDatabase.Sqlite(Path.Combine(_root, "catalog.db"));
        _disposables.Add(db);
        var engine = new StorageEngine(new StorageEngineOptions { DataRoot = Path.Combine(_root, "store"), MasterKey = MasterKey.Generate(), TimeProvider = _time });
        _engines.Add(engine);
        var tenants = new TenantService(new TenantCatalog(db, _time), engine, Options.Create(new BrunoOptions()));
        var data = new DataDirectory(Path.Combine(_root, "data"));
        var signer = PlatformSigner.ForDataDirectory(data);
        _disposables.Add(signer);
        var key = TrustedKey.FromPem(File.ReadAllText(data.PlatformPublicKeyPath));
        return (new AuditLog(tenants, db, signer, _time), tenants, key);
    }

    private async Task<(AuditLog Log, TenantId Tenant, TrustedKey Key)> LogWithEntriesAsync(string backend, int count)
    {
        var (log, tenants, key) = Start(backend);
        var acme = TenantId.Parse("acme");
        await tenants.CreateAsync(acme, "Acme", new TenantProfile(Compliance: ["gdpr", "soc2"]));
        for (var i = 0; i < count; i++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            await log.AppendAsync(acme, new AuditEvent($"user-{i % 7}", i % 3 == 0 ? "memory.read" : "key.issue", $"resource {i}", i % 5 == 0 ? AuditResults.Denied : AuditResults.Success, $"req-{i}"));
        }

        return (log, acme, key);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Appends_ChainAndCheckpoint_AndTheLogVerifies(string backend)
    {
        var (log, acme, key) = await LogWithEntriesAsync(backend, 230);
        var entries = await log.ReadAllAsync(acme);
        Assert.Equal(Enumerable.Range(1, 230).Select(i => (long)i), entries.Select(e => e.Seq));
        Assert.Equal(AuditEntry.Genesis, entries[0].PrevHash);
        Assert.All(entries.Skip(1), e => Assert.Equal(entries[(int)e.Seq - 2].Hash, e.PrevHash));
        Assert.All(entries, e => Assert.Equal(["gdpr", "soc2"], e.Compliance));
        Assert.Equal([100L, 200L], log.Checkpoints(acme).Select(c => c.Seq)); // one every 100 entries

        var head = await log.CheckpointAsync(acme);
        Assert.Equal(230, head!.Seq);
        Assert.Empty(AuditVerifier.Verify("acme", entries, log.Checkpoints(acme), [key]));

        // the installation's own verification: the same verdict, with its own public key trusted
        var verified = await log.VerifyAsync(acme);
        Assert.True(verified.Intact);
        Assert.Equal((230, 3), (verified.Entries, verified.Checkpoints));

        // filters and paging
        var denied = await log.ReadAsync(acme, new AuditQuery { Result = AuditResults.Denied, Limit = 10 });
        Assert.Equal(10, denied.Entries.Count);
        Assert.All(denied.Entries, e => Assert.Equal(AuditResults.Denied, e.Result));
        var next = await log.ReadAsync(acme, new AuditQuery { Result = AuditResults.Denied, After = denied.Next!.Value, Limit = 1000 });
        Assert.Equal(46, denied.Entries.Count + next.Entries.Count); // i % 5 == 0 for 230 entries
        Assert.Null(next.Next);
        var window = await log.ReadAsync(acme, new AuditQuery { From = entries[9].At, To = entries[19].At, Action = "memory.read" });
        Assert.Equal(entries.Skip(9).Take(10).Where(e => e.Action == "memory.read").Select(e => e.Seq), window.Entries.Select(e => e.Seq));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task ThousandTamperTrials_AreAllDetectedAndLocated(string backend)
    {
        var (log, acme, key) = await LogWithEntriesAsync(backend, 120);
        await log.CheckpointAsync(acme);
        var entries = await log.ReadAllAsync(acme);
        var checkpoints = log.Checkpoints(acme);
        Assert.Empty(AuditVerifier.Verify("acme", entries, checkpoints, [key]));

        var random = new Random(20261128);
        var kinds = new Dictionary<string, int>();
        for (var trial = 0; trial < 1000; trial++)
        {
            var (kind, tampered, cps, at) = Tamper(random, entries, checkpoints);
            kinds[kind] = kinds.GetValueOrDefault(kind) + 1;
            var findings = AuditVerifier.Verify("acme", tampered, cps, [key]);
            Assert.True(findings.Count > 0, $"trial {trial}: {kind} at {at} was not detected");
            // located: the first finding is at the tampered position, or at the signed checkpoint that covers it
            Assert.True(findings.Any(f => f.Seq >= at - 1 && f.Seq <= Math.Max(at + 1, checkpoints.Where(c => c.Seq >= at).Select(c => c.Seq).DefaultIfEmpty(at).Min())),
                $"trial {trial}: {kind} at {at} reported at {string.Join(", ", findings.Select(f => f.Seq))}");
        }

        Assert.Equal(7, kinds.Count); // every kind of tampering was tried
        Assert.All(kinds.Values, n => Assert.True(n > 80));
    }

    /// <summary>One random tampering: the kind, the tampered log and checkpoints, and where it happened.</summary>
    private static (string Kind, List<AuditEntry> Entries, List<AuditCheckpoint> Checkpoints, long At) Tamper(Random random, IReadOnlyList<AuditEntry> original, IReadOnlyList<AuditCheckpoint> checkpoints)
    {
        var entries = original.ToList();
        var cps = checkpoints.ToList();
        var i = random.Next(entries.Count);
        var seq = entries[i].Seq;
        switch (random.Next(7))
        {
            case 0: // edit one field, keeping the stored hash
                entries[i] = random.Next(4) switch
                {
                    0 => entries[i] with { Actor = entries[i].Actor + "x" },
                    1 => entries[i] with { Result = entries[i].Result == AuditResults.Success ? AuditResults.Denied : AuditResults.Success },
                    2 => entries[i] with { At = entries[i].At.AddSeconds(-1) },
                    _ => entries[i] with { Resource = "nothing to see" },
                };
                return ("edit", entries, cps, seq);
            case 1: // edit and recompute this entry's hash (the next link breaks)
                var edited = entries[i] with { Action = "tenant.resume" };
                entries[i] = edited with { Hash = edited.ComputeHash() };
                return ("edit-rehash", entries, cps, seq);
            case 2: // remove one entry
                entries.RemoveAt(i);
                return ("remove", entries, cps, seq);
            case 3: // swap two entries
                var j = (i + 1 + random.Next(entries.Count - 1)) % entries.Count;
                (entries[i], entries[j]) = (entries[j], entries[i]);
                return ("reorder", entries, cps, Math.Min(seq, original[j].Seq));
            case 4: // insert a forged entry and rewrite the whole chain after it (the strongest attacker without the key)
                var forged = new List<AuditEntry>(entries.Take(i));
                var previous = forged.LastOrDefault();
                var fake = AuditEntry.Next(previous, entries[i].At, "acme", new AuditEvent("operator:root", "tenant.resume", "tenant acme"), entries[i].Compliance);
                forged.Add(fake);
                foreach (var e in entries.Skip(i))
                {
                    var next = AuditEntry.Next(forged[^1], e.At, "acme", new AuditEvent(e.Actor, e.Action, e.Resource, e.Result, e.RequestId), e.Compliance);
                    forged.Add(next);
                }

                return ("insert-rechain", forged, cps, seq);
            case 5: // truncate the log
                entries.RemoveRange(i, entries.Count - i);
                return ("truncate", entries, cps, seq);
            default: // alter a checkpoint to cover a rewritten history
                var k = random.Next(cps.Count);
                cps[k] = cps[k] with { Hash = new string('a', 64) };
                return ("forge-checkpoint", entries, cps, cps[k].Seq);
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Retention_RemovesOldEntries_AndWhatRemainsVerifies(string backend)
    {
        var (log, acme, key) = await LogWithEntriesAsync(backend, 50);
        var cutoff = (await log.ReadAllAsync(acme))[29].At.AddSeconds(1); // entries 1-30 are older
        Assert.Equal(30, await log.PruneAsync(acme, cutoff));
        var remaining = await log.ReadAllAsync(acme);
        Assert.Equal(31, remaining[0].Seq);
        Assert.Empty(AuditVerifier.Verify("acme", remaining, log.Checkpoints(acme), [key]));

        // without the checkpoint that anchors it, the shortened log is not accepted
        var findings = AuditVerifier.Verify("acme", remaining, [.. log.Checkpoints(acme).Where(c => c.Seq != 30)], [key]);
        Assert.Contains(findings, f => f.Seq == 31);

        // appending continues the chain
        var next = await log.AppendAsync(acme, new AuditEvent("operator:ops", "tenant.plan", "tenant acme"));
        Assert.Equal((51L, remaining[^1].Hash), (next.Seq, next.PrevHash));
    }

    [Fact]
    public async Task CheckpointsSignedByAnotherKey_AreRejected()
    {
        var (log, acme, _) = await LogWithEntriesAsync("sqlite", 10);
        await log.CheckpointAsync(acme);
        using var other = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var stranger = TrustedKey.FromPem(other.ExportSubjectPublicKeyInfoPem());
        var findings = AuditVerifier.Verify("acme", await log.ReadAllAsync(acme), log.Checkpoints(acme), [stranger]);
        Assert.Contains(findings, f => f.Problem.Contains("signature", StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var engine in _engines)
        {
            await engine.DisposeAsync();
        }

        foreach (var d in _disposables)
        {
            d.Dispose();
        }

        Directory.Delete(_root, recursive: true);
    }
}
