using System.Threading.RateLimiting;
using Bruno.Core;
using Bruno.Core.Mcp;
using Bruno.Server.Tenancy;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Features.Mcp;

/// <summary>
/// Per-tool rate limits of the MCP endpoint, per client (a tenant's user, or an API key, which has its own subject):
/// <c>ask_agent</c> at <see cref="McpOptions.GenerationPerMinute"/>, every other tool at
/// <see cref="McpOptions.SearchPerMinute"/>, each a token bucket (a full minute's worth may be spent at once, then it
/// refills evenly). A refused call is a JSON-RPC error (code <see cref="McpErrors.RateLimitedCode"/>) whose message says when to
/// retry. In one process the limits live in it. On gateways (the source of tokens is shared, decision 0035) each tool's
/// limit is a fixed, clock-aligned minute instead, counted by <see cref="LimitWindows"/> in slices of a budget every
/// gateway shares in the catalog, so that all of them together allow at most the limit. Never throws but the refusal.
/// </summary>
internal sealed class McpRateLimits : IDisposable
{
    private static readonly HashSet<string> Tools = new(StringComparer.Ordinal) { "search_knowledge", "ask_agent", "list_documents", "remember", "recall", "forget" };

    private readonly McpOptions _options;
    private readonly PartitionedRateLimiter<(string Client, string Tool)> _limiter;
    private readonly LimitWindows? _shared;
    private readonly TimeProvider _time;
    private long _lastSweep;

    public McpRateLimits(IOptions<BrunoOptions> options, ILimitTokens tokens, TimeProvider time)
    {
        _options = options.Value.Mcp;
        _time = time;
        _shared = tokens.Shared ? new LimitWindows(tokens) : null;
        _limiter = PartitionedRateLimiter.Create<(string Client, string Tool), (string Client, string Tool)>(
            key => RateLimitPartition.GetTokenBucketLimiter(key, k => Bucket(PerMinute(k.Tool))));
    }

    /// <summary>Takes one call of <paramref name="tool"/> from the caller's bucket; throws the JSON-RPC refusal when it is empty.</summary>
    public void Acquire(Caller? caller, string tool)
    {
        if (caller is null)
        {
            return; // unauthenticated calls never reach a tool: the endpoint requires a credential
        }

        tool = Tools.Contains(tool) ? tool : "other"; // a name a client invents never creates a bucket of its own
        if (_shared is not null)
        {
            AcquireShared(_shared, caller, tool);
            return;
        }

        using var lease = _limiter.AttemptAcquire(($"{caller.Tenant.Value}/{caller.User.Value}", tool));
        if (!lease.IsAcquired)
        {
            Core.Telemetry.BrunoTelemetry.RateLimited(caller.Tenant, "tool");
            var perMinute = PerMinute(tool);
            var retry = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromMinutes(1.0 / perMinute);
            var seconds = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds));
            throw McpErrors.RateLimited($"Rate limit reached: {tool} allows {perMinute} calls a minute per client. Retry after {seconds} s.", TimeSpan.FromSeconds(seconds));
        }
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>A gateway's check: one token of the client's budget for the tool in this minute, shared by every gateway.</summary>
    private void AcquireShared(LimitWindows windows, Caller caller, string tool)
    {
        var now = _time.GetUtcNow();
        var minute = now.UtcTicks / TimeSpan.TicksPerMinute;
        if (Interlocked.Exchange(ref _lastSweep, minute) != minute)
        {
            windows.Sweep(now);
        }

        var end = RequestLimits.End(now, TimeSpan.FromMinutes(1));
        var perMinute = PerMinute(tool);
        if (!windows.TryTake(caller.Tenant, $"tool/{caller.User.Value}/{tool}", end, perMinute, out _))
        {
            Core.Telemetry.BrunoTelemetry.RateLimited(caller.Tenant, "tool");
            var seconds = Math.Max(1, (int)Math.Ceiling((end - now).TotalSeconds));
            throw McpErrors.RateLimited($"Rate limit reached: {tool} allows {perMinute} calls a minute per client. Retry after {seconds} s.", TimeSpan.FromSeconds(seconds));
        }
    }

    private int PerMinute(string tool) => tool == "ask_agent" ? _options.GenerationPerMinute : _options.SearchPerMinute;

    private static TokenBucketRateLimiterOptions Bucket(int perMinute) => perMinute >= 60
        ? new() { TokenLimit = perMinute, TokensPerPeriod = (int)Math.Ceiling(perMinute / 60.0), ReplenishmentPeriod = TimeSpan.FromSeconds(1), QueueLimit = 0 }
        : new() { TokenLimit = perMinute, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromMinutes(1.0 / perMinute), QueueLimit = 0 };
}
