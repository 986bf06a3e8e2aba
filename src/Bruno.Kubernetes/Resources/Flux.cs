using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// Flux Kustomizations (kustomize.toolkit.fluxcd.io/v1): interval, prune, the source, health checks (with CEL
/// expressions for kinds whose status has no Ready condition), dependencies, the service account Flux impersonates, SOPS
/// decryption, post-build substitution from named Secrets and, for a tenant's own cluster, the kubeconfig Secret to apply
/// through. Only fields of the CRD are written: Flux applies with server-side apply, which rejects any other.
/// </summary>
internal static class Flux
{
    public const string ApiVersion = "kustomize.toolkit.fluxcd.io/v1";

    public sealed record HealthCheck(string ApiVersion, string Kind, string Name, string? Namespace);

    /// <summary>A CEL health check for a kind: <paramref name="Current"/> is true once an object of it is ready.</summary>
    public sealed record HealthCheckExpression(string ApiVersion, string Kind, string Current);

    public sealed record Spec(
        string Name,
        string Namespace,
        string Path,
        Dictionary<string, string> Labels,
        IReadOnlyList<HealthCheck> HealthChecks,
        IReadOnlyList<(string Name, string Namespace)> DependsOn,
        (string Secret, string Key)? KubeConfig = null,
        string Timeout = "10m",
        IReadOnlyList<HealthCheckExpression>? HealthCheckExpressions = null,
        string? ServiceAccount = null,
        (string Kind, string Name)? Source = null,
        string? DecryptionSecret = null,
        IReadOnlyList<string>? SubstituteFrom = null);

    public static JsonObject Kustomization(Spec s, FluxOptions flux)
    {
        var spec = new JsonObject();
        if (s.DependsOn.Count > 0)
        {
            spec["dependsOn"] = new JsonArray([.. s.DependsOn.Select(d => (JsonNode)new JsonObject { ["name"] = d.Name, ["namespace"] = d.Namespace })]);
        }

        if (s.HealthCheckExpressions is { Count: > 0 } expressions)
        {
            spec["healthCheckExprs"] = new JsonArray([.. expressions.Select(e => (JsonNode)new JsonObject { ["apiVersion"] = e.ApiVersion, ["kind"] = e.Kind, ["current"] = e.Current })]);
        }

        if (s.HealthChecks.Count > 0)
        {
            spec["healthChecks"] = new JsonArray([.. s.HealthChecks.Select(h =>
            {
                var o = new JsonObject { ["apiVersion"] = h.ApiVersion, ["kind"] = h.Kind, ["name"] = h.Name };
                if (h.Namespace is not null)
                {
                    o["namespace"] = h.Namespace;
                }

                return (JsonNode)o;
            })]);
        }

        if (s.DecryptionSecret is { } decryption)
        {
            spec["decryption"] = new JsonObject { ["provider"] = "sops", ["secretRef"] = new JsonObject { ["name"] = decryption } };
        }

        spec["interval"] = flux.Interval;
        if (s.KubeConfig is { } kube)
        {
            spec["kubeConfig"] = new JsonObject { ["secretRef"] = new JsonObject { ["name"] = kube.Secret, ["key"] = kube.Key } };
        }

        spec["path"] = JoinPath(flux.Path, s.Path);
        if (s.SubstituteFrom is { Count: > 0 } substitute)
        {
            spec["postBuild"] = new JsonObject { ["substituteFrom"] = new JsonArray([.. substitute.Select(n => (JsonNode)new JsonObject { ["kind"] = "Secret", ["name"] = n })]) };
        }

        spec["prune"] = true;
        spec["retryInterval"] = "1m";
        if (s.ServiceAccount is { } account)
        {
            spec["serviceAccountName"] = account;
        }

        var source = s.Source is { } own
            ? new JsonObject { ["kind"] = own.Kind, ["name"] = own.Name } // a source in the Kustomization's own namespace
            : new JsonObject { ["kind"] = flux.SourceKind, ["name"] = flux.SourceName };
        if (s.Source is null && s.Namespace != flux.Namespace)
        {
            source["namespace"] = flux.Namespace; // a cross-namespace reference (allowed unless Flux runs with --no-cross-namespace-refs)
        }

        spec["sourceRef"] = source;
        spec["timeout"] = s.Timeout;
        spec["wait"] = s.HealthChecks.Count == 0; // without explicit checks, wait for everything applied to be ready
        return new JsonObject
        {
            ["apiVersion"] = ApiVersion,
            ["kind"] = "Kustomization",
            ["metadata"] = Kamaji.Meta(s.Name, s.Namespace, s.Labels),
            ["spec"] = spec,
        };
    }

    private static string JoinPath(string root, string path) =>
        root.TrimEnd('/') is "." or "./" or "" ? "./" + path : root.TrimEnd('/') + "/" + path;
}
