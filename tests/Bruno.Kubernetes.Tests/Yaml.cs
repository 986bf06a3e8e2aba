using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Bruno.Kubernetes.Tests;

/// <summary>Reads YAML documents back into JSON the way the API server does (YAML 1.2 core schema for plain scalars).</summary>
internal static class Yaml
{
    public static List<JsonObject> Documents(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return [.. stream.Documents.Where(d => d.RootNode is YamlMappingNode).Select(d => (JsonObject)ToJson(d.RootNode)!)];
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => new KeyValuePair<string, JsonNode?>(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode seq => new JsonArray([.. seq.Children.Select(ToJson)]),
        YamlScalarNode s when s.Style is YamlDotNet.Core.ScalarStyle.Plain => Plain(s.Value ?? string.Empty),
        YamlScalarNode s => JsonValue.Create(s.Value ?? string.Empty),
        _ => throw new InvalidOperationException("Unexpected YAML node."),
    };

    private static JsonValue? Plain(string v) => v switch
    {
        "null" or "~" or "" => null,
        "true" => JsonValue.Create(true),
        "false" => JsonValue.Create(false),
        _ when long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
        _ when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && v.Any(char.IsDigit) => JsonValue.Create(d),
        _ => JsonValue.Create(v),
    };
}
