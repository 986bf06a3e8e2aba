using System.Text.Json;
using System.Text.Json.Nodes;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// The tools' schemas as clients read them best (the MCP Inspector's portability rules: no type unions): an input
/// schema is closed (<c>additionalProperties: false</c>, what <see cref="McpArguments"/> enforces) and an optional
/// argument has its one type (absent means the default; no <c>null</c>); an output schema spells a nullable value as
/// <c>anyOf</c> of single types.
/// </summary>
internal static class McpSchemas
{
    /// <summary>The input schema as advertised.</summary>
    public static JsonElement Input(JsonElement schema)
    {
        if (JsonNode.Parse(schema.GetRawText()) is not JsonObject root)
        {
            return schema;
        }

        root["additionalProperties"] = false;
        foreach (var (_, property) in root["properties"] as JsonObject ?? [])
        {
            if (property is JsonObject p && p["type"] is JsonArray types)
            {
                var single = types.Select(t => t?.GetValue<string>()).Where(t => t is not "null").ToList();
                if (single.Count == 1)
                {
                    p["type"] = single[0];
                    if (p["default"] is null && p.ContainsKey("default"))
                    {
                        p.Remove("default");
                    }
                }
            }
        }

        return JsonSerializer.SerializeToElement(root);
    }

    /// <summary>The output schema as advertised.</summary>
    public static JsonElement? Output(JsonElement? schema)
    {
        if (schema is not { } s || JsonNode.Parse(s.GetRawText()) is not JsonNode root)
        {
            return schema;
        }

        Unions(root);
        return JsonSerializer.SerializeToElement(root);
    }

    /// <summary>Rewrites every <c>type</c> array under <paramref name="node"/> as <c>anyOf</c> of single types.</summary>
    private static void Unions(JsonNode? node)
    {
        if (node is JsonArray array)
        {
            foreach (var item in array)
            {
                Unions(item);
            }
        }
        else if (node is JsonObject o)
        {
            if (o["type"] is JsonArray types)
            {
                o.Remove("type");
                o["anyOf"] = new JsonArray([.. types.Select(t => (JsonNode)new JsonObject { ["type"] = t?.GetValue<string>() })]);
                if (o["default"] is null && o.ContainsKey("default"))
                {
                    o.Remove("default");
                }
            }

            foreach (var (_, child) in o.ToList())
            {
                Unions(child);
            }
        }
    }
}
