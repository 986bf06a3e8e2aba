using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Memory;
using Bruno.Core.Tenants;
using Bruno.Storage;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Core.Tests;

/// <summary>Facts, preferences, duplicates, decay and retention over simulated days (a fake clock, the real store and model).</summary>
public sealed class MemoryConsolidationTests : IAsyncDisposable
{
    private static readonly MiniLmEmbeddingGenerator Embedder = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "bruno-consolidation-" + Guid.NewGuid().ToString("N"));
    private readonly MasterKey _key = MasterKey.Generate();
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
    private readonly StorageEngine _engine;
    private readonly TenantCatalog _catalog;
    private readonly TenantService _tenants;
    private readonly MemoryService _memory;
    private readonly MemoryConsolidator _consolidator;

    private static readonly UserId Alice = UserId.Parse("alice");
    private static readonly UserId Bob = UserId.Parse("bob");

    public MemoryConsolidationTests()
    {
        Directory.CreateDirectory(_root);
        var options = Options.Create(new BrunoOptions());
        _engine = new StorageEngine(new StorageEngineOptions { DataRoot = Path.Combine(_root, "store"), MasterKey = _key, TimeProvider = _clock });
        _catalog = new TenantCatalog(Path.Combine(_root, "catalog.db"), _clock);
        _tenants = new TenantService(_catalog, _engine, options);
        _memory = new MemoryService(Embedder, new DocumentService(Embedder, options), _clock);
        _consolidator = new MemoryConsolidator(_catalog, _tenants, _memory, new MemoryRetention(_catalog, options), time: _clock);
    }

    [Fact]
    public void Extraction_FindsStatedFactsAndPreferences_NeverQuestions()
    {
        var facts = MemoryExtraction.Facts("My locker code is 4471. The billing service uses Postgres! Is the gym open? What is the wifi password");
        Assert.Equal([("my locker code", "is", "4471", 0.7), ("the billing service", "uses", "postgres", 0.8)], facts.Select(f => (f.Subject, f.Predicate, f.Object, f.Confidence)));
        Assert.Empty(MemoryExtraction.Facts("Is the gym open today?"));
        Assert.Empty(MemoryExtraction.Facts("What is the refund policy"));

        Assert.Equal(
            [new ExtractedPreference("style", "concise"), new ExtractedPreference("format", "bullet points")],
            MemoryExtraction.Preferences("Please keep answers short, with bullet points."));
        Assert.Empty(MemoryExtraction.Preferences("The short report has bullet points.")); // describes a document, states no preference

        // hostile input: huge, without sentence ends, full of verbs; answered, with nothing absurd kept
        var huge = string.Concat(Enumerable.Repeat("is uses are ", 100_000));
        Assert.All(MemoryExtraction.Facts(huge), f => Assert.True(f.Object.Length <= MemoryExtraction.MaxPart));
        Assert.Empty(MemoryExtraction.Preferences(new string('a', 1_000_000)));
    }

    [Fact]
    public async Task Consolidation_ExtractsAndMergesFacts_PerUser_AndNothingBecomesShared()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await NewTenantAsync("acme");
        await TurnAsync(store, Alice, "Our VPN uses WireGuard. How do I connect from home?");
        await TurnAsync(store, Bob, "Our VPN uses OpenVPN. Why is it slow?");
        _clock.Advance(TimeSpan.FromDays(1));
        var first = await _consolidator.RunOnceAsync(ct);
        Assert.Equal(2, first.FactsExtracted);

        var aliceFact = Assert.Single((await _memory.ExportAsync(store, Alice, ct)).Facts);
        Assert.Equal("our vpn uses wireguard", aliceFact.Text);
        Assert.Equal("0.8", aliceFact.Details["confidence"]);
        Assert.Equal("false", aliceFact.Details["verified"]);
        Assert.Equal("our vpn uses openvpn", Assert.Single((await _memory.ExportAsync(store, Bob, ct)).Facts).Text);

        // Said again a day later: the same fact, supported (x1.2) and verified; turns already read are not read again.
        await TurnAsync(store, Alice, "Our VPN uses WireGuard. Which port does it need?");
        _clock.Advance(TimeSpan.FromDays(1));
        var second = await _consolidator.RunOnceAsync(ct);
        Assert.Equal(1, second.TurnsRead); // only alice's new turn: none of the turns read yesterday
        aliceFact = Assert.Single((await _memory.ExportAsync(store, Alice, ct)).Facts);
        Assert.Equal("0.96", aliceFact.Details["confidence"]);
        Assert.Equal("true", aliceFact.Details["verified"]);

        // A close restatement of a known fact (same subject and verb) is merged into the newest statement.
        await TurnAsync(store, Alice, "The build server uses Jenkins.");
        _clock.Advance(TimeSpan.FromHours(2));
        await TurnAsync(store, Alice, "The build server uses Jenkins CI.");
        _clock.Advance(TimeSpan.FromDays(1));
        var third = await _consolidator.RunOnceAsync(ct);
        Assert.Equal(1, third.FactsMerged);
        var build = Assert.Single((await _memory.ExportAsync(store, Alice, ct)).Facts, f => f.Text.StartsWith("the build server", StringComparison.Ordinal));
        Assert.Equal("the build server uses jenkins ci", build.Text);
        Assert.Equal("2", build.Details["mentions"]);

        // Nothing of either user reached the tenant's knowledge.
        Assert.Empty(await new DocumentService(Embedder, Options.Create(new BrunoOptions())).ListAsync(store, Readers.Admin, null, 100));
    }

    [Fact]
    public async Task Preferences_GrowWhenRestated_DecayDaily_AndAreDroppedBelowTheFloor()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = await NewTenantAsync("prefs");
        await TurnAsync(store, Alice, "Please keep answers short. How do refunds work?");
        Assert.Equal(0.5, Assert.Single(await _memory.PreferencesAsync(store, Alice)).Strength);

        _clock.Advance(TimeSpan.FromDays(1));
        await TurnAsync(store, Alice, "Keep it brief please: what is the return window?");
        var strength = 0.5 * 0.95 * 1.1;
        Assert.Equal(Math.Round(strength, 4), Assert.Single(await _memory.PreferencesAsync(store, Alice)).Strength);
        Assert.Empty(await _memory.PreferencesAsync(store, Bob));

        // Daily consolidation for a month: the strength decays by 0.95 a day.
        for (var day = 1; day <= 30; day++)
        {
            _clock.Advance(TimeSpan.FromDays(1));
            await _consolidator.RunOnceAsync(ct);
        }

        var pref = Assert.Single(await _memory.PreferencesAsync(store, Alice));
        Assert.Equal(strength * Math.Pow(0.95, 30), pref.Strength, 3);

        // ...until it falls below 0.1 (about four more days) and is deleted.
        for (var day = 1; day <= 5; day++)
        {
            _clock.Advance(TimeSpan.FromDays(1));
            await _consolidator.RunOnceAsync(ct);
        }

        Assert.Empty(await _memory.PreferencesAsync(store, Alice));
        Assert.Empty((await _memory.ExportAsync(store, Alice, ct)).Preferences);
    }

    [Fact]
    public async Task Retention_DeletesOldTurnsAndUnconfirmedFacts_PerTenant_KeepingNotes()
    {
        var ct = TestContext.Current.CancellationToken;
        var shortLived = await NewTenantAsync("brief");
        var normal = await NewTenantAsync("normal");
        new MemoryRetention(_catalog, Options.Create(new BrunoOptions())).Set(TenantId.Parse("brief"), 30);
        foreach (var store in new[] { shortLived, normal })
        {
            await TurnAsync(store, Alice, "The staging database is Postgres 15. Can I reset it?");
            await _memory.RememberAsync(store, Alice, "My desk is 4B.", ct);
        }

        _clock.Advance(TimeSpan.FromDays(10));
        await _consolidator.RunOnceAsync(ct);
        foreach (var store in new[] { shortLived, normal })
        {
            var export = await _memory.ExportAsync(store, Alice, ct);
            Assert.Single(export.Turns);
            Assert.Equal(2, export.Facts.Count); // the note and the extracted fact
        }

        _clock.Advance(TimeSpan.FromDays(21)); // day 31: past the 30 days of "brief", within the 90 of "normal"
        var report = await _consolidator.RunOnceAsync(ct);
        Assert.Equal(1, report.TurnsExpired);
        Assert.Equal(1, report.FactsExpired);

        var brief = await _memory.ExportAsync(shortLived, Alice, ct);
        Assert.Empty(brief.Turns);
        Assert.Equal(["My desk is 4B."], brief.Facts.Select(f => f.Text)); // an explicit note stays until forgotten
        var kept = await _memory.ExportAsync(normal, Alice, ct);
        Assert.Single(kept.Turns);
        Assert.Equal(2, kept.Facts.Count);

        _clock.Advance(TimeSpan.FromDays(60)); // day 91
        await _consolidator.RunOnceAsync(ct);
        Assert.Empty((await _memory.ExportAsync(normal, Alice, ct)).Turns);
    }

    private async Task<ITenantStore> NewTenantAsync(string id)
    {
        await _tenants.CreateAsync(TenantId.Parse(id), id);
        return _tenants.Store(TenantId.Parse(id));
    }

    private async Task TurnAsync(ITenantStore store, UserId user, string question)
    {
        var vector = (await Embedder.GenerateAsync([question]))[0].Vector;
        await _memory.RecordTurnAsync(store, user, "s1", question, "An answer.", [], vector);
    }

    public async ValueTask DisposeAsync()
    {
        await _engine.DisposeAsync();
        _key.Dispose();
        Directory.Delete(_root, recursive: true);
    }
}
