using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Bruno.Kubernetes.Tests;

/// <summary>
/// The real schemas kept in schemas/ (copied from ../shared/schemas): Kubernetes kinds from the standalone-strict JSON
/// schemas (v1.33 and v1.35); every custom resource (Flux, Kamaji, External Secrets, CloudNativePG, Cluster API, the
/// Kamaji control-plane provider, prometheus-operator) from its CRD, found by group AND kind, in the served version the
/// document names, made strict here (unknown fields rejected, as Flux's server-side apply does), with
/// x-kubernetes-int-or-string, nullable and x-kubernetes-preserve-unknown-fields (open) translated. CEL rules, defaults
/// and conversion webhooks are not evaluated. The standalone-strict set has no
/// StatefulSet schema: a StatefulSet is checked through the schemas it is made of (<see cref="StatefulSetErrors"/>).
/// </summary>
internal static class Schemas
{
    public static readonly string[] KubernetesVersions = ["v1.33.0", "v1.35.0"];

    private const string Draft7 = "http://json-schema.org/draft-07/schema#";

    private static readonly ConcurrentDictionary<string, JsonSchema> Cache = new(StringComparer.Ordinal);

    /// <summary>The schemas kept with the tests (schemas/README.md says where they come from).</summary>
    public static string Root => Path.Combine(RenderingTests.SourceFolder(), "schemas");

    /// <summary>The errors of <paramref name="document"/> against its schema; kinds without one are reported as such.</summary>
    public static IReadOnlyList<string> Errors(JsonObject document, string kubernetesVersion)
    {
        var apiVersion = (string?)document["apiVersion"];
        var kind = (string?)document["kind"];
        if ((apiVersion, kind) is ("apps/v1", "StatefulSet"))
        {
            return StatefulSetErrors(document, kubernetesVersion);
        }

        var schema = CustomResource(apiVersion, kind, out var refused) ?? Kubernetes(apiVersion, kind, kubernetesVersion);
        if (refused is not null)
        {
            return [refused];
        }

        if (schema is null)
        {
            return [$"no schema for {apiVersion} {kind}"];
        }

        var result = schema.Evaluate(JsonDocument.Parse(document.ToJsonString()).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        return result.IsValid ? [] : [.. (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))];
    }

    /// <summary>The fields a StatefulSet's spec shares with a Deployment's, with the same types (apps/v1).</summary>
    private static readonly string[] SharedWithDeployment = ["replicas", "selector", "template", "minReadySeconds", "revisionHistoryLimit"];

    /// <summary>Every field of a StatefulSet's spec (apps/v1, Kubernetes v1.33-v1.35).</summary>
    private static readonly string[] StatefulSetFields =
        [.. SharedWithDeployment, "serviceName", "volumeClaimTemplates", "podManagementPolicy", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "ordinals"];

    /// <summary>
    /// A StatefulSet's errors without a schema of its own: its metadata, replicas, selector and pod template as a
    /// Deployment's (the same types), each volume claim template as a PersistentVolumeClaim, and the fields only a
    /// StatefulSet has by hand: no unknown field, <c>serviceName</c> set, the enumerations and the retention policy.
    /// </summary>
    public static IReadOnlyList<string> StatefulSetErrors(JsonObject statefulSet, string kubernetesVersion)
    {
        var errors = new List<string>();
        var spec = statefulSet["spec"] as JsonObject ?? [];
        errors.AddRange(statefulSet.Select(p => p.Key).Except(["apiVersion", "kind", "metadata", "spec", "status"], StringComparer.Ordinal).Select(k => $"/{k}: not a StatefulSet field"));
        errors.AddRange(spec.Select(p => p.Key).Except(StatefulSetFields, StringComparer.Ordinal).Select(k => $"/spec/{k}: not a StatefulSet field"));

        var asDeployment = new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = statefulSet["metadata"]?.DeepClone(),
            ["spec"] = new JsonObject([.. spec.Where(p => SharedWithDeployment.Contains(p.Key)).Select(p => new KeyValuePair<string, JsonNode?>(p.Key, p.Value?.DeepClone()))]),
        };
        errors.AddRange(Errors(asDeployment, kubernetesVersion).Select(e => $"(as a Deployment) {e}"));

        var claims = spec["volumeClaimTemplates"] as JsonArray ?? [];
        for (var i = 0; i < claims.Count; i++)
        {
            var claim = claims[i]!.DeepClone().AsObject();
            claim["apiVersion"] = "v1";
            claim["kind"] = "PersistentVolumeClaim";
            errors.AddRange(Errors(claim, kubernetesVersion).Select(e => $"(volumeClaimTemplates/{i} as a PersistentVolumeClaim) {e}"));
        }

        if (spec["serviceName"] is not JsonValue name || name.GetValueKind() != JsonValueKind.String || string.IsNullOrEmpty((string?)name))
        {
            errors.Add("/spec/serviceName: a string is required");
        }

        Enumeration(errors, spec["podManagementPolicy"], "/spec/podManagementPolicy", "OrderedReady", "Parallel");
        if (spec["updateStrategy"] is JsonObject update)
        {
            errors.AddRange(update.Select(p => p.Key).Except(["type", "rollingUpdate"], StringComparer.Ordinal).Select(k => $"/spec/updateStrategy/{k}: not a field"));
            Enumeration(errors, update["type"], "/spec/updateStrategy/type", "RollingUpdate", "OnDelete");
        }

        if (spec["persistentVolumeClaimRetentionPolicy"] is JsonObject retention)
        {
            errors.AddRange(retention.Select(p => p.Key).Except(["whenDeleted", "whenScaled"], StringComparer.Ordinal).Select(k => $"/spec/persistentVolumeClaimRetentionPolicy/{k}: not a field"));
            Enumeration(errors, retention["whenDeleted"], "/spec/persistentVolumeClaimRetentionPolicy/whenDeleted", "Retain", "Delete");
            Enumeration(errors, retention["whenScaled"], "/spec/persistentVolumeClaimRetentionPolicy/whenScaled", "Retain", "Delete");
        }

        return errors;
    }

    // An optional string field that must be one of the values given.
    private static void Enumeration(List<string> errors, JsonNode? value, string path, params string[] allowed)
    {
        if (value is not null && (value.GetValueKind() != JsonValueKind.String || !allowed.Contains((string?)value)))
        {
            errors.Add($"{path}: must be one of {string.Join(", ", allowed)}");
        }
    }

    private static JsonSchema? Kubernetes(string? apiVersion, string? kind, string version)
    {
        if (apiVersion is null || kind is null)
        {
            return null;
        }

        var group = apiVersion.Contains('/', StringComparison.Ordinal) ? apiVersion.Split('/') : ["", apiVersion];
        var file = $"{kind.ToLowerInvariant()}{(group[0].Length > 0 ? "-" + group[0].Split('.')[0] : string.Empty)}-{group[1]}.json";
        var path = Path.Combine(Root, "kubernetes", $"{version}-standalone-strict", file);
        if (!File.Exists(path))
        {
            return null;
        }

        return Cache.GetOrAdd(path, p =>
        {
            var node = JsonNode.Parse(File.ReadAllText(p))!.AsObject();
            node["$schema"] = Draft7; // the files name a draft-less URI the library does not know
            Annotations(node);
            return JsonSchema.FromText(node.ToJsonString());
        });
    }

    /// <summary>
    /// Every CRD kept under <see cref="Root"/> (every folder but <c>kubernetes/</c>), by group and kind: two kinds are
    /// called Cluster (postgresql.cnpg.io and cluster.x-k8s.io), so the kind alone does not name a schema.
    /// </summary>
    private static readonly Lazy<IReadOnlyDictionary<(string Group, string Kind), JsonObject>> Definitions = new(() =>
    {
        var byKind = new Dictionary<(string, string), JsonObject>();
        foreach (var file in Directory.EnumerateFiles(Root, "*.yaml", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            foreach (var document in Yaml.Documents(File.ReadAllText(file)).Where(d => (string?)d["kind"] == "CustomResourceDefinition"))
            {
                var spec = document["spec"]!.AsObject();
                var key = ((string)spec["group"]!, (string)spec["names"]!["kind"]!);
                if (!byKind.TryAdd(key, document))
                {
                    throw new InvalidOperationException($"two CRDs for {key.Item2} in {key.Item1} under {Root}");
                }
            }
        }

        return byKind;
    });

    /// <summary>The custom resource kinds the kept CRDs define, as (group, kind).</summary>
    public static IEnumerable<(string Group, string Kind)> CustomResourceKinds => Definitions.Value.Keys;

    /// <summary>
    /// The strict schema of a custom resource: the CRD of the document's group and kind, its <c>spec.versions[]</c> entry
    /// named like the document's version and served (a version the CRD lists but does not serve is refused by the API
    /// server, and so has no schema here). Null when no CRD is kept for the group and kind, or when the CRD does not serve
    /// the version: then <paramref name="refused"/> says so, naming the served versions.
    /// </summary>
    private static JsonSchema? CustomResource(string? apiVersion, string? kind, out string? refused)
    {
        refused = null;
        if (apiVersion is null || kind is null || !apiVersion.Contains('/', StringComparison.Ordinal))
        {
            return null;
        }

        var (group, version) = (apiVersion[..apiVersion.IndexOf('/', StringComparison.Ordinal)], apiVersion[(apiVersion.IndexOf('/', StringComparison.Ordinal) + 1)..]);
        if (!Definitions.Value.TryGetValue((group, kind), out var crd))
        {
            return null;
        }

        var versions = crd["spec"]!["versions"]!.AsArray().OfType<JsonObject>().ToList();
        var served = versions.Where(v => v["served"] is JsonValue s && s.GetValue<bool>()).Select(v => (string)v["name"]!).ToList();
        var entry = versions.FirstOrDefault(v => (string?)v["name"] == version && served.Contains(version));
        if (entry is null)
        {
            refused = $"{apiVersion} {kind}: the CRD does not serve {version} (served: {string.Join(", ", served)})";
            return null;
        }

        return Cache.GetOrAdd($"crd:{group}/{version}/{kind}", _ =>
        {
            var schema = entry["schema"]!["openAPIV3Schema"]!.DeepClone().AsObject();
            Strict(schema);
            schema["$schema"] = Draft7;
            Annotations(schema);
            return JsonSchema.FromText(schema.ToJsonString());
        });
    }

    // x-kubernetes-* keys are annotations for the API server; the validator refuses keywords it does not know.
    private static void Annotations(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).Where(k => k.StartsWith("x-kubernetes-", StringComparison.Ordinal)).ToList())
                {
                    o.Remove(key);
                }

                foreach (var (key, child) in o)
                {
                    Annotations(child);
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    Annotations(item);
                }

                break;
        }
    }

    // OpenAPI v3 (structural) to JSON Schema draft 7, with additionalProperties:false wherever properties are declared.
    private static void Strict(JsonObject schema)
    {
        if (schema["x-kubernetes-int-or-string"] is JsonValue v && v.GetValue<bool>())
        {
            schema.Remove("type");
            schema["anyOf"] = new JsonArray(new JsonObject { ["type"] = "integer" }, new JsonObject { ["type"] = "string" });
        }

        if (schema["nullable"] is JsonValue n && n.GetValue<bool>() && schema["type"] is JsonValue t)
        {
            schema["type"] = new JsonArray((string)t!, "null");
        }

        var preserve = schema["x-kubernetes-preserve-unknown-fields"] is JsonValue p && p.GetValue<bool>();
        foreach (var key in schema.Select(k => k.Key).Where(k => k.StartsWith("x-kubernetes-", StringComparison.Ordinal) || k == "nullable").ToList())
        {
            schema.Remove(key);
        }

        if (schema["properties"] is JsonObject properties)
        {
            foreach (var (_, child) in properties)
            {
                if (child is JsonObject o)
                {
                    Strict(o);
                }
            }

            if (!preserve && schema["additionalProperties"] is null)
            {
                schema["additionalProperties"] = false;
            }
        }

        foreach (var key in new[] { "items", "additionalProperties" })
        {
            if (schema[key] is JsonObject o)
            {
                Strict(o);
            }
        }

        foreach (var key in new[] { "allOf", "anyOf", "oneOf" })
        {
            if (schema[key] is JsonArray list)
            {
                foreach (var item in list.OfType<JsonObject>())
                {
                    Strict(item);
                }
            }
        }
    }
}
