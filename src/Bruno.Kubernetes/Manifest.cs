using System.Text.Json.Nodes;
using k8s;

namespace Bruno.Kubernetes;

/// <summary>One rendered file: its path under the output folder (forward slashes) and its bytes as text.</summary>
public sealed record RenderedFile(string Path, string Content);

/// <summary>One Kubernetes object to render, as JSON, with the file it goes to.</summary>
internal sealed record Manifest(string FileName, JsonObject Body)
{
    /// <summary>The object's kind.</summary>
    public string Kind => (string)Body["kind"]!;

    /// <summary>A typed KubernetesClient object, serialised as the API server would read it.</summary>
    public static Manifest Of(string fileName, IKubernetesObject value) =>
        new(fileName, JsonNode.Parse(KubernetesJson.Serialize(value))!.AsObject());

    /// <summary>Labels Bruno puts on everything it renders for a tenant (and on the shared parts without the tenant).</summary>
    public static Dictionary<string, string> Labels(string component, Contracts.TenantDeployment? tenant = null)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["app.kubernetes.io/managed-by"] = "bruno",
            ["app.kubernetes.io/name"] = "agent-bruno",
            ["app.kubernetes.io/component"] = component,
            ["app.kubernetes.io/part-of"] = "bruno",
        };
        if (tenant is not null)
        {
            labels["bruno.dev/tenant"] = tenant.Id;
            labels["bruno.dev/isolation"] = tenant.Isolation;
            labels["bruno.dev/plan"] = tenant.Plan;
            labels["tenant"] = tenant.Id;
            foreach (var flag in tenant.Compliance)
            {
                labels[$"compliance.bruno.dev/{flag}"] = "true";
            }
        }

        return new Dictionary<string, string>(labels, StringComparer.Ordinal);
    }
}
