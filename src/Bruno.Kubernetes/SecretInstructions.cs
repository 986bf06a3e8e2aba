using Bruno.Contracts;
using Bruno.Kubernetes.Resources;

namespace Bruno.Kubernetes;

/// <summary>
/// The shell lines (bash) an operator runs to make the Secrets a tenant's or the platform's manifests name, since no
/// value is rendered. No secret value ever appears on a command line (where <c>ps</c> and the shell's history would
/// show it): each value is generated, typed at a silent prompt or read from what CloudNativePG generated, into a file
/// of a private temporary folder (<c>mktemp -d</c>, files made under <c>umask 077</c>), handed to kubectl with
/// <c>--from-file</c> (or encrypted with <c>sops</c> for the SOPS provider), and the folder is removed at the end.
/// Nothing here holds a value; the methods throw only <see cref="ArgumentNullException"/>.
/// </summary>
public static class SecretInstructions
{
    /// <summary>The shell variable naming the private temporary folder the values are written to.</summary>
    public const string Folder = "BRUNO_PRIVATE";

    private const string In = "\"$" + Folder + "/";

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
        var lines = new List<string>(Open());
        string? kubeconfig = null;
        string? remoteNs = null;
        switch (tenant.Isolation)
        {
            case "kamaji":
                var cp = Names.ControlPlane(tenant.Id);
                remoteNs = Names.ControlPlaneNamespace(tenant.Id);
                lines.Add($"# {tenant.Id} runs in its own Kamaji cluster; its admin kubeconfig is in the Secret {Kamaji.KubeconfigSecret(cp)} ({remoteNs}).");
                lines.Add($"(umask 077 && kubectl -n {remoteNs} get secret {Kamaji.KubeconfigSecret(cp)} -o jsonpath='{{.data.admin\\.conf}}' | base64 -d > {In}{tenant.Id}.kubeconfig\")");
                kubeconfig = $"{In}{tenant.Id}.kubeconfig\"";
                if (plan?.OwnDataStore is not null)
                {
                    lines.Add($"# the tenant's own PostgreSQL ({Names.Postgres(tenant.Id)}) and the Secrets its DataStore reads are made by CloudNativePG: nothing to create");
                }
                else if (string.IsNullOrEmpty(options.Kamaji.SharedDataStore))
                {
                    lines.Add($"# the tenant's own DataStore reads its PostgreSQL user and CA from {options.Kamaji.DataStoreSecretNamespace}:");
                    lines.Add(Prompt("username", "PostgreSQL user of the tenant's DataStore"));
                    lines.Add(Prompt("password", "its password"));
                    lines.Add($"kubectl -n {options.Kamaji.DataStoreSecretNamespace} create secret generic {cp}-credentials --from-file=username={In}username\" --from-file=password={In}password\"");
                    lines.Add($"kubectl -n {options.Kamaji.DataStoreSecretNamespace} create secret generic {cp}-ca --from-file=ca.crt=\"$PG_CA_FILE\"");
                }

                break;
            case "dedicated-cluster":
                var secret = ManifestRenderer.ClusterKubeconfigSecret(tenant);
                remoteNs = Names.DedicatedNamespace(tenant.Id);
                lines.Add($"# {tenant.Id} runs in a dedicated cluster: Flux applies into it through that cluster's kubeconfig (the file named by TENANT_KUBECONFIG), kept in {remoteNs}.");
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
            if (!string.IsNullOrEmpty(options.Flux.SourceSecret) && options.SecretsProvider != "external-secrets")
            {
                // each key of the source's Secret to a file of the private folder (never the command line), then the
                // same keys in the tenant's namespace; an OCIRepository reads a dockerconfigjson Secret
                var from = $"kubectl -n {options.Flux.Namespace} get secret {options.Flux.SourceSecret} -o json";
                var type = options.Flux.SourceKind == "OCIRepository" ? " --type=kubernetes.io/dockerconfigjson" : string.Empty;
                lines.Add($"# the copy of the Flux source in {remoteNs} authenticates with the same Secret as the source (copied through files, never printed)");
                lines.Add($"(umask 077 && mkdir {In}source-secret\" && {from} | jq -r '.data | keys[]' | while read -r k; do {from} | jq -r --arg k \"$k\" '.data[$k]' | base64 -d > {In}source-secret/$k\"; done)");
                lines.Add($"kubectl -n {remoteNs} create secret generic {options.Flux.SourceSecret}{type} --from-file={In}source-secret/\" --dry-run=client -o yaml | kubectl apply -f -");
            }
        }

        if (options.SecretsProvider == "external-secrets")
        {
            lines.Add($"# the keys Secret is filled by an ExternalSecret from the ClusterSecretStore {options.ExternalSecretStore}{(remoteNs is null ? string.Empty : $" (in {remoteNs}, as Flux variables)")}: store these there");
            lines.Add($"#   bruno/tenants/{tenant.Id}/master-key  (32 random bytes, base64: {Make(BrunoWorkload.MasterKey)})");
            lines.Add($"#   bruno/tenants/{tenant.Id}/llm-api-key (the LLM endpoint's key, if it needs one)");
            if (remoteNs is not null && !string.IsNullOrEmpty(options.Flux.SourceSecret))
            {
                lines.Add($"#   {options.Flux.SourceSecretRemoteKey} (the Flux source's credentials, each property a key of {options.Flux.SourceSecret})");
            }

            lines.Add(Close());
            return lines;
        }

        lines.Add($"# the tenant's master key wraps every key of its store: copy {In}master-key\" into your secret manager before the folder is removed; losing it loses the data");
        lines.Add(Generate(BrunoWorkload.MasterKey));
        lines.Add(Prompt(BrunoWorkload.LlmApiKey, "the LLM endpoint's API key (empty for none)"));
        if (options.SecretsProvider == "sops")
        {
            // Encrypted into the repository: the keys Secret in the tenant's namespace, or, for a tenant in a cluster of
            // its own, the Secret of Flux variables next to its Kustomizations (each value base64, as the ExternalSecret writes it)
            var file = TenantSecretFile(tenant);
            var folder = ManifestRenderer.SopsTenantFolder(tenant.Id);
            lines.Add($"# SOPS: Flux decrypts {folder}/ with the age key in {options.Secrets.SopsAgeSecret} ({options.Flux.Namespace}), made by `bruno render platform --secrets`; export SOPS_AGE_RECIPIENTS=age1... (its public key) first");
            string create;
            if (remoteNs is null)
            {
                create = $"kubectl -n {ns} create secret generic {BrunoWorkload.KeysSecret} {FromFiles([BrunoWorkload.MasterKey, BrunoWorkload.LlmApiKey])}";
            }
            else
            {
                lines.Add($"(umask 077 && {string.Join(" && ", Reconcilers.KeyVariables.Select(v => $"base64 -w0 < {In}{v.Key}\" > {In}{v.Key}-b64\""))})");
                create = $"kubectl -n {remoteNs} create secret generic {Reconcilers.KeysVariablesSecret} {string.Join(" ", Reconcilers.KeyVariables.Select(v => $"--from-file={v.Variable}={In}{v.Key}-b64\""))}";
            }

            lines.Add($"{create} --dry-run=client -o yaml > {In}{file}\" && sops --encrypt --encrypted-regex '^(data|stringData)$' {In}{file}\" > {folder}/{file}");
            lines.Add(Close());
            return lines;
        }

        lines.Add($"kubectl {target}create namespace {ns} --dry-run=client -o yaml | kubectl {target}apply -f -");
        lines.Add($"kubectl {target}-n {ns} create secret generic {BrunoWorkload.KeysSecret} {FromFiles([BrunoWorkload.MasterKey, BrunoWorkload.LlmApiKey])}");
        lines.Add(Close());
        return lines;
    }

    /// <summary>
    /// The lines for the management side's Secrets: the catalog's connection string (composed from CloudNativePG's
    /// generated Secret, or typed for an external server), the keys Secret, and with two tiers the cluster token, the
    /// gateways' platform keys and the cluster TLS Secret; with the external-secrets provider, which remote keys to
    /// store instead of the keys Secrets; with SOPS, the age key Flux decrypts with and each Secret written encrypted to
    /// <see cref="ManifestRenderer.SopsPlatformFolder"/> (the files <see cref="PlatformSecretFiles"/> names).
    /// </summary>
    public static IReadOnlyList<string> ForPlatform(KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var ns = options.ManagementNamespace;
        var twoTier = options.TwoTier.Enabled;
        var provider = options.SecretsProvider;
        var sops = provider == "sops";
        var lines = new List<string>(Open());
        if (sops)
        {
            var flux = options.Flux.Namespace;
            lines.Add($"# SOPS: Flux decrypts {ManifestRenderer.SopsPlatformFolder}/ with the age key in the Secret {options.Secrets.SopsAgeSecret} ({flux}). Once per cluster (skip if it");
            lines.Add("# exists): make the key, keep a copy of the file in your secret manager, and note the public key age-keygen prints.");
            lines.Add($"(umask 077 && age-keygen -o {In}age.agekey\")");
            lines.Add($"kubectl -n {flux} create secret generic {options.Secrets.SopsAgeSecret} --from-file=age.agekey={In}age.agekey\"");
            lines.Add("# sops encrypts for the recipients in SOPS_AGE_RECIPIENTS: export SOPS_AGE_RECIPIENTS=age1... (the public key), then run the rest");
        }
        else
        {
            lines.Add($"kubectl create namespace {ns} --dry-run=client -o yaml | kubectl apply -f -");
        }

        lines.AddRange(Catalog(options));
        lines.Add(Secret(options, BrunoWorkload.CatalogSecret, [("connection-string", "connection-string")]));

        if (provider == "external-secrets")
        {
            var filled = ExternalSecrets.PlatformRemoteKeys(options);
            lines.Add($"# {string.Join(", ", filled.Select(k => k.Secret).Distinct(StringComparer.Ordinal))} are filled by ExternalSecrets from the ClusterSecretStore {options.ExternalSecretStore}: store these there");
            foreach (var (_, key, remote) in filled)
            {
                lines.Add($"#   {remote}  ({What(key)})");
            }

            if (twoTier && !options.TwoTier.TlsFromExternalSecret)
            {
                lines.AddRange(ClusterTls(options));
            }

            lines.Add(Close());
            return lines;
        }

        lines.Add($"# the master key wraps every key of the tenants' stores: copy {In}master-key\" into your secret manager before the folder is removed; losing it loses the data");
        lines.Add(Generate(BrunoWorkload.MasterKey));
        lines.Add(Prompt(BrunoWorkload.LlmApiKey, "the LLM endpoint's API key (empty for none)"));
        if (!twoTier)
        {
            lines.Add(Secret(options, BrunoWorkload.KeysSecret, [(BrunoWorkload.MasterKey, BrunoWorkload.MasterKey), (BrunoWorkload.LlmApiKey, BrunoWorkload.LlmApiKey)]));
            lines.Add(Close());
            return lines;
        }

        lines.Add("# the cluster token: gateways and store nodes show it to each other; store nodes answer nothing without it");
        lines.Add(Generate(BrunoWorkload.ClusterToken));
        lines.Add(Secret(options, BrunoWorkload.KeysSecret, [(BrunoWorkload.MasterKey, BrunoWorkload.MasterKey), (BrunoWorkload.ClusterToken, BrunoWorkload.ClusterToken), (BrunoWorkload.LlmApiKey, BrunoWorkload.LlmApiKey)]));
        lines.Add("# the platform keys every gateway shares: the token-signing key and the EC P-256 key that signs audit checkpoints and");
        lines.Add("# erasure receipts. Keep copies in your secret manager: a new token-signing key ends every issued token.");
        lines.Add(Generate(Gateways.PlatformKeys[0]));
        lines.Add($"(umask 077 && {Make(Gateways.PlatformKeys[1])} -out {In}{Gateways.PlatformKeys[1]}\")");
        lines.Add(Secret(options, Gateways.PlatformKeysSecret, [.. Gateways.PlatformKeys.Select(k => (k, k))]));
        lines.AddRange(ClusterTls(options, direct: sops && !options.TwoTier.TlsFromExternalSecret)); // not in secrets/platform/: created in the cluster, if cert-manager does not
        lines.Add(Close());
        return lines;
    }

    /// <summary>
    /// The files of <see cref="ManifestRenderer.SopsPlatformFolder"/> with the SOPS provider, one encrypted Secret each:
    /// <c>secret-&lt;name&gt;.yaml</c> for the catalog, the keys and, with two tiers, the platform keys and the cluster TLS
    /// Secret (unless <see cref="TwoTierOptions.TlsFromExternalSecret"/> is false: another owner makes it).
    /// </summary>
    public static IReadOnlyList<string> PlatformSecretFiles(KubernetesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> secrets = [BrunoWorkload.CatalogSecret, BrunoWorkload.KeysSecret];
        if (options.TwoTier.Enabled)
        {
            secrets.Add(Gateways.PlatformKeysSecret);
            if (options.TwoTier.TlsFromExternalSecret)
            {
                secrets.Add(options.TwoTier.TlsSecret); // unless cert-manager (or another owner) makes it
            }
        }

        return [.. secrets.Select(SopsFile).Order(StringComparer.Ordinal)];
    }

    private static string SopsFile(string secret) => $"secret-{secret}.yaml";

    /// <summary>
    /// The file of <see cref="ManifestRenderer.SopsTenantFolder"/> with the SOPS provider: the keys Secret of a namespace
    /// tenant, or the Secret of Flux variables of a tenant in a cluster of its own (its keys reach that cluster by
    /// substitution, as with External Secrets).
    /// </summary>
    public static string TenantSecretFile(TenantDeployment tenant)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return SopsFile(tenant.Isolation == "namespace" ? BrunoWorkload.KeysSecret : Reconcilers.KeysVariablesSecret);
    }

    // The catalog's connection string into the private folder: composed by kubectl from the Secret CloudNativePG
    // generates (the value goes from kubectl's output into the file), or typed for a server the operator brings.
    private static IEnumerable<string> Catalog(KubernetesOptions options)
    {
        var c = options.Catalog;
        if (!c.OnCloudNativePg)
        {
            yield return $"# the platform catalog: the Npgsql connection string (Host=...;Database=...;Username=...;Password=...) of your PostgreSQL server, which every Bruno pod of {options.ManagementNamespace} reads";
            yield return Prompt("connection-string", "catalog connection string");
            yield break;
        }

        var ns = options.CatalogNamespace;
        yield return $"# the platform catalog: Bruno's connection string (Npgsql's key=value form; CloudNativePG's uri is a URL Npgsql does not read), composed from";
        yield return $"# the Secret {Infrastructure.AppSecret(c.ClusterName)} CloudNativePG generates in {ns} once the cluster {c.ClusterName} is ready (after {ManifestRenderer.InfrastructureConfigs}):";
        yield return $"kubectl -n {ns} wait clusters.postgresql.cnpg.io/{c.ClusterName} --for=condition=Ready --timeout=20m";
        yield return $"(umask 077 && kubectl -n {ns} get secret {Infrastructure.AppSecret(c.ClusterName)} -o go-template='"
            + $"Host={{{{.data.host | base64decode}}}}.{ns}.svc;Port={{{{.data.port | base64decode}}}};Database={{{{.data.dbname | base64decode}}}};"
            + $"Username={{{{.data.username | base64decode}}}};Password={{{{.data.password | base64decode}}}};SSL Mode=Require' > {In}connection-string\")";
    }

    // One Secret from files of the private folder: created in the cluster, or, with SOPS, written encrypted to the repository.
    private static string Secret(KubernetesOptions options, string name, IReadOnlyList<(string Key, string File)> keys, bool direct = false)
    {
        var create = $"kubectl -n {options.ManagementNamespace} create secret generic {name} {string.Join(" ", keys.Select(k => $"--from-file={k.Key}={In}{k.File}\""))}";
        return options.SecretsProvider != "sops" || direct
            ? create
            : $"{create} --dry-run=client -o yaml > {In}{SopsFile(name)}\" && sops --encrypt --encrypted-regex '^(data|stringData)$' {In}{SopsFile(name)}\" > {ManifestRenderer.SopsPlatformFolder}/{SopsFile(name)}";
    }

    private static string FromFiles(IEnumerable<string> keys) => string.Join(" ", keys.Select(k => $"--from-file={k}={In}{k}\""));

    private static IEnumerable<string> Open() =>
    [
        "# bash; run from the root of the rendered folder. Values go to files of a private temporary folder, never onto a command line,",
        $"# and the folder is removed at the end (keep the copies the comments ask for first).",
        $"{Folder}=\"$(mktemp -d)\"",
    ];

    private static string Close() => $"rm -rf \"${Folder}\"";

    // A value generated on the operator's machine into the private folder.
    private static string Generate(string key) => $"(umask 077 && {Make(key)} > {In}{key}\")";

    // A value typed at a silent prompt (nothing echoed, nothing in the history) into the private folder; printf is a
    // shell builtin, so the value is in no process's arguments.
    private static string Prompt(string file, string question) =>
        $"(umask 077 && IFS= read -rsp '{question}: ' v && printf '%s' \"$v\" > {In}{file}\"); echo";

    // The cluster TLS Secret made on the operator's machine: a private authority and one certificate, for client and
    // server authentication, naming every store node.
    private static IEnumerable<string> ClusterTls(KubernetesOptions options, bool direct = false)
    {
        var t = options.TwoTier;
        var ns = options.ManagementNamespace;
        yield return $"# mutual TLS between the tiers: a private authority and one certificate every gateway and store node presents, naming";
        yield return $"# {StoreNodes.CertificateName(ManifestRenderer.StoreWorkload, ns, t)}. cert-manager can make and renew {t.TlsSecret} instead (a Certificate";
        yield return "# with that secretName from a CA Issuer, usages server auth and client auth: it writes tls.crt, tls.key and ca.crt); Bruno";
        yield return $"# reads renewed files without a restart. Copy {In}ca.key\" into your secret manager to renew the certificate before it expires.";
        yield return $"(cd \"${Folder}\" && umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj /CN=bruno-cluster-ca"
            + " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -keyout ca.key -out ca.crt"
            + " && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=agent-bruno-cluster -keyout tls.key -out tls.csr"
            + " && openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -out tls.crt -extfile <(printf '"
            + $"subjectAltName=DNS:{StoreNodes.CertificateName(ManifestRenderer.StoreWorkload, ns, t)}\\nextendedKeyUsage=serverAuth,clientAuth\\nkeyUsage=critical,digitalSignature\\nbasicConstraints=critical,CA:FALSE\\n'))";
        yield return Secret(options, t.TlsSecret, [.. Gateways.ClusterTlsKeys.Select(k => (k, k))], direct);
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

    // The command that prints a new value (without a trailing newline where the value is text).
    private static string Make(string key) => key switch
    {
        BrunoWorkload.ClusterToken => "openssl rand -base64 32 | tr -d '\\n'",
        "platform-signing.pem" => "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256",
        _ => "head -c 32 /dev/urandom | base64 | tr -d '\\n'",
    };
}
