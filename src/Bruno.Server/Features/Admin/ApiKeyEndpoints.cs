using System.ComponentModel.DataAnnotations;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Admin;

/// <summary>Body of a key creation.</summary>
public sealed record CreateApiKeyRequest([property: Required] string? Name, IReadOnlyList<string>? Scopes);

/// <summary>A key as listed.</summary>
public sealed record ApiKeyResponse(string Id, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    internal static ApiKeyResponse Of(ApiKeyInfo k) => new(k.Id, k.Name, k.Scopes, k.CreatedAt, k.RevokedAt);
}

/// <summary>A new key: the secret appears here once.</summary>
public sealed record CreatedApiKeyResponse(string Id, string Name, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, string Key);

/// <summary>API keys: by the operator for any tenant, and by a tenant's admins for their own tenant.</summary>
internal static class ApiKeyEndpoints
{
    public static void MapApiKeyEndpoints(this ApiGroups api)
    {
        var platform = api.Platform.MapGroup("/tenants/{tenant}/api-keys");
        platform.MapPost("/", (string tenant, CreateApiKeyRequest body, TenantService tenants, ApiKeys keys) => TenantRoutes.Known(tenant, tenants, t => Create(t, body, keys))).Produces<CreatedApiKeyResponse>(StatusCodes.Status201Created).Audited("key.issue");
        platform.MapGet("/", (string tenant, TenantService tenants, ApiKeys keys) => TenantRoutes.Known(tenant, tenants, t => TypedResults.Ok(keys.List(t).Select(ApiKeyResponse.Of)))).Produces<IEnumerable<ApiKeyResponse>>();
        platform.MapDelete("/{id}", (string tenant, string id, TenantService tenants, ApiKeys keys) => TenantRoutes.Known(tenant, tenants, t => Revoke(t, id, keys))).Produces(StatusCodes.Status204NoContent).Audited("key.revoke");

        var own = api.Tenant.MapGroup("/api-keys").RequireAuthorization(Policies.Admin);
        own.MapPost("/", (CreateApiKeyRequest body, Caller caller, ApiKeys keys) => Create(caller.Tenant, body, keys)).Audited("key.issue");
        own.MapGet("/", (Caller caller, ApiKeys keys) => TypedResults.Ok(keys.List(caller.Tenant).Select(ApiKeyResponse.Of)));
        own.MapDelete("/{id}", (string id, Caller caller, ApiKeys keys) => Revoke(caller.Tenant, id, keys)).Produces(StatusCodes.Status204NoContent).Audited("key.revoke");
    }

    private static Microsoft.AspNetCore.Http.HttpResults.Created<CreatedApiKeyResponse> Create(TenantId tenant, CreateApiKeyRequest body, ApiKeys keys)
    {
        var issued = keys.Create(tenant, body.Name ?? string.Empty, body.Scopes ?? [Core.Identity.Scopes.Query]);
        var k = issued.Info;
        return TypedResults.Created($"/api/v1/api-keys/{k.Id}", new CreatedApiKeyResponse(k.Id, k.Name, k.Scopes, k.CreatedAt, issued.Key));
    }

    private static IResult Revoke(TenantId tenant, string id, ApiKeys keys) =>
        keys.Revoke(tenant, id) ? TypedResults.NoContent() : TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such active key.");
}
