using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// An ExternalSecret (external-secrets.io/v1) that fills the keys Secret from a ClusterSecretStore, so that no value
/// is ever in Git. Remote keys are <c>bruno/tenants/&lt;id&gt;/master-key</c> and <c>.../llm-api-key</c>.
/// </summary>
internal static class ExternalSecrets
{
    public static JsonObject Keys(string ns, Dictionary<string, string> labels, string store, string tenant) => new()
    {
        ["apiVersion"] = "external-secrets.io/v1",
        ["kind"] = "ExternalSecret",
        ["metadata"] = Kamaji.Meta(BrunoWorkload.KeysSecret, ns, labels),
        ["spec"] = new JsonObject
        {
            ["refreshInterval"] = "1h",
            ["secretStoreRef"] = new JsonObject { ["kind"] = "ClusterSecretStore", ["name"] = store },
            ["target"] = new JsonObject { ["name"] = BrunoWorkload.KeysSecret, ["creationPolicy"] = "Owner" },
            ["data"] = new JsonArray(
                Item("master-key", $"bruno/tenants/{tenant}/master-key"),
                Item("llm-api-key", $"bruno/tenants/{tenant}/llm-api-key")),
        },
    };

    private static JsonObject Item(string key, string remote) =>
        new() { ["secretKey"] = key, ["remoteRef"] = new JsonObject { ["key"] = remote } };
}
