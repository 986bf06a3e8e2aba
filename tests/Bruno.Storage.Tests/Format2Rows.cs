using Bruno.Storage.Identity;
using Bruno.Storage.Model;

namespace Bruno.Storage.Tests;

/// <summary>The rows of the format-2 fixture (Fixtures/format2, written by the engine of format 2: these rows, then t3 deleted).</summary>
internal static class Format2Rows
{
    public static StoredRow[] All()
    {
        var rows = new List<StoredRow>();
        for (var i = 0; i < 40; i++)
        {
            rows.Add(Rows.Row($"t{i}", $"tenant row {i} about the lighthouse keeper", i, metadata: new() { ["n"] = i, ["tag"] = $"g{i % 3}" }, created: DateTimeOffset.UnixEpoch.AddDays(i)));
        }

        for (var i = 0; i < 12; i++)
        {
            rows.Add(Rows.Row($"a{i}", $"alice note {i} on the harbour", 100 + i, user: "alice", created: DateTimeOffset.UnixEpoch.AddDays(50 + i)));
        }

        rows.Add(Rows.Row("r1", "restricted row for the finance group", 200, created: DateTimeOffset.UnixEpoch.AddDays(70)) with { Readers = [Principal.Group("finance")] });
        return [.. rows];
    }
}
