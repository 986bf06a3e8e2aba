using System.ComponentModel.DataAnnotations;
using Bruno.Cluster;
using Bruno.Core;
using Bruno.Core.Tenants;
using Bruno.Server.Hosting;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Features.Admin;

/// <summary>
/// The operators' view of the tiers (docs/scaling.md): the store nodes, a tenant's placement, and moving a tenant. The
/// tiers themselves (placement, routing, moves, the store node's API) are Bruno.Cluster's; in one process there is
/// nothing to place, and these endpoints say so.
/// </summary>
internal static class ClusterEndpoints
{
    /// <summary>Operators: the store nodes, a tenant's placement, and moving a tenant. Platform-admin tokens only.</summary>
    public static void MapClusterEndpoints(this ApiGroups api)
    {
        var admin = api.Platform;
        admin.MapGet("/nodes", (IServiceProvider sp, IOptions<BrunoOptions> options) =>
        {
            if (sp.GetService<Placement>() is not { } placement)
            {
                return NotAGateway();
            }

            var timeout = TimeSpan.FromSeconds(options.Value.Cluster.NodeTimeoutSeconds);
            var all = placement.All();
            var placed = all.GroupBy(p => p.Node).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var replicas = all.Where(p => p.Replica is not null).GroupBy(p => p.Replica!).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            return (IResult)TypedResults.Ok(placement.Nodes().Select(n =>
                new StoreNodeResponse(n.Name, n.Url.ToString(), placement.IsLive(n, timeout), placed.GetValueOrDefault(n.Name), n.Tenants, n.Rows, n.Bytes, n.SeenAt, replicas.GetValueOrDefault(n.Name), n.Zone)));
        }).Produces<IEnumerable<StoreNodeResponse>>().ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapGet("/tenants/{tenant}/placement", (string tenant, IServiceProvider sp) =>
        {
            if (sp.GetService<Placement>() is not { } placement)
            {
                return NotAGateway();
            }

            if (!TenantId.TryParse(tenant, out var tid) || placement.Find(tid) is not { } p)
            {
                return Problems.Result(404, "Not found", "No such tenant, or it was never placed on a store node.");
            }

            var nodes = placement.Nodes().ToDictionary(n => n.Name, StringComparer.Ordinal);
            var owner = nodes.GetValueOrDefault(p.Node);
            var replica = p.Replica is null ? null : nodes.GetValueOrDefault(p.Replica);
            return (IResult)TypedResults.Ok(new PlacementResponse(p.Tenant.Value, p.Node, p.Epoch, p.MovingTo, p.Replica, p.ReplicaInSync, p.AsyncLag is null ? "sync" : "async", p.AsyncLag,
                owner?.Zone, replica?.Zone, owner is not null && replica is not null && owner.InAnotherZoneThan(replica)));
        }).Produces<PlacementResponse>().ProducesProblem(StatusCodes.Status409Conflict);
        admin.MapPost("/tenants/{tenant}/move", async (string tenant, MoveRequest body, IServiceProvider sp) =>
        {
            if (sp.GetService<TenantMover>() is not { } mover)
            {
                return NotAGateway();
            }

            if (!TenantId.TryParse(tenant, out var tid) || sp.GetRequiredService<TenantService>().Find(tid) is not { Status: not TenantStatus.Deleted and not TenantStatus.Deleting })
            {
                return Problems.Result(404, "Not found", "No such tenant.");
            }

            if (body.To is null || !TenantId.TryParse(body.To, out _))
            {
                return Problems.Result(400, "Invalid request", "'to' must name a store node (a DNS label).");
            }

            // not the request's token: a move runs to its end (or undoes itself) even if the caller stops waiting
            var moved = await mover.MoveAsync(tid, body.To, CancellationToken.None);
            return (IResult)TypedResults.Ok(new MoveResponse(moved.Tenant, moved.From, moved.To, moved.Bytes, (long)moved.FencedFor.TotalMilliseconds));
        }).Produces<MoveResponse>().ProducesProblem(StatusCodes.Status409Conflict).Audited("tenant.move");
    }

    private static IResult NotAGateway() =>
        Problems.Result(409, "Not a gateway", "This process is not a gateway over store nodes (Bruno:Cluster:Role); in one process there is nothing to place or move.");
}

/// <summary>Body of a move: the store node to move the tenant to.</summary>
public sealed record MoveRequest([property: Required] string? To);

/// <summary>
/// A store node as the gateway sees it: whether it holds its lease (reported recently), the tenants it owns
/// (<c>TenantsPlaced</c>) and holds replicas of (<c>ReplicasPlaced</c>), what it reported holding, and the zone it
/// reported (null: it sets none).
/// </summary>
public sealed record StoreNodeResponse(string Name, string Url, bool Live, int TenantsPlaced, int Tenants, long Rows, long Bytes, DateTimeOffset SeenAt, int ReplicasPlaced, string? Zone);

/// <summary>
/// Where a tenant lives: its owner (primary), the placement's epoch, the node it is moving to, if any, and its replica,
/// if any, with whether that replica is in sync (false while its copy is being built), and how writes reach it
/// (<c>sync</c>: acknowledged once the replica has them; <c>async</c>: the replica at most <c>ReplicationLag</c> writes behind).
/// The zones the owner and the replica reported (null when unknown), and whether they are known to differ
/// (<c>ZonesApart</c>: false when they are the same, when either is unknown, or without a replica).
/// </summary>
public sealed record PlacementResponse(string Tenant, string Node, long Epoch, string? MovingTo, string? Replica, bool ReplicaInSync, string Replication, int? ReplicationLag, string? NodeZone, string? ReplicaZone, bool ZonesApart);

/// <summary>A finished move: from which node to which, the bytes carried, and how long writes were fenced.</summary>
public sealed record MoveResponse(string Tenant, string From, string To, long Bytes, long FencedMs);

