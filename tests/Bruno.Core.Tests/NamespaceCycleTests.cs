using Bruno.Core.Tenants;
using Bruno.Testing;

namespace Bruno.Core.Tests;

/// <summary>
/// Issue 19: Core's top-level namespaces use each other in one direction only (the tenant lifecycle below memory,
/// audit, metering and retention; erasures witnessed through a record of delegates, not a reference to the audit
/// trail). Read from the compiled assembly, so a new use that closes a cycle fails here with the type that made it.
/// </summary>
public sealed class NamespaceCycleTests
{
    [Fact]
    public void CoresNamespaces_HaveNoCycle()
    {
        var graph = NamespaceGraph.Read(typeof(TenantService).Assembly.Location, "Bruno.Core");
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, string.Join("\n", cycles));
        Assert.True(graph.Uses("Audit", "Tenants")); // the graph sees uses at all
        Assert.False(graph.Uses("Tenants", "Audit"));
    }
}
