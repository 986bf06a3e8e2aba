using Bruno.Core.Embeddings;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Time.Testing;

namespace Bruno.Core.Tests;

/// <summary>
/// Issue 19's footprint: the local model's batch session exists only while batches run. It is built on the first batch,
/// released after its idle time without one, built again on the next, and a text gets the same vector from either
/// session.
/// </summary>
public sealed class EmbeddingSessionTests
{
    private static readonly string[] Chunks =
    [
        "The harbour master records every ship that enters the port.",
        "Grain, timber and salt arrive on the morning tide.",
        "Ships leaving for the northern ports sail before noon.",
        "A pilot boards each vessel at the outer buoy.",
        "The customs office closes at six in the evening.",
        "Storms in winter keep the fishing fleet at anchor.",
    ];

    [Fact]
    public async Task TheBatchSession_LivesWhileBatchesRun_AndIsReleasedWhenIdle()
    {
        var time = new FakeTimeProvider();
        using var model = new MiniLmEmbeddingGenerator(time, TimeSpan.FromSeconds(10));
        Assert.False(model.HasBatchSession); // an idle process holds the question session only

        var alone = new List<float[]>();
        foreach (var chunk in Chunks)
        {
            alone.Add((await model.GenerateAsync([chunk], cancellationToken: TestContext.Current.CancellationToken))[0].Vector.ToArray());
        }

        Assert.False(model.HasBatchSession); // single texts never build it
        var batched = await model.GenerateAsync(Chunks, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(model.HasBatchSession);
        AssertSame(alone, batched);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(model.HasBatchSession);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(model.HasBatchSession);

        var again = await model.GenerateAsync(Chunks, cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(model.HasBatchSession);
        AssertSame(alone, again);
    }

    private static void AssertSame(List<float[]> expected, GeneratedEmbeddings<Embedding<float>> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var v = actual[i].Vector.Span;
            var dot = 0.0;
            for (var d = 0; d < v.Length; d++)
            {
                dot += expected[i][d] * v[d];
            }

            Assert.True(dot > 0.9999, $"text {i}: cosine {dot} between the question session and the batch session");
        }
    }
}
