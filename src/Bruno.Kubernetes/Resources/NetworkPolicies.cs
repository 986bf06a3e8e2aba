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

    public static IEnumerable<V1NetworkPolicy> ForNamespace(string ns, Dictionary<string, string> labels, KubernetesOptions options, Dictionary<string, string> brunoPods, string? fromNamespace)
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
        foreach (var p in ForMonitoring(ns, labels, options, new V1LabelSelector { MatchLabels = brunoPods }))
        {
            yield return p;
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
    /// PostgreSQL and to the Bruno pods of namespace-level tenants (namespaces Bruno labelled as such).
    /// </summary>
    public static IEnumerable<V1NetworkPolicy> ForManagement(string ns, Dictionary<string, string> labels, KubernetesOptions options, Dictionary<string, string> brunoPods)
    {
        var bruno = new V1LabelSelector { MatchLabels = brunoPods };
        yield return FromIngress(ns, labels, options, bruno);
        yield return Catalog(ns, labels, options, bruno);
        yield return ToTenants(ns, labels, options, bruno);
    }

    /// <summary>
    /// The two-tier management plane's policies, without the one-process <c>allow-same-namespace</c>: the store port
    /// of the store nodes is reached by gateways and by the other store nodes (a tenant's owner sends each write to its
    /// replica; a move still streams through the gateway running it), and nothing else of any namespace reaches it; the
    /// ingress controller reaches the gateways' port, never a store node; Prometheus scrapes both tiers. Out: the
    /// gateways to the store nodes, the catalog, the LLM endpoint, the namespace-level tenants' Bruno pods (as the one
    /// process did), DNS and OTLP; the store nodes to the other store nodes' store port, the catalog, DNS and OTLP.
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
        yield return ToTenants(ns, labels, options, gateway);
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

    private static V1NetworkPolicy ToTenants(string ns, Dictionary<string, string> labels, KubernetesOptions options, V1LabelSelector from) => Policy(ns, "allow-to-tenants", labels, new V1NetworkPolicySpec
    {
        PodSelector = from,
        PolicyTypes = ["Egress"],
        Egress =
        [
            new V1NetworkPolicyEgressRule
            {
                To =
                [
                    new V1NetworkPolicyPeer
                    {
                        NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(StringComparer.Ordinal) { ["app.kubernetes.io/part-of"] = "bruno", ["bruno.dev/isolation"] = "namespace" } },
                        PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(StringComparer.Ordinal) { ["app.kubernetes.io/component"] = "tenant", ["app.kubernetes.io/name"] = "agent-bruno" } },
                    },
                ],
                Ports = [Port("TCP", options.Port)],
            },
        ],
    });

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

    /// <summary>Prometheus's scrapes in (from its pods in the monitoring namespace, to Bruno's port), and OTLP out to the collector when one is set.</summary>
    private static IEnumerable<V1NetworkPolicy> ForMonitoring(string ns, Dictionary<string, string> labels, KubernetesOptions options, V1LabelSelector brunoPods)
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
        if (monitoring.OtlpPort is { } otlp)
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
