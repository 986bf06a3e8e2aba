using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Bruno.Contracts;
using Bruno.Core;

namespace Bruno.Kubernetes.Tests;

/// <summary>
/// The infrastructure layer and the entry point a Flux bootstrap syncs (issue 24): what Flux's lockdown flags, Kamaji and
/// CloudNativePG would refuse, and how Secrets arrive without a value on a command line.
/// </summary>
public sealed partial class InfrastructureTests
{
    private static readonly IReadOnlyDictionary<string, PlanResources> Plans = new BrunoOptions().PlanResources();

    private static Dictionary<string, JsonObject> Platform(KubernetesOptions options) =>
        new ManifestRenderer(options, Plans).RenderPlatform()
            .Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal) && !f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal))
            .ToDictionary(f => f.Path, f => Yaml.Documents(f.Content).Single(), StringComparer.Ordinal);

    private static IEnumerable<KubernetesOptions> EveryShape() =>
    [
        new KubernetesOptions(),
        RenderingTests.TwoTier(),
        RenderingTests.Zoned(),
        RenderingTests.Sops(),
        RenderingTests.NamespacesOnly(),
        RenderingTests.TwoTier(o => (o.ExternalSecretStore, o.Catalog.Provider, o.Kamaji.SharedDataStore) = (null, "external", null)),
    ];

    [Fact]
    public void TheEntryPoint_IsFourKustomizationsInOrder_WithNoKustomizationYamlOfItsOwn()
    {
        var options = new KubernetesOptions();
        options.Flux.Cluster = "staging";
        options.Flux.Path = "./deploy";
        var files = new ManifestRenderer(options, Plans).RenderPlatform();
        Assert.DoesNotContain(files, f => f.Path.StartsWith("flux-system/", StringComparison.Ordinal)); // bootstrap writes its own flux-system/ under the entry point
        var entry = files.Where(f => f.Path.StartsWith("clusters/", StringComparison.Ordinal)).ToList();
        Assert.All(entry, f => Assert.StartsWith("clusters/staging/", f.Path, StringComparison.Ordinal));
        Assert.DoesNotContain(entry, f => f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal)); // Flux generates one that takes in flux-system/ too

        var byName = entry.Select(f => Yaml.Documents(f.Content).Single()).ToDictionary(d => (string)d["metadata"]!["name"]!, StringComparer.Ordinal);
        string[] order = [ManifestRenderer.InfrastructureControllers, ManifestRenderer.InfrastructureConfigs, ManifestRenderer.PlatformKustomization, ManifestRenderer.TenantsKustomization];
        Assert.Equal(order.Order(StringComparer.Ordinal), byName.Keys.Order(StringComparer.Ordinal));
        for (var i = 0; i < order.Length; i++)
        {
            var spec = byName[order[i]]["spec"]!;
            var after = spec["dependsOn"]?.AsArray().Select(d => (string)d!["name"]!).ToList() ?? [];
            Assert.Equal(i == 0 ? [] : [order[i - 1]], after);
            Assert.Equal("kustomize-controller", (string?)spec["serviceAccountName"]); // still works under --default-service-account
            Assert.Null(spec["sourceRef"]!["namespace"]); // the source in its own namespace (--no-cross-namespace-refs)
            Assert.StartsWith("./deploy/", (string)spec["path"]!, StringComparison.Ordinal);
        }

        Assert.Equal("./deploy/flux-tenants", (string)byName[ManifestRenderer.TenantsKustomization]["spec"]!["path"]!);
        Assert.Contains("Flux:Cluster", Assert.Throws<RenderException>(() => new ManifestRenderer(new KubernetesOptions { Flux = { Cluster = "Prod/EU" } }, Plans)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_ReplacesInfrastructureWhole_AndKeepsBootstrapsFolderAndTheOperatorsSecrets()
    {
        var root = Directory.CreateTempSubdirectory("bruno-infra-write-").FullName;
        try
        {
            ManifestWriter.Write(root, new ManifestRenderer(RenderingTests.Sops(), Plans).RenderPlatform());
            var bootstrap = Path.Combine(root, "clusters", "production", "flux-system", "gotk-sync.yaml");
            var encrypted = Path.Combine(root, "secrets", "platform", "secret-agent-bruno-keys.yaml");
            Directory.CreateDirectory(Path.GetDirectoryName(bootstrap)!);
            File.WriteAllText(bootstrap, "bootstrap's\n");
            File.WriteAllText(encrypted, "sops-encrypted\n");
            Assert.True(File.Exists(Path.Combine(root, "infrastructure", "controllers", "helmrelease-kamaji.yaml")));

            ManifestWriter.Write(root, new ManifestRenderer(RenderingTests.Sops(o => o.Kamaji.Enabled = false), Plans).RenderPlatform());
            Assert.False(File.Exists(Path.Combine(root, "infrastructure", "controllers", "helmrelease-kamaji.yaml"))); // no stale release left
            Assert.False(File.Exists(Path.Combine(root, "infrastructure", "configs", "datastore.yaml")));
            Assert.Equal("bootstrap's\n", File.ReadAllText(bootstrap));
            Assert.Equal("sops-encrypted\n", File.ReadAllText(encrypted));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void EveryHelmRelease_ImpersonatesHelmController_InFluxsNamespace_WithItsSourceBesideIt()
    {
        foreach (var options in EveryShape())
        {
            var all = Platform(options);
            var releases = all.Where(p => (string?)p.Value["kind"] == "HelmRelease").ToList();
            Assert.NotEmpty(releases);
            foreach (var (path, release) in releases)
            {
                var ns = (string)release["metadata"]!["namespace"]!;
                var spec = release["spec"]!;
                // helm-controller impersonates system:serviceaccount:<the HelmRelease's namespace>:<name>: its own account
                // exists only in Flux's namespace
                Assert.Equal((options.Flux.Namespace, "helm-controller"), (ns, (string?)spec["serviceAccountName"]));
                var source = spec["chartRef"] ?? spec["chart"]!["spec"]!["sourceRef"]!;
                Assert.Null(source["namespace"]);
                var sourceDocument = all.Values.Single(d => (string?)d["kind"] == (string)source["kind"]! && (string?)d["metadata"]!["name"] == (string)source["name"]!);
                Assert.Equal(ns, (string)sourceDocument["metadata"]!["namespace"]!);
                Assert.Equal(("CreateReplace", "CreateReplace"), ((string)spec["install"]!["crds"]!, (string)spec["upgrade"]!["crds"]!));
                Assert.True((long)spec["install"]!["remediation"]!["retries"]! > 0 && (long)spec["upgrade"]!["remediation"]!["retries"]! > 0, path);
                var target = (string)spec["targetNamespace"]!;
                Assert.Contains(all.Values, d => (string?)d["kind"] == "Namespace" && (string?)d["metadata"]!["name"] == target); // rendered beside it
                Assert.Equal((string)release["metadata"]!["name"]!, (string?)spec["releaseName"]); // not <targetNamespace>-<name>
                Assert.All(spec["dependsOn"]?.AsArray() ?? [], d => Assert.Null(d!["namespace"]));
            }
        }
    }

    [Fact]
    public void Charts_ArePinnedToOneVersion_FromWhereEachProjectPublishesThem()
    {
        var all = Platform(RenderingTests.TwoTier(o => o.Secrets.Provider = "external-secrets"));
        var sources = all.Values.Where(d => (string?)d["kind"] is "OCIRepository" or "HelmRepository").ToDictionary(d => (string)d["metadata"]!["name"]!, StringComparer.Ordinal);
        Assert.Equal(["cert-manager", "cloudnative-pg", "external-secrets", "kamaji", "prometheus-adapter"], sources.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("https://clastix.github.io/charts", (string)sources["kamaji"]["spec"]!["url"]!); // Kamaji publishes no OCI chart
        Assert.Equal("HelmRepository", (string)sources["kamaji"]["kind"]!);
        foreach (var name in new[] { "cert-manager", "cloudnative-pg", "external-secrets", "prometheus-adapter" })
        {
            Assert.Equal("OCIRepository", (string)sources[name]["kind"]!);
            Assert.StartsWith("oci://", (string)sources[name]["spec"]!["url"]!, StringComparison.Ordinal);
            Assert.Equal("copy", (string)sources[name]["spec"]!["layerSelector"]!["operation"]!); // the chart's tarball as it is
        }

        Assert.Equal("0.29.0", (string)sources["cloudnative-pg"]["spec"]!["ref"]!["tag"]!); // operator 1.30.0, the CRDs checked here
        Assert.Equal("2.9.0", (string)sources["external-secrets"]["spec"]!["ref"]!["tag"]!);
        var kamaji = all["infrastructure/controllers/helmrelease-kamaji.yaml"]["spec"]!;
        Assert.Equal("0.0.0+latest", (string)kamaji["chart"]!["spec"]!["version"]!);
        Assert.Equal("26.8.2-edge", (string)kamaji["values"]!["image"]!["tag"]!); // the edge chart's image is "latest" unless pinned
        Assert.False((bool)kamaji["values"]!["kamaji-etcd"]!["deploy"]!); // no etcd: the DataStores are PostgreSQL
        Assert.Equal(["cert-manager"], kamaji["dependsOn"]!.AsArray().Select(d => (string)d!["name"]!)); // its chart has a cert-manager Issuer and Certificate

        foreach (var bad in new[] { "*", "", "^1.2.0", "~1.2", ">=1.0.0", "1.x", "1.2.*", "1.0.0 || 2.0.0", "latest" })
        {
            var options = new KubernetesOptions();
            options.Infrastructure.CloudNativePg.Version = bad;
            Assert.Contains("Infrastructure:CloudNativePg:Version", Assert.Throws<RenderException>(() => new ManifestRenderer(options, Plans)).Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void WithoutKamaji_NothingOfKamajiIsRendered_AndAKamajiTenantIsRefused()
    {
        var options = RenderingTests.ExternalLlm(o => o.Kamaji.Enabled = false);
        var files = new ManifestRenderer(options, Plans).RenderPlatform();
        var kinds = files.Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal)).SelectMany(f => Yaml.Documents(f.Content)).ToList();
        Assert.DoesNotContain(kinds, d => ((string?)d["apiVersion"] ?? string.Empty).StartsWith("kamaji.clastix.io/", StringComparison.Ordinal)); // no DataStore anywhere
        Assert.DoesNotContain(kinds, d => (string?)d["kind"] == "HelmRelease" && (string?)d["metadata"]!["name"] is "kamaji" or "cert-manager");
        Assert.DoesNotContain(kinds, d => (string?)d["kind"] == "Cluster" && (string?)d["metadata"]!["name"] == options.Kamaji.SharedDataStore);
        var refused = Assert.Throws<RenderException>(() => new ManifestRenderer(options, Plans).RenderTenant(RenderingTests.Tenant("initech", "kamaji")));
        Assert.Contains("Kamaji:Enabled", refused.Message, StringComparison.Ordinal);
        _ = new ManifestRenderer(options, Plans).RenderTenant(RenderingTests.Tenant("acme", "namespace")); // other levels still render

        // with Kamaji, the shared DataStore is applied by infrastructure-configs, before any tenant's control plane
        var with = Platform(new KubernetesOptions());
        Assert.DoesNotContain(with.Keys, p => p.StartsWith("platform/", StringComparison.Ordinal) && (string?)with[p]["kind"] == "DataStore");
        Assert.Equal("DataStore", (string?)with["infrastructure/configs/datastore.yaml"]["kind"]);
    }

    [Fact]
    public void TheSharedDataStore_IsACloudNativePgClusterOfItsOwn_ReadingTheSecretsItGenerates()
    {
        var options = new KubernetesOptions { StorageClass = "fast-ssd" };
        var all = Platform(options);
        var clusters = all.Values.Where(d => (string?)d["apiVersion"] == "postgresql.cnpg.io/v1" && (string?)d["kind"] == "Cluster").ToDictionary(d => (string)d["metadata"]!["name"]!, StringComparer.Ordinal);
        Assert.Equal(["bruno-catalog", "bruno-postgres"], clusters.Keys.Order(StringComparer.Ordinal)); // not the catalog's server
        var store = clusters["bruno-postgres"];
        Assert.True((bool)store["spec"]!["enableSuperuserAccess"]!); // Kamaji creates a database and a role per control plane
        Assert.False((bool)clusters["bruno-catalog"]["spec"]!["enableSuperuserAccess"]!);
        Assert.Equal("postgres-system", (string)clusters["bruno-catalog"]["metadata"]!["namespace"]!); // CatalogNamespace, which the policies let Bruno reach
        Assert.Equal("fast-ssd", (string)clusters["bruno-catalog"]["spec"]!["storage"]!["storageClass"]!);

        var ds = all["infrastructure/configs/datastore.yaml"]["spec"]!;
        var ns = (string)store["metadata"]!["namespace"]!;
        Assert.Equal($"bruno-postgres-rw.{ns}.svc:5432", (string)ds["endpoints"]![0]!); // CloudNativePG's read-write Service
        foreach (var (field, key) in new[] { ("username", "username"), ("password", "password") })
        {
            var r = ds["basicAuth"]![field]!["secretReference"]!;
            Assert.Equal(("bruno-postgres-superuser", ns, key), ((string)r["name"]!, (string)r["namespace"]!, (string)r["keyPath"]!));
        }

        var ca = ds["tlsConfig"]!["certificateAuthority"]!["certificate"]!["secretReference"]!;
        Assert.Equal(("bruno-postgres-ca", ns, "ca.crt"), ((string)ca["name"]!, (string)ca["namespace"]!, (string)ca["keyPath"]!));

        // a server the operator brings: the old DataStore on DataStoreEndpoints, no cluster of it
        var external = Platform(new KubernetesOptions { Kamaji = { SharedDataStoreProvider = "external" }, Catalog = { Provider = "external" } });
        Assert.DoesNotContain(external.Values, d => (string?)d["kind"] == "Cluster");
        Assert.DoesNotContain(external.Values, d => (string?)d["kind"] == "HelmRelease" && (string?)d["metadata"]!["name"] == "cloudnative-pg"); // nothing needs the operator
        Assert.Equal("bruno-postgres-credentials", (string)external["infrastructure/configs/datastore.yaml"]["spec"]!["basicAuth"]!["username"]!["secretReference"]!["name"]!);
        Assert.Contains("Kamaji:SharedDataStore", Assert.Throws<RenderException>(() => new ManifestRenderer(new KubernetesOptions { Kamaji = { SharedDataStore = "pg.example" } }, Plans)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithSops_ATenantsKeys_AreTheOperatorsEncryptedFile_WhichItsEntryDecrypts_AtEveryLevel()
    {
        var options = RenderingTests.Sops(o => o.Llm.Cidrs = ["10.40.0.0/24"]);
        options.Llm.Endpoint = "http://10.40.0.10:11434";
        options.RemoteTenants.ManagementCidrs = ["10.0.0.0/16"];
        options.Flux.SourceUrl = "ssh://git@git.example.com/platform/fleet.git";
        foreach (var (isolation, secretNs, secret) in new[] { ("namespace", "agent-bruno-acme", "agent-bruno-keys"), ("kamaji", "kamaji-acme", "agent-bruno-keys-variables"), ("dedicated-cluster", "dedicated-acme", "agent-bruno-keys-variables") })
        {
            var tenant = RenderingTests.Tenant("acme", isolation);
            var files = new ManifestRenderer(options, Plans).RenderTenant(tenant);
            var entry = Yaml.Documents(files.Single(f => f.Path == "flux-tenants/tenant-acme.yaml").Content).Single()["spec"]!;
            Assert.Equal(("sops", "sops-age"), ((string)entry["decryption"]!["provider"]!, (string)entry["decryption"]!["secretRef"]!["name"]!));
            Assert.Contains("../../secrets/tenants/acme", Yaml.Documents(files.Single(f => f.Path == "tenants/acme/kustomization.yaml").Content).Single()["resources"]!.AsArray().Select(r => (string)r!));
            var listed = Yaml.Documents(files.Single(f => f.Path == "secrets/tenants/acme/kustomization.yaml").Content).Single()["resources"]!.AsArray().Select(r => (string)r!).ToList();
            Assert.Equal([$"secret-{secret}.yaml"], listed);
            Assert.DoesNotContain(files, f => f.Content.Contains("kind: ExternalSecret", StringComparison.Ordinal));

            // the --secrets lines write that file, encrypted, holding that Secret in that namespace
            var lines = SecretInstructions.For(tenant, options);
            var write = Assert.Single(lines, l => l.Contains("sops --encrypt", StringComparison.Ordinal));
            Assert.EndsWith("> secrets/tenants/acme/" + listed[0], write, StringComparison.Ordinal);
            Assert.Contains($"kubectl -n {secretNs} create secret generic {secret} ", write, StringComparison.Ordinal);
            Assert.DoesNotContain(lines, l => l.Contains($"create secret generic agent-bruno-keys --", StringComparison.Ordinal) && !l.Contains("sops", StringComparison.Ordinal)); // nothing created directly

            if (isolation != "namespace")
            {
                // the remote workloads substitute the decrypted variables into the keys Secret of the tenant's cluster
                var workloads = Yaml.Documents(files.Single(f => f.Path == $"tenants/acme/kustomization-workloads.yaml").Content).Single()["spec"]!;
                Assert.Equal(secret, (string?)workloads["postBuild"]!["substituteFrom"]![0]!["name"]);
                Assert.Contains(files, f => f.Path == "tenants/acme/workloads/secret-keys.yaml");
                foreach (var variable in Bruno.Kubernetes.Resources.Reconcilers.KeyVariables.Select(v => v.Variable))
                {
                    Assert.Contains($"--from-file={variable}=", write, StringComparison.Ordinal);
                }
            }
        }
    }

    [Fact]
    public void WithSops_FluxDecryptsTheOperatorsFiles_ThatTheSecretsLinesWrite()
    {
        var options = RenderingTests.Sops();
        var files = new ManifestRenderer(options, Plans).RenderPlatform();
        var platform = Yaml.Documents(files.Single(f => f.Path == "clusters/production/bruno-platform.yaml").Content).Single()["spec"]!;
        Assert.Equal(("sops", "sops-age"), ((string)platform["decryption"]!["provider"]!, (string)platform["decryption"]!["secretRef"]!["name"]!));
        Assert.Contains("../secrets/platform", Yaml.Documents(files.Single(f => f.Path == "platform/kustomization.yaml").Content).Single()["resources"]!.AsArray().Select(r => (string)r!));
        var listed = Yaml.Documents(files.Single(f => f.Path == "secrets/platform/kustomization.yaml").Content).Single()["resources"]!.AsArray().Select(r => (string)r!).ToList();
        Assert.DoesNotContain(files, f => f.Path.StartsWith("secrets/platform/secret-", StringComparison.Ordinal)); // the operator's, never rendered
        Assert.DoesNotContain(files, f => f.Content.Contains("kind: ExternalSecret", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f.Path.Contains("external-secrets", StringComparison.Ordinal)); // no operator for them

        var lines = SecretInstructions.ForPlatform(options);
        foreach (var file in listed)
        {
            Assert.Contains(lines, l => l.Contains("sops --encrypt", StringComparison.Ordinal) && l.EndsWith("> secrets/platform/" + file, StringComparison.Ordinal));
        }

        // every Secret the pods read is in one of those files
        var read = files.Where(f => f.Path.StartsWith("platform/", StringComparison.Ordinal) && f.Path.EndsWith(".yaml", StringComparison.Ordinal)).SelectMany(f => Yaml.Documents(f.Content))
            .SelectMany(RenderingTests.SecretNames).Distinct(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(read);
        Assert.All(read, s => Assert.Contains($"secret-{s}.yaml", listed));
        Assert.Contains(lines, l => l.Contains("create secret generic sops-age --from-file=age.agekey=", StringComparison.Ordinal)); // Flux reads *.agekey

        // cert-manager makes the cluster TLS Secret: no encrypted file for it, so that two owners never fight over it
        var byCertManager = RenderingTests.Sops(o => o.TwoTier.TlsFromExternalSecret = false);
        Assert.DoesNotContain("secret-agent-bruno-cluster-tls.yaml", SecretInstructions.PlatformSecretFiles(byCertManager));
        Assert.Contains("secret-agent-bruno-cluster-tls.yaml", listed);
        Assert.DoesNotContain(SecretInstructions.ForPlatform(byCertManager), l => l.Contains("> secrets/platform/secret-agent-bruno-cluster-tls.yaml", StringComparison.Ordinal));
        Assert.Contains("exclude each other", Assert.Throws<RenderException>(() => new ManifestRenderer(RenderingTests.Sops(o => o.ExternalSecretStore = "vault"), Plans)).Message, StringComparison.Ordinal);
        Assert.Contains("Secrets:Provider", Assert.Throws<RenderException>(() => new ManifestRenderer(new KubernetesOptions { Secrets = { Provider = "vault" } }, Plans)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheOneProcessPlatform_RendersExternalSecretsForItsKeys_AndItsOperator()
    {
        var all = Platform(RenderingTests.NamespacesOnly());
        var keys = all["platform/externalsecret-keys.yaml"];
        Assert.Equal("agent-bruno-keys", (string)keys["spec"]!["target"]!["name"]!);
        Assert.Equal(["master-key"], keys["spec"]!["data"]!.AsArray().Select(d => (string)d!["secretKey"]!)); // no chat model: no LLM key to miss
        var deployment = all["platform/deployment.yaml"];
        var read = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray()
            .Select(e => e!["valueFrom"]?["secretKeyRef"]).Where(r => r is not null && r["optional"] is null && (string)r["name"]! == "agent-bruno-keys").Select(r => (string)r!["key"]!);
        Assert.All(read, k => Assert.Contains(k, keys["spec"]!["data"]!.AsArray().Select(d => (string)d!["secretKey"]!)));
        Assert.Contains("infrastructure/controllers/helmrelease-external-secrets.yaml", all.Keys); // the CRD before the platform applies one
        Assert.Equal("true", (string)all["infrastructure/controllers/helmrelease-external-secrets.yaml"]["spec"]!["values"]!["installCRDs"]!.ToString());
    }

    [Fact]
    public void TheSecretsLines_PutNoValueOnACommandLine_AtAnyLevelOrProvider()
    {
        var checkedLines = 0;
        foreach (var options in EveryShape().Concat([RenderingTests.ExternalLlm(o => o.Kamaji.SharedDataStore = null), RenderingTests.ExternalLlm(o => o.ExternalSecretStore = "vault")]))
        {
            var sets = new List<IReadOnlyList<string>> { SecretInstructions.ForPlatform(options) };
            foreach (var isolation in new[] { "namespace", "kamaji", "dedicated-cluster" })
            {
                if (isolation == "namespace" || options.Llm.External)
                {
                    sets.Add(SecretInstructions.For(RenderingTests.Tenant("acme", isolation), options));
                }
            }

            foreach (var lines in sets)
            {
                Assert.Equal("BRUNO_PRIVATE=\"$(mktemp -d)\"", lines.First(l => !l.StartsWith('#')));
                Assert.Equal("rm -rf \"$BRUNO_PRIVATE\"", lines[^1]); // the private folder goes at the end
                foreach (var line in lines.Where(l => !l.StartsWith('#')))
                {
                    checkedLines++;
                    Assert.DoesNotContain("--from-literal", line, StringComparison.Ordinal);
                    Assert.False(line.Replace("\"$(mktemp -d)\"", string.Empty, StringComparison.Ordinal).Contains("$(", StringComparison.Ordinal), $"a generator's output in an argument: {line}");
                    Assert.False(SecretVariable().IsMatch(line), $"a secret from a variable in an argument: {line}");
                    Assert.DoesNotContain("--from-env-file", line, StringComparison.Ordinal);
                    if (line.Contains(" create secret generic ", StringComparison.Ordinal))
                    {
                        Assert.Matches(@"create secret generic \S+( --type=\S+)?( --from-file=\S+)+( --dry-run=client -o yaml (> .*|\| kubectl apply -f -))?$", line); // files only
                    }

                    // a value is written to a file of the private folder only under umask 077
                    if (line.Contains("> \"$BRUNO_PRIVATE/", StringComparison.Ordinal) && !line.Contains("--dry-run=client", StringComparison.Ordinal))
                    {
                        Assert.StartsWith("(umask 077 && ", line, StringComparison.Ordinal);
                    }
                }
            }
        }

        Assert.True(checkedLines > 50);
    }

    // $NAME where NAME says it holds a secret (other than the private folder's name and a path to a file)
    [GeneratedRegex(@"\$\{?(?!BRUNO_PRIVATE)[A-Za-z_]*(KEY|PASSWORD|TOKEN|SECRET|CONNECTION|PASS)[A-Za-z_]*", RegexOptions.IgnoreCase)]
    private static partial Regex SecretVariable();

    [Fact]
    public void TheCatalogConnectionString_IsComposedFromCloudNativePgsSecret_InNpgsqlsForm()
    {
        var lines = SecretInstructions.ForPlatform(new KubernetesOptions());
        var compose = lines.Single(l => l.Contains("get secret bruno-catalog-app", StringComparison.Ordinal));
        Assert.Contains("-n postgres-system", compose, StringComparison.Ordinal);
        foreach (var key in new[] { "host", "port", "dbname", "username", "password" })
        {
            Assert.Contains($"{{{{.data.{key} | base64decode}}}}", compose, StringComparison.Ordinal); // keys CloudNativePG writes
        }

        // the template's text, with sample values, is a connection string Npgsql (Bruno's catalog) accepts
        var sample = Regex.Match(compose, "go-template='([^']*)'").Groups[1].Value
            .Replace("{{.data.host | base64decode}}", "bruno-catalog-rw", StringComparison.Ordinal).Replace("{{.data.port | base64decode}}", "5432", StringComparison.Ordinal)
            .Replace("{{.data.dbname | base64decode}}", "bruno", StringComparison.Ordinal).Replace("{{.data.username | base64decode}}", "bruno", StringComparison.Ordinal)
            .Replace("{{.data.password | base64decode}}", "s3cret", StringComparison.Ordinal);
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(sample);
        Assert.Equal(("bruno-catalog-rw.postgres-system.svc", 5432, "bruno", "bruno"), (builder.Host, builder.Port, builder.Database, builder.Username));
        Assert.Contains(lines, l => l.Contains("create secret generic bruno-catalog --from-file=connection-string=\"$BRUNO_PRIVATE/connection-string\"", StringComparison.Ordinal));
        Assert.DoesNotContain(SecretInstructions.ForPlatform(RenderingTests.NamespacesOnly()), l => l.Contains("cnpg", StringComparison.Ordinal)); // an external server: typed at a prompt
    }
}
