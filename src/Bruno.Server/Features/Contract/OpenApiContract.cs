using System.ComponentModel.DataAnnotations;
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

    /// <summary>
    /// What each operation does, in a client's words (a generated client shows them as its methods' documentation); a
    /// test fails when an operation has none.
    /// </summary>
    internal static readonly Dictionary<string, string> Summaries = new(StringComparer.Ordinal)
    {
        ["GET /healthz"] = "Is the process up",
        ["GET /readyz"] = "Is the service ready (store, chat model)",
        ["POST /api/v1/api-keys"] = "Create an API key of your tenant",
        ["GET /api/v1/api-keys"] = "List your tenant's API keys",
        ["DELETE /api/v1/api-keys/{id}"] = "Revoke an API key of your tenant",
        ["GET /api/v1/settings/retrieval"] = "Read your tenant's retrieval settings",
        ["PUT /api/v1/settings/retrieval"] = "Change your tenant's retrieval settings",
        ["GET /api/v1/audit"] = "Read your tenant's audit log",
        ["GET /api/v1/usage"] = "Read your tenant's usage and cost",
        ["GET /api/v1/insights"] = "Read your tenant's recent requests",
        ["POST /api/v1/query"] = "Ask a question (answer with citations)",
        ["POST /api/v1/search"] = "Search the knowledge (passages only)",
        ["POST /api/v1/feedback"] = "Rate one of your answers",
        ["GET /api/v1/settings/retention"] = "Read your tenant's retention",
        ["PUT /api/v1/settings/retention"] = "Change your tenant's retention",
        ["GET /api/v1/documents"] = "List documents",
        ["POST /api/v1/documents"] = "Upload a document (JSON or a file)",
        ["GET /api/v1/documents/{id}"] = "Read a document's details",
        ["DELETE /api/v1/documents/{id}"] = "Delete a document",
        ["PUT /api/v1/documents/{id}/access"] = "Change who may read a document",
        ["POST /api/v1/evaluations"] = "Run an evaluation",
        ["GET /api/v1/evaluations"] = "List evaluation runs",
        ["GET /api/v1/evaluations/compare"] = "Compare two evaluation runs",
        ["GET /api/v1/evaluations/{id}"] = "Read an evaluation run with its cases",
        ["DELETE /api/v1/evaluations/{id}"] = "Delete an evaluation run",
        ["GET /api/v1/me/memory"] = "Export your memory",
        ["DELETE /api/v1/me/memory"] = "Erase yourself (memory and key)",
        ["POST /api/v1/me/memory"] = "Remember a note",
        ["DELETE /api/v1/me/memory/{id}"] = "Forget one memory",
        ["GET /api/v1/users/{user}/memory"] = "Export a user's memory",
        ["DELETE /api/v1/users/{user}/memory"] = "Erase a user of your tenant",
        ["POST /api/v1/users/{user}/memory/{id}/promote"] = "Promote a user's fact to a document",
        ["GET /api/v1/settings/memory"] = "Read your tenant's memory retention",
        ["PUT /api/v1/settings/memory"] = "Change your tenant's memory retention",
        ["POST /admin/v1/tenants"] = "Create a tenant",
        ["GET /admin/v1/tenants"] = "List tenants",
        ["GET /admin/v1/tenants/{tenant}"] = "Read a tenant",
        ["DELETE /admin/v1/tenants/{tenant}"] = "Delete a tenant (crypto-erasure, signed receipt)",
        ["GET /admin/v1/tenants/{tenant}/events"] = "List a tenant's lifecycle events",
        ["POST /admin/v1/tenants/{tenant}/suspend"] = "Suspend a tenant",
        ["POST /admin/v1/tenants/{tenant}/resume"] = "Resume a tenant",
        ["POST /admin/v1/tenants/{tenant}/offload"] = "Offload a tenant (close its store)",
        ["GET /admin/v1/tenants/{tenant}/receipts"] = "List a tenant's erasure receipts",
        ["PUT /admin/v1/tenants/{tenant}/plan"] = "Change a tenant's plan",
        ["POST /admin/v1/tenants/{tenant}/tokens"] = "Issue a token for a user of a tenant",
        ["POST /admin/v1/tenants/{tenant}/reembed"] = "Re-embed a tenant's documents",
        ["GET /admin/v1/nodes"] = "List the store nodes",
        ["GET /admin/v1/tenants/{tenant}/placement"] = "Read a tenant's placement",
        ["POST /admin/v1/tenants/{tenant}/move"] = "Move a tenant to another store node",
        ["GET /admin/v1/audit/public-key"] = "Read the audit checkpoints' public key",
        ["GET /admin/v1/tenants/{tenant}/usage"] = "Read a tenant's usage and cost",
        ["GET /admin/v1/tenants/{tenant}/insights"] = "Read a tenant's recent requests",
        ["POST /admin/v1/retention/run"] = "Run retention now",
        ["GET /admin/v1/tenants/{tenant}/manifests"] = "Render a tenant's GitOps manifests",
        ["POST /admin/v1/memory/consolidate"] = "Run memory consolidation now",
        ["DELETE /admin/v1/tenants/{tenant}/users/{user}"] = "Erase a user of a tenant",
        ["POST /admin/v1/tenants/{tenant}/export"] = "Export a tenant as an encrypted bundle",
        ["POST /admin/v1/tenants/import"] = "Import a tenant bundle",
        ["GET /admin/v1/tenants/{tenant}/inventory"] = "Read a tenant's inventory (rows and digests)",
        ["POST /admin/v1/tenants/{tenant}/api-keys"] = "Create an API key for a tenant",
        ["GET /admin/v1/tenants/{tenant}/api-keys"] = "List a tenant's API keys",
        ["DELETE /admin/v1/tenants/{tenant}/api-keys/{id}"] = "Revoke a tenant's API key",
        ["GET /admin/v1/tenants/{tenant}/settings/retrieval"] = "Read a tenant's retrieval settings",
        ["PUT /admin/v1/tenants/{tenant}/settings/retrieval"] = "Change a tenant's retrieval settings",
        ["GET /admin/v1/tenants/{tenant}/audit"] = "Read a tenant's audit log",
        ["GET /admin/v1/tenants/{tenant}/audit/checkpoints"] = "List a tenant's audit checkpoints",
        ["POST /admin/v1/tenants/{tenant}/audit/checkpoints"] = "Sign an audit checkpoint now",
        ["GET /admin/v1/tenants/{tenant}/settings/retention"] = "Read a tenant's retention",
        ["PUT /admin/v1/tenants/{tenant}/settings/retention"] = "Change a tenant's retention",
        ["GET /admin/v1/tenants/{tenant}/settings/memory"] = "Read a tenant's memory retention",
        ["PUT /admin/v1/tenants/{tenant}/settings/memory"] = "Change a tenant's memory retention",
        ["GET /api/v1/me"] = "Who am I (role, groups, scopes in force)",
        ["GET /api/v1/users"] = "List your tenant's role assignments",
        ["PUT /api/v1/users/{user}/role"] = "Give a user a role",
        ["DELETE /api/v1/users/{user}/role"] = "Take a user's role away",
        ["GET /api/v1/groups"] = "List your tenant's groups",
        ["POST /api/v1/groups"] = "Create a group",
        ["DELETE /api/v1/groups/{group}"] = "Delete a group",
        ["GET /api/v1/groups/{group}/members"] = "List a group's members",
        ["PUT /api/v1/groups/{group}/members/{user}"] = "Add a member to a group (or make them its admin)",
        ["DELETE /api/v1/groups/{group}/members/{user}"] = "Remove a member from a group",
        ["GET /admin/v1/tenants/{tenant}/roles"] = "List a tenant's role assignments",
        ["PUT /admin/v1/tenants/{tenant}/users/{user}/role"] = "Give a user of a tenant a role",
        ["DELETE /admin/v1/tenants/{tenant}/users/{user}/role"] = "Take a tenant user's role away",
        ["GET /v1/models"] = "List models (OpenAI-compatible: the tenant's knowledge)",
        ["POST /v1/chat/completions"] = "Chat completion (OpenAI-compatible, with citations)",
    };

    /// <summary>What each feature's tag says.</summary>
    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Access"] = "Roles of users and groups inside a tenant.",
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
            o.AddOperationTransformer(DescribeAsync);
            o.AddSchemaTransformer((schema, context, _) =>
            {
                Shape(schema, context);
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

    private static async Task DescribeAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken ct)
    {
        var description = context.Description;
        var method = description.HttpMethod ?? "GET";
        var route = "/" + (description.RelativePath ?? string.Empty).Trim('/'); // as the document spells the path: no trailing slash
        var metadata = description.ActionDescriptor.EndpointMetadata;
        var document = context.Document!;

        operation.OperationId ??= OperationId(method, route);
        operation.Summary ??= Summaries.GetValueOrDefault($"{method.ToUpperInvariant()} {route}"); // none: the contract test names it
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

        foreach (var also in metadata.OfType<AlsoAccepts>())
        {
            var body = operation.RequestBody as OpenApiRequestBody ?? new OpenApiRequestBody { Required = true };
            body.Content ??= new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
            body.Content[also.ContentType] = new OpenApiMediaType { Schema = await context.GetOrCreateSchemaAsync(also.Type, null, ct) };
            operation.RequestBody = body;
        }

        operation.Responses ??= [];
        foreach (var also in metadata.OfType<AlsoProduces>())
        {
            var key = also.Status.ToString(CultureInfo.InvariantCulture);
            var response = operation.Responses.TryGetValue(key, out var existing) && existing is OpenApiResponse r ? r : new OpenApiResponse { Description = "OK" };
            response.Content ??= new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
            response.Content[also.ContentType] = new OpenApiMediaType { Schema = await context.GetOrCreateSchemaAsync(also.Type, null, ct) };
            operation.Responses[key] = response;
        }

        foreach (var (status, meaning) in Failures)
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

    /// <summary>The problem answers every operation may give (401 and 403 not for anonymous ones).</summary>
    private static readonly (int Status, string Meaning)[] Failures =
    [
        (400, "The request is invalid."), (401, "No valid credential."), (403, "The credential may not do this, or the tenant is not active."),
        (404, "No such resource (another tenant's resources do not exist)."), (429, "A rate limit: retry after Retry-After seconds."),
        (500, "An internal error; its trace_id names it in the service's logs."),
    ];

    /// <summary>
    /// What a client may send and will get, said exactly: a nullable property is optional (a client may leave it out)
    /// unless marked <see cref="RequiredAttribute"/>, which makes it required and not null; a number is a number (the
    /// service also reads numbers in strings, leniently, but no client should be told to send one).
    /// </summary>
    private static void Shape(OpenApiSchema schema, OpenApiSchemaTransformerContext context)
    {
        if (schema.Type is { } type && type.HasFlag(JsonSchemaType.String) && (type.HasFlag(JsonSchemaType.Integer) || type.HasFlag(JsonSchemaType.Number)))
        {
            schema.Type = type & ~JsonSchemaType.String;
            schema.Pattern = null;
        }

        if (context.JsonTypeInfo.Kind != System.Text.Json.Serialization.Metadata.JsonTypeInfoKind.Object || schema.Properties is null)
        {
            return;
        }

        schema.Required ??= new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in context.JsonTypeInfo.Properties)
        {
            if (!schema.Properties.TryGetValue(property.Name, out var value) || value is not OpenApiSchema shown)
            {
                continue;
            }

            if (property.AttributeProvider?.IsDefined(typeof(RequiredAttribute), inherit: true) == true)
            {
                schema.Required.Add(property.Name);
                shown.Type &= ~JsonSchemaType.Null;
                shown.OneOf = shown.OneOf?.Where(s => s.Type != JsonSchemaType.Null).ToList();
            }
            else if (Nullable(shown))
            {
                schema.Required.Remove(property.Name);
            }
        }
    }

    private static bool Nullable(OpenApiSchema schema) =>
        schema.Type?.HasFlag(JsonSchemaType.Null) == true || schema.OneOf?.Any(s => s.Type == JsonSchemaType.Null) == true;

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
    /// An id from the method and the route: <c>GET /admin/v1/tenants/{tenant}/usage</c> → <c>getAdminTenantsByTenantUsage</c>.
    /// Unique, since the method and route of an endpoint are.
    /// </summary>
    internal static string OperationId(string method, string route)
    {
        var words = Segments(route).Select(s => s.StartsWith('{') ? "By" + Pascal(s.Trim('{', '}').Split(':')[0]) : Pascal(s));
        return method.ToLowerInvariant() + string.Concat(words);
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

/// <summary>
/// Endpoint metadata: the operation also accepts <paramref name="Type"/> as <paramref name="ContentType"/> (another
/// endpoint of the same route takes it, and is left out of the description so the operation is one).
/// </summary>
internal sealed record AlsoAccepts(Type Type, string ContentType);

/// <summary>
/// Endpoint metadata: besides its JSON answer, the operation answers <paramref name="Type"/> as
/// <paramref name="ContentType"/> with the same status (events, CSV) when the request asks for it.
/// </summary>
internal sealed record AlsoProduces(Type Type, string ContentType, int Status = StatusCodes.Status200OK);

/// <summary>How endpoints state the other forms of their answers.</summary>
internal static class AlsoProducesExtensions
{
    /// <summary>The endpoint also answers <typeparamref name="T"/> as <paramref name="contentType"/>.</summary>
    public static RouteHandlerBuilder AlsoProduces<T>(this RouteHandlerBuilder builder, string contentType) =>
        builder.WithMetadata(new AlsoProduces(typeof(T), contentType));
}
