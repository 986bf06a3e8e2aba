namespace Bruno.Core.Documents;

/// <summary>
/// How documents are cut into chunks (section <c>Bruno:Chunking</c>). Checked by <see cref="ChunkingOptionsValidator"/>.
/// </summary>
public sealed class ChunkingOptions
{
    /// <summary>Target chunk length in tokens (the design's 512), capped by the embedding model's input limit.</summary>
    public int ChunkTokens { get; set; } = 512;

    /// <summary>Tokens shared by consecutive windows of one section.</summary>
    public int OverlapTokens { get; set; } = 128;
}
