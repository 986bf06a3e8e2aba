using System.Net;
using System.Text.Json.Nodes;

namespace Bruno.Kubernetes.Tests;

/// <summary>A pod (or, with an address only, a host outside the cluster) as the evaluator sees it.</summary>
internal sealed record Endpoint(string? Namespace, IReadOnlyDictionary<string, string> Labels, string? Address = null)
{
    public static Endpoint Pod(string ns, params (string Key, string Value)[] labels) => new(ns, labels.ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal));

    public static Endpoint External(string address) => new(null, new Dictionary<string, string>(), address);
}

/// <summary>
/// A small evaluator of Kubernetes NetworkPolicies (networking.k8s.io/v1 semantics): traffic from A to B on a port is
/// allowed when A's egress allows it and B's ingress allows it; a direction is open for a pod that no policy of that
/// type selects. Namespaces carry the <c>kubernetes.io/metadata.name</c> label the API server sets, plus any others given.
/// </summary>
internal sealed class PolicyEvaluator(IEnumerable<JsonObject> policies, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? namespaceLabels = null)
{
    private readonly List<JsonObject> _policies = [.. policies.Where(p => (string?)p["kind"] == "NetworkPolicy")];

    public bool Allows(Endpoint from, Endpoint to, int port, string protocol = "TCP") =>
        (from.Namespace is null || Direction(from, "Egress", "egress", "to", to, port, protocol))
        && (to.Namespace is null || Direction(to, "Ingress", "ingress", "from", from, port, protocol));

    private bool Direction(Endpoint subject, string type, string rulesKey, string peersKey, Endpoint other, int port, string protocol)
    {
        var selecting = _policies.Where(p => (string?)p["metadata"]!["namespace"] == subject.Namespace
            && Types(p).Contains(type)
            && Matches(p["spec"]!["podSelector"], subject.Labels)).ToList();
        if (selecting.Count == 0)
        {
            return true; // not isolated in this direction
        }

        return selecting.Any(p => (p["spec"]![rulesKey] as JsonArray ?? []).OfType<JsonObject>().Any(rule =>
            PortMatches(rule["ports"] as JsonArray, port, protocol) && PeerMatches(rule[peersKey] as JsonArray, (string)p["metadata"]!["namespace"]!, other)));
    }

    private static List<string> Types(JsonObject policy)
    {
        if (policy["spec"]!["policyTypes"] is JsonArray types)
        {
            return [.. types.Select(t => (string)t!)];
        }

        return policy["spec"]!["egress"] is null ? ["Ingress"] : ["Ingress", "Egress"];
    }

    private static bool PortMatches(JsonArray? ports, int port, string protocol) =>
        ports is null || ports.Count == 0 || ports.OfType<JsonObject>().Any(p =>
            ((string?)p["protocol"] ?? "TCP") == protocol && (p["port"] is null || (Number(p["port"]) is { } n && (n == port || (Number(p["endPort"]) is { } end && port >= n && port <= end)))));

    // A port as YAML gives it back (a long), or null for a named port.
    private static long? Number(JsonNode? node) => node is JsonValue v && long.TryParse(v.ToJsonString(), out var n) ? n : null;

    private bool PeerMatches(JsonArray? peers, string policyNamespace, Endpoint other)
    {
        if (peers is null || peers.Count == 0)
        {
            return true; // an empty from/to: everything
        }

        return peers.OfType<JsonObject>().Any(peer =>
        {
            if (peer["ipBlock"] is JsonObject block)
            {
                return other.Address is not null && InCidr(other.Address, (string)block["cidr"]!)
                    && !(block["except"] as JsonArray ?? []).Any(e => InCidr(other.Address, (string)e!));
            }

            if (other.Namespace is null)
            {
                return false; // selectors only ever select pods
            }

            var nsOk = peer["namespaceSelector"] is JsonObject nsSel
                ? Matches(nsSel, NamespaceLabels(other.Namespace))
                : other.Namespace == policyNamespace; // a podSelector alone: the policy's own namespace
            return nsOk && (peer["podSelector"] is not JsonObject podSel || Matches(podSel, other.Labels));
        });
    }

    private Dictionary<string, string> NamespaceLabels(string ns)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal) { ["kubernetes.io/metadata.name"] = ns };
        if (namespaceLabels?.TryGetValue(ns, out var more) == true)
        {
            foreach (var (k, v) in more)
            {
                labels[k] = v;
            }
        }

        return labels;
    }

    private static bool Matches(JsonNode? selector, IReadOnlyDictionary<string, string> labels)
    {
        if (selector is not JsonObject s)
        {
            return true;
        }

        if (s["matchLabels"] is JsonObject ml && ml.Any(p => !labels.TryGetValue(p.Key, out var v) || v != (string?)p.Value))
        {
            return false;
        }

        foreach (var e in (s["matchExpressions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var key = (string)e["key"]!;
            var values = (e["values"] as JsonArray ?? []).Select(v => (string)v!).ToList();
            var has = labels.TryGetValue(key, out var value);
            var ok = (string)e["operator"]! switch
            {
                "In" => has && values.Contains(value!),
                "NotIn" => !has || !values.Contains(value!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool InCidr(string address, string cidr)
    {
        var parts = cidr.Split('/');
        var (ip, net) = (IPAddress.Parse(address).GetAddressBytes(), IPAddress.Parse(parts[0]).GetAddressBytes());
        if (ip.Length != net.Length)
        {
            return false;
        }

        var bits = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        for (var i = 0; i < ip.Length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : (byte)(0xFF << (8 - bits));
            if ((ip[i] & mask) != (net[i] & mask))
            {
                return false;
            }
        }

        return true;
    }
}
