using Bruno.Core;
using Bruno.Core.Tenants;
using Bruno.Kubernetes;
using Bruno.Server.Hosting;
using Bruno.Server.Tenancy;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Features.Manifests;

/// <summary>
/// A tenant's rendered GitOps files, the commands that create the Secrets they name, and, for a Kamaji tenant, how its
/// cluster gets worker nodes (<c>kubeadm join</c> steps, or where to watch Cluster API's machines; empty otherwise).
/// </summary>
public sealed record TenantManifests(string Tenant, string Isolation, IReadOnlyList<RenderedFile> Files, IReadOnlyList<string> Secrets, IReadOnlyList<string> Join);

/// <summary>
/// <c>GET /admin/v1/tenants/{tenant}/manifests</c> (platform scope): the tenant's folder and Flux entry at its isolation level,
/// rendered with <c>Bruno:Kubernetes</c> (the same renderer as <c>bruno tenant render</c>). A setting or tenant that
/// cannot be rendered is a 422 problem saying why.
/// </summary>
internal static class ManifestEndpoints
{
    public static void MapManifestEndpoints(this ApiGroups api) =>
        api.Platform.MapGet("/tenants/{tenant}/manifests", (string tenant, TenantService tenants, IOptions<BrunoOptions> bruno, IOptions<KubernetesOptions> kubernetes) =>
        {
            if (TenantRoutes.Live(tenant, tenants) is not { } id || tenants.Find(id) is not { } record)
            {
                return (IResult)TenantRoutes.NotFound();
            }

            try
            {
                return (IResult)TypedResults.Ok(Render(record, bruno.Value, kubernetes.Value));
            }
            catch (RenderException e)
            {
                return Problems.Result(StatusCodes.Status422UnprocessableEntity, "Cannot render", e.Message);
            }
        }).Produces<TenantManifests>().ProducesProblem(StatusCodes.Status422UnprocessableEntity);

    /// <summary>The tenant's files at its isolation level and its Secrets' commands (the console's download too); throws <see cref="RenderException"/> saying why it cannot.</summary>
    internal static TenantManifests Render(TenantRecord record, BrunoOptions bruno, KubernetesOptions kubernetes)
    {
        var deployment = record.ToDeployment();
        var plans = bruno.PlanResources();
        var files = new ManifestRenderer(kubernetes, plans).RenderTenant(deployment);
        var join = deployment.Isolation == "kamaji" ? JoinInstructions.For(deployment, kubernetes) : [];
        return new TenantManifests(record.Id.Value, record.Profile.Isolation, files, SecretInstructions.For(deployment, kubernetes, plans.GetValueOrDefault(deployment.Plan)), join);
    }
}
