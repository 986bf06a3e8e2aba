using Bruno.Core.Documents;

namespace Bruno.Core.Tests;

public sealed class ChunkerTests
{
    [Fact]
    public void Markdown_IsSplitOnHeadings_AndChunksKeepTheirSectionPath()
    {
        var text = "# Guide\nIntro words here.\n## Install\nRun the installer.\n```\n# not a heading in code\n```\n## Use\nOpen the app.";
        var chunks = Chunker.Split(text, markdown: true, maxTokens: 100, overlapTokens: 10);

        Assert.Equal(["Guide", "Guide > Install", "Guide > Use"], chunks.Select(c => c.Section));
        Assert.StartsWith("Install\n", chunks[1].Text, StringComparison.Ordinal);
        Assert.Contains("# not a heading in code", chunks[1].Text, StringComparison.Ordinal);
        Assert.Equal([0, 1, 2], chunks.Select(c => c.Position));
    }

    [Fact]
    public void LongText_IsCutIntoWindows_NoneOverTheLimit_ConsecutiveOnesOverlapping()
    {
        var words = Enumerable.Range(0, 1_000).Select(i => $"word{i}").ToArray();
        var chunks = Chunker.Split(string.Join(' ', words), markdown: false, maxTokens: 100, overlapTokens: 20);

        Assert.True(chunks.Count > 10);
        foreach (var c in chunks)
        {
            Assert.True(c.Text.Split(' ').Sum(Chunker.EstimateTokens) <= 100, $"chunk {c.Position} is over the limit");
        }

        for (var i = 1; i < chunks.Count; i++)
        {
            var previous = chunks[i - 1].Text.Split(' ');
            var current = chunks[i].Text.Split(' ');
            Assert.Contains(current[0], previous); // the window starts inside the one before it
        }

        // every word is in some chunk, in order
        Assert.Equal(words, chunks.SelectMany(c => c.Text.Split(' ')).Distinct());
    }

    [Theory]
    [InlineData("a", 1)]
    [InlineData("word", 1)]
    [InlineData("internationalization", 5)]
    [InlineData("e.g.", 4)]
    [InlineData("x86-64", 3)]
    public void TokenEstimate_CountsPunctuationAndLongRuns(string word, int pieces) => Assert.Equal(pieces, Chunker.EstimateTokens(word));
}
