using Bruno.Core;
using Bruno.Core.Identity;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Tenancy;

/// <summary>
/// OAuth 2.0 Protected Resource Metadata (RFC 9728), as the MCP authorization spec asks: every 401 says where the
/// metadata is (<c>WWW-Authenticate: Bearer resource_metadata="…"</c>), and the metadata names the resource, the
/// configured identity provider (when there is one) as its authorization server, and the scopes. Clients that follow
/// the spec (the MCP Inspector, hosted clients) find from it where to get a token.
/// </summary>
internal static class ProtectedResource
{
    /// <summary>Where the metadata is served (and, per RFC 9728 §3.1, with the resource's path appended).</summary>
    public const string Path = "/.well-known/oauth-protected-resource";

    /// <summary>Adds the challenge header naming the metadata to a 401 about to be written.</summary>
    public static void Challenge(HttpContext http) =>
        http.Response.Headers.WWWAuthenticate = $"Bearer resource_metadata=\"{Base(http, http.RequestServices.GetRequiredService<IOptions<BrunoOptions>>().Value)}{Path}\"";

    /// <summary>The metadata, anonymous on purpose (the endpoint test allows these two routes).</summary>
    public static void MapProtectedResource(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, Metadata).AllowAnonymous().ExcludeFromDescription();
        app.MapGet(Path + "/mcp", Metadata).AllowAnonymous().ExcludeFromDescription();
    }

    private static readonly string[] BearerMethods = ["header"];

    private static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<Dictionary<string, object?>> Metadata(HttpContext http, IOptions<BrunoOptions> options)
    {
        var auth = options.Value.Auth;
        return TypedResults.Json(new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["resource"] = Base(http, options.Value) + "/mcp",
            ["resource_name"] = "Bruno",
            ["authorization_servers"] = auth.Enabled ? new[] { auth.Authority!.TrimEnd('/') } : null,
            ["bearer_methods_supported"] = BearerMethods,
            ["scopes_supported"] = Scopes.TenantScopes,
        }.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));
    }

    /// <summary>The configured public address (<see cref="BrunoOptions.PublicUrl"/>), else the request's.</summary>
    private static string Base(HttpContext http, BrunoOptions options) =>
        options.PublicUrl is { } configured ? configured.TrimEnd('/') : $"{http.Request.Scheme}://{http.Request.Host}";
}
