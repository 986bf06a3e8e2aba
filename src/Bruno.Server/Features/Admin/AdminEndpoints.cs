using System.ComponentModel.DataAnnotations;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Features.Admin;

/// <summary>Body of a tenant creation: id, display name, plan, isolation level, compliance flags.</summary>
public sealed record CreateTenantRequest([property: Required] string? Id, string? DisplayName, string? Plan = null, string? Isolation = null, IReadOnlyList<string>? Compliance = null);

/// <summary>Body of a plan change.</summary>
public sealed record PlanRequest([property: Required] string? Plan);

/// <summary>A tenant as the admin API shows it.</summary>
public sealed record TenantResponse(string Id, string DisplayName, string Status, DateTimeOffset CreatedAt, string Plan, string Isolation, IReadOnlyList<string> Compliance)
{
    internal static TenantResponse Of(TenantRecord r) =>
        new(r.Id.Value, r.DisplayName, r.Status.ToString().ToLowerInvariant(), r.CreatedAt, r.Profile.Plan, r.Profile.Isolation, r.Profile.Flags);
}

/// <summary>A deleted tenant's tombstone and the signed receipt of its erasure.</summary>
public sealed record DeletedTenantResponse(string Id, string DisplayName, string Status, DateTimeOffset CreatedAt, string Plan, string Isolation, IReadOnlyList<string> Compliance, Core.Audit.SignedReceipt? Receipt)
{
    internal static DeletedTenantResponse Of(TenantRecord r, Core.Audit.SignedReceipt? receipt) =>
        new(r.Id.Value, r.DisplayName, r.Status.ToString().ToLowerInvariant(), r.CreatedAt, r.Profile.Plan, r.Profile.Isolation, r.Profile.Flags, receipt);
}

/// <summary>Body of a token request: the user, the scopes, and a lifetime in minutes (default from settings).</summary>
public sealed record IssueTokenRequest([property: Required] string? User, IReadOnlyList<string>? Scopes, int? LifetimeMinutes);

/// <summary>An issued token.</summary>
public sealed record TokenResponse(string Token, string TokenType, DateTimeOffset ExpiresAt);

/// <summary>The platform operator's API: tenants and their tokens. Platform-admin tokens only.</summary>
internal static class AdminEndpoints
{
    public static void MapAdminEndpoints(this ApiGroups api)
    {
        var group = api.Platform.MapGroup("/tenants");
        group.MapPost("/", CreateAsync);
        group.MapGet("/", (TenantService tenants) => TypedResults.Ok(tenants.List().Select(TenantResponse.Of)));
        group.MapGet("/{tenant}", Show).Produces<TenantResponse>();
        group.MapGet("/{tenant}/events", (string tenant, TenantService tenants) =>
            TenantId.TryParse(tenant, out var tid) && tenants.Find(tid) is not null ? (IResult)TypedResults.Ok(tenants.Events(tid)) : NotFound()).Produces<IReadOnlyList<TenantEvent>>();
        group.MapPost("/{tenant}/suspend", (string tenant, TenantService tenants, Tenancy.TenantWatch watch, HttpContext http) =>
            Transition(tenant, tenants, t => Cutting(watch, t, tenants.Suspend(t, Actor(http))), "suspend", "active or offloaded")).Changes().Audited("tenant.suspend");
        group.MapPost("/{tenant}/resume", (string tenant, TenantService tenants, HttpContext http) => Transition(tenant, tenants, t => tenants.Resume(t, Actor(http)), "resume", "suspended or offloaded")).Changes().Audited("tenant.resume");
        group.MapPost("/{tenant}/offload", async (string tenant, TenantService tenants, HttpContext http) =>
            TenantId.TryParse(tenant, out var tid) ? Result(tid, tenants, await tenants.OffloadAsync(tid, Actor(http)), "offload", "active") : NotFound()).Changes().Audited("tenant.offload");
        group.MapDelete("/{tenant}", async (string tenant, TenantService tenants, Core.Audit.ErasureReceipts receipts, Tenancy.TenantWatch watch, Observability.InsightsLog insights, HttpContext http) =>
        {
            if (!TenantId.TryParse(tenant, out var tid))
            {
                return NotFound();
            }

            watch.Cut(tid); // requests in flight stop before the store is erased under them
            insights.Forget(tid);
            return await tenants.DeleteAsync(tid, Actor(http)) is { } deleted
                ? TypedResults.Ok(DeletedTenantResponse.Of(deleted, receipts.For(tid).LastOrDefault(r => r.Receipt.Kind == "tenant")))
                : Result(tid, tenants, null, "delete", "not yet deleted");
        }).Produces<DeletedTenantResponse>().ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/{tenant}/receipts", (string tenant, TenantService tenants, Core.Audit.ErasureReceipts receipts) =>
            TenantId.TryParse(tenant, out var tid) && tenants.Find(tid) is not null ? (IResult)TypedResults.Ok(receipts.For(tid)) : NotFound()).Produces<IReadOnlyList<Core.Audit.SignedReceipt>>();
        group.MapPut("/{tenant}/plan", (string tenant, PlanRequest body, TenantService tenants, HttpContext http) =>
            Transition(tenant, tenants, t => tenants.SetPlan(t, body.Plan ?? string.Empty, Actor(http)), "change the plan of", "not deleted")).Changes().Audited("tenant.plan");
        group.MapPost("/{tenant}/tokens", IssueToken).Produces<TokenResponse>().Audited("token.issue");
        group.MapPost("/{tenant}/reembed", ReembedAsync).Produces<Core.Documents.ReembedResult>().Audited("tenant.reembed");
    }

    private static async Task<Created<TenantResponse>> CreateAsync(CreateTenantRequest body, TenantService tenants, AuditTrail audit, HttpContext http)
    {
        var id = TenantId.Parse(body.Id);
        var profile = new TenantProfile(body.Plan ?? "default", body.Isolation ?? "namespace", body.Compliance);
        var record = await tenants.CreateAsync(id, body.DisplayName ?? id.Value, profile, Actor(http));
        await audit.RecordAsync(http, id, "tenant.create", $"tenant {id.Value}");
        return TypedResults.Created($"/admin/v1/tenants/{id.Value}", TenantResponse.Of(record));
    }

    private static IResult Show(string tenant, TenantService tenants) =>
        TenantId.TryParse(tenant, out var tid) && tenants.Find(tid) is { } r ? TypedResults.Ok(TenantResponse.Of(r)) : NotFound();

    private static IResult Transition(string tenant, TenantService tenants, Func<TenantId, TenantRecord?> change, string verb, string needed) =>
        TenantId.TryParse(tenant, out var tid) ? Result(tid, tenants, change(tid), verb, needed) : NotFound();

    /// <summary>The tenant after a change; 404 when unknown, 409 (saying its state) when the change does not apply.</summary>
    private static IResult Result(TenantId id, TenantService tenants, TenantRecord? changed, string verb, string needed) =>
        changed is not null ? TypedResults.Ok(TenantResponse.Of(changed))
        : tenants.Find(id) is { } current ? TypedResults.Problem(statusCode: 409, title: "Conflict", detail: $"Cannot {verb} a tenant that is {current.Status.ToString().ToLowerInvariant()} (it must be {needed}).")
        : NotFound();

    private static TenantRecord? Cutting(Tenancy.TenantWatch watch, TenantId id, TenantRecord? changed)
    {
        if (changed is not null)
        {
            watch.Cut(id);
        }

        return changed;
    }

    private static string Actor(HttpContext http) => http.User.FindFirst("sub")?.Value ?? "operator";

    private static IResult IssueToken(string tenant, IssueTokenRequest body, TenantService tenants, TokenService tokens, IOptions<BrunoOptions> options, TimeProvider? time)
    {
        if (!TenantId.TryParse(tenant, out var tid) || tenants.Find(tid) is null)
        {
            return NotFound();
        }

        var lifetime = TimeSpan.FromMinutes(body.LifetimeMinutes ?? options.Value.TokenLifetimeMinutes);
        var token = tokens.IssueUserToken(tid, UserId.Parse(body.User), body.Scopes ?? [Scopes.Query], lifetime);
        return TypedResults.Ok(new TokenResponse(token, "Bearer", (time ?? TimeProvider.System).GetUtcNow() + lifetime));
    }

    /// <summary>Moves the tenant's documents to the configured embedding model (runs to the end; safe to repeat).</summary>
    private static async Task<IResult> ReembedAsync(string tenant, TenantService tenants, Core.Documents.DocumentService documents, CancellationToken ct) =>
        TenantId.TryParse(tenant, out var tid) && tenants.Find(tid) is not null
            ? TypedResults.Ok(await documents.ReembedAsync(tenants.Store(tid), ct))
            : NotFound();

    /// <summary>A state change: the tenant after it, or 409 saying why it does not apply.</summary>
    private static RouteHandlerBuilder Changes(this RouteHandlerBuilder builder) =>
        builder.Produces<TenantResponse>().ProducesProblem(StatusCodes.Status409Conflict);

    private static ProblemHttpResult NotFound() => TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such tenant.");
}
