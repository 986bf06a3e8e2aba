using System.ComponentModel;
using Bruno.Core.Identity;
using Bruno.Core.Memory;
using ModelContextProtocol.Server;

namespace Bruno.Server.Features.Mcp;

/// <summary>The memory tools: the same service as <c>/api/v1/me/memory</c>, always on the caller's own memory.</summary>
[McpServerToolType]
internal sealed class MemoryTools(McpCaller caller, MemoryService memory)
{
    [McpServerTool(Name = "remember", Title = "Remember a note", UseStructuredContent = true), Description("Stores a note in the caller's own memory.")]
    public Task<MemoryItem> RememberAsync([Description("What to remember (1-4,000 characters).")] string text, CancellationToken cancellationToken = default) =>
        caller.RunAsync(async () =>
        {
            var (who, store) = await caller.RequireAsync(Scopes.Memory);
            return await memory.RememberAsync(store, who.User, text, cancellationToken);
        });

    [McpServerTool(Name = "recall", Title = "Recall my notes", UseStructuredContent = true, ReadOnly = true), Description("Finds the caller's own notes and earlier turns most related to a query.")]
    public Task<IReadOnlyList<MemoryItem>> RecallAsync([Description("What to look for.")] string query, [Description("How many (1-50, default 5).")] int? k = null, CancellationToken cancellationToken = default) =>
        caller.RunAsync(async () =>
        {
            var (who, store) = await caller.RequireAsync(Scopes.Memory);
            return await memory.RecallAsync(store, who.User, query, k ?? 5, cancellationToken);
        });

    [McpServerTool(Name = "forget", Title = "Forget a note", UseStructuredContent = true, Destructive = true), Description("Deletes one of the caller's own memories by id.")]
    public Task<string> ForgetAsync([Description("The memory's id (from recall).")] string id) =>
        caller.RunAsync(async () =>
        {
            var (who, store) = await caller.RequireAsync(Scopes.Memory);
            return await memory.ForgetAsync(store, who.User, id) ? "forgotten" : throw new ModelContextProtocol.McpException("No such memory.");
        });
}
