using Bruno.Core.Tenants;
using Bruno.Kubernetes.Resources;

namespace Bruno.Kubernetes;

/// <summary>
/// The <c>kubectl</c> commands an operator runs to create the Secrets a tenant's manifests name, since no value is
/// rendered. Each command generates or reads its value on the operator's machine; nothing here holds one.
/// </summary>
public static class SecretInstructions
{
    /// <summary>The commands for <paramref name="tenant"/> at its isolation level, as shell lines with comments.</summary>
    public static IReadOnlyList<string> For(TenantRecord tenant, KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(options);
        var ns = Names.Namespace(tenant.Id);
        var lines = new List<string>();
        string? kubeconfig = null;
        switch (tenant.Profile.Isolation)
        {
            case "kamaji":
                var cp = Names.ControlPlane(tenant.Id);
                var cpNs = Names.ControlPlaneNamespace(tenant.Id);
                lines.Add($"# {tenant.Id} runs in its own Kamaji cluster; its admin kubeconfig is in the Secret {Kamaji.KubeconfigSecret(cp)} ({cpNs}).");
                lines.Add($"kubectl -n {cpNs} get secret {Kamaji.KubeconfigSecret(cp)} -o jsonpath='{{.data.admin\\.conf}}' | base64 -d > {tenant.Id}.kubeconfig");
                kubeconfig = $"{tenant.Id}.kubeconfig";
                if (string.IsNullOrEmpty(options.Kamaji.SharedDataStore))
                {
                    lines.Add($"# the tenant's own DataStore reads its PostgreSQL user and CA from {options.Kamaji.DataStoreSecretNamespace}:");
                    lines.Add($"kubectl -n {options.Kamaji.DataStoreSecretNamespace} create secret generic {cp}-credentials --from-literal=username=\"$PGUSER\" --from-literal=password=\"$PGPASSWORD\"");
                    lines.Add($"kubectl -n {options.Kamaji.DataStoreSecretNamespace} create secret generic {cp}-ca --from-file=ca.crt=\"$PG_CA_FILE\"");
                }

                break;
            case "dedicated-cluster":
                var secret = ManifestRenderer.ClusterKubeconfigSecret(tenant);
                lines.Add($"# {tenant.Id} runs in a dedicated cluster: Flux applies its workloads through that cluster's kubeconfig.");
                lines.Add($"kubectl -n {options.Flux.Namespace} create secret generic {secret} --from-file=value=\"$TENANT_KUBECONFIG\"");
                kubeconfig = "\"$TENANT_KUBECONFIG\"";
                break;
        }

        var target = kubeconfig is null ? string.Empty : $"--kubeconfig {kubeconfig} ";
        if (!string.IsNullOrEmpty(options.ExternalSecretStore))
        {
            lines.Add($"# the keys Secret is filled by an ExternalSecret from the ClusterSecretStore {options.ExternalSecretStore}: store these there");
            lines.Add($"#   bruno/tenants/{tenant.Id}/master-key  (32 random bytes, base64: head -c 32 /dev/urandom | base64)");
            lines.Add($"#   bruno/tenants/{tenant.Id}/llm-api-key (the LLM endpoint's key, if it needs one)");
            return lines;
        }

        lines.Add($"# the tenant's master key wraps every key of its store: keep a copy in your secret manager; losing it loses the data");
        lines.Add($"kubectl {target}create namespace {ns} --dry-run=client -o yaml | kubectl {target}apply -f -");
        lines.Add($"kubectl {target}-n {ns} create secret generic {BrunoWorkload.KeysSecret} --from-literal=master-key=\"$(head -c 32 /dev/urandom | base64)\" --from-literal=llm-api-key=\"$LLM_API_KEY\"");
        return lines;
    }
}
