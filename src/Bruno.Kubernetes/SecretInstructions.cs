using Bruno.Contracts;
using Bruno.Kubernetes.Resources;

namespace Bruno.Kubernetes;

/// <summary>
/// The <c>kubectl</c> commands an operator runs to create the Secrets a tenant's or the platform's manifests name, since
/// no value is rendered. Each command generates or reads its value on the operator's machine; nothing here holds one.
/// </summary>
public static class SecretInstructions
{
    /// <summary>
    /// The commands for <paramref name="tenant"/> at its isolation level, as shell lines with comments. A tenant in a
    /// cluster of its own also gets the one-time binding of the platform reconciler's identity in that cluster, and the
    /// copy of the Flux source's auth Secret next to its Kustomizations (unless an ExternalSecret fills it).
    /// <paramref name="plan"/>, when given, tells whether a Kamaji tenant's DataStore is a PostgreSQL of its own (whose
    /// credentials CloudNativePG generates).
    /// </summary>
    public static IReadOnlyList<string> For(TenantDeployment tenant, KubernetesOptions options, PlanResources? plan = null)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(options);
        var ns = Names.Namespace(tenant.Id);
        var lines = new List<string>();
        string? kubeconfig = null;
        string? remoteNs = null;
        switch (tenant.Isolation)
        {
            case "kamaji":
                var cp = Names.ControlPlane(tenant.Id);
                remoteNs = Names.ControlPlaneNamespace(tenant.Id);
                lines.Add($"# {tenant.Id} runs in its own Kamaji cluster; its admin kubeconfig is in the Secret {Kamaji.KubeconfigSecret(cp)} ({remoteNs}).");
                lines.Add($"kubectl -n {remoteNs} get secret {Kamaji.KubeconfigSecret(cp)} -o jsonpath='{{.data.admin\\.conf}}' | base64 -d > {tenant.Id}.kubeconfig");
                kubeconfig = $"{tenant.Id}.kubeconfig";
                if (plan?.OwnDataStore is not null)
                {
                    lines.Add($"# the tenant's own PostgreSQL ({Names.Postgres(tenant.Id)}) and the Secrets its DataStore reads are made by CloudNativePG: nothing to create");
                }
                else if (string.IsNullOrEmpty(options.Kamaji.SharedDataStore))
                {
                    lines.Add($"# the tenant's own DataStore reads its PostgreSQL user and CA from {options.Kamaji.DataStoreSecretNamespace}:");
                    lines.Add($"kubectl -n {options.Kamaji.DataStoreSecretNamespace} create secret generic {cp}-credentials --from-literal=username=\"$PGUSER\" --from-literal=password=\"$PGPASSWORD\"");
                    lines.Add($"kubectl -n {options.Kamaji.DataStoreSecretNamespace} create secret generic {cp}-ca --from-file=ca.crt=\"$PG_CA_FILE\"");
                }

                break;
            case "dedicated-cluster":
                var secret = ManifestRenderer.ClusterKubeconfigSecret(tenant);
                remoteNs = Names.DedicatedNamespace(tenant.Id);
                lines.Add($"# {tenant.Id} runs in a dedicated cluster: Flux applies into it through that cluster's kubeconfig, kept in {remoteNs}.");
                lines.Add($"kubectl create namespace {remoteNs} --dry-run=client -o yaml | kubectl apply -f -");
                lines.Add($"kubectl -n {remoteNs} create secret generic {secret} --from-file=value=\"$TENANT_KUBECONFIG\"");
                kubeconfig = "\"$TENANT_KUBECONFIG\"";
                break;
        }

        var target = kubeconfig is null ? string.Empty : $"--kubeconfig {kubeconfig} ";
        if (remoteNs is not null)
        {
            // Flux impersonates system:serviceaccount:<remoteNs>:bruno-platform in the tenant's cluster; nothing there can
            // grant it rights before it applies anything, so the cluster's admin does it once.
            lines.Add($"# once: the identity the platform's Kustomization {Names.Label("platform-", tenant.Id)} applies as in the tenant's cluster (Flux impersonates it there)");
            lines.Add($"kubectl {target}create namespace {remoteNs} --dry-run=client -o yaml | kubectl {target}apply -f -");
            lines.Add($"kubectl {target}-n {remoteNs} create serviceaccount {Reconcilers.PlatformAccount} --dry-run=client -o yaml | kubectl {target}apply -f -");
            lines.Add($"kubectl {target}create clusterrolebinding {Reconcilers.PlatformAccount}-{remoteNs} --clusterrole=cluster-admin --serviceaccount={remoteNs}:{Reconcilers.PlatformAccount} --dry-run=client -o yaml | kubectl {target}apply -f -");
            if (!string.IsNullOrEmpty(options.Flux.SourceSecret) && string.IsNullOrEmpty(options.ExternalSecretStore))
            {
                // each key of the source's Secret to a file of the operator's machine (never the command line), then the
                // same keys in the tenant's namespace; an OCIRepository reads a dockerconfigjson Secret
                var from = $"kubectl -n {options.Flux.Namespace} get secret {options.Flux.SourceSecret} -o json";
                var type = options.Flux.SourceKind == "OCIRepository" ? " --type=kubernetes.io/dockerconfigjson" : string.Empty;
                lines.Add($"# the copy of the Flux source in {remoteNs} authenticates with the same Secret as the source (copied through files, never printed)");
                lines.Add($"(umask 077 && mkdir source-secret && for k in $({from} | jq -r '.data | keys[]'); do {from} | jq -r --arg k \"$k\" '.data[$k]' | base64 -d > \"source-secret/$k\"; done)");
                lines.Add($"kubectl -n {remoteNs} create secret generic {options.Flux.SourceSecret}{type} --from-file=source-secret/ --dry-run=client -o yaml | kubectl apply -f -");
                lines.Add("rm -r source-secret");
            }
        }

        if (!string.IsNullOrEmpty(options.ExternalSecretStore))
        {
            lines.Add($"# the keys Secret is filled by an ExternalSecret from the ClusterSecretStore {options.ExternalSecretStore}{(remoteNs is null ? string.Empty : $" (in {remoteNs}, as Flux variables)")}: store these there");
            lines.Add($"#   bruno/tenants/{tenant.Id}/master-key  (32 random bytes, base64: head -c 32 /dev/urandom | base64)");
            lines.Add($"#   bruno/tenants/{tenant.Id}/llm-api-key (the LLM endpoint's key, if it needs one)");
            if (remoteNs is not null && !string.IsNullOrEmpty(options.Flux.SourceSecret))
            {
                lines.Add($"#   {options.Flux.SourceSecretRemoteKey} (the Flux source's credentials, each property a key of {options.Flux.SourceSecret})");
            }

            return lines;
        }

        lines.Add($"# the tenant's master key wraps every key of its store: keep a copy in your secret manager; losing it loses the data");
        lines.Add($"kubectl {target}create namespace {ns} --dry-run=client -o yaml | kubectl {target}apply -f -");
        lines.Add($"kubectl {target}-n {ns} create secret generic {BrunoWorkload.KeysSecret} --from-literal=master-key=\"$(head -c 32 /dev/urandom | base64)\" --from-literal=llm-api-key=\"$LLM_API_KEY\"");
        return lines;
    }

    /// <summary>
    /// The commands for the management namespace's Secrets: the catalog's connection string and the keys Secret, plus,
    /// in the two-tier shape, the cluster token, the gateways' platform keys and the cluster TLS Secret. With two tiers and an
    /// ExternalSecretStore, ExternalSecrets fill the keys Secrets, and the lines say which remote keys to store.
    /// </summary>
    public static IReadOnlyList<string> ForPlatform(KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ns = options.ManagementNamespace;
        var twoTier = options.TwoTier.Enabled;
        var lines = new List<string>
        {
            $"kubectl create namespace {ns} --dry-run=client -o yaml | kubectl apply -f -",
            $"# the platform catalog: the PostgreSQL connection string every Bruno pod of {ns} reads",
            $"kubectl -n {ns} create secret generic {BrunoWorkload.CatalogSecret} --from-literal=connection-string=\"$CATALOG_CONNECTION_STRING\"",
        };
        if (twoTier && !string.IsNullOrEmpty(options.ExternalSecretStore))
        {
            var filled = ExternalSecrets.PlatformRemoteKeys(options);
            lines.Add($"# {string.Join(", ", filled.Select(k => k.Secret).Distinct(StringComparer.Ordinal))} are filled by ExternalSecrets from the ClusterSecretStore {options.ExternalSecretStore}: store these there");
            foreach (var (_, key, remote) in filled)
            {
                lines.Add($"#   {remote}  ({What(key)})");
            }

            if (!options.TwoTier.TlsFromExternalSecret)
            {
                lines.AddRange(ClusterTls(options));
            }

            return lines;
        }

        lines.Add("# the master key wraps every key of the tenants' stores: keep a copy in your secret manager; losing it loses the data");
        if (!twoTier)
        {
            lines.Add($"kubectl -n {ns} create secret generic {BrunoWorkload.KeysSecret} --from-literal={BrunoWorkload.MasterKey}=\"$({Make(BrunoWorkload.MasterKey)})\" --from-literal={BrunoWorkload.LlmApiKey}=\"$LLM_API_KEY\"");
            return lines;
        }

        lines.Add("# the cluster token: gateways and store nodes show it to each other; store nodes answer nothing without it");
        lines.Add($"kubectl -n {ns} create secret generic {BrunoWorkload.KeysSecret} --from-literal={BrunoWorkload.MasterKey}=\"$({Make(BrunoWorkload.MasterKey)})\" --from-literal={BrunoWorkload.ClusterToken}=\"$({Make(BrunoWorkload.ClusterToken)})\" --from-literal={BrunoWorkload.LlmApiKey}=\"$LLM_API_KEY\"");
        lines.Add("# the platform keys every gateway shares: the token-signing key and the EC P-256 key that signs audit checkpoints and");
        lines.Add("# erasure receipts. Keep copies in your secret manager: a new token-signing key ends every issued token.");
        lines.Add($"(umask 077 && {Make(Gateways.PlatformKeys[0])} > {Gateways.PlatformKeys[0]} && {Make(Gateways.PlatformKeys[1])} -out {Gateways.PlatformKeys[1]})");
        lines.Add($"kubectl -n {ns} create secret generic {Gateways.PlatformKeysSecret} {string.Join(" ", Gateways.PlatformKeys.Select(k => $"--from-file={k}"))}");
        lines.Add($"rm {string.Join(" ", Gateways.PlatformKeys)}");
        lines.AddRange(ClusterTls(options));
        return lines;
    }

    // The cluster TLS Secret made on the operator's machine: a private authority and one certificate, for client and
    // server authentication, naming every store node.
    private static IEnumerable<string> ClusterTls(KubernetesOptions options)
    {
        var t = options.TwoTier;
        var ns = options.ManagementNamespace;
        yield return $"# mutual TLS between the tiers: a private authority and one certificate every gateway and store node presents, naming";
        yield return $"# {StoreNodes.CertificateName(ManifestRenderer.StoreWorkload, ns, t)}. cert-manager can make and renew {t.TlsSecret} instead (a Certificate";
        yield return "# with that secretName from a CA Issuer, usages server auth and client auth: it writes tls.crt, tls.key and ca.crt); Bruno";
        yield return "# reads renewed files without a restart. Keep ca.key in your secret manager to renew the certificate before it expires.";
        yield return "(umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=bruno-cluster-ca"
            + " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.crt"
            + " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=agent-bruno-cluster -keyout tls.key -out tls.csr"
            + " && openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -out tls.crt -extfile <(printf '"
            + $"subjectAltName=DNS:{StoreNodes.CertificateName(ManifestRenderer.StoreWorkload, ns, t)}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=critical,CA:FALSE\n'))";
        yield return $"kubectl -n {ns} create secret generic {t.TlsSecret} {string.Join(" ", Gateways.ClusterTlsKeys.Select(k => $"--from-file={k}"))}";
        yield return "rm tls.csr tls.crt tls.key ca.srl";
    }

    // What a key holds, and the command that makes it on the operator's machine.
    private static string What(string key) => key switch
    {
        BrunoWorkload.MasterKey or BrunoWorkload.ClusterToken => "32 random bytes, base64: " + Make(key),
        BrunoWorkload.LlmApiKey => "the LLM endpoint's key, if it needs one",
        "token-signing.key" => "32 random bytes, base64, as the file's text: " + Make(key),
        "tls.crt" => "the cluster TLS certificate, PEM, for server and client authentication, naming every store node (see docs/kubernetes.md)",
        "tls.key" => "its private key, unencrypted PEM",
        "ca.crt" => "the certificate of the authority that issued it, PEM",
        _ => "an EC P-256 private key, PKCS#8 PEM: " + Make(key),
    };

    private static string Make(string key) => key switch
    {
        BrunoWorkload.ClusterToken => "openssl rand -base64 32",
        "platform-signing.pem" => "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256",
        _ => "head -c 32 /dev/urandom | base64",
    };
}
