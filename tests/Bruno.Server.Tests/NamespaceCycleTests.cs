using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>
/// Issue 19: the server's namespaces form layers — Hosting (service defaults) below Tenancy (the door) below the
/// features — and no two of them use each other, however indirectly. Read from the compiled assembly, so a new use that
/// closes a cycle fails here with the type that made it.
/// </summary>
public sealed class NamespaceCycleTests
{
    private static NamespaceGraph Graph() => NamespaceGraph.Read(typeof(BrunoServer).Assembly.Location, "Bruno.Server");

    [Fact]
    public void TheServersNamespaces_HaveNoCycle()
    {
        var cycles = Graph().Cycles();
        Assert.True(cycles.Count == 0, string.Join("\n", cycles));
    }

    [Fact]
    public void Hosting_KnowsNoFeature_AndNoTenancy()
    {
        var graph = Graph();
        var features = typeof(BrunoServer).Assembly.GetTypes().Select(t => t.Namespace).OfType<string>()
            .Where(n => n.StartsWith("Bruno.Server.Features.", StringComparison.Ordinal)).Select(n => "Features." + n.Split('.')[3]).Distinct().ToList();
        Assert.True(features.Count > 8, $"only {features.Count} features found");
        Assert.DoesNotContain(features.Append("Tenancy"), f => graph.Uses("Hosting", f));
        Assert.True(graph.Uses("Tenancy", "Hosting")); // the graph sees uses at all
    }
}
