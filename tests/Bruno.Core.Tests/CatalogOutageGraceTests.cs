using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Bruno.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Core.Tests;

/// <summary>
/// Decision 0033: while the PostgreSQL catalog is away, what was read of an active tenant and of a user's access at most
/// a minute ago stands in for it; anything older, a tenant that is not active, or a user never read is refused.
/// </summary>
public sealed class CatalogOutageGraceTests
{
    [Fact]
    public async Task DuringAnOutage_RecentReadsOfActiveTenantsStandIn_ForAMinuteAtMost()
    {
        await using var pg = await OwnPostgres.StartAsync();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var db = CatalogDatabase.Postgres(pg.ConnectionString);
        var catalog = new TenantCatalog(db, time);
        using var access = new TenantAccess(db, time);
        var (acme, paused) = (TenantId.Parse("acme"), TenantId.Parse("paused"));
        catalog.Create(acme, "Acme");
        catalog.Create(paused, "Paused", status: TenantStatus.Suspended);
        var ann = UserId.Parse("ann");
        access.CreateGroup(acme, "eng", AccessActor.Operator("ops"));
        access.AddMember(acme, "eng", ann, admin: false, AccessActor.Operator("ops"));

        Assert.Equal(TenantStatus.Active, catalog.FindRecent(acme)?.Status);
        Assert.Equal(TenantStatus.Suspended, catalog.FindRecent(paused)?.Status);
        Assert.Equal(["eng"], access.Of(acme, ann).Groups);

        await pg.StopAsync();
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(TenantStatus.Active, catalog.FindRecent(acme)?.Status); // read 30 s ago: stands in
        Assert.Equal(["eng"], access.Of(acme, ann).Groups);
        Assert.Throws<CatalogUnavailableException>(() => catalog.FindRecent(paused)); // not active: never served from what was kept
        Assert.Throws<CatalogUnavailableException>(() => access.Of(acme, UserId.Parse("bob"))); // never read

        time.Advance(TimeSpan.FromSeconds(31)); // 61 s since the last read
        Assert.Throws<CatalogUnavailableException>(() => catalog.FindRecent(acme));
        Assert.Throws<CatalogUnavailableException>(() => access.Of(acme, ann));

        // back: read afresh
        await pg.StartAgainAsync();
        Assert.Equal(TenantStatus.Active, catalog.FindRecent(acme)?.Status);
        Assert.Equal(["eng"], access.Of(acme, ann).Groups);
    }
}
