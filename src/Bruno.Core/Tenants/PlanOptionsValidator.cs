using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tenants;

/// <summary>
/// Checks the plans (section <c>Bruno:Plans</c>): their names, that <c>default</c> exists, and each plan's rates, quotas
/// and namespace limits. As an <see cref="IValidateOptions{TOptions}"/> the options name is the plan's name.
/// </summary>
public sealed partial class PlanOptionsValidator : IValidateOptions<PlanOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, PlanOptions options) => OptionsValidation.Result(Errors(options, $"Bruno:Plans:{name}"));

    /// <summary>One message per invalid plan name or value, each naming its key (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(IReadOnlyDictionary<string, PlanOptions> plans)
    {
        ArgumentNullException.ThrowIfNull(plans);
        foreach (var (name, plan) in plans)
        {
            if (!PlanName().IsMatch(name))
            {
                yield return $"Bruno:Plans:{name}: a plan name is a lower-case letter then up to 31 of a-z, 0-9 and '-'.";
            }

            foreach (var error in Errors(plan, $"Bruno:Plans:{name}"))
            {
                yield return error;
            }
        }

        if (!plans.ContainsKey("default"))
        {
            yield return "Bruno:Plans must keep a plan named default (new tenants get it).";
        }
    }

    /// <summary>One message per invalid value of <paramref name="plan"/>, each starting with <paramref name="prefix"/> (its key).</summary>
    public static IEnumerable<string> Errors(PlanOptions plan, string prefix)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (plan.RequestsPerMinute < 1 || plan.RequestsPerHour < plan.RequestsPerMinute || plan.RequestsPerDay < plan.RequestsPerHour)
        {
            yield return $"{prefix}: RequestsPerMinute must be at least 1, RequestsPerHour at least that, RequestsPerDay at least that.";
        }

        if (plan.Concurrent < 1)
        {
            yield return $"{prefix}:Concurrent must be at least 1.";
        }

        if (plan.Replication.ToLowerInvariant() is not ("sync" or "async") || plan.ReplicationLagWrites is < 1 or > 100_000)
        {
            yield return $"{prefix}: Replication must be sync or async, and ReplicationLagWrites 1-100000.";
        }

        if (plan.MaxDocuments < 1 || plan.MaxStorageBytes < 1)
        {
            yield return $"{prefix}: MaxDocuments and MaxStorageBytes must be at least 1.";
        }

        if (plan.LlmTokensPerHour < 1 || plan.LlmTokensPerMonth < plan.LlmTokensPerHour || plan.MaxUsers < 1)
        {
            yield return $"{prefix}: LlmTokensPerHour and MaxUsers must be at least 1, LlmTokensPerMonth at least LlmTokensPerHour.";
        }

        if (plan.CpuCores <= 0 || plan.MemoryGiB <= 0 || plan.VolumeGiB < 1)
        {
            yield return $"{prefix}: CpuCores and MemoryGiB must be positive, VolumeGiB at least 1.";
        }

        if (plan.ClientRequestsPerMinute < 1 || plan.ClientRequestsPerMinute > plan.RequestsPerMinute)
        {
            yield return $"{prefix}:ClientRequestsPerMinute must be between 1 and RequestsPerMinute.";
        }

        var own = plan.OwnDataStore;
        if (own is null || (own.Enabled && (own.Instances is < 1 or > 5 || own.StorageGiB < 1 || own.CpuCores <= 0 || own.MemoryGiB <= 0)))
        {
            yield return $"{prefix}:OwnDataStore: Instances must be 1-5, StorageGiB at least 1, CpuCores and MemoryGiB positive.";
        }

        foreach (var error in Errors(plan.Namespace, $"{prefix}:Namespace"))
        {
            yield return error;
        }
    }

    /// <summary>One message per broken rule of a plan's namespace quota, each starting with <paramref name="prefix"/> (its key).</summary>
    public static IEnumerable<string> Errors(NamespaceQuotaOptions quota, string prefix)
    {
        ArgumentNullException.ThrowIfNull(quota);
        if (new[] { quota.RequestsCpu, quota.RequestsMemoryGiB, quota.LimitsCpu, quota.LimitsMemoryGiB, quota.ContainerMaxCpu, quota.ContainerMaxMemoryGiB, quota.ContainerMinCpu, quota.DefaultCpu, quota.DefaultRequestCpu }.Any(v => v <= 0 || v > 100_000)
            || new[] { quota.StorageGiB, quota.PersistentVolumeClaims, quota.Pods, quota.Services, quota.ConfigMaps, quota.Secrets, quota.EphemeralStorageGiB, quota.ContainerMinMemoryMiB, quota.DefaultMemoryMiB, quota.DefaultRequestMemoryMiB }.Any(v => v < 1)
            || quota.Jobs < 0 || quota.CronJobs < 0)
        {
            yield return $"{prefix}: every quota must be positive (Jobs and CronJobs may be 0).";
        }

        if (quota.LimitsCpu < quota.RequestsCpu || quota.LimitsMemoryGiB < quota.RequestsMemoryGiB
            || quota.ContainerMinCpu > quota.DefaultRequestCpu || quota.DefaultRequestCpu > quota.DefaultCpu || quota.DefaultCpu > quota.ContainerMaxCpu
            || quota.ContainerMinMemoryMiB > quota.DefaultRequestMemoryMiB || quota.DefaultRequestMemoryMiB > quota.DefaultMemoryMiB || quota.DefaultMemoryMiB > quota.ContainerMaxMemoryGiB * 1024)
        {
            yield return $"{prefix}: limits must be at least the requests, and min <= default request <= default <= max for a container.";
        }
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$")]
    private static partial Regex PlanName();
}
