using System.Globalization;
using Bruno.Core.Tenants;

namespace Bruno.Core.Metering;

/// <summary>
/// Prices of the cost model. The defaults reproduce the design's table for a tenant on the default plan at the Kamaji
/// level: control plane $5, observability $2 and networking $1 as the level's base ($8), its worker share of 2 cores and
/// 4 GiB ($20 a month at $0.01 per core-hour and $0.00185 per GiB-hour over 730 hours), and its 50 GiB volume ($5 at
/// $0.10 per GiB-month): $33 a month before LLM costs. Section <c>Bruno:Cost</c>, checked by <see cref="CostOptionsValidator"/>.
/// </summary>
public sealed class CostOptions
{
    /// <summary>Hours in a billing month (the cloud convention: 730).</summary>
    public const double HoursPerMonth = 730;

    /// <summary>Dollars per reserved core-hour.</summary>
    public double CpuHour { get; set; } = 0.01;

    /// <summary>Dollars per reserved GiB-hour of memory.</summary>
    public double MemoryGibHour { get; set; } = 0.00185;

    /// <summary>Dollars per GiB-month of storage (the larger of the volume and what is stored).</summary>
    public double StorageGibMonth { get; set; } = 0.10;

    /// <summary>Dollars per 1,000 prompt tokens (0: a self-hosted model, as in the design).</summary>
    public double LlmPromptPer1k { get; set; }

    /// <summary>Dollars per 1,000 completion tokens.</summary>
    public double LlmCompletionPer1k { get; set; }

    /// <summary>Dollars per 1,000 embedding tokens (0: the embedded model).</summary>
    public double EmbeddingPer1k { get; set; }

    /// <summary>Monthly base of each isolation level: what the level itself costs beyond the tenant's compute and storage.</summary>
    public Dictionary<string, double> IsolationMonthly { get; set; } = new(StringComparer.Ordinal)
    {
        ["namespace"] = 3,           // observability $2 + networking $1, pro-rated
        ["kamaji"] = 8,              // + its own control plane (250m CPU, 512 MiB): $5
        ["dedicated-cluster"] = 120, // a managed control plane and its own system nodes (an assumption, configurable)
    };

    /// <summary>
    /// The shared platform overhead (management cluster, shared inference) per tenant, by how many tenants share it:
    /// from each entry's tenant count on, its dollars per tenant a month. The defaults give the design's tiers.
    /// </summary>
    public Dictionary<string, double> SharedOverheadByTenants { get; set; } = new(StringComparer.Ordinal)
    {
        ["1"] = 17,
        ["11"] = 7,
        ["51"] = 2,
        ["101"] = 0,
    };

    /// <summary>The shared overhead per tenant when <paramref name="tenants"/> tenants share the platform.</summary>
    public double SharedOverhead(int tenants) => SharedOverheadByTenants
        .Select(p => (From: int.Parse(p.Key, CultureInfo.InvariantCulture), Dollars: p.Value))
        .Where(p => p.From <= Math.Max(1, tenants)).OrderByDescending(p => p.From).Select(p => p.Dollars).FirstOrDefault();
}

/// <summary>What a tenant used in a period, by kind.</summary>
/// <param name="Requests">Requests admitted.</param>
/// <param name="LlmPromptTokens">Prompt tokens sent to the language model.</param>
/// <param name="LlmCompletionTokens">Completion tokens it wrote.</param>
/// <param name="EmbeddingTokens">Tokens embedded (documents and questions).</param>
/// <param name="StorageByteHours">Sum of the hourly samples of the tenant's bytes on disk.</param>
/// <param name="CpuMilliseconds">CPU time of the tenant's requests.</param>
public sealed record UsageTotals(long Requests, long LlmPromptTokens, long LlmCompletionTokens, long EmbeddingTokens, long StorageByteHours, long CpuMilliseconds)
{
    /// <summary>Nothing used.</summary>
    public static readonly UsageTotals Zero = new(0, 0, 0, 0, 0, 0);

    /// <summary>The totals from quantities by kind (missing kinds are zero).</summary>
    public static UsageTotals From(IReadOnlyDictionary<string, long> byKind)
    {
        ArgumentNullException.ThrowIfNull(byKind);
        long Get(string k) => byKind.TryGetValue(k, out var v) ? v : 0;
        return new(Get(UsageKinds.Requests), Get(UsageKinds.LlmPromptTokens), Get(UsageKinds.LlmCompletionTokens), Get(UsageKinds.EmbeddingTokens), Get(UsageKinds.StorageByteHours), Get(UsageKinds.CpuMilliseconds));
    }
}

/// <summary>A tenant's cost for one month, by line, in dollars.</summary>
/// <param name="Base">The isolation level's share for the hours the tenant existed.</param>
/// <param name="Compute">Its reserved cores and memory for those hours.</param>
/// <param name="Storage">The larger of its volume and what it stored, for those hours.</param>
/// <param name="Llm">Language-model tokens.</param>
/// <param name="Embeddings">Embedding tokens.</param>
/// <param name="Total">The sum.</param>
/// <param name="ProjectedMonth">
/// What the whole month will cost: the reserved lines for the whole month (from the tenant's creation), plus the usage
/// lines extrapolated from the part billed so far once it covers a day (as they are before that).
/// </param>
public sealed record CostBreakdown(double Base, double Compute, double Storage, double Llm, double Embeddings, double Total, double ProjectedMonth);

/// <summary>Prices usage with <see cref="CostOptions"/>. Pure.</summary>
public static class CostModel
{
    /// <summary>
    /// The cost of a tenant on <paramref name="plan"/> at <paramref name="isolation"/> that existed for
    /// <paramref name="hoursActive"/> of a month of <paramref name="hoursInMonth"/> hours and used <paramref name="usage"/>.
    /// Reserved lines (base, compute, volume) are charged for the hours the tenant existed, in shares of the 730-hour
    /// billing month; usage lines as used.
    /// </summary>
    public static CostBreakdown Price(CostOptions prices, PlanOptions plan, string isolation, UsageTotals usage, double hoursActive, double hoursInMonth)
    {
        ArgumentNullException.ThrowIfNull(prices);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(usage);
        var share = hoursInMonth <= 0 ? 0 : Math.Clamp(hoursActive / hoursInMonth, 0, 1);
        var reservedHours = share * CostOptions.HoursPerMonth;
        var levelBase = prices.IsolationMonthly.GetValueOrDefault(isolation) * share;
        var compute = reservedHours * ((plan.CpuCores * prices.CpuHour) + (plan.MemoryGiB * prices.MemoryGibHour));
        var storedGibMonths = usage.StorageByteHours / (double)(1L << 30) / Math.Max(hoursInMonth, 1);
        var storage = Math.Max(plan.VolumeGiB * share, storedGibMonths) * prices.StorageGibMonth;
        var llm = (usage.LlmPromptTokens * prices.LlmPromptPer1k / 1000) + (usage.LlmCompletionTokens * prices.LlmCompletionPer1k / 1000);
        var embeddings = usage.EmbeddingTokens * prices.EmbeddingPer1k / 1000;
        var total = levelBase + compute + storage + llm + embeddings;
        var reservedMonth = share <= 0 ? 0 : (levelBase + compute) / share + Math.Max(plan.VolumeGiB, storedGibMonths / share) * prices.StorageGibMonth;
        var projected = reservedMonth + ((llm + embeddings) * (hoursActive >= 24 && share > 0 ? 1 / share : 1));
        return new CostBreakdown(Round(levelBase), Round(compute), Round(storage), Round(llm), Round(embeddings), Round(total), Round(projected));
    }

    /// <summary>One row of the tier table: tenants sharing the platform, cost per tenant, and the total a month.</summary>
    public sealed record Tier(int Tenants, double PerTenant, double Total);

    /// <summary>
    /// The economics of scale: for each count of tenants (all on <paramref name="plan"/> at <paramref name="isolation"/>,
    /// a whole month, before LLM costs), the cost per tenant including its share of the platform overhead, and the total.
    /// </summary>
    public static IReadOnlyList<Tier> Tiers(CostOptions prices, PlanOptions plan, string isolation, IEnumerable<int> tenantCounts)
    {
        ArgumentNullException.ThrowIfNull(prices);
        ArgumentNullException.ThrowIfNull(tenantCounts);
        var month = Price(prices, plan, isolation, UsageTotals.Zero, CostOptions.HoursPerMonth, CostOptions.HoursPerMonth).Total;
        return [.. tenantCounts.Select(n => new Tier(n, Round(month + prices.SharedOverhead(n)), Round(n * (month + prices.SharedOverhead(n)))))];
    }

    private static double Round(double dollars) => Math.Round(dollars, 4, MidpointRounding.AwayFromZero);
}
