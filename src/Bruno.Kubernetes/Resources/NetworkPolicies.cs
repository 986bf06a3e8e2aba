using k8s.Models;

namespace Bruno.Kubernetes.Resources;

/// <summary>
/// The network policies of a namespace Bruno runs in: deny everything, then allow the namespace's own pods, DNS to the
/// cluster's resolver in kube-system, the LLM endpoint (by in-cluster selector or by CIDR), Prometheus's scrapes and
/// the OTLP collector (<see cref="MonitoringOptions"/>), and requests to Bruno's port from the management namespace. Namespaces are matched by <c>kubernetes.io/metadata.name</c>, the label the API
/// server sets on every namespace (a hand-set label such as <c>name</c> may be missing, or forged by whoever can label
/// namespaces). Peers in one <c>to</c>/<c>from</c> entry with both selectors mean "pods with these labels in these
/// namespaces"; a lone <c>podSelector</c> would mean this namespace only.
/// </summary>
internal static class NetworkPolicies
{
    private const string NamespaceLabel = "kubernetes.io/metadata.name";

    /// <summary>
    /// A namespace Bruno runs in. <paramref name="fromNamespace"/>: the management namespace, when the management plane
    /// runs in the same cluster. <paramref name="remote"/>: a tenant's own cluster, where the management plane's
    /// requests come from <see cref="RemoteTenantOptions.ManagementCidrs"/> or through the cluster's ingress controller
    /// (<see cref="RemoteTenantOptions.IngressNamespace"/>), and telemetry goes to <see cref="RemoteTenantOptions.OtlpEndpoint"/>'s
    /// addresses rather than to a collector in the monitoring namespace.
    /// </summary>
    public static IEnumerable<V1NetworkPolicy> ForNamespace(string ns, Dictionary<string, string> labels, KubernetesOptions options, Dictionary<string, string> brunoPods, string? fromNamespace, bool remote = false)
    {
        yield return DefaultDeny(ns, labels);
        yield return Policy(ns, "allow-same-namespace", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector(),
            PolicyTypes = ["Ingress", "Egress"],
            Ingress = [new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector() }] }],
            Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector() }] }],
        });
        yield return Dns(ns, labels);
        yield return LlmEndpoint(ns, labels, options, new V1LabelSelector { MatchLabels = brunoPods });
        foreach (var p in ForMonitoring(ns, labels, options, new V1LabelSelector { MatchLabels = brunoPods }, remote))
        {
            yield return p;
        }

        if (remote)
        {
            var r = options.RemoteTenants;
            List<V1NetworkPolicyPeer> peers =
            [
                .. r.ManagementCidrs.Order(StringComparer.Ordinal).Select(c => new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = c } }),
                .. string.IsNullOrEmpty(r.IngressNamespace) ? [] : new[] { new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, r.IngressNamespace) } },
            ];
            yield return Policy(ns, "allow-from-management", labels, new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = brunoPods },
                PolicyTypes = ["Ingress"],
                Ingress = [new V1NetworkPolicyIngressRule { FromProperty = peers, Ports = [Port("TCP", options.Port)] }],
            });
        }

        if (fromNamespace is not null)
        {
            yield return Policy(ns, "allow-from-management", labels, new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = brunoPods },
                PolicyTypes = ["Ingress"],
                Ingress =
                [
                    new V1NetworkPolicyIngressRule
                    {
                        FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, fromNamespace) }],
                        Ports = [Port("TCP", options.Port)],
                    },
                ],
            });
        }
    }

    /// <summary>
    /// The management plane's own allowances: requests from the ingress controller's namespace, and out to the catalog's
    /// PostgreSQL. The way out to each namespace-level tenant's Bruno pods is that tenant's own policy
    /// (<see cref="ToTenant"/>).
    /// </summary>
    public static IEnumerable<V1NetworkPolicy> ForManagement(string ns, Dictionary<string, string> labels, KubernetesOptions options, Dictionary<string, string> brunoPods)
    {
        var bruno = new V1LabelSelector { MatchLabels = brunoPods };
        yield return FromIngress(ns, labels, options, bruno);
        yield return Catalog(ns, labels, options, bruno);
    }

    /// <summary>
    /// The two-tier management plane's policies, without the one-process <c>allow-same-namespace</c>: the store port
    /// of the store nodes is reached by gateways and by the other store nodes (a tenant's owner sends each write to its
    /// replica; a move still streams through the gateway running it), and nothing else of any namespace reaches it; the
    /// ingress controller reaches the gateways' port, never a store node; Prometheus scrapes both tiers. Out: the
    /// gateways to the store nodes, the catalog, the LLM endpoint, DNS and OTLP (and, by each tenant's
    /// <see cref="ToTenant"/>, the namespace-level tenants' Bruno pods, as the one process); the store nodes to the other store nodes' store port, the catalog, DNS and OTLP.
    /// </summary>
    public static IEnumerable<V1NetworkPolicy> ForTwoTier(string ns, Dictionary<string, string> labels, KubernetesOptions options, Dictionary<string, string> gateways, Dictionary<string, string> stores)
    {
        var gateway = new V1LabelSelector { MatchLabels = gateways };
        var store = new V1LabelSelector { MatchLabels = stores };
        var both = AnyOf(gateways, stores);
        var storePort = options.TwoTier.StorePort;
        yield return DefaultDeny(ns, labels);
        yield return Dns(ns, labels);
        yield return LlmEndpoint(ns, labels, options, gateway);
        foreach (var p in ForMonitoring(ns, labels, options, both))
        {
            yield return p;
        }

        yield return FromIngress(ns, labels, options, gateway);
        yield return Catalog(ns, labels, options, both);
        yield return Policy(ns, "allow-store-from-tiers", labels, new V1NetworkPolicySpec
        {
            PodSelector = store,
            PolicyTypes = ["Ingress"],
            Ingress =
            [
                new V1NetworkPolicyIngressRule
                {
                    FromProperty = [new V1NetworkPolicyPeer { PodSelector = gateway }, new V1NetworkPolicyPeer { PodSelector = store }],
                    Ports = [Port("TCP", storePort)],
                },
            ],
        });
        yield return Policy(ns, "allow-to-store", labels, new V1NetworkPolicySpec
        {
            PodSelector = both,
            PolicyTypes = ["Egress"],
            Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = store }], Ports = [Port("TCP", storePort)] }],
        });
    }

    private static V1NetworkPolicy DefaultDeny(string ns, Dictionary<string, string> labels) => Policy(ns, "default-deny", labels, new V1NetworkPolicySpec
    {
        PodSelector = new V1LabelSelector(),
        PolicyTypes = ["Ingress", "Egress"],
    });

    private static V1NetworkPolicy Dns(string ns, Dictionary<string, string> labels) => Policy(ns, "allow-dns", labels, new V1NetworkPolicySpec
    {
        PodSelector = new V1LabelSelector(),
        PolicyTypes = ["Egress"],
        Egress =
        [
            new V1NetworkPolicyEgressRule
            {
                To =
                [
                    new V1NetworkPolicyPeer
                    {
                        NamespaceSelector = Select(NamespaceLabel, "kube-system"),
                        PodSelector = Select("k8s-app", "kube-dns"),
                    },
                ],
                Ports = [Port("UDP", 53), Port("TCP", 53)],
            },
        ],
    });

    private static V1NetworkPolicy LlmEndpoint(string ns, Dictionary<string, string> labels, KubernetesOptions options, V1LabelSelector from)
    {
        var llm = options.Llm;
        return Policy(ns, "allow-llm-endpoint", labels, new V1NetworkPolicySpec
        {
            PodSelector = from,
            PolicyTypes = ["Egress"],
            Egress =
            [
                new V1NetworkPolicyEgressRule
                {
                    To = llm.External
                        ? [.. llm.Cidrs.Order(StringComparer.Ordinal).Select(c => new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = c } })]
                        : [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, llm.Namespace!), PodSelector = new V1LabelSelector { MatchLabels = Sorted(llm.PodLabels) } }],
                    Ports = [Port("TCP", llm.Port)],
                },
            ],
        });
    }

    private static V1NetworkPolicy FromIngress(string ns, Dictionary<string, string> labels, KubernetesOptions options, V1LabelSelector to) => Policy(ns, "allow-from-ingress", labels, new V1NetworkPolicySpec
    {
        PodSelector = to,
        PolicyTypes = ["Ingress"],
        Ingress = [new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, options.IngressNamespace) }], Ports = [Port("TCP", options.Port)] }],
    });

    private static V1NetworkPolicy Catalog(string ns, Dictionary<string, string> labels, KubernetesOptions options, V1LabelSelector from) => Policy(ns, "allow-catalog", labels, new V1NetworkPolicySpec
    {
        PodSelector = from,
        PolicyTypes = ["Egress"],
        Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, options.CatalogNamespace) }], Ports = [Port("TCP", 5432)] }],
    });

    /// <summary>
    /// A policy in the management namespace <paramref name="ns"/>, rendered with a namespace-level tenant: the management
    /// plane's pods (<paramref name="from"/>: the one process or the gateways) may reach the tenant's Bruno pods
    /// (<paramref name="tenantPods"/>) on Bruno's port. The tenant's namespace is selected by its name
    /// (<c>kubernetes.io/metadata.name</c>, which the API server sets and nobody can forge), never by labels another
    /// namespace could copy; it is applied and pruned with the tenant.
    /// </summary>
    public static V1NetworkPolicy ToTenant(string ns, string name, Dictionary<string, string> labels, KubernetesOptions options, V1LabelSelector from, string tenantNamespace, Dictionary<string, string> tenantPods) => Policy(ns, name, labels, new V1NetworkPolicySpec
    {
        PodSelector = from,
        PolicyTypes = ["Egress"],
        Egress =
        [
            new V1NetworkPolicyEgressRule
            {
                To = [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, tenantNamespace), PodSelector = new V1LabelSelector { MatchLabels = Sorted(tenantPods) } }],
                Ports = [Port("TCP", options.Port)],
            },
        ],
    });

    /// <summary>
    /// The policies of a Kamaji tenant's control-plane namespace, which holds only the TenantControlPlane's pods (API
    /// server, controller manager, scheduler, kine and the konnectivity server): deny all; in, the API server's port and
    /// the konnectivity server's from anywhere (worker nodes, Kamaji, Flux and the tenant's users reach them, and both
    /// authenticate every caller); out, DNS and the DataStore's endpoints (<see cref="DataStorePeers"/>). The API server
    /// reaches the tenant's nodes through the konnectivity tunnel the agents open, so it needs no other way out.
    /// </summary>
    public static IEnumerable<V1NetworkPolicy> ForControlPlane(string ns, Dictionary<string, string> labels, int apiServerPort, int konnectivityPort, IEnumerable<string> dataStoreEndpoints, string? ownPostgres = null)
    {
        yield return DefaultDeny(ns, labels);
        yield return Dns(ns, labels);
        yield return Policy(ns, "allow-control-plane-ports", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector(),
            PolicyTypes = ["Ingress"],
            Ingress = [new V1NetworkPolicyIngressRule { Ports = [Port("TCP", apiServerPort), Port("TCP", konnectivityPort)] }],
        });
        yield return Policy(ns, "allow-datastore", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector(),
            PolicyTypes = ["Egress"],
            Egress = ownPostgres is null
                ? [.. dataStoreEndpoints.Order(StringComparer.Ordinal).Select(DataStorePeers)]
                : [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = Select(CloudNativePg.ClusterLabel, ownPostgres) }], Ports = [Port("TCP", CloudNativePg.PostgresPort)] }],
        });
    }

    /// <summary>
    /// The policies of a Kamaji tenant's own PostgreSQL (CloudNativePG) pods in the control plane's namespace. In: on
    /// 5432, the control plane's pods (kine, by Kamaji's <c>kamaji.clastix.io/name</c> label) and Kamaji's operator
    /// (it creates the control plane's database and role); on 5432 and 8000, the CloudNativePG operator and the
    /// cluster's other instances (replication, status). Out: the other instances on the same ports, and the management
    /// cluster's API server (<see cref="KamajiOptions.ApiServerCidrs"/>), where the instance manager reads and updates its
    /// Cluster; DNS is allowed for every pod of the namespace already. Nothing else reaches or is reached.
    /// </summary>
    public static IEnumerable<V1NetworkPolicy> ForOwnPostgres(string ns, Dictionary<string, string> labels, string cluster, string controlPlane, KamajiOptions k)
    {
        var postgres = Select(CloudNativePg.ClusterLabel, cluster);
        var both = new List<V1NetworkPolicyPort> { Port("TCP", CloudNativePg.PostgresPort), Port("TCP", CloudNativePg.InstanceManagerPort) };
        yield return Policy(ns, "allow-postgres", labels, new V1NetworkPolicySpec
        {
            PodSelector = postgres,
            PolicyTypes = ["Ingress", "Egress"],
            Ingress =
            [
                new V1NetworkPolicyIngressRule
                {
                    FromProperty =
                    [
                        new V1NetworkPolicyPeer { PodSelector = Select("kamaji.clastix.io/name", controlPlane) },
                        new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, k.OperatorNamespace), PodSelector = new V1LabelSelector { MatchLabels = Sorted(k.OperatorPodLabels) } },
                    ],
                    Ports = [Port("TCP", CloudNativePg.PostgresPort)],
                },
                new V1NetworkPolicyIngressRule
                {
                    FromProperty =
                    [
                        new V1NetworkPolicyPeer { PodSelector = Select(CloudNativePg.ClusterLabel, cluster) },
                        new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, k.CloudNativePgNamespace), PodSelector = new V1LabelSelector { MatchLabels = Sorted(k.CloudNativePgPodLabels) } },
                    ],
                    Ports = both,
                },
            ],
            Egress =
            [
                new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = Select(CloudNativePg.ClusterLabel, cluster) }], Ports = [.. both] },
                new V1NetworkPolicyEgressRule { To = [.. k.ApiServerCidrs.Order(StringComparer.Ordinal).Select(c => new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = c } })], Ports = [Port("TCP", k.ApiServerPort)] },
            ],
        });
    }

    /// <summary>
    /// A policy in the management namespace <paramref name="ns"/>, rendered with a tenant in a cluster of its own: the
    /// management plane's pods (<paramref name="from"/>) may reach the addresses the remote tenants are served at
    /// (<see cref="RemoteTenantOptions.TenantCidrs"/>) on <see cref="RemoteTenantOptions.TenantPort"/>.
    /// </summary>
    public static V1NetworkPolicy ToRemoteTenant(string ns, string name, Dictionary<string, string> labels, RemoteTenantOptions remote, V1LabelSelector from) => Policy(ns, name, labels, new V1NetworkPolicySpec
    {
        PodSelector = from,
        PolicyTypes = ["Egress"],
        Egress =
        [
            new V1NetworkPolicyEgressRule
            {
                To = [.. remote.TenantCidrs.Order(StringComparer.Ordinal).Select(c => new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = c } })],
                Ports = [Port("TCP", remote.TenantPort)],
            },
        ],
    });

    /// <summary>
    /// The way out to one DataStore endpoint (<c>host:port</c>): a Service name <c>&lt;service&gt;.&lt;namespace&gt;.svc…</c>
    /// is its namespace (by name); an IP address is that address; any other host name cannot be selected by a policy, so
    /// its port is open to every address.
    /// </summary>
    private static V1NetworkPolicyEgressRule DataStorePeers(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        var host = endpoint[..colon].Trim('[', ']');
        var port = KamajiOptions.EndpointPort(endpoint) ?? throw new ArgumentException($"DataStore endpoint '{endpoint}' has no port.", nameof(endpoint));
        var parts = host.Split('.');
        List<V1NetworkPolicyPeer>? to = System.Net.IPAddress.TryParse(host, out var address)
            ? [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = $"{address}/{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? 128 : 32)}" } }]
            : parts.Length >= 3 && parts[2] == "svc" ? [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, parts[1]) }] : null;
        return new V1NetworkPolicyEgressRule { To = to, Ports = [Port("TCP", port)] };
    }

    // The pods of either selector: the labels both share, and "In" both values for each label they differ on.
    private static V1LabelSelector AnyOf(Dictionary<string, string> a, Dictionary<string, string> b) => new()
    {
        MatchLabels = new Dictionary<string, string>(a.Where(p => b.TryGetValue(p.Key, out var v) && v == p.Value).OrderBy(p => p.Key, StringComparer.Ordinal), StringComparer.Ordinal),
        MatchExpressions =
        [
            .. a.Where(p => b.TryGetValue(p.Key, out var v) && v != p.Value).OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => new V1LabelSelectorRequirement { Key = p.Key, OperatorProperty = "In", Values = [.. new[] { p.Value, b[p.Key] }.Order(StringComparer.Ordinal)] }),
        ],
    };

    /// <summary>
    /// Prometheus's scrapes in (from its pods in the monitoring namespace, to Bruno's port), and OTLP out to the
    /// collector when one is set: in the monitoring namespace, or, in a tenant's own cluster (<paramref name="remote"/>),
    /// to the remote tenants' collector's CIDR blocks.
    /// </summary>
    private static IEnumerable<V1NetworkPolicy> ForMonitoring(string ns, Dictionary<string, string> labels, KubernetesOptions options, V1LabelSelector brunoPods, bool remote = false)
    {
        var monitoring = options.Monitoring;
        yield return Policy(ns, "allow-metrics-scrape", labels, new V1NetworkPolicySpec
        {
            PodSelector = brunoPods,
            PolicyTypes = ["Ingress"],
            Ingress =
            [
                new V1NetworkPolicyIngressRule
                {
                    FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, monitoring.Namespace), PodSelector = new V1LabelSelector { MatchLabels = Sorted(monitoring.PrometheusPodLabels) } }],
                    Ports = [Port("TCP", options.Port)],
                },
            ],
        });
        if (remote)
        {
            if (options.RemoteTenants.OtlpPort is { } remoteOtlp)
            {
                yield return Policy(ns, "allow-otlp", labels, new V1NetworkPolicySpec
                {
                    PodSelector = brunoPods,
                    PolicyTypes = ["Egress"],
                    Egress = [new V1NetworkPolicyEgressRule { To = [.. options.RemoteTenants.OtlpCidrs.Order(StringComparer.Ordinal).Select(c => new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = c } })], Ports = [Port("TCP", remoteOtlp)] }],
                });
            }
        }
        else if (monitoring.OtlpPort is { } otlp)
        {
            yield return Policy(ns, "allow-otlp", labels, new V1NetworkPolicySpec
            {
                PodSelector = brunoPods,
                PolicyTypes = ["Egress"],
                Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, monitoring.Namespace) }], Ports = [Port("TCP", otlp)] }],
            });
        }
    }

    private static V1NetworkPolicy Policy(string ns, string name, Dictionary<string, string> labels, V1NetworkPolicySpec spec) => new()
    {
        ApiVersion = "networking.k8s.io/v1",
        Kind = "NetworkPolicy",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = labels },
        Spec = spec,
    };

    private static V1LabelSelector Select(string key, string value) => new() { MatchLabels = new Dictionary<string, string>(StringComparer.Ordinal) { [key] = value } };

    private static V1NetworkPolicyPort Port(string protocol, int port) => new() { Protocol = protocol, Port = port };

    private static Dictionary<string, string> Sorted(Dictionary<string, string> labels) =>
        new(new SortedDictionary<string, string>(labels, StringComparer.Ordinal), StringComparer.Ordinal);
}
