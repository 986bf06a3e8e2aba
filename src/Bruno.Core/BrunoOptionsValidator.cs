using Bruno.Core.Agents;
using Bruno.Core.Documents;
using Bruno.Core.Embeddings;
using Bruno.Core.Identity;
using Bruno.Core.Mcp;
using Bruno.Core.Memory;
using Bruno.Core.Metering;
using Bruno.Core.Portability;
using Bruno.Core.Retrieval;
using Bruno.Core.Telemetry;
using Bruno.Core.Tenants;
using Microsoft.Extensions.Options;

namespace Bruno.Core;

/// <summary>
/// Checks <see cref="BrunoOptions"/>: its own settings, then each section with the validator next to that section's
/// type, so that every bad setting gets one message naming its key and what it may be. Registered, with validation when
/// the host starts, by <see cref="CoreServiceCollectionExtensions.AddBrunoOptions"/>; hosts also run it before wiring
/// their services, which depend on the values.
/// </summary>
public sealed class BrunoOptionsValidator : IValidateOptions<BrunoOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, BrunoOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid setting, each naming it (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(BrunoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.DataRoot) || options.DataRoot.Contains('\0', StringComparison.Ordinal))
        {
            yield return "Bruno:DataRoot must be a folder path.";
        }

        if (!string.IsNullOrEmpty(options.MasterKey) && !IsBase64Key(options.MasterKey))
        {
            yield return "Bruno:MasterKey must be 32 bytes in base64 (or empty to use the key file).";
        }

        if (string.IsNullOrWhiteSpace(options.Issuer))
        {
            yield return "Bruno:Issuer must not be empty.";
        }

        if (string.IsNullOrWhiteSpace(options.Audience))
        {
            yield return "Bruno:Audience must not be empty.";
        }

        if (options.TokenLifetimeMinutes is < 1 or > 10_080)
        {
            yield return "Bruno:TokenLifetimeMinutes must be between 1 and 10080.";
        }

        if (options.MaxDocumentBytes is < 1_024 or > 100 * 1024 * 1024)
        {
            yield return "Bruno:MaxDocumentBytes must be between 1024 and 104857600.";
        }

        IEnumerable<string>[] sections =
        [
            RetrievalOptionsValidator.Errors(options.Retrieval),
            ChunkingOptionsValidator.Errors(options.Chunking),
            IngestionOptionsValidator.Errors(options.Ingestion),
            ChatModelOptionsValidator.Errors(options.Chat),
            AuthOptionsValidator.Errors(options.Auth),
            EmbeddingOptionsValidator.Errors(options.Embeddings),
            CatalogOptionsValidator.Errors(options.Catalog),
            PlanOptionsValidator.Errors(options.Plans),
            MemoryOptionsValidator.Errors(options.Memory),
            CostOptionsValidator.Errors(options.Cost),
            RetentionOptionsValidator.Errors(options.Retention),
            McpOptionsValidator.Errors(options.Mcp),
            BundleOptionsValidator.Errors(options.Bundles),
            TelemetryOptionsValidator.Errors(options.Telemetry),
            options.Cluster.Validate(options.Catalog), // a role other than all needs the shared (PostgreSQL) catalog
        ];
        foreach (var error in sections.SelectMany(s => s))
        {
            yield return error;
        }

        if (options.SecretsFolder is not null && (options.SecretsFolder.Length == 0 || options.SecretsFolder.Contains('\0', StringComparison.Ordinal)))
        {
            yield return "Bruno:SecretsFolder must be a folder path (or unset).";
        }

        if (options.PublicUrl is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https") || u.Query.Length > 0 || u.Fragment.Length > 0))
        {
            yield return $"Bruno:PublicUrl is '{url}': give the address clients use, like https://bruno.example.com (http or https, no query).";
        }

        foreach (var origin in options.CorsOrigins)
        {
            if (origin == "*" || !Uri.TryCreate(origin, UriKind.Absolute, out var o) || o.Scheme is not ("http" or "https") || o.AbsolutePath != "/")
            {
                yield return $"Bruno:CorsOrigins holds '{origin}': list exact origins like https://app.example.com (never *).";
            }
        }
    }

    private static bool IsBase64Key(string value)
    {
        Span<byte> bytes = stackalloc byte[64];
        return Convert.TryFromBase64String(value, bytes, out var n) && n == 32;
    }
}
