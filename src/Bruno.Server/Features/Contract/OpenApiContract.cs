using System.Globalization;
using System.Reflection;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Scalar.AspNetCore;

namespace Bruno.Server.Features.Contract;

/// <summary>
/// The API description as a contract (issue 20): security schemes (a bearer token — Bruno's or the identity
/// provider's JWT, or an API key — and the <c>X-Api-Key</c> header), each operation with an id, a summary, its
/// feature's tag, its security, and problem documents for its 4xx answers; a server address without a trailing slash;
/// the licence. Served at <c>/openapi/v1.json</c>, browsable at <c>/scalar/v1</c> with a place to paste a token.
/// </summary>
internal static class OpenApiContract
{
    private const string Bearer = "bearer";
    private const string ApiKeyHeader = "apiKey";
    private const string Problem = "ProblemDetails";

    /// <summary>What each feature's tag says.</summary>
    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Admin"] = "Operators: tenants, their lifecycle, plans, keys, settings, bundles, placement (platform-admin tokens).",
        ["Audit"] = "A tenant's tamper-evident audit log and its signed checkpoints.",
        ["Documents"] = "A tenant's knowledge: upload, list, read and delete documents.",
        ["Evaluation"] = "Answer quality on a tenant's own cases.",
        ["Manifests"] = "GitOps manifests of a tenant at its isolation level.",
        ["Memory"] = "What Bruno remembers of each user, their export and erasure.",
        ["Metering"] = "Usage and cost per tenant and month.",
        ["Observability"] = "A tenant's recent requests (insights).",
        ["OpenAi"] = "The OpenAI-compatible door: the tenant's knowledge as a model.",
        ["Query"] = "Questions answered from the tenant's knowledge with citations, and search.",
        ["Health"] = "Liveness, readiness and metrics.",
        ["Mcp"] = "The MCP door (Streamable HTTP).",
    };

    public static void AddOpenApiContract(this IServiceCollection services) =>
        services.AddOpenApi(o =>
        {
            o.AddOperationTransformer((operation, context, _) =>
            {
                Describe(operation, context);
                return Task.CompletedTask;
            });
            o.AddDocumentTransformer((document, _, _) =>
            {
                Complete(document);
                return Task.CompletedTask;
            });
        });

    /// <summary>The document and its browsable reference, anonymous on purpose (the endpoint test allows exactly these).</summary>
    public static void MapOpenApiContract(this IEndpointRouteBuilder app)
    {
        app.MapOpenApi().AllowAnonymous();                                                          // /openapi/v1.json
        app.MapScalarApiReference(o => o.AddPreferredSecuritySchemes(Bearer)).AllowAnonymous();     // /scalar/v1
    }

    private static void Describe(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var description = context.Description;
        var method = description.HttpMethod ?? "GET";
        var route = "/" + (description.RelativePath ?? string.Empty).TrimStart('/');
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var document = context.Document!;

        operation.OperationId ??= OperationId(method, route);
        operation.Summary ??= Summary(method, route);
        var tag = Tag(metadata, route);
        operation.Tags = new HashSet<OpenApiTagReference> { new(tag, document) };

        var anonymous = metadata.OfType<IAllowAnonymous>().Any();
        operation.Security = anonymous
            ? [new OpenApiSecurityRequirement()] // `[{}]`: no credential needed, said explicitly
            :
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyHeader, document)] = [] },
            ];

        operation.Responses ??= [];
        foreach (var (status, meaning) in new (int, string)[] { (400, "The request is invalid."), (401, "No valid credential."), (403, "The credential may not do this, or the tenant is not active."), (404, "No such resource (another tenant's resources do not exist)."), (429, "A rate limit: retry after Retry-After seconds.") })
        {
            if (anonymous && status is 401 or 403)
            {
                continue;
            }

            var key = status.ToString(CultureInfo.InvariantCulture);
            if (!operation.Responses.ContainsKey(key))
            {
                operation.Responses[key] = new OpenApiResponse
                {
                    Description = meaning,
                    Content = new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal) { ["application/problem+json"] = new() { Schema = new OpenApiSchemaReference(Problem, document) } },
                };
            }
        }
    }

    private static void Complete(OpenApiDocument document)
    {
        document.Info.Title = "Bruno";
        document.Info.Description = "A multi-tenant assistant that answers from each tenant's knowledge with citations. The tenant and the user come from the credential only.";
        document.Info.License = new OpenApiLicense { Name = "Proprietary", Url = new Uri("https://example.com/bruno/license") };
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
        document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "JWT or API key",
            Description = "A token signed by Bruno (`bruno token issue`), by the configured identity provider, or an API key (`brk_...`).",
        };
        document.Components.SecuritySchemes[ApiKeyHeader] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "An API key of a tenant (`brk_...`).",
        };
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        document.Components.Schemas[Problem] = new OpenApiSchema
        {
            Type = JsonSchemaType.Object,
            Description = "An RFC 7807 problem document; `trace_id` names the request in the logs.",
            Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
            {
                ["type"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["title"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["status"] = new OpenApiSchema { Type = JsonSchemaType.Integer },
                ["detail"] = new OpenApiSchema { Type = JsonSchemaType.String },
                ["trace_id"] = new OpenApiSchema { Type = JsonSchemaType.String },
            },
        };

        var used = (document.Paths ?? []).Values
            .SelectMany(p => p.Operations is { } operations ? operations.Values : Enumerable.Empty<OpenApiOperation>())
            .SelectMany(o => o.Tags ?? new HashSet<OpenApiTagReference>()).Select(t => t.Name).OfType<string>().ToHashSet(StringComparer.Ordinal);
        document.Tags = new HashSet<OpenApiTag>(used.Order(StringComparer.Ordinal).Select(t => new OpenApiTag { Name = t, Description = TagDescriptions.GetValueOrDefault(t, t) }));
    }

    /// <summary>The feature an endpoint belongs to: the namespace of its handler (<c>Features.Documents</c> → Documents).</summary>
    private static string Tag(IList<object> metadata, string route)
    {
        var type = metadata.OfType<MethodInfo>().FirstOrDefault()?.DeclaringType;
        var ns = type?.Namespace ?? string.Empty;
        const string prefix = "Bruno.Server.Features.";
        return ns.StartsWith(prefix, StringComparison.Ordinal) ? ns[prefix.Length..].Split('.')[0]
            : route.StartsWith("/admin/", StringComparison.Ordinal) ? "Admin"
            : "Health";
    }

    /// <summary>
    /// An id from the method and the route: <c>GET /admin/v1/tenants/{id}/usage</c> → <c>getAdminTenantsByIdUsage</c>.
    /// Unique, since the method and route of an endpoint are.
    /// </summary>
    internal static string OperationId(string method, string route)
    {
        var words = Segments(route).Select(s => s.StartsWith('{') ? "By" + Pascal(s.Trim('{', '}').Split(':')[0]) : Pascal(s));
        return method.ToLowerInvariant() + string.Concat(words);
    }

    /// <summary>A plain summary from the route, for operations that do not state one.</summary>
    internal static string Summary(string method, string route)
    {
        var segments = Segments(route).ToList();
        var words = segments.Where(s => !s.StartsWith('{')).Select(s => s.Replace('-', ' ')).ToList();
        var item = segments.Count > 0 && segments[^1].StartsWith('{');
        var verb = method.ToUpperInvariant() switch
        {
            "GET" => item ? "Read" : "List or read",
            "POST" => "Submit",
            "PUT" => "Replace",
            "DELETE" => "Delete",
            _ => Pascal(method.ToLowerInvariant()),
        };
        return words.Count == 0 ? verb : $"{verb} {string.Join(' ', words)}";
    }

    /// <summary>The route's segments after its version (<c>api/v1</c>, <c>admin/v1</c>, <c>v1</c>), with <c>admin</c> kept for operator routes.</summary>
    private static IEnumerable<string> Segments(string route)
    {
        var parts = route.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (parts is ["api", "v1", ..])
        {
            return parts.Skip(2);
        }

        if (parts is ["admin", "v1", ..])
        {
            return parts.Skip(2).Prepend("admin");
        }

        return parts is ["v1", ..] ? parts.Skip(1).Prepend("openai") : parts;
    }

    private static string Pascal(string word) =>
        string.Concat(word.Split(['-', '_', '.'], StringSplitOptions.RemoveEmptyEntries).Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
}
