using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Bruno.Core.Identity;
using Bruno.Core.Memory;
using ModelContextProtocol.Server;

namespace Bruno.Server.Features.Mcp;

/// <summary>What <c>recall</c> returns: the caller's memories most related to the query, best first.</summary>
internal sealed record RecallResult(IReadOnlyList<MemoryItem> Items);

/// <summary>What <c>forget</c> returns.</summary>
internal sealed record ForgetResult(string Id, bool Forgotten);

/// <summary>The memory tools: the same service as <c>/api/v1/me/memory</c>, always on the caller's own memory.</summary>
[McpServerToolType, McpScope(Scopes.Memory)]
internal sealed class MemoryTools(McpCaller caller, MemoryService memory)
{
    [McpServerTool(Name = "remember", Title = "Remember a note", UseStructuredContent = true), Description("Stores a note in the caller's own memory.")]
    public async Task<MemoryItem> RememberAsync(
        [Description("What to remember (1-4,000 characters)."), StringLength(MemoryService.MaxTextLength, MinimumLength = 1)] string text,
        CancellationToken cancellationToken = default)
    {
        var (who, store) = await caller.RequireAsync();
        return await memory.RememberAsync(store, who.User, text, cancellationToken);
    }

    [McpServerTool(Name = "recall", Title = "Recall my notes", UseStructuredContent = true, ReadOnly = true), Description("Finds the caller's own notes and earlier turns most related to a query.")]
    public async Task<RecallResult> RecallAsync(
        [Description("What to look for (1-4,000 characters)."), StringLength(MemoryService.MaxTextLength, MinimumLength = 1)] string query,
        [Description("How many at most (1-50, default 5)."), Range(1, 50)] int? top_k = null,
        CancellationToken cancellationToken = default)
    {
        var (who, store) = await caller.RequireAsync();
        return new RecallResult(await memory.RecallAsync(store, who.User, query, top_k ?? 5, cancellationToken));
    }

    [McpServerTool(Name = "forget", Title = "Forget a note", UseStructuredContent = true, Destructive = true), Description("Deletes one of the caller's own memories by id.")]
    public async Task<ForgetResult> ForgetAsync([Description("The memory's id (from recall or remember)."), StringLength(256, MinimumLength = 1)] string id)
    {
        var (who, store) = await caller.RequireAsync();
        return await memory.ForgetAsync(store, who.User, id) ? new ForgetResult(id, true) : throw new McpRefusal("No such memory.", "not_found");
    }
}
