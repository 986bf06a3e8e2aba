namespace Bruno.Core.Tenants;

/// <summary>
/// The catalog's database (section <c>Bruno:Catalog</c>). Checked by <see cref="CatalogOptionsValidator"/>.
/// </summary>
public sealed class CatalogOptions
{
    /// <summary><c>sqlite</c> (default: <c>catalog.db</c> in the data folder) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>For <c>postgres</c>: an Npgsql connection string naming an existing database.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The provider as an enum (after validation).</summary>
    public CatalogProvider Kind => Provider.Equals("postgres", StringComparison.OrdinalIgnoreCase) ? CatalogProvider.Postgres : CatalogProvider.Sqlite;
}
