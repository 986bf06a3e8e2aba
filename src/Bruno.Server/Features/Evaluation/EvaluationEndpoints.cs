using Bruno.Core.Evaluation;
using Bruno.Core.Tenants;
using Bruno.Server.Features.Audit;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Evaluation;

/// <summary>Body of an evaluation: its cases, an optional label, and whether to keep the run (default true).</summary>
public sealed record EvaluationRequest(List<EvaluationCase>? Cases, string? Label, bool? Keep) : TenantBody;

/// <summary>
/// A tenant's own evaluations (scope admin): run cases against the tenant's current knowledge and retrieval settings,
/// list the kept runs, read one with its cases, compare two, delete one. Runs live in the tenant's store.
/// </summary>
internal static class EvaluationEndpoints
{
    public static void MapEvaluationEndpoints(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1/evaluations").ForTenant(Hosting.Hosting.AdminPolicy);
        group.MapPost("/", RunAsync).Audited("evaluation.run");
        group.MapGet("/", async (Caller caller, TenantService tenants, int? limit, CancellationToken ct) =>
            TypedResults.Ok(new { items = await EvaluationService.ListAsync(tenants.Store(caller.Tenant), Math.Clamp(limit ?? 50, 1, 1_000), ct) }));
        group.MapGet("/compare", async (string? first, string? second, Caller caller, TenantService tenants, CancellationToken ct) =>
            first is null || second is null
                ? Hosting.Problems.Result(400, "Invalid request", "Name two runs: ?first=<id>&second=<id>.")
                : await EvaluationService.CompareAsync(tenants.Store(caller.Tenant), first, second, ct) is { } comparison
                    ? TypedResults.Ok(comparison)
                    : NotFound());
        group.MapGet("/{id}", async (string id, Caller caller, TenantService tenants, CancellationToken ct) =>
            await EvaluationService.GetAsync(tenants.Store(caller.Tenant), id, ct) is { } run ? TypedResults.Ok(run) : NotFound());
        group.MapDelete("/{id}", async (string id, Caller caller, TenantService tenants, CancellationToken ct) =>
            await EvaluationService.DeleteAsync(tenants.Store(caller.Tenant), id, ct) ? TypedResults.NoContent() : NotFound()).Audited("evaluation.delete");
    }

    private static async Task<IResult> RunAsync(EvaluationRequest body, Caller caller, EvaluationService evaluations, TenantService tenants, CancellationToken ct)
    {
        var run = await evaluations.RunAsync(tenants.Store(caller.Tenant), body.Cases ?? [], tenants.RetrievalFor(caller.Tenant), body.Label, body.Keep ?? true, ct: ct);
        return TypedResults.Created($"/api/v1/evaluations/{run.Id}", run);
    }

    private static IResult NotFound() => Hosting.Problems.Result(404, "Not found", "No such evaluation run.");
}
