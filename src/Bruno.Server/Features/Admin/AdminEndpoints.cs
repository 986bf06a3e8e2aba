using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Features.Admin;

/// <summary>Body of a tenant creation.</summary>
public sealed record CreateTenantRequest(string? Id, string? DisplayName);

/// <summary>A tenant as the admin API shows it.</summary>
public sealed record TenantResponse(string Id, string DisplayName, string Status, DateTimeOffset CreatedAt)
{
    internal static TenantResponse Of(TenantRecord r) => new(r.Id.Value, r.DisplayName, r.Status.ToString().ToLowerInvariant(), r.CreatedAt);
}

/// <summary>Body of a token request: the user, the scopes, and a lifetime in minutes (default from settings).</summary>
public sealed record IssueTokenRequest(string? User, IReadOnlyList<string>? Scopes, int? LifetimeMinutes);

/// <summary>An issued token.</summary>
public sealed record TokenResponse(string Token, string TokenType, DateTimeOffset ExpiresAt);

/// <summary>The platform operator's API: tenants and their tokens. Platform-admin tokens only.</summary>
internal static class AdminEndpoints
{
    public static void MapAdminEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/admin/v1/tenants").RequireAuthorization(Hosting.Hosting.PlatformPolicy);
        group.MapPost("/", CreateAsync);
        group.MapGet("/", (TenantService tenants) => TypedResults.Ok(tenants.List().Select(TenantResponse.Of)));
        group.MapGet("/{id}", Show);
        group.MapPost("/{id}/suspend", (string id, TenantService tenants) => SetStatus(id, TenantStatus.Suspended, tenants));
        group.MapPost("/{id}/resume", (string id, TenantService tenants) => SetStatus(id, TenantStatus.Active, tenants));
        group.MapPost("/{id}/tokens", IssueToken);
        group.MapPost("/{id}/reembed", ReembedAsync);
    }

    private static async Task<Created<TenantResponse>> CreateAsync(CreateTenantRequest body, TenantService tenants)
    {
        var id = TenantId.Parse(body.Id);
        var record = await tenants.CreateAsync(id, body.DisplayName ?? id.Value);
        return TypedResults.Created($"/admin/v1/tenants/{id.Value}", TenantResponse.Of(record));
    }

    private static IResult Show(string id, TenantService tenants) =>
        TenantId.TryParse(id, out var tid) && tenants.Find(tid) is { } r ? TypedResults.Ok(TenantResponse.Of(r)) : NotFound();

    private static IResult SetStatus(string id, TenantStatus status, TenantService tenants) =>
        TenantId.TryParse(id, out var tid) && tenants.SetStatus(tid, status) ? TypedResults.Ok(TenantResponse.Of(tenants.Find(tid)!)) : NotFound();

    private static IResult IssueToken(string id, IssueTokenRequest body, TenantService tenants, TokenService tokens, IOptions<BrunoOptions> options, TimeProvider? time)
    {
        if (!TenantId.TryParse(id, out var tid) || tenants.Find(tid) is null)
        {
            return NotFound();
        }

        var lifetime = TimeSpan.FromMinutes(body.LifetimeMinutes ?? options.Value.TokenLifetimeMinutes);
        var token = tokens.IssueUserToken(tid, UserId.Parse(body.User), body.Scopes ?? [Scopes.Query], lifetime);
        return TypedResults.Ok(new TokenResponse(token, "Bearer", (time ?? TimeProvider.System).GetUtcNow() + lifetime));
    }

    /// <summary>Moves the tenant's documents to the configured embedding model (runs to the end; safe to repeat).</summary>
    private static async Task<IResult> ReembedAsync(string id, TenantService tenants, Core.Documents.DocumentService documents, CancellationToken ct) =>
        TenantId.TryParse(id, out var tid) && tenants.Find(tid) is not null
            ? TypedResults.Ok(await documents.ReembedAsync(tenants.Store(tid), ct))
            : NotFound();

    private static ProblemHttpResult NotFound() => TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such tenant.");
}
