using Bruno.Storage;
using Bruno.Storage.CrashWorker;
using Bruno.Storage.Crypto;
using Bruno.Storage.Identity;

// Child process of the crash and lock tests.
//   ingest <data-root> <master-key-base64> <tenant>:<first-batch> ...   writes batches forever, printing "ACK <tenant> <batch>" after each
//                                    and "CKPT <tenant> <nodes>" after each committed graph checkpoint (AnnThreshold is low)
//   hold <data-root> <master-key-base64> <tenant>                     opens the tenant, prints READY, holds it until stdin closes
var mode = args[0];
using var key = MasterKey.FromBase64(args[2]);
await using var engine = new StorageEngine(new StorageEngineOptions { DataRoot = args[1], MasterKey = key, AnnThreshold = CrashData.AnnThreshold, HnswEfConstruction = CrashData.HnswEfConstruction });
var output = Console.Out;
var gate = new Lock();
Bruno.Storage.Engine.TenantInstance.CheckpointWritten = (tenant, _, nodes) =>
{
    lock (gate)
    {
        output.WriteLine($"CKPT {tenant} {nodes}");
        output.Flush();
    }
};

if (mode == "hold")
{
    await engine.Tenant(TenantId.Parse(args[3])).ListCollectionsAsync();
    output.WriteLine("READY");
    output.Flush();
    await Console.In.ReadToEndAsync();
    return 0;
}

var writers = args.Skip(3).Select(async spec =>
{
    var parts = spec.Split(':');
    var tenant = engine.Tenant(TenantId.Parse(parts[0]));
    var collection = await tenant.EnsureCollectionAsync(CrashData.Spec);
    for (var batch = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture); ; batch++)
    {
        await collection.UpsertAsync(CrashData.Batch(parts[0], batch));
        lock (gate)
        {
            output.WriteLine($"ACK {parts[0]} {batch}");
            output.Flush();
        }
    }
}).ToList();

lock (gate)
{
    output.WriteLine("READY");
    output.Flush();
}

await Task.WhenAll(writers);
return 0;
