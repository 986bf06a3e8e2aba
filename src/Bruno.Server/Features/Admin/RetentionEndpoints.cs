using Bruno.Core;
using Bruno.Core.Retention;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Admin;

/// <summary>A tenant's retention in days: memory (turns), audit entries, usage records; null keeps the service's default.</summary>
public sealed record RetentionSettings(int? MemoryDays, int? AuditDays, int? UsageDays);

/// <summary>
/// Retention: read and set a tenant's (the platform for any tenant, a tenant's admins for their own), and run the job
/// on demand. The job (<see cref="RetentionJob"/>) also runs on its own schedule.
/// </summary>
internal static class RetentionEndpoints
{
    public static void MapRetentionEndpoints(this ApiGroups api)
    {
        var platform = api.Platform.MapGroup("/tenants/{tenant}/settings/retention");
        platform.MapGet("/", (string tenant, TenantService tenants, TenantRetention retention) => TenantRoutes.Live(tenant, tenants) is { } id ? (IResult)TypedResults.Ok(retention.For(id)) : TenantRoutes.NotFound()).Produces<RetentionPolicy>();
        platform.MapPut("/", (string tenant, RetentionSettings body, TenantService tenants, TenantRetention retention) => TenantRoutes.Live(tenant, tenants) is { } id ? Set(id, body, retention) : TenantRoutes.NotFound()).Produces<RetentionPolicy>().Audited("settings.retention");

        var own = api.Tenant.MapGroup("/settings/retention").RequireAuthorization(Policies.Admin);
        own.MapGet("/", (Caller caller, TenantRetention retention) => TypedResults.Ok(retention.For(caller.Tenant)));
        own.MapPut("/", (RetentionSettings body, Caller caller, TenantRetention retention) => Set(caller.Tenant, body, retention)).Produces<RetentionPolicy>().Audited("settings.retention");

        api.Platform.MapPost("/retention/run", async (RetentionService retention, CancellationToken ct) => TypedResults.Ok(await retention.RunOnceAsync(ct)));
    }

    private static IResult Set(TenantId id, RetentionSettings body, TenantRetention retention) =>
        retention.Set(id, body.MemoryDays, body.AuditDays, body.UsageDays) is { } policy ? TypedResults.Ok(policy) : TenantRoutes.NotFound();
}

/// <summary>Runs <see cref="RetentionService"/> every <see cref="RetentionOptions.Interval"/> (the first run an interval after start).</summary>
internal sealed partial class RetentionJob(RetentionService retention, Microsoft.Extensions.Options.IOptions<BrunoOptions> options, TimeProvider time, ILogger<RetentionJob> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.Retention.Interval;
        if (interval == TimeSpan.Zero)
        {
            return;
        }

        await Core.BackgroundLoop.RunAsync("retention", interval, async ct =>
        {
            var run = await retention.RunOnceAsync(ct);
            LogRun(logger, run.Tenants, run.AuditEntries, run.UsageRows);
        }, logger, time, stoppingToken);
    }

    [LoggerMessage(EventId = 3601, Level = LogLevel.Information, Message = "Retention: {Tenants} tenants, {Entries} audit entries and {Rows} usage rows removed")]
    private static partial void LogRun(ILogger logger, int tenants, long entries, long rows);
}
