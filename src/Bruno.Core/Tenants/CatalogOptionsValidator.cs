using Microsoft.Extensions.Options;

namespace Bruno.Core.Tenants;

/// <summary>Checks <see cref="CatalogOptions"/> (section <c>Bruno:Catalog</c>).</summary>
public sealed class CatalogOptionsValidator : IValidateOptions<CatalogOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CatalogOptions options) => OptionsValidation.Result(Errors(options));

    /// <summary>One message per invalid value, naming its key (empty when all are valid).</summary>
    public static IEnumerable<string> Errors(CatalogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase) && !options.Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase))
        {
            yield return "Bruno:Catalog:Provider must be sqlite or postgres.";
        }
        else if (options.Kind == CatalogProvider.Postgres)
        {
            string? error = null;
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(options.ConnectionString ?? string.Empty);
                if (string.IsNullOrWhiteSpace(options.ConnectionString))
                {
                    error = "Bruno:Catalog:ConnectionString is required for the postgres catalog.";
                }
            }
            catch (ArgumentException)
            {
                error = "Bruno:Catalog:ConnectionString is not a valid PostgreSQL connection string.";
            }

            if (error is not null)
            {
                yield return error;
            }
        }
    }
}
