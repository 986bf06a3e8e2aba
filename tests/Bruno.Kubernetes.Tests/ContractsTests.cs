using Bruno.Contracts;
using Bruno.Core;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Kubernetes.Tests;

/// <summary>The renderer depends on Bruno.Contracts only, and Core's mapping to those contracts renders what it should.</summary>
public sealed class ContractsTests
{
    [Fact]
    public void BrunoKubernetes_ReferencesContracts_AndNeitherCoreNorStorage()
    {
        var ours = typeof(ManifestRenderer).Assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Bruno.", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain("Bruno.Core", ours);
        Assert.DoesNotContain("Bruno.Storage", ours);
        Assert.Equal(["Bruno.Contracts"], ours);
        Assert.DoesNotContain(typeof(TenantDeployment).Assembly.GetReferencedAssemblies(), a => a.Name!.StartsWith("Bruno.", StringComparison.Ordinal));
    }

    [Fact]
    public void ACatalogRecord_MapsToTheDeploymentItDescribes_AndRendersTheSame()
    {
        var record = new TenantRecord(TenantId.Parse("initech"), "initech Corp", TenantStatus.Suspended, DateTimeOffset.UnixEpoch)
        {
            Profile = new TenantProfile("premium", "kamaji", ["hipaa", "soc2", "hipaa"]),
        };
        var deployment = record.ToDeployment();
        Assert.Equal(("initech", "initech Corp", "premium", "kamaji", "suspended"), (deployment.Id, deployment.DisplayName, deployment.Plan, deployment.Isolation, deployment.Status));
        Assert.Equal(["soc2", "hipaa"], deployment.Compliance); // each once, in a fixed order

        var plans = new BrunoOptions().PlanResources();
        var renderer = new ManifestRenderer(RenderingTests.ExternalLlm(), plans);
        Assert.Equal(renderer.RenderTenant(RenderingTests.Tenant("initech", "kamaji", "premium", "soc2", "hipaa")), renderer.RenderTenant(deployment));
        Assert.Contains("deleted", Assert.Throws<RenderException>(() => renderer.RenderTenant((record with { Status = TenantStatus.Deleted }).ToDeployment())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfiguredPlan_MapsEveryNumberTheManifestsUse()
    {
        var options = new BrunoOptions();
        var premium = options.Plans["premium"];
        var resources = options.PlanResources()["premium"];
        Assert.Equal((premium.CpuCores, premium.MemoryGiB, premium.VolumeGiB), (resources.CpuCores, resources.MemoryGiB, resources.VolumeGiB));
        var quota = premium.Namespace;
        foreach (var property in typeof(NamespaceQuota).GetProperties())
        {
            Assert.Equal(quota.GetType().GetProperty(property.Name)!.GetValue(quota), property.GetValue(resources.Namespace));
        }

        Assert.Equal(options.Plans.Keys.Order(StringComparer.Ordinal), options.PlanResources().Keys.Order(StringComparer.Ordinal));
    }
}
