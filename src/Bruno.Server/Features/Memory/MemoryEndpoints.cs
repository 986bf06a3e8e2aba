using System.ComponentModel.DataAnnotations;
using Bruno.Core.Memory;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Memory;

/// <summary>Body of an explicit note.</summary>
public sealed record NoteRequest([property: Required] string? Text) : TenantBody;

/// <summary>Body of a rating: <c>up</c> or <c>down</c> for one of the caller's answers, with an optional comment.</summary>
public sealed record FeedbackRequest([property: Required] string? TurnId, [property: Required] string? Rating, string? Comment) : TenantBody;

/// <summary>Body of a fact's promotion (optional): who may read the document it becomes (absent: the whole tenant, or the list of an earlier promotion).</summary>
public sealed record PromoteRequest(IReadOnlyList<string>? Access) : TenantBody;

/// <summary>A user's erasure: what the memory layer reports, and the signed receipt.</summary>
public sealed record UserErasureResponse(string User, long RowsDeleted, DateTimeOffset ErasedAt, string Method, Core.Audit.SignedReceipt Receipt);

/// <summary>
/// Erases one user of a tenant: the user's key and rows (<see cref="MemoryService.EraseAsync"/>), the user's place in
/// the plan's user count, and a signed receipt kept in the catalog.
/// </summary>
internal sealed class UserErasure(TenantService tenants, MemoryService memory, TenantUsers users, Core.Tenants.TenantAccess access, Core.Audit.ErasureReceipts receipts, Observability.InsightsLog insights)
{
    public async Task<UserErasureResponse> EraseAsync(TenantId tenant, UserId user, string actor)
    {
        var erased = await memory.EraseAsync(tenants.Store(tenant), user);
        users.Remove(tenant, user);
        access.Forget(tenant, user); // the user's role and memberships name them too
        insights.Forget(tenant, user); // the request log names users: theirs goes too
        var receipt = receipts.ForUser(tenant, user, actor, erased.RowsDeleted, null);
        return new UserErasureResponse(erased.User, erased.RowsDeleted, erased.ErasedAt, erased.Method, receipt);
    }
}

/// <summary>A tenant's memory retention: days, or null for the service's default.</summary>
public sealed record MemorySettings(int? RetentionDays);

/// <summary>
/// The caller's own memory (<c>/api/v1/me/memory</c>, scope memory), ratings of the caller's own answers
/// (<c>/api/v1/feedback</c>, scope query), and a tenant admin's access to the memory of any user of the same tenant
/// (<c>/api/v1/users/{user}/memory</c>, scope admin), including promoting one fact to the tenant's knowledge. No route
/// reaches another tenant's users.
/// </summary>
internal static class MemoryEndpoints
{
    /// <summary>Platform: erase one user of any tenant.</summary>
    public static void MapUserErasure(this ApiGroups api) =>
        api.Platform.MapDelete("/tenants/{tenant}/users/{user}", async (string tenant, string user, TenantService tenants, UserErasure erasure, HttpContext http) =>
            TenantId.TryParse(tenant, out var id) && tenants.Find(id) is { Status: not TenantStatus.Deleted }
                ? (IResult)TypedResults.Ok(await erasure.EraseAsync(id, UserId.Parse(user), AuditTrail.ActorOf(http)))
                : NotFound("No such tenant.")).Produces<UserErasureResponse>().Audited("user.erase");

    public static void MapMemoryEndpoints(this ApiGroups api)
    {
        var me = api.Tenant.MapGroup("/me/memory").RequireAuthorization(Policies.Memory);
        me.MapGet("/", async ([AsParameters] TenantRequest tenant, MemoryService memory, CancellationToken ct) =>
            TypedResults.Ok(await memory.ExportAsync(tenant.Store, tenant.Caller.User, ct))).Audited("memory.export");
        me.MapDelete("/", async (Caller caller, UserErasure erasure) =>
            TypedResults.Ok(await erasure.EraseAsync(caller.Tenant, caller.User, caller.User.Value))).Audited("user.erase");
        me.MapPost("/", async (NoteRequest body, [AsParameters] TenantRequest tenant, MemoryService memory, CancellationToken ct) =>
            TypedResults.Ok(await memory.RememberAsync(tenant.Store, tenant.Caller.User, body.Text ?? string.Empty, ct)));
        me.MapDelete("/{id}", async (string id, [AsParameters] TenantRequest tenant, MemoryService memory) =>
            await memory.ForgetAsync(tenant.Store, tenant.Caller.User, id) ? (IResult)TypedResults.NoContent() : NotFound("No such memory.")).Produces(StatusCodes.Status204NoContent);

        api.Tenant.MapPost("/feedback", async (FeedbackRequest body, [AsParameters] TenantRequest tenant, MemoryService memory) =>
        {
            var helpful = body.Rating?.Trim().ToLowerInvariant() switch
            {
                "up" => true,
                "down" => false,
                _ => throw new ArgumentException("rating must be \"up\" or \"down\"."),
            };
            return await memory.FeedbackAsync(tenant.Store, tenant.Caller.User, body.TurnId ?? string.Empty, helpful, body.Comment)
                ? (IResult)TypedResults.NoContent()
                : NotFound("No such answer of yours (turn_id comes from the answer).");
        }).Produces(StatusCodes.Status204NoContent).RequireAuthorization(Policies.Query);

        var admin = api.Tenant.MapGroup("/users/{user}/memory").RequireAuthorization(Policies.Admin);
        admin.MapGet("/", async (string user, [AsParameters] TenantRequest tenant, MemoryService memory, CancellationToken ct) =>
            TypedResults.Ok(await memory.ExportAsync(tenant.Store, UserId.Parse(user), ct))).Audited("memory.read");
        admin.MapDelete("/", async (string user, Caller caller, UserErasure erasure) =>
            TypedResults.Ok(await erasure.EraseAsync(caller.Tenant, UserId.Parse(user), caller.User.Value))).Audited("user.erase");
        admin.MapPost("/{id}/promote", async (string user, string id, PromoteRequest? body, [AsParameters] TenantRequest tenant, MemoryService memory, CancellationToken ct) =>
            await memory.PromoteFactAsync(tenant.Store, UserId.Parse(user), id, tenant.Caller.Viewer, body?.Access is { } access ? Core.Documents.DocumentAccess.Parse(access) : null, ct) is { } document
                ? (IResult)TypedResults.Created($"/api/v1/documents/{Uri.EscapeDataString(document.Id)}", document)
                : NotFound("That user has no such fact.")).Produces<Core.Documents.DocumentInfo>(StatusCodes.Status201Created).Audited("memory.promote");

        // Retention: the platform operator for any tenant, a tenant admin for its own.
        var platform = api.Platform.MapGroup("/tenants/{tenant}/settings/memory");
        platform.MapGet("/", (string tenant, TenantService tenants, MemoryRetention retention) => TenantRoutes.Known(tenant, tenants, id => TypedResults.Ok(Settings(retention.PolicyFor(id))))).Produces<MemorySettings>();
        platform.MapPut("/", (string tenant, MemorySettings body, TenantService tenants, MemoryRetention retention) => TenantRoutes.Known(tenant, tenants, id => SetRetention(id, body, retention))).Produces<MemorySettings>().Audited("settings.memory");
        var own = api.Tenant.MapGroup("/settings/memory");
        own.MapGet("/", (Caller caller, MemoryRetention retention) => TypedResults.Ok(Settings(retention.PolicyFor(caller.Tenant)))).RequireAuthorization(Policies.Memory);
        own.MapPut("/", (MemorySettings body, Caller caller, MemoryRetention retention) => SetRetention(caller.Tenant, body, retention)).Produces<MemorySettings>().RequireAuthorization(Policies.Admin).Audited("settings.memory");

        // The consolidation job on demand (it also runs on its own schedule).
        api.Platform.MapPost("/memory/consolidate", async (MemoryConsolidator consolidator, CancellationToken ct) => TypedResults.Ok(await consolidator.RunOnceAsync(ct)));
    }

    private static MemorySettings Settings(MemoryPolicy policy) => new(policy.RetentionDays);

    private static IResult SetRetention(TenantId id, MemorySettings body, MemoryRetention retention) =>
        retention.Set(id, body.RetentionDays) is { } policy ? TypedResults.Ok(Settings(policy)) : NotFound("No such tenant.");

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotFound(string detail) => TypedResults.Problem(statusCode: 404, title: "Not found", detail: detail);
}
