using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// ExternalSecrets (external-secrets.io/v1) that fill Bruno's Secrets from a ClusterSecretStore, so that no value is
/// ever in Git. A tenant's keys Secret reads <c>bruno/tenants/&lt;id&gt;/master-key</c> and <c>.../llm-api-key</c>; the
/// management plane's (one process or two tiers) read <c>bruno/platform/...</c> (<see cref="PlatformRemoteKeys"/>).
/// </summary>
internal static class ExternalSecrets
{
    public static JsonObject Keys(string ns, Dictionary<string, string> labels, string store, string tenant) =>
        For(BrunoWorkload.KeysSecret, ns, labels, store, [(BrunoWorkload.MasterKey, $"bruno/tenants/{tenant}/master-key"), (BrunoWorkload.LlmApiKey, $"bruno/tenants/{tenant}/llm-api-key")]);

    /// <summary>
    /// The remote keys of the management plane, by Secret and key: the keys Secret's master key (and the LLM API key
    /// when a chat provider is configured: a remote key that does not exist fails the whole ExternalSecret); with two
    /// tiers also the cluster token, the gateways' platform keys, and the cluster TLS certificate, key and authority
    /// (unless another owner, such as cert-manager, makes that Secret).
    /// </summary>
    public static List<(string Secret, string Key, string Remote)> PlatformRemoteKeys(KubernetesOptions options) =>
    [
        (BrunoWorkload.KeysSecret, BrunoWorkload.MasterKey, "bruno/platform/master-key"),
        .. options.TwoTier.Enabled ? [(BrunoWorkload.KeysSecret, BrunoWorkload.ClusterToken, "bruno/platform/cluster-token")] : Array.Empty<(string, string, string)>(),
        .. options.Llm.Provider == "none" ? Array.Empty<(string, string, string)>() : [(BrunoWorkload.KeysSecret, BrunoWorkload.LlmApiKey, "bruno/platform/llm-api-key")],
        .. options.TwoTier.Enabled
            ? [(Gateways.PlatformKeysSecret, Gateways.PlatformKeys[0], "bruno/platform/token-signing-key"), (Gateways.PlatformKeysSecret, Gateways.PlatformKeys[1], "bruno/platform/platform-signing-key")]
            : Array.Empty<(string, string, string)>(),
        .. options.TwoTier.Enabled && options.TwoTier.TlsFromExternalSecret
            ? Gateways.ClusterTlsKeys.Select(k => (options.TwoTier.TlsSecret, k, "bruno/platform/cluster-" + k.Replace('.', '-')))
            : [],
    ];

    /// <summary>The ExternalSecrets of the management plane's Secrets (<see cref="PlatformRemoteKeys"/>), by file name.</summary>
    public static IEnumerable<(string FileName, JsonObject Body)> Platform(string ns, Dictionary<string, string> labels, KubernetesOptions options, string store)
    {
        var remote = PlatformRemoteKeys(options);
        JsonObject Of(string secret) => For(secret, ns, labels, store, [.. remote.Where(k => k.Secret == secret).Select(k => (k.Key, k.Remote))]);
        yield return ("externalsecret-keys.yaml", Of(BrunoWorkload.KeysSecret));
        if (!options.TwoTier.Enabled)
        {
            yield break;
        }

        yield return ("externalsecret-platform-keys.yaml", Of(Gateways.PlatformKeysSecret));
        if (options.TwoTier.TlsFromExternalSecret)
        {
            yield return ("externalsecret-cluster-tls.yaml", Of(options.TwoTier.TlsSecret));
        }
    }

    private static JsonObject For(string secret, string ns, Dictionary<string, string> labels, string store, List<(string Key, string Remote)> items) => new()
    {
        ["apiVersion"] = "external-secrets.io/v1",
        ["kind"] = "ExternalSecret",
        ["metadata"] = Kamaji.Meta(secret, ns, labels),
        ["spec"] = new JsonObject
        {
            ["refreshInterval"] = "1h",
            ["secretStoreRef"] = new JsonObject { ["kind"] = "ClusterSecretStore", ["name"] = store },
            ["target"] = new JsonObject { ["name"] = secret, ["creationPolicy"] = "Owner" },
            ["data"] = new JsonArray([.. items.Select(i => (JsonNode)Item(i.Key, i.Remote))]),
        },
    };

    private static JsonObject Item(string key, string remote) =>
        new() { ["secretKey"] = key, ["remoteRef"] = new JsonObject { ["key"] = remote } };
}
