using System.ComponentModel.DataAnnotations;
using Bruno.Core.Evaluation;
using Bruno.Server.Tenancy;

namespace Bruno.Server.Features.Evaluation;

/// <summary>Body of an evaluation: its cases, an optional label, and whether to keep the run (default true).</summary>
public sealed record EvaluationRequest([property: Required] List<EvaluationCase>? Cases, string? Label, bool? Keep) : TenantBody;

/// <summary>The kept evaluation runs, newest first.</summary>
public sealed record EvaluationList(IReadOnlyList<EvaluationSummary> Items);

/// <summary>
/// A tenant's own evaluations (scope admin): run cases against the tenant's current knowledge and retrieval settings,
/// list the kept runs, read one with its cases, compare two, delete one. Runs live in the tenant's store.
/// </summary>
internal static class EvaluationEndpoints
{
    public static void MapEvaluationEndpoints(this ApiGroups api)
    {
        var group = api.Tenant.MapGroup("/evaluations").RequireAuthorization(Policies.Admin);
        group.MapPost("/", RunAsync).Produces<EvaluationRun>(StatusCodes.Status201Created).Audited("evaluation.run");
        group.MapGet("/", async ([AsParameters] TenantRequest tenant, int? limit, CancellationToken ct) =>
            TypedResults.Ok(new EvaluationList(await EvaluationService.ListAsync(tenant.Store, tenant.Caller.Viewer, Math.Clamp(limit ?? 50, 1, 1_000), ct))));
        group.MapGet("/compare", async (string? first, string? second, [AsParameters] TenantRequest tenant, CancellationToken ct) =>
            first is null || second is null
                ? Hosting.Problems.Result(400, "Invalid request", "Name two runs: ?first=<id>&second=<id>.")
                : await EvaluationService.CompareAsync(tenant.Store, tenant.Caller.Viewer, first, second, ct) is { } comparison
                    ? TypedResults.Ok(comparison)
                    : NotFound()).Produces<EvaluationComparison>();
        group.MapGet("/{id}", async (string id, [AsParameters] TenantRequest tenant, CancellationToken ct) =>
            await EvaluationService.GetAsync(tenant.Store, tenant.Caller.Viewer, id, ct) is { } run ? TypedResults.Ok(run) : NotFound()).Produces<EvaluationRun>();
        group.MapDelete("/{id}", async (string id, [AsParameters] TenantRequest tenant, CancellationToken ct) =>
            await EvaluationService.DeleteAsync(tenant.Store, tenant.Caller.Viewer, id, ct) ? TypedResults.NoContent() : NotFound()).Produces(StatusCodes.Status204NoContent).Audited("evaluation.delete");
    }

    private static async Task<IResult> RunAsync(EvaluationRequest body, [AsParameters] TenantRequest tenant, EvaluationService evaluations, CancellationToken ct)
    {
        var run = await evaluations.RunAsync(tenant.Store, tenant.Caller.Viewer, body.Cases ?? [], tenant.Retrieval, body.Label, body.Keep ?? true, ct: ct);
        return TypedResults.Created($"/api/v1/evaluations/{run.Id}", run);
    }

    private static IResult NotFound() => Hosting.Problems.Result(404, "Not found", "No such evaluation run.");
}
