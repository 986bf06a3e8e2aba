using System.Text.Json;
using Bruno.Core;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Bruno.Server.Hosting;

/// <summary>
/// The service defaults, knowing no feature and no tenant: JSON, problem details, the exception handler, the body size
/// limit, OpenAPI, CORS, health and readiness.
/// </summary>
internal static class Hosting
{
    public static void AddBrunoHosting(this WebApplicationBuilder builder, BrunoOptions options)
    {
        var services = builder.Services;
        // Request-level framework logs are noise at Information; Bruno's own events and the host's lifetime stay.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // Nothing in Bruno protects data with ASP.NET Core data protection (no cookies, no antiforgery): keep its keys in
        // memory rather than writing unencrypted key files to the home folder.
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = null;
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true); // binding failures reach the problem writer
        services.AddProblemDetails(o => o.CustomizeProblemDetails = c =>
        {
            c.ProblemDetails.Instance = null;
            c.ProblemDetails.Extensions["trace_id"] = System.Diagnostics.Activity.Current?.TraceId.ToString() ?? c.HttpContext.TraceIdentifier;
            if (c.ProblemDetails.Status == StatusCodes.Status429TooManyRequests)
            {
                c.ProblemDetails.Type ??= "https://www.rfc-editor.org/rfc/rfc6585#section-4"; // no default type for 429
            }
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();

        // JSON bodies carry documents: room for the largest document, escaped, and nothing more.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = (2L * options.MaxDocumentBytes) + 65_536);

        services.AddHttpContextAccessor();
        services.TryAddSingleton(TimeProvider.System);

        if (options.CorsOrigins.Length > 0)
        {
            // Only the listed origins, only the API's methods and headers; credentials are bearer headers, not cookies.
            services.AddCors(c => c.AddDefaultPolicy(p => p.WithOrigins(options.CorsOrigins).WithMethods("GET", "POST", "PUT", "DELETE").WithHeaders("Authorization", "Content-Type", "Accept", "X-Api-Key")));
        }
        services.AddHttpClient("readiness", c => c.Timeout = TimeSpan.FromSeconds(2));
    }

    public static void UseBrunoHosting(this WebApplication app)
    {
        // what start-up allocated and dropped (configuration, DI, route building, the model's bytes) goes back to the
        // operating system once, before the first request: an idle process holds only what it uses (docs/benchmarks.md)
        app.Lifetime.ApplicationStarted.Register(ProcessMemory.Settle);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        if (app.Services.GetRequiredService<IOptions<BrunoOptions>>().Value.CorsOrigins.Length > 0)
        {
            app.UseCors();
        }

    }

    public static void MapHealthEndpoints(this WebApplication app)
    {
        app.MapGet("/healthz", () => TypedResults.Ok(new Liveness("alive"))).AllowAnonymous();
        app.MapGet("/readyz", ReadyAsync).AllowAnonymous().Produces<Readiness>().Produces<Readiness>(StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>How far back readiness looks at the chat model's real calls.</summary>
    private static readonly TimeSpan ChatWindow = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Ready when the store answers; "degraded" (still 200) when the chat model's endpoint does not answer, or answers
    /// but its last real call failed (an endpoint can accept connections and answer every call with 503), since
    /// retrieval and extractive answers still work and generation answers 503 meanwhile. <c>chat_calls</c> says what
    /// the model's calls of the last five minutes came to.
    /// </summary>
    private static async Task<IResult> ReadyAsync(Bruno.Storage.IStorageEngine engine, IOptions<BrunoOptions> options, IHttpClientFactory http, Core.Agents.ChatHealth health, IServiceProvider sp, CancellationToken ct)
    {
        var chat = options.Value.Chat;
        var chatState = "not configured";
        ChatCalls? calls = null;
        if (chat.Enabled)
        {
            try
            {
                using var response = await http.CreateClient("readiness").GetAsync(new Uri(chat.Endpoint!), HttpCompletionOption.ResponseHeadersRead, ct);
                chatState = "ok";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                chatState = "unreachable";
            }

            var recent = health.Recent(ChatWindow);
            chatState = ChatState(chatState == "ok", recent);
            calls = new ChatCalls(recent.Calls, recent.Failures, recent.LastFailure, recent.LastFailureAt);
        }

        var storeState = "ok";
        if (engine is Cluster.RoutedStorage && sp.GetService<Cluster.Placement>() is { } placement)
        {
            // a gateway is ready when the catalog answers and a store node has reported recently
            var timeout = TimeSpan.FromSeconds(options.Value.Cluster.NodeTimeoutSeconds);
            var nodes = placement.Nodes();
            var live = nodes.Count(n => placement.IsLive(n, timeout));
            if (live == 0)
            {
                return TypedResults.Json(new Readiness("unavailable", new ReadinessChecks("no store node", chatState), calls, 0), statusCode: 503);
            }

            storeState = live == nodes.Count ? "ok" : $"{live} of {nodes.Count} store nodes";
        }

        var status = chatState is "unreachable" or "failing" || storeState != "ok" ? "degraded" : "ready";
        return TypedResults.Ok(new Readiness(status, new ReadinessChecks(storeState, chatState), calls, engine.OpenTenantCount));
    }

    /// <summary>
    /// The chat check: <c>unreachable</c> when the endpoint does not answer; <c>failing</c> when it answers but the
    /// model's most recent real call failed; else <c>ok</c>.
    /// </summary>
    internal static string ChatState(bool reachable, Core.Agents.ChatCallsReport recent) =>
        !reachable ? "unreachable" : recent.LastFailed ? "failing" : "ok";
}

/// <summary>The answer of <c>/healthz</c>: the process is up.</summary>
public sealed record Liveness(string Status);

/// <summary>
/// The answer of <c>/readyz</c>: <c>ready</c>, <c>degraded</c> (still 200: retrieval works, generation may not) or
/// <c>unavailable</c> (503), each part's state, the chat model's recent calls (null when no model is configured) and
/// how many tenant stores are open.
/// </summary>
public sealed record Readiness(string Status, ReadinessChecks Checks, ChatCalls? ChatCalls, int OpenTenants);

/// <summary>The state of the store and of the chat model.</summary>
public sealed record ReadinessChecks(string Store, string Chat);

/// <summary>The chat model's real calls of the last five minutes: how many, how many failed, the last failure and when.</summary>
public sealed record ChatCalls(int Recent, int Failed, string? LastFailure, DateTimeOffset? LastFailureAt);
