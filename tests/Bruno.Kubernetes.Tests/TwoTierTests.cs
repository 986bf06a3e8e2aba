using System.Text.Json.Nodes;
using Bruno.Contracts;
using Bruno.Core;
using Bruno.Testing;
using Microsoft.Extensions.Configuration;

namespace Bruno.Kubernetes.Tests;

/// <summary>
/// The two-tier management plane (<c>Bruno:Kubernetes:TwoTier</c>): the gateways, their autoscaler and its metric, the
/// store nodes, their health checks and Secrets, beyond what the schemas say. The standalone-strict schemas have no
/// StatefulSet: <see cref="Schemas.StatefulSetErrors"/> checks its pod template as a Deployment's and each volume claim
/// template as a PersistentVolumeClaim (in the schema test of every rendered object), and the tests here check the
/// fields only a StatefulSet has by hand.
/// </summary>
public sealed class TwoTierTests
{
    private static readonly IReadOnlyDictionary<string, PlanResources> Plans = new BrunoOptions().PlanResources();

    /// <summary>The platform's objects by path.</summary>
    private static Dictionary<string, JsonObject> Platform(KubernetesOptions options) =>
        new ManifestRenderer(options, Plans).RenderPlatform()
            .Where(f => f.Path.EndsWith(".yaml", StringComparison.Ordinal) && !f.Path.EndsWith("/kustomization.yaml", StringComparison.Ordinal))
            .ToDictionary(f => f.Path, f => Yaml.Documents(f.Content).Single(), StringComparer.Ordinal);

    private static JsonObject Container(JsonObject workload) => workload["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();

    private static Dictionary<string, JsonObject> Env(JsonObject workload) =>
        Container(workload)["env"]!.AsArray().ToDictionary(e => (string)e!["name"]!, e => e!.AsObject(), StringComparer.Ordinal);

    private static (string Secret, string Key) SecretOf(JsonObject variable) =>
        ((string)variable["valueFrom"]!["secretKeyRef"]!["name"]!, (string)variable["valueFrom"]!["secretKeyRef"]!["key"]!);

    private static bool Selects(JsonNode? selector, JsonNode? labels) =>
        selector!["matchLabels"]!.AsObject().All(p => (string?)labels![p.Key] == (string?)p.Value);

    /// <summary>
    /// What a rendered container's environment gives the server: BRUNO_* variables as configuration keys, secrets
    /// replaced by well-formed stand-ins, <c>$(POD_NAME)</c> by the first pod's name, and the cluster TLS Secret's mount
    /// by <paramref name="tlsFolder"/> (where a test put the files a Secret would hold).
    /// </summary>
    private static Dictionary<string, string?> ServerSettings(JsonObject workload, string tlsFolder = "/var/run/bruno/cluster-tls")
    {
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["master-key"] = Convert.ToBase64String(new byte[32]),
            ["cluster-token"] = new string('t', 40),
            ["connection-string"] = "Host=catalog;Database=bruno;Username=bruno",
            ["llm-api-key"] = "key",
        };
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, variable) in Env(workload).Where(e => e.Key.StartsWith("BRUNO_", StringComparison.Ordinal)))
        {
            var value = variable["value"] is { } v ? (string)v! : secrets[SecretOf(variable).Key];
            settings["Bruno:" + name[6..].Replace("__", ":", StringComparison.Ordinal)] = value.Replace("$(POD_NAME)", "agent-bruno-store-0", StringComparison.Ordinal)
                .Replace("/var/run/bruno/cluster-tls", tlsFolder, StringComparison.Ordinal);
        }

        return settings;
    }

    [Fact]
    public void RenderedEnvironments_AreSettingsTheServerAccepts_ForEachRole()
    {
        var all = Platform(RenderingTests.TwoTier());
        using var authority = TestAuthority.Create("bruno-cluster-ca");
        var secret = authority.Issue(Directory.CreateTempSubdirectory("bruno-k8s-tls-").FullName, "agent-bruno-cluster", hosts: ["*.agent-bruno-store.bruno-system.svc.cluster.local"]);
        try
        {
            foreach (var (path, role) in new[] { ("platform/deployment-gateway.yaml", Core.Cluster.NodeRole.Gateway), ("platform/statefulset-store.yaml", Core.Cluster.NodeRole.Store) })
            {
                var configuration = new ConfigurationBuilder().AddInMemoryCollection(ServerSettings(all[path], secret.Folder)).Build();
                var options = Server.BrunoServer.ReadOptions(configuration); // throws, naming the setting, for anything it refuses (the TLS files are read)
                Assert.Equal(secret.KeyFile, options.Cluster.Tls.KeyFile);
                AcceptedFor(role, options);
            }

            // without the Secret's files the same settings are refused, naming the file
            var refused = Assert.Throws<Server.Hosting.ConfigurationException>(() => Server.BrunoServer.ReadOptions(new ConfigurationBuilder().AddInMemoryCollection(ServerSettings(all["platform/statefulset-store.yaml"])).Build()));
            Assert.Contains("Bruno:Cluster:Tls:CertificateFile is '/var/run/bruno/cluster-tls/tls.crt', which does not exist.", refused.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(secret.Folder, recursive: true);
        }

        static void AcceptedFor(Core.Cluster.NodeRole role, BrunoOptions options)
        {
            Assert.Equal(role, options.Cluster.Kind);
            Assert.True(options.Cluster.Tls.Enabled);
            Assert.Equal(Core.Tenants.CatalogProvider.Postgres, options.Catalog.Kind);
            Assert.Equal("/var/run/bruno/platform-keys", options.SecretsFolder); // every process checks tokens with the shared keys
            if (role == Core.Cluster.NodeRole.Store)
            {
                Assert.Equal("agent-bruno-store-0", options.Cluster.NodeName);
                Assert.Equal(new Uri("https://agent-bruno-store-0.agent-bruno-store.bruno-system.svc.cluster.local:7070"), new Uri(options.Cluster.AdvertiseUrl!));
                Assert.Equal(7070, options.Cluster.StorePort);
                Assert.False(string.IsNullOrEmpty(options.MasterKey));
            }
            else
            {
                Assert.True(string.IsNullOrEmpty(options.MasterKey)); // a gateway holds no tenant data and no key to it
            }
        }
    }

    [Fact]
    public void ByDefault_ThePlatformIsOneProcess_AndTwoTiersReplaceIt()
    {
        var one = Platform(new KubernetesOptions());
        Assert.Equal(1, (long)one["platform/deployment.yaml"]["spec"]!["replicas"]!);
        Assert.Contains("platform/persistentvolumeclaim.yaml", one.Keys);
        Assert.DoesNotContain(one.Values, d => (string?)d["kind"] is "StatefulSet" or "HorizontalPodAutoscaler");

        var two = Platform(RenderingTests.TwoTier());
        Assert.DoesNotContain("platform/deployment.yaml", two.Keys);
        Assert.DoesNotContain("platform/persistentvolumeclaim.yaml", two.Keys); // each store node has a claim of its own
        Assert.DoesNotContain("platform/networkpolicy-allow-same-namespace.yaml", two.Keys); // the store port is not for every pod of the namespace
        Assert.Equal(["Deployment", "StatefulSet"], two.Values.Where(d => (string?)d["kind"] is "Deployment" or "StatefulSet").Select(d => (string)d["kind"]!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void TheGateways_AreStatelessAndAutoscaled_AndShareThePlatformKeys()
    {
        var all = Platform(RenderingTests.TwoTier());
        var gateway = all["platform/deployment-gateway.yaml"];
        Assert.Equal("agent-bruno-gateway", (string)gateway["metadata"]!["name"]!);
        Assert.Null(gateway["spec"]!["replicas"]); // the autoscaler's to set
        Assert.Equal("RollingUpdate", (string)gateway["spec"]!["strategy"]!["type"]!);
        Assert.Equal(0, (long)gateway["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"]!);
        var container = Container(gateway);
        Assert.Equal(["serve", "--role", "gateway", "--urls", "http://0.0.0.0:8080"], container["args"]!.AsArray().Select(a => (string)a!));
        Assert.Equal("/readyz", (string)container["readinessProbe"]!["httpGet"]!["path"]!);
        Assert.Equal("http", (string)container["livenessProbe"]!["httpGet"]!["port"]!);
        Assert.Equal("1", (string)container["resources"]!["requests"]!["cpu"]!); // utilization is measured against it
        Assert.Equal("2Gi", (string)container["resources"]!["requests"]!["memory"]!);
        Assert.True((bool)container["securityContext"]!["readOnlyRootFilesystem"]!);
        Assert.False((bool)gateway["spec"]!["template"]!["spec"]!["automountServiceAccountToken"]!);

        var pod = gateway["spec"]!["template"]!["spec"]!;
        var keys = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "platform-keys")!["secret"]!;
        Assert.Equal("agent-bruno-platform-keys", (string)keys["secretName"]!);
        Assert.Equal(Convert.ToInt64("400", 8), (long)keys["defaultMode"]!);
        Assert.Equal(["token-signing.key", "platform-signing.pem"], keys["items"]!.AsArray().Select(i => (string)i!["key"]!));
        var mount = container["volumeMounts"]!.AsArray().Single(m => (string?)m!["name"] == "platform-keys")!;
        Assert.Equal("/var/run/bruno/platform-keys", (string)mount["mountPath"]!);
        Assert.True((bool)mount["readOnly"]!);

        var env = Env(gateway);
        Assert.Equal("/var/run/bruno/platform-keys", (string)env["BRUNO_SECRETSFOLDER"]["value"]!);
        Assert.Equal("gateway", (string)env["BRUNO_CLUSTER__ROLE"]["value"]!);
        Assert.Equal(("agent-bruno-keys", "cluster-token"), SecretOf(env["BRUNO_CLUSTER__TOKEN"]));
        Assert.Equal(("bruno-catalog", "connection-string"), SecretOf(env["BRUNO_CATALOG__CONNECTIONSTRING"]));
        Assert.Equal("postgres", (string)env["BRUNO_CATALOG__PROVIDER"]["value"]!);
        Assert.Equal("http://ollama.ollama.svc:11434", (string)env["BRUNO_CHAT__ENDPOINT"]["value"]!);
        Assert.Equal("http://alloy.monitoring.svc:4317", (string)env["BRUNO_TELEMETRY__OTLPENDPOINT"]["value"]!);
        Assert.DoesNotContain("BRUNO_MASTERKEY", env.Keys);

        var labels = gateway["spec"]!["template"]!["metadata"]!["labels"];
        Assert.True(Selects(gateway["spec"]!["selector"], labels));
        var service = all["platform/service-gateway.yaml"];
        Assert.Equal("ClusterIP", (string)service["spec"]!["type"]!);
        Assert.Equal("http", (string)service["spec"]!["ports"]![0]!["targetPort"]!);
        Assert.All(service["spec"]!["selector"]!.AsObject(), p => Assert.Equal((string?)p.Value, (string?)labels![p.Key]));
        var budget = all["platform/poddisruptionbudget-gateway.yaml"];
        Assert.Equal(1, (long)budget["spec"]!["minAvailable"]!);
        Assert.True(Selects(budget["spec"]!["selector"], labels));
    }

    [Fact]
    public void TheAutoscaler_IsTheDesigns_AndItsRequestMetricIsServedByTheAdapterRule()
    {
        var all = Platform(RenderingTests.TwoTier());
        var hpa = all["platform/horizontalpodautoscaler-gateway.yaml"]["spec"]!;
        Assert.Equal("Deployment", (string)hpa["scaleTargetRef"]!["kind"]!);
        Assert.Equal((string)all["platform/deployment-gateway.yaml"]["metadata"]!["name"]!, (string)hpa["scaleTargetRef"]!["name"]!);
        Assert.Equal((2L, 10L), ((long)hpa["minReplicas"]!, (long)hpa["maxReplicas"]!));
        var metrics = hpa["metrics"]!.AsArray();
        Assert.Equal(70, (long)metrics.Single(m => (string?)m!["resource"]?["name"] == "cpu")!["resource"]!["target"]!["averageUtilization"]!);
        Assert.Equal(80, (long)metrics.Single(m => (string?)m!["resource"]?["name"] == "memory")!["resource"]!["target"]!["averageUtilization"]!);
        var pods = metrics.Single(m => (string?)m!["type"] == "Pods")!["pods"]!;
        Assert.Equal("100", (string)pods["target"]!["averageValue"]!);
        Assert.Equal("AverageValue", (string)pods["target"]!["type"]!);

        var down = hpa["behavior"]!["scaleDown"]!;
        Assert.Equal(300, (long)down["stabilizationWindowSeconds"]!);
        Assert.Equal(["Percent 50 60"], down["policies"]!.AsArray().Select(p => $"{p!["type"]} {p["value"]} {p["periodSeconds"]}"));
        var up = hpa["behavior"]!["scaleUp"]!;
        Assert.Equal(60, (long)up["stabilizationWindowSeconds"]!);
        Assert.Equal("Max", (string)up["selectPolicy"]!);
        Assert.Equal(["Percent 100 30", "Pods 2 30"], up["policies"]!.AsArray().Select(p => $"{p!["type"]} {p["value"]} {p["periodSeconds"]}"));

        // The adapter serves under the name the autoscaler asks for, from the request counter the service exports,
        // for the gateways' namespace, per pod, over 2 minutes: the rule is the values of the prometheus-adapter release
        // the infrastructure layer installs (no default rules), which queries the configured Prometheus.
        Assert.DoesNotContain("platform/configmap-prometheus-adapter-rules.yaml", all.Keys); // nothing left for the operator to merge
        var adapter = all["infrastructure/controllers/helmrelease-prometheus-adapter.yaml"]["spec"]!["values"]!;
        Assert.False((bool)adapter["rules"]!["default"]!);
        Assert.Equal(("http://prometheus-operated.monitoring.svc", 9090L), ((string)adapter["prometheus"]!["url"]!, (long)adapter["prometheus"]!["port"]!));
        var rule = adapter["rules"]!["custom"]!.AsArray().Single()!;
        var own = Platform(RenderingTests.TwoTier(o => o.Infrastructure.PrometheusAdapter.Enabled = false)); // the operator runs the adapter: the rule to merge
        Assert.DoesNotContain("infrastructure/controllers/helmrelease-prometheus-adapter.yaml", own.Keys);
        Assert.True(JsonNode.DeepEquals(rule, Yaml.Documents((string)own["platform/configmap-prometheus-adapter-rules.yaml"]["data"]!["bruno-adapter-rules.yaml"]!).Single()["rules"]![0]));
        Assert.Equal((string)pods["metric"]!["name"]!, (string)rule["name"]!["as"]!);
        var series = PromQl.Selectors((string)rule["seriesQuery"]!).Single();
        Assert.Equal("http_server_request_duration_seconds_count", series.Metric);
        Assert.Contains(new PromMatcher("namespace", "=", "bruno-system"), series.Matchers);
        Assert.Matches((string)rule["name"]!["matches"]!, series.Metric!);
        var query = (string)rule["metricsQuery"]!;
        Assert.StartsWith("sum(rate(<<.Series>>{<<.LabelMatchers>>,", query, StringComparison.Ordinal);
        Assert.EndsWith("[2m])) by (<<.GroupBy>>)", query, StringComparison.Ordinal);
        Assert.Equal("pod", (string)rule["resources"]!["overrides"]!["pod"]!["resource"]!);
        var filter = PromQl.Selectors(query.Replace("<<.Series>>", series.Metric, StringComparison.Ordinal).Replace("<<.LabelMatchers>>,", string.Empty, StringComparison.Ordinal).Replace("<<.GroupBy>>", "pod", StringComparison.Ordinal)).Single();
        Assert.Contains(new PromMatcher("http_route", "!~", "/healthz|/readyz|/metrics"), filter.Matchers); // probes and scrapes are not load
    }

    [Fact]
    public void TheStoreNodes_AreAStatefulSetWithAClaimEach_NamedThroughTheirHeadlessService()
    {
        var all = Platform(RenderingTests.TwoTier(o => (o.TwoTier.StoreNodes, o.TwoTier.StorePort, o.TwoTier.StoreVolumeGiB) = (5, 9090, 80)));
        var set = all["platform/statefulset-store.yaml"];
        var spec = set["spec"]!;
        var headless = all["platform/service-store.yaml"];

        // The fields no schema checks here: the Service it is named through, its selector, its size.
        Assert.Equal((string)headless["metadata"]!["name"]!, (string)spec["serviceName"]!);
        Assert.Equal("None", (string)headless["spec"]!["clusterIP"]!);
        Assert.False((bool)headless["spec"]!["publishNotReadyAddresses"]!);
        Assert.Equal(["grpc 9090 grpc"], headless["spec"]!["ports"]!.AsArray().Select(p => $"{p!["name"]} {p["port"]} {p["targetPort"]}"));
        var labels = spec["template"]!["metadata"]!["labels"];
        Assert.True(Selects(spec["selector"], labels));
        Assert.All(headless["spec"]!["selector"]!.AsObject(), p => Assert.Equal((string?)p.Value, (string?)labels![p.Key]));
        Assert.False(Selects(spec["selector"], all["platform/deployment-gateway.yaml"]["spec"]!["template"]!["metadata"]!["labels"])); // never a gateway
        Assert.Equal(5, (long)spec["replicas"]!);
        Assert.Equal("Parallel", (string)spec["podManagementPolicy"]!);
        Assert.Equal("RollingUpdate", (string)spec["updateStrategy"]!["type"]!);

        var claim = spec["volumeClaimTemplates"]!.AsArray().Single()!;
        Assert.Equal(["ReadWriteOnce"], claim["spec"]!["accessModes"]!.AsArray().Select(m => (string)m!));
        Assert.Equal("fast-ssd", (string)claim["spec"]!["storageClassName"]!);
        Assert.Equal("80Gi", (string)claim["spec"]!["resources"]!["requests"]!["storage"]!);
        var container = Container(set);
        Assert.Equal((string)claim["metadata"]!["name"]!, (string)container["volumeMounts"]!.AsArray().Single(m => (string?)m!["mountPath"] == "/data")!["name"]!);
        Assert.Equal(["serve", "--role", "store", "--urls", "http://0.0.0.0:8080"], container["args"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(["http 8080", "grpc 9090"], container["ports"]!.AsArray().Select(p => $"{p!["name"]} {p["containerPort"]}"));
        Assert.Equal("/healthz", (string)container["startupProbe"]!["httpGet"]!["path"]!);
        Assert.True((bool)set["spec"]!["template"]!["spec"]!["securityContext"]!["runAsNonRoot"]!);

        // $(POD_NAME) is expanded only from variables listed before it.
        var env = container["env"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal("POD_NAME", (string)env[0]["name"]!);
        Assert.Equal("metadata.name", (string)env[0]["valueFrom"]!["fieldRef"]!["fieldPath"]!);
        Assert.All(env.Skip(1), e => Assert.NotEqual("POD_NAME", (string)e["name"]!));
        var byName = Env(set);
        Assert.Equal("https://$(POD_NAME).agent-bruno-store.bruno-system.svc.cluster.local:9090", (string)byName["BRUNO_CLUSTER__ADVERTISEURL"]["value"]!);
        Assert.Equal("$(POD_NAME)", (string)byName["BRUNO_CLUSTER__NODENAME"]["value"]!);
        Assert.Equal("store", (string)byName["BRUNO_CLUSTER__ROLE"]["value"]!);
        Assert.Equal("9090", (string)byName["BRUNO_CLUSTER__STOREPORT"]["value"]!);
        Assert.Equal("/data", (string)byName["BRUNO_DATAROOT"]["value"]!);
        Assert.Equal(("agent-bruno-keys", "cluster-token"), SecretOf(byName["BRUNO_CLUSTER__TOKEN"]));
        Assert.Equal(("agent-bruno-keys", "master-key"), SecretOf(byName["BRUNO_MASTERKEY"]));
        Assert.Equal(("bruno-catalog", "connection-string"), SecretOf(byName["BRUNO_CATALOG__CONNECTIONSTRING"]));
        Assert.DoesNotContain(byName.Keys, k => k.StartsWith("BRUNO_CHAT__", StringComparison.Ordinal)); // the gateways call the model

        var budget = all["platform/poddisruptionbudget-store.yaml"];
        Assert.Equal(1, (long)budget["spec"]!["maxUnavailable"]!);
        Assert.True(Selects(budget["spec"]!["selector"], labels));
    }

    [Fact]
    public void BothTiers_UseMutualTls_FromTheMountedSecret_AndStoreNodesAdvertiseHttps()
    {
        var all = Platform(RenderingTests.TwoTier(o => o.TwoTier.TlsSecret = "bruno-mtls"));
        foreach (var path in new[] { "platform/deployment-gateway.yaml", "platform/statefulset-store.yaml" })
        {
            var workload = all[path];
            var pod = workload["spec"]!["template"]!["spec"]!;
            var volume = pod["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "cluster-tls")!["secret"]!;
            Assert.Equal("bruno-mtls", (string)volume["secretName"]!);
            Assert.Equal(Convert.ToInt64("400", 8), (long)volume["defaultMode"]!);
            Assert.Equal(["tls.crt", "tls.key", "ca.crt"], volume["items"]!.AsArray().Select(i => (string)i!["key"]!));
            var mount = Container(workload)["volumeMounts"]!.AsArray().Single(m => (string?)m!["name"] == "cluster-tls")!;
            Assert.Equal("/var/run/bruno/cluster-tls", (string)mount["mountPath"]!);
            Assert.True((bool)mount["readOnly"]!);
            Assert.Null(mount["subPath"]); // the kubelet never renews a file mounted by subPath

            var env = Env(workload);
            Assert.Equal("/var/run/bruno/cluster-tls/tls.crt", (string)env["BRUNO_CLUSTER__TLS__CERTIFICATEFILE"]["value"]!);
            Assert.Equal("/var/run/bruno/cluster-tls/tls.key", (string)env["BRUNO_CLUSTER__TLS__KEYFILE"]["value"]!);
            Assert.Equal("/var/run/bruno/cluster-tls/ca.crt", (string)env["BRUNO_CLUSTER__TLS__AUTHORITYFILE"]["value"]!);
        }

        Assert.StartsWith("https://", (string)Env(all["platform/statefulset-store.yaml"])["BRUNO_CLUSTER__ADVERTISEURL"]["value"]!, StringComparison.Ordinal);
        Assert.Equal(["grpc 7070 grpc"], all["platform/service-store.yaml"]["spec"]!["ports"]!.AsArray().Select(p => $"{p!["name"]} {p["port"]} {p["targetPort"]}")); // the same port, now TLS

        // the ExternalSecret fills it unless something else (cert-manager) makes it; either way the secrets instructions say what to store or run
        var filled = all["platform/externalsecret-cluster-tls.yaml"]["spec"]!;
        Assert.Equal("bruno-mtls", (string)filled["target"]!["name"]!);
        Assert.Equal(["tls.crt bruno/platform/cluster-tls-crt", "tls.key bruno/platform/cluster-tls-key", "ca.crt bruno/platform/cluster-ca-crt"], filled["data"]!.AsArray().Select(d => $"{d!["secretKey"]} {d["remoteRef"]!["key"]}"));
        var byOperator = RenderingTests.TwoTier(o => o.TwoTier.TlsFromExternalSecret = false);
        Assert.DoesNotContain("platform/externalsecret-cluster-tls.yaml", Platform(byOperator).Keys);
        Assert.Contains(SecretInstructions.ForPlatform(byOperator), l => l.Contains("create secret generic agent-bruno-cluster-tls --from-file=tls.crt=\"$BRUNO_PRIVATE/tls.crt\" --from-file=tls.key=\"$BRUNO_PRIVATE/tls.key\" --from-file=ca.crt=\"$BRUNO_PRIVATE/ca.crt\"", StringComparison.Ordinal));
        Assert.Contains(SecretInstructions.ForPlatform(byOperator), l => l.Contains("subjectAltName=DNS:*.agent-bruno-store.bruno-system.svc.cluster.local", StringComparison.Ordinal) && l.Contains("extendedKeyUsage=serverAuth,clientAuth", StringComparison.Ordinal));
    }

    [Fact]
    public void StoreNodes_NeverShareAHost_AndSpreadOverZones_WhileGatewaysOnlyPreferHosts()
    {
        var all = Platform(RenderingTests.TwoTier());
        var store = all["platform/statefulset-store.yaml"]["spec"]!["template"]!;
        var labels = store["metadata"]!["labels"];

        var required = store["spec"]!["affinity"]!["podAntiAffinity"]!["requiredDuringSchedulingIgnoredDuringExecution"]!.AsArray().Single()!;
        Assert.Equal("kubernetes.io/hostname", (string)required["topologyKey"]!);
        Assert.True(Selects(required["labelSelector"], labels)); // apart from the other store nodes…
        Assert.False(Selects(required["labelSelector"], all["platform/deployment-gateway.yaml"]["spec"]!["template"]!["metadata"]!["labels"])); // …not from gateways
        Assert.Null(store["spec"]!["affinity"]!["podAntiAffinity"]!["preferredDuringSchedulingIgnoredDuringExecution"]);

        var zones = store["spec"]!["topologySpreadConstraints"]!.AsArray().Single()!;
        Assert.Equal("topology.kubernetes.io/zone", (string)zones["topologyKey"]!);
        Assert.Equal(1, (long)zones["maxSkew"]!);
        Assert.Equal("ScheduleAnyway", (string)zones["whenUnsatisfiable"]!); // one zone, or a zone down, still schedules
        Assert.True(Selects(zones["labelSelector"], labels));

        var gateway = all["platform/deployment-gateway.yaml"]["spec"]!["template"]!["spec"]!;
        Assert.Null(gateway["affinity"]);
        Assert.Equal("kubernetes.io/hostname ScheduleAnyway", $"{gateway["topologySpreadConstraints"]![0]!["topologyKey"]} {gateway["topologySpreadConstraints"]![0]!["whenUnsatisfiable"]}");
    }

    [Fact]
    public void WithZones_EachZoneHasAStatefulSetPinnedToIt_ThatTellsItsPodsTheirZone()
    {
        var zoned = Platform(RenderingTests.Zoned());
        string[] zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
        Assert.DoesNotContain("platform/statefulset-store.yaml", zoned.Keys);
        var sets = zones.Select(z => zoned[$"platform/statefulset-store-{z}.yaml"]).ToList();
        Assert.Equal(3, zoned.Values.Count(d => (string?)d["kind"] == "StatefulSet"));
        Assert.Equal([2L, 2L, 1L], sets.Select(s => (long)s["spec"]!["replicas"]!)); // five nodes over three zones, the first listed taking the extra ones

        var headless = zoned["platform/service-store.yaml"];
        var budget = zoned["platform/poddisruptionbudget-store.yaml"];
        var gatewayLabels = zoned["platform/deployment-gateway.yaml"]["spec"]!["template"]!["metadata"]!["labels"];
        var podNames = new List<string>();
        foreach (var (zone, set) in zones.Zip(sets))
        {
            var spec = set["spec"]!;
            var name = (string)set["metadata"]!["name"]!;
            Assert.Equal($"agent-bruno-store-{zone}", name);
            Assert.Empty(Schemas.StatefulSetErrors(set, "v1.35.0"));
            Assert.Equal((string)headless["metadata"]!["name"]!, (string)spec["serviceName"]!); // one headless Service names every zone's pods
            podNames.AddRange(Enumerable.Range(0, (int)(long)spec["replicas"]!).Select(i => $"{name}-{i}"));

            // its own pods only: the zones' StatefulSets never claim each other's pods
            var labels = spec["template"]!["metadata"]!["labels"];
            Assert.Equal(zone, (string)labels!["bruno.dev/zone"]!);
            Assert.True(Selects(spec["selector"], labels));
            foreach (var other in sets.Where(o => o != set))
            {
                Assert.False(Selects(spec["selector"], other["spec"]!["template"]!["metadata"]!["labels"]));
            }

            // what selects store nodes selects those of every zone, and nothing else
            Assert.All(headless["spec"]!["selector"]!.AsObject(), p => Assert.Equal((string?)p.Value, (string?)labels![p.Key]));
            Assert.True(Selects(budget["spec"]!["selector"], labels));

            // on a node of its zone only, never on a host another store node (of any zone) runs on
            var pod = spec["template"]!["spec"]!;
            var term = pod["affinity"]!["nodeAffinity"]!["requiredDuringSchedulingIgnoredDuringExecution"]!["nodeSelectorTerms"]!.AsArray().Single()!["matchExpressions"]!.AsArray().Single()!;
            Assert.Equal($"topology.kubernetes.io/zone In {zone}", $"{term["key"]} {term["operator"]} {string.Join(",", term["values"]!.AsArray().Select(v => (string)v!))}");
            var apart = pod["affinity"]!["podAntiAffinity"]!["requiredDuringSchedulingIgnoredDuringExecution"]!.AsArray().Single()!;
            Assert.Equal("kubernetes.io/hostname", (string)apart["topologyKey"]!);
            Assert.All(sets, other => Assert.True(Selects(apart["labelSelector"], other["spec"]!["template"]!["metadata"]!["labels"])));
            Assert.False(Selects(apart["labelSelector"], gatewayLabels));
            Assert.Null(pod["topologySpreadConstraints"]); // nothing to spread: the zone is fixed

            // the pods say which zone they are in; $(POD_NAME) stays first, the rest sorted
            var env = Container(set)["env"]!.AsArray().Select(e => (string)e!["name"]!).ToList();
            Assert.Equal("POD_NAME", env[0]);
            Assert.Equal(env.Skip(1).Order(StringComparer.Ordinal), env.Skip(1));
            Assert.Equal(zone, (string)Env(set)["BRUNO_CLUSTER__ZONE"]["value"]!);
            Assert.True(Core.Cluster.ClusterOptions.IsZoneName(zone));
            Assert.Equal("agent-bruno-store", (string)pod["serviceAccountName"]!);
        }

        // every store node has a name of its own, which Bruno takes as a node name (a DNS label)
        Assert.Equal(5, podNames.Distinct(StringComparer.Ordinal).Count());
        Assert.All(podNames, n => Assert.True(Storage.Identity.TenantId.TryParse(n, out _), n));
        Assert.Equal(
            ["apps/v1 Deployment bruno-system/agent-bruno-gateway", .. zones.Select(z => $"apps/v1 StatefulSet bruno-system/agent-bruno-store-{z}")],
            zoned["clusters/production/bruno-platform.yaml"]["spec"]!["healthChecks"]!.AsArray().Select(c => $"{c!["apiVersion"]} {c["kind"]} {c["namespace"]}/{c["name"]}"));

        // the rest of the platform is the same as without zones
        var plain = Platform(RenderingTests.TwoTier(o => o.TwoTier.StoreNodes = 5));
        Assert.Equal(plain.Keys.Where(k => !k.Contains("statefulset", StringComparison.Ordinal) && !k.StartsWith("clusters/", StringComparison.Ordinal)), zoned.Keys.Where(k => !k.Contains("statefulset", StringComparison.Ordinal) && !k.StartsWith("clusters/", StringComparison.Ordinal)));
        Assert.All(plain.Where(p => !p.Key.Contains("statefulset", StringComparison.Ordinal) && !p.Key.StartsWith("clusters/", StringComparison.Ordinal)), p => Assert.True(JsonNode.DeepEquals(p.Value, zoned[p.Key]), p.Key));
    }

    [Fact]
    public void WithoutZones_TheStoreTierIsRenderedAsBefore_AndAZonesEnvironmentIsAccepted()
    {
        var plain = new ManifestRenderer(RenderingTests.TwoTier(), Plans).RenderPlatform();
        Assert.Equal(plain, new ManifestRenderer(RenderingTests.TwoTier(o => o.TwoTier.StoreZones = []), Plans).RenderPlatform());
        var set = Platform(RenderingTests.TwoTier())["platform/statefulset-store.yaml"];
        Assert.DoesNotContain("BRUNO_CLUSTER__ZONE", Env(set).Keys);
        Assert.Null(set["spec"]!["template"]!["spec"]!["affinity"]!["nodeAffinity"]);

        // a zone's store node: the settings its environment gives are ones the server accepts, zone included
        using var authority = TestAuthority.Create("bruno-cluster-ca");
        var secret = authority.Issue(Directory.CreateTempSubdirectory("bruno-k8s-tls-").FullName, "agent-bruno-cluster", hosts: ["*.agent-bruno-store.bruno-system.svc.cluster.local"]);
        try
        {
            var settings = ServerSettings(Platform(RenderingTests.Zoned())["platform/statefulset-store-eu-west-1b.yaml"], secret.Folder);
            var options = Server.BrunoServer.ReadOptions(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
            Assert.Equal((Core.Cluster.NodeRole.Store, "eu-west-1b"), (options.Cluster.Kind, options.Cluster.Zone));
        }
        finally
        {
            Directory.Delete(secret.Folder, recursive: true);
        }
    }

    [Fact]
    public void TheStatefulSetCheck_FindsWhatTheSchemasWouldHave()
    {
        var rendered = Platform(RenderingTests.TwoTier())["platform/statefulset-store.yaml"];
        Assert.Empty(Schemas.StatefulSetErrors(rendered, "v1.35.0"));

        var bad = rendered.DeepClone().AsObject();
        bad["spec"]!["template"]!["spec"]!["containers"]![0]!["colour"] = "red";
        bad["spec"]!["volumeClaimTemplates"]![0]!["spec"]!["accessMode"] = "ReadWriteOnce";
        bad["spec"]!["podManagementPolicy"] = "AllAtOnce";
        bad["spec"]!["serviceNames"] = "agent-bruno-store";
        bad["spec"]!.AsObject().Remove("serviceName");
        var errors = string.Join("\n", Schemas.StatefulSetErrors(bad, "v1.35.0"));
        foreach (var expected in new[] { "(as a Deployment)", "(volumeClaimTemplates/0 as a PersistentVolumeClaim)", "/spec/podManagementPolicy", "/spec/serviceNames", "/spec/serviceName:" })
        {
            Assert.Contains(expected, errors, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Flux_HealthChecksBothTiers()
    {
        var checks = Platform(RenderingTests.TwoTier())["clusters/production/bruno-platform.yaml"]["spec"]!["healthChecks"]!.AsArray()
            .Select(c => $"{c!["apiVersion"]} {c["kind"]} {c["namespace"]}/{c["name"]}");
        Assert.Equal(["apps/v1 Deployment bruno-system/agent-bruno-gateway", "apps/v1 StatefulSet bruno-system/agent-bruno-store"], checks);
    }

    [Fact]
    public void TheSettings_ReachTheObjects()
    {
        var all = Platform(RenderingTests.TwoTier(o =>
        {
            (o.TwoTier.GatewayMinReplicas, o.TwoTier.GatewayMaxReplicas, o.TwoTier.GatewayRequestsPerSecond) = (3, 40, 250);
            (o.TwoTier.GatewayCores, o.TwoTier.GatewayMemoryGiB, o.TwoTier.GatewayScratchGiB) = (0.5, 1.5, 8);
            (o.TwoTier.StoreCores, o.TwoTier.StoreMemoryGiB, o.TwoTier.ClusterDomain) = (4, 16, "corp.internal");
        }));
        var hpa = all["platform/horizontalpodautoscaler-gateway.yaml"]["spec"]!;
        Assert.Equal((3L, 40L), ((long)hpa["minReplicas"]!, (long)hpa["maxReplicas"]!));
        Assert.Equal("250", (string)hpa["metrics"]!.AsArray().Single(m => (string?)m!["type"] == "Pods")!["pods"]!["target"]!["averageValue"]!);
        var gateway = all["platform/deployment-gateway.yaml"];
        Assert.Equal(("500m", "1536Mi"), ((string)Container(gateway)["resources"]!["limits"]!["cpu"]!, (string)Container(gateway)["resources"]!["limits"]!["memory"]!));
        Assert.Equal("8Gi", (string)gateway["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Single(v => (string?)v!["name"] == "data")!["emptyDir"]!["sizeLimit"]!);
        var store = all["platform/statefulset-store.yaml"];
        Assert.Equal(("4", "16Gi"), ((string)Container(store)["resources"]!["requests"]!["cpu"]!, (string)Container(store)["resources"]!["requests"]!["memory"]!));
        Assert.EndsWith(".svc.corp.internal:7070", (string)Env(store)["BRUNO_CLUSTER__ADVERTISEURL"]["value"]!, StringComparison.Ordinal);
    }

    [Fact]
    public void BadTwoTierSettings_AreRefusedWithAMessageNamingThem_ButOnlyWhenEnabled()
    {
        static string Refusal(Action<TwoTierOptions> change, int port = 8080)
        {
            var options = new KubernetesOptions { Port = port };
            options.TwoTier.Enabled = true;
            change(options.TwoTier);
            return Assert.Throws<RenderException>(() => new ManifestRenderer(options, Plans)).Message;
        }

        Assert.Contains("StoreNodes", Refusal(t => t.StoreNodes = 1), StringComparison.Ordinal);
        Assert.Contains("StorePort", Refusal(t => t.StorePort = 80), StringComparison.Ordinal);
        Assert.Contains("StorePort must differ from Port", Refusal(t => t.StorePort = 9000, port: 9000), StringComparison.Ordinal);
        Assert.Contains("GatewayMinReplicas", Refusal(t => t.GatewayMinReplicas = 1), StringComparison.Ordinal);
        Assert.Contains("GatewayMaxReplicas", Refusal(t => (t.GatewayMinReplicas, t.GatewayMaxReplicas) = (5, 4)), StringComparison.Ordinal);
        Assert.Contains("GatewayRequestsPerSecond", Refusal(t => t.GatewayRequestsPerSecond = 0), StringComparison.Ordinal);
        Assert.Contains("StoreMemoryGiB", Refusal(t => t.StoreMemoryGiB = 0), StringComparison.Ordinal);
        Assert.Contains("ClusterDomain", Refusal(t => t.ClusterDomain = "Cluster Local"), StringComparison.Ordinal);
        Assert.Contains("TlsSecret", Refusal(t => t.TlsSecret = "Not A Name"), StringComparison.Ordinal);
        Assert.Contains("StoreZones", Refusal(t => t.StoreZones = ["eu-west-1a", "EU_West_1b"]), StringComparison.Ordinal);
        Assert.Contains("StoreZones", Refusal(t => t.StoreZones = ["eu-west-1a", "eu-west-1a"]), StringComparison.Ordinal);
        Assert.Contains("StoreZones", Refusal(t => t.StoreZones = [new string('z', 35)]), StringComparison.Ordinal); // agent-bruno-store-<zone> would pass 52
        Assert.Contains("StoreNodes must be at least their number", Refusal(t => (t.StoreNodes, t.StoreZones) = (2, ["a", "b", "c"])), StringComparison.Ordinal);
        Assert.Empty(RenderingTests.Zoned(o => o.TwoTier.StoreZones = [new string('z', 34)]).Validate());

        var off = new KubernetesOptions();
        off.TwoTier.StoreNodes = 1; // not used while the one process is rendered
        Assert.Empty(off.Validate());
    }

    [Fact]
    public void EverySecretKeyThePodsRead_IsCreatedByTheInstructionsOrFilledByAnExternalSecret()
    {
        foreach (var options in new[]
        {
            new KubernetesOptions(),
            RenderingTests.TwoTier(o => o.ExternalSecretStore = null),
            RenderingTests.TwoTier(),
            RenderingTests.TwoTier(o => o.Llm.Provider = "none"),
            RenderingTests.TwoTier(o => o.TwoTier.TlsFromExternalSecret = false),
        })
        {
            var all = Platform(options);
            var text = string.Join("\n", SecretInstructions.ForPlatform(options));
            var filled = all.Values.Where(d => (string?)d["kind"] == "ExternalSecret")
                .SelectMany(d => d["spec"]!["data"]!.AsArray().Select(i => ((string)d["spec"]!["target"]!["name"]!, (string)i!["secretKey"]!)))
                .ToHashSet();
            var read = all.Values.Where(d => (string?)d["kind"] is "Deployment" or "StatefulSet").SelectMany(SecretKeys).Distinct().ToList();
            Assert.NotEmpty(read);
            foreach (var (secret, key) in read)
            {
                var created = text.Contains($"secret generic {secret} ", StringComparison.Ordinal)
                    && text.Contains($"--from-file={key}=", StringComparison.Ordinal);
                Assert.True(created || filled.Contains((secret, key)), $"{secret}/{key} is neither created by:\n{text}\nnor filled by an ExternalSecret");
            }

            // An ExternalSecret fails whole when a remote key is missing: it names the LLM key only for a chat model.
            Assert.Equal(options.Llm.Provider != "none" && filled.Count > 0, filled.Contains(("agent-bruno-keys", "llm-api-key")));
        }

        var instructions = SecretInstructions.ForPlatform(RenderingTests.TwoTier(o => o.ExternalSecretStore = null));
        Assert.Contains(instructions, l => l == "(umask 077 && openssl rand -base64 32 | tr -d '\\n' > \"$BRUNO_PRIVATE/cluster-token\")"); // generated into a private file
        Assert.Contains(instructions, l => l.Contains("--from-file=cluster-token=\"$BRUNO_PRIVATE/cluster-token\"", StringComparison.Ordinal));
        Assert.Contains(instructions, l => l.Contains("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$BRUNO_PRIVATE/platform-signing.pem\"", StringComparison.Ordinal) && l.StartsWith("(umask 077", StringComparison.Ordinal));
        var remote = SecretInstructions.ForPlatform(RenderingTests.TwoTier());
        Assert.Contains(remote, l => l.Contains("bruno/platform/cluster-token", StringComparison.Ordinal));
        Assert.Contains(remote, l => l.Contains("bruno/platform/platform-signing-key", StringComparison.Ordinal) && l.Contains("PKCS#8", StringComparison.Ordinal));
    }

    // The (Secret, key) pairs a workload's pod reads and cannot start without: variables and Secret volumes.
    private static IEnumerable<(string Secret, string Key)> SecretKeys(JsonObject workload)
    {
        var pod = workload["spec"]!["template"]!["spec"]!;
        foreach (var e in pod["containers"]![0]!["env"]!.AsArray())
        {
            if (e!["valueFrom"]?["secretKeyRef"] is JsonObject r && r["optional"] is null)
            {
                yield return ((string)r["name"]!, (string)r["key"]!);
            }
        }

        foreach (var v in pod["volumes"]!.AsArray())
        {
            if (v!["secret"] is JsonObject s)
            {
                foreach (var item in s["items"]!.AsArray())
                {
                    yield return ((string)s["secretName"]!, (string)item!["key"]!);
                }
            }
        }
    }
}
