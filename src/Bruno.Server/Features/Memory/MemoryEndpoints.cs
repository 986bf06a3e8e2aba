using Bruno.Core.Memory;
using Bruno.Core.Tenants;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;

namespace Bruno.Server.Features.Memory;

/// <summary>Body of an explicit note.</summary>
public sealed record NoteRequest(string? Text, string? TenantId) : INamesTenant;

/// <summary>
/// The caller's own memory (<c>/api/v1/me/memory</c>, scope memory), and a tenant admin's access to the memory of any
/// user of the same tenant (<c>/api/v1/users/{user}/memory</c>, scope admin). No route reaches another tenant's users.
/// </summary>
internal static class MemoryEndpoints
{
    public static void MapMemoryEndpoints(this IEndpointRouteBuilder app)
    {
        var me = app.MapGroup("/api/v1/me/memory").RequireAuthorization(Hosting.Hosting.MemoryPolicy).AddEndpointFilter<TenantFilter>();
        me.MapGet("/", async (Caller caller, MemoryService memory, TenantService tenants, CancellationToken ct) =>
            TypedResults.Ok(await memory.ExportAsync(tenants.Store(caller.Tenant), caller.User, ct)));
        me.MapDelete("/", async (Caller caller, MemoryService memory, TenantService tenants) =>
            TypedResults.Ok(await memory.EraseAsync(tenants.Store(caller.Tenant), caller.User)));
        me.MapPost("/", async (NoteRequest body, Caller caller, MemoryService memory, TenantService tenants, CancellationToken ct) =>
            TypedResults.Ok(await memory.RememberAsync(tenants.Store(caller.Tenant), caller.User, body.Text ?? string.Empty, ct)));
        me.MapDelete("/{id}", async (string id, Caller caller, MemoryService memory, TenantService tenants) =>
            await memory.ForgetAsync(tenants.Store(caller.Tenant), caller.User, id) ? (IResult)TypedResults.NoContent() : NotFound());

        var admin = app.MapGroup("/api/v1/users/{user}/memory").RequireAuthorization(Hosting.Hosting.AdminPolicy).AddEndpointFilter<TenantFilter>();
        admin.MapGet("/", async (string user, Caller caller, MemoryService memory, TenantService tenants, CancellationToken ct) =>
            TypedResults.Ok(await memory.ExportAsync(tenants.Store(caller.Tenant), UserId.Parse(user), ct)));
        admin.MapDelete("/", async (string user, Caller caller, MemoryService memory, TenantService tenants) =>
            TypedResults.Ok(await memory.EraseAsync(tenants.Store(caller.Tenant), UserId.Parse(user))));
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotFound() => TypedResults.Problem(statusCode: 404, title: "Not found", detail: "No such memory.");
}
