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
        yield return Policy(ns, "default-deny", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector(),
            PolicyTypes = ["Ingress", "Egress"],
        });

        yield return Policy(ns, "allow-same-namespace", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector(),
            PolicyTypes = ["Ingress", "Egress"],
            Ingress = [new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector() }] }],
            Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector() }] }],
        });

        yield return Policy(ns, "allow-dns", labels, new V1NetworkPolicySpec
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

        var llm = options.Llm;
        yield return Policy(ns, "allow-llm-endpoint", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = brunoPods },
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

        foreach (var p in ForMonitoring(ns, labels, options, brunoPods))
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
        yield return Policy(ns, "allow-from-ingress", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = brunoPods },
            PolicyTypes = ["Ingress"],
            Ingress = [new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, options.IngressNamespace) }], Ports = [Port("TCP", options.Port)] }],
        });
        yield return Policy(ns, "allow-catalog", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = brunoPods },
            PolicyTypes = ["Egress"],
            Egress = [new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { NamespaceSelector = Select(NamespaceLabel, options.CatalogNamespace) }], Ports = [Port("TCP", 5432)] }],
        });
        yield return Policy(ns, "allow-to-tenants", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = brunoPods },
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
    }

    /// <summary>Prometheus's scrapes in (from its pods in the monitoring namespace, to Bruno's port), and OTLP out to the collector when one is set.</summary>
    private static IEnumerable<V1NetworkPolicy> ForMonitoring(string ns, Dictionary<string, string> labels, KubernetesOptions options, Dictionary<string, string> brunoPods)
    {
        var monitoring = options.Monitoring;
        yield return Policy(ns, "allow-metrics-scrape", labels, new V1NetworkPolicySpec
        {
            PodSelector = new V1LabelSelector { MatchLabels = brunoPods },
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
                PodSelector = new V1LabelSelector { MatchLabels = brunoPods },
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
