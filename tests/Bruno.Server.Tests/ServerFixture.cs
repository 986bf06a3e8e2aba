using Bruno.Testing;

namespace Bruno.Server.Tests;

/// <summary>One real server per test class; every test makes tenants of its own, so tests never share data.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const int MaxDocumentBytes = 8_192;

    public RunningServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() =>
        Server = await RunningServer.StartAsync(new Dictionary<string, string?> { ["Bruno:MaxDocumentBytes"] = MaxDocumentBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), ["Bruno:Ingestion:MaxPdfPages"] = "50" });

    public ValueTask DisposeAsync() => Server.DisposeAsync();

    /// <summary>A tenant id no other test uses.</summary>
    public static string NewTenant(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..30];
}
