using Bruno.Core.Telemetry;
using Bruno.Storage.Identity;
using Microsoft.AspNetCore.Http.Features;

namespace Bruno.Server.Hosting;

/// <summary>What the request log and insights need to know about one request, filled in as it runs.</summary>
internal sealed class RequestRecord
{
    public TenantId? Tenant { get; set; }

    public UserId? User { get; set; }

    /// <summary>Which limit or quota refused it (<c>rate_limit:tenant</c>, <c>quota:documents</c>...), if one did.</summary>
    public string? Refusal { get; set; }

    /// <summary>
    /// Names the request's tenant and user once a verified credential did (the tenant filter and the MCP caller call
    /// it): <c>tenant_id</c> goes on the HTTP metrics and the server span, and the request log line and the tenant's
    /// insights get both. A second call for the same request changes nothing.
    /// </summary>
    public static void Identify(HttpContext http, TenantId tenant, UserId user)
    {
        if (http.Features.Get<RequestRecord>() is not { } record || record.Tenant is not null)
        {
            return;
        }

        (record.Tenant, record.User) = (tenant, user);
        http.Features.Get<IHttpMetricsTagsFeature>()?.Tags.Add(new(BrunoTelemetry.TenantTag, tenant.Value));
        http.Features.Get<IHttpActivityFeature>()?.Activity.SetTag(BrunoTelemetry.TenantTag, tenant.Value);
    }

    /// <summary>Counts a rate-limit refusal at <paramref name="level"/> for the request's tenant and notes it in its record.</summary>
    public static void Refused(HttpContext http, string level)
    {
        if (http.Features.Get<RequestRecord>() is { Tenant: { } tenant } record)
        {
            BrunoTelemetry.RateLimited(tenant, level);
            record.Refusal = "rate_limit:" + level;
        }
    }

    /// <summary>Counts a write refused by <paramref name="quota"/> for the request's tenant and notes it in its record.</summary>
    public static void QuotaRefused(HttpContext http, string quota)
    {
        if (http.Features.Get<RequestRecord>() is { Tenant: { } tenant } record)
        {
            BrunoTelemetry.QuotaRefused(tenant, quota);
            record.Refusal = "quota:" + quota;
        }
    }
}
