namespace Bruno.Core.Portability;

/// <summary>
/// Tenant bundles (section <c>Bruno:Bundles</c>; docs/decisions/0012): how exports are cut into chunks, and how large an
/// import may be. Checked by <see cref="BundleOptionsValidator"/>.
/// </summary>
public sealed class BundleOptions
{
    /// <summary>Plaintext bytes in each encrypted chunk of an exported bundle (4 KiB to 16 MiB; default 1 MiB).</summary>
    public int ChunkBytes { get; set; } = 1 << 20;

    /// <summary>Largest bundle an import accepts, in bytes (default 100 GiB, the premium plan's storage).</summary>
    public long MaxImportBytes { get; set; } = 100L << 30;
}
