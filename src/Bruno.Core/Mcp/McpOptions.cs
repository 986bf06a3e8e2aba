namespace Bruno.Core.Mcp;

/// <summary>
/// The MCP endpoint (section <c>Bruno:Mcp</c>; served by Bruno.Server): per-tool rate limits, per client (a user, or an
/// API key), per minute. Checked by <see cref="McpOptionsValidator"/>.
/// </summary>
public sealed class McpOptions
{
    /// <summary>Calls a minute of the tools that search (search_knowledge, recall, list_documents) and of the memory writes.</summary>
    public int SearchPerMinute { get; set; } = 30;

    /// <summary>Calls a minute of the tools that generate an answer (ask_agent).</summary>
    public int GenerationPerMinute { get; set; } = 10;
}
