using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;
using Bruno.Storage.Index;
using Microsoft.Extensions.Logging;

namespace Bruno.Storage.Engine;

/// <summary>What every open tenant of one engine shares: paths, the master key, the clock, the logger and index settings.</summary>
internal sealed class EngineContext(string dataRoot, string keyDirectory, MasterKey masterKey, TimeProvider time, ILogger logger, IndexSettings indexSettings)
{
    public string DataRoot { get; } = dataRoot;

    public string TenantsRoot { get; } = Path.Combine(dataRoot, "tenants");

    public string KeyDirectory { get; } = keyDirectory;

    public MasterKey MasterKey { get; } = masterKey;

    public TimeProvider Time { get; } = time;

    public ILogger Logger { get; } = logger;

    public IndexSettings IndexSettings { get; } = indexSettings;

    /// <summary>Tests only: BM25 index builds after an open wait for this task (text searches meanwhile read the segments).</summary>
    public Task? TextBuildGate { get; init; }

    /// <summary>The tenant's folder. Safe by construction: a TenantId is a DNS-1123 label, so it cannot leave the root.</summary>
    public string TenantFolder(TenantId tenant) => Path.Combine(TenantsRoot, tenant.Value);

    public string KeyPath(TenantId tenant) => Path.Combine(KeyDirectory, tenant.Value + ".key");

    /// <summary>Markers of the tenants whose writes are fenced (one empty file per tenant, kept across restarts).</summary>
    public string FenceFolder => Path.Combine(DataRoot, "fences");

    /// <summary>Where copies of tenants are staged: snapshots being sent and copies being received.</summary>
    public string TransferFolder => Path.Combine(DataRoot, "transfer");
}
