using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Bruno.Core;
using Bruno.Core.Identity;
using Bruno.Core.Tenants;
using Bruno.Kubernetes;
using Bruno.Server.Features.Admin;
using Bruno.Server.Features.Manifests;
using Bruno.Server.Tenancy;
using Bruno.Storage.Identity;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Bruno.Server.Features.WebConsole;

/// <summary>
/// The operators' console (<c>/console/operator/...</c>): a platform operator signed in by an operator's link (no tenant,
/// the platform-admin scope) manages tenants and sees the store nodes through the same <see cref="TenantService"/> calls
/// and audit actions as the admin API (<c>/admin/v1</c>). Operator sessions pass no tenant admission (they have no
/// tenant) and are refused the tenants' pages; tenant sessions are refused the operators' pages.
/// </summary>
internal static partial class ConsoleOperators
{
    /// <summary>The policy of the operators' pages: a console session with no tenant and the platform-admin scope.</summary>
    public const string Policy = "console:operator";

    /// <summary>The policy of the pages any console session may see (the refusal page).</summary>
    public const string SessionPolicy = "console:session";

    /// <summary>Where an operator lands after signing in.</summary>
    public const string Home = "/console/operator/tenants";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void AddConsoleOperators(this IServiceCollection services) =>
        services.AddAuthorizationBuilder()
            .AddPolicy(Policy, p => p.AddAuthenticationSchemes(ConsoleFeature.Scheme).RequireAssertion(c => IsOperator(c.User)))
            .AddPolicy(SessionPolicy, p => p.AddAuthenticationSchemes(ConsoleFeature.Scheme).RequireAuthenticatedUser());

    /// <summary>Whether <paramref name="user"/> is an operator's session: no tenant claim, the platform-admin scope.</summary>
    public static bool IsOperator(ClaimsPrincipal user) =>
        user.Identity is { IsAuthenticated: true } && !user.HasClaim(c => c.Type == TokenService.TenantClaim) && TokenService.ScopesOf(user).Contains(Scopes.PlatformAdmin);

    /// <summary>The operator's name when <paramref name="http"/>'s session is an operator's, else null.</summary>
    public static string? Of(HttpContext http) =>
        http.User.Identity is ClaimsIdentity { AuthenticationType: ConsoleFeature.Scheme } && IsOperator(http.User) ? http.User.FindFirst(JwtRegisteredClaimNames.Sub)?.Value : null;

    /// <summary>The actor a tenant change is recorded with in the catalog, as the admin API records it: the operator's name.</summary>
    public static string Actor(HttpContext http) => http.User.FindFirst(JwtRegisteredClaimNames.Sub)?.Value ?? "operator";

    public static void MapConsoleOperators(this WebApplication app) =>
        app.MapGet("/console/operator/tenants/{tenant}/manifests", DownloadManifests).RequireAuthorization(Policy).ExcludeFromDescription();

    /// <summary>
    /// Signs in the operator a redeemed link names: a session with no tenant, <c>sub</c> the operator and the platform-admin
    /// scope. Operators have no tenant audit log: the sign-in is kept in the catalog (<see cref="ConsoleLinks.RedeemOperatorAsync"/>) and logged.
    /// </summary>
    public static async Task<IResult> SignInAsync(HttpContext http, ConsoleOperatorSignIn signIn)
    {
        var identity = new ClaimsIdentity(
            [new Claim(JwtRegisteredClaimNames.Sub, signIn.Operator.Value), new Claim(TokenService.ScopeClaim, Scopes.PlatformAdmin)],
            ConsoleFeature.Scheme,
            JwtRegisteredClaimNames.Sub,
            "role");
        await http.SignInAsync(ConsoleFeature.Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = false });
        var logger = http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ConsoleOperators));
        LogSignedIn(logger, signIn.Operator.Value, http.TraceIdentifier);
        return Results.Redirect(Home);
    }

    /// <summary>
    /// The tenant's rendered manifests (the files <c>GET /admin/v1/tenants/{tenant}/manifests</c> returns) as one YAML
    /// download; a tenant these settings cannot render goes back to its page, which says why.
    /// </summary>
    private static IResult DownloadManifests(string tenant, TenantService tenants, IOptions<BrunoOptions> bruno, IOptions<KubernetesOptions> kubernetes)
    {
        if (TenantRoutes.Live(tenant, tenants) is not { } id || tenants.Find(id) is not { } record)
        {
            return Results.NotFound();
        }

        TenantManifests manifests;
        try
        {
            manifests = ManifestEndpoints.Render(record, bruno.Value, kubernetes.Value);
        }
        catch (RenderException)
        {
            return Results.Redirect($"/console/operator/tenants/{id.Value}?manifests=failed");
        }

        var yaml = new StringBuilder()
            .Append("# Manifests of tenant ").Append(id.Value).Append(" (isolation ").Append(manifests.Isolation).Append("), rendered by Bruno.\n");
        if (manifests.Secrets.Count > 0)
        {
            yaml.Append("# Create these Secrets first:\n");
            foreach (var line in manifests.Secrets)
            {
                yaml.Append("#   ").Append(line.ReplaceLineEndings(" ")).Append('\n');
            }
        }

        foreach (var file in manifests.Files)
        {
            yaml.Append("---\n# File: ").Append(file.Path).Append('\n').Append(file.Content.TrimEnd('\n')).Append('\n');
        }

        return Results.File(Encoding.UTF8.GetBytes(yaml.ToString()), "application/yaml; charset=utf-8", $"bruno-{id.Value}-manifests.yaml");
    }

    /// <summary>Why <paramref name="record"/>'s manifests cannot be rendered with this server's settings, or null when they can.</summary>
    public static string? RenderProblem(HttpContext http, TenantRecord record)
    {
        try
        {
            _ = ManifestEndpoints.Render(record, http.RequestServices.GetRequiredService<IOptions<BrunoOptions>>().Value, http.RequestServices.GetRequiredService<IOptions<KubernetesOptions>>().Value);
            return null;
        }
        catch (RenderException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// The body the admin API's <c>DELETE /admin/v1/tenants/{tenant}</c> answers for <paramref name="deleted"/> (the
    /// tombstone and the signed receipt), as the API writes it, indented.
    /// </summary>
    public static string DeletedJson(HttpContext http, TenantRecord deleted)
    {
        var receipt = http.RequestServices.GetRequiredService<Core.Audit.ErasureReceipts>().For(deleted.Id).LastOrDefault(r => r.Receipt.Kind == "tenant");
        var api = http.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        return System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(DeletedTenantResponse.Of(deleted, receipt), api))!.ToJsonString(Indented);
    }

    /// <summary>
    /// Suspends, resumes, offloads or deletes <paramref name="id"/> as the admin API's route of the same name does (the
    /// same <see cref="TenantService"/> call, requests in flight cut, the same audit action); the tenant after the change,
    /// or null when it does not apply to the tenant's state.
    /// </summary>
    public static async Task<TenantRecord?> ChangeAsync(HttpContext http, TenantId id, string change)
    {
        var tenants = http.RequestServices.GetRequiredService<TenantService>();
        var watch = http.RequestServices.GetRequiredService<TenantWatch>();
        var actor = Actor(http);
        TenantRecord? changed;
        switch (change)
        {
            case "suspend":
                changed = tenants.Suspend(id, actor);
                if (changed is not null)
                {
                    watch.Cut(id);
                }

                break;
            case "resume":
                changed = tenants.Resume(id, actor);
                break;
            case "offload":
                changed = await tenants.OffloadAsync(id, actor);
                break;
            case "delete":
                watch.Cut(id); // requests in flight stop before the store is erased under them
                http.RequestServices.GetRequiredService<Observability.InsightsLog>().Forget(id);
                return await tenants.DeleteAsync(id, actor); // the API's DELETE records no audit event: the log goes with the tenant
            default:
                throw new ArgumentException("Unknown change.", nameof(change));
        }

        if (changed is not null)
        {
            await Audit(http, id, "tenant." + change, change);
        }

        return changed;
    }

    /// <summary>Records <paramref name="action"/> in the tenant's audit log as the admin API's route does, naming the console's form.</summary>
    public static Task Audit(HttpContext http, TenantId id, string action, string form) =>
        http.RequestServices.GetRequiredService<AuditTrail>().RecordAsync(http, id, action, $"POST /console/operator/tenants/{id.Value} ({form})");

    [LoggerMessage(EventId = 3460, Level = LogLevel.Information, Message = "Operator {Operator} signed in to the web console (request {RequestId})")]
    private static partial void LogSignedIn(ILogger logger, string @operator, string requestId);
}
