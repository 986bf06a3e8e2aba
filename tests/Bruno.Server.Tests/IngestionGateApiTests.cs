using System.Net;
using Bruno.Core.Embeddings;
using Bruno.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Bruno.Server.Tests;

/// <summary>Uploads past the ingestion gate's shares are refused with 429 or 503 and Retry-After, while questions go on.</summary>
public sealed class IngestionGateApiTests
{
    [Fact]
    public async Task ATenantOverItsShare_Gets429_AFullProcess503_BothWithRetryAfter_AndQuestionsGoOn()
    {
        using var held = new HeldEmbedder(new MiniLmEmbeddingGenerator());
        await using var server = await RunningServer.StartAsync(
            new Dictionary<string, string?> { ["Bruno:Ingestion:MaxConcurrent"] = "1", ["Bruno:Ingestion:MaxConcurrentPerTenant"] = "1", ["Bruno:Ingestion:MaxQueued"] = "0" },
            services => services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(held));
        using var a = await server.TenantClientAsync(ServerFixture.NewTenant("gate-a"));
        using var b = await server.TenantClientAsync(ServerFixture.NewTenant("gate-b"));

        // A's first upload is held inside the gate, in the embedding of its chunks
        var first = a.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "slow", content = "HOLDMARK The first document is being embedded." }), Http.Ct);
        await held.Entered.WaitAsync(Http.Ct);

        using var second = await a.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "next", content = "A second document of the same tenant." }), Http.Ct);
        var tenantShare = await Http.AssertProblemAsync(second, HttpStatusCode.TooManyRequests);
        Assert.NotNull(second.Headers.RetryAfter);
        Assert.Contains("documents being processed", tenantShare.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var other = await b.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "other", content = "Another tenant's document." }), Http.Ct);
        await Http.AssertProblemAsync(other, HttpStatusCode.ServiceUnavailable);
        Assert.NotNull(other.Headers.RetryAfter);

        // questions are not behind the gate
        (await b.PostAsync("/api/v1/query", RunningServer.Json(new { query = "Is anything stored yet?" }), Http.Ct)).EnsureSuccessStatusCode();

        held.Release();
        (await first).EnsureSuccessStatusCode();
        (await a.PostAsync("/api/v1/documents", RunningServer.Json(new { id = "next", content = "A second document of the same tenant." }), Http.Ct)).EnsureSuccessStatusCode();
    }

    /// <summary>The real model, with a hold on the first batch that carries a marker: the test decides when it goes on.</summary>
    private sealed class HeldEmbedder(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ManualResetEventSlim _release = new();

        public Task Entered => _entered.Task;

        public void Release() => _release.Set();

        public override Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var list = values.ToList();
            if (list.Any(v => v.Contains("HOLDMARK", StringComparison.Ordinal)))
            {
                _entered.TrySetResult();
                _release.Wait(TimeSpan.FromMinutes(2), cancellationToken);
            }

            return base.GenerateAsync(list, options, cancellationToken);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _release.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
