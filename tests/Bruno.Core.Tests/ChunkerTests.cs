using Bruno.Core.Documents;

namespace Bruno.Core.Tests;

public sealed class ChunkerTests
{
    private static ExtractedDocument Doc(params Block[] blocks) => new(null, blocks, new Dictionary<string, string>());

    [Fact]
    public void Chunks_FollowSections_KeepTheirHeadingPath_AndStartWithAContextLine()
    {
        var doc = TextExtractor.ExtractText("# Guide\nIntro words here.\n## Install\nRun the installer.\n```\n# not a heading in code\n```\n## Use\nOpen the app.", "text/markdown", new IngestionOptions(), TestContext.Current.CancellationToken);
        var chunks = Chunker.Split(doc, "Handbook", maxTokens: 100, overlapTokens: 10);

        Assert.Equal(["Guide", "Guide › Install", "Guide › Use"], chunks.Select(c => c.Section));
        Assert.Equal("Handbook › Guide › Install\nRun the installer.\n```\n# not a heading in code\n```", chunks[1].Text);
        Assert.Equal("Run the installer.\n```\n# not a heading in code\n```", chunks[1].Body);
        Assert.Equal([0, 1, 2], chunks.Select(c => c.Position));
    }

    [Fact]
    public void ATitleRepeatedAsTheFirstHeading_IsNamedOnce()
    {
        var chunks = Chunker.Split(Doc(new Block(BlockKind.Heading, "Backups", 1), new Block(BlockKind.Paragraph, "Nightly.")), "Backups", 100, 10);
        Assert.Equal("Backups\nNightly.", chunks[0].Text);
    }

    [Fact]
    public void LongProse_IsCutAtSentences_NoChunkOverTheLimit_ConsecutiveOnesSharingTrailingSentences()
    {
        var sentences = Enumerable.Range(0, 200).Select(i => $"Sentence number {i} talks about item{i} and nothing else.").ToList();
        var chunks = Chunker.Split(Doc(new Block(BlockKind.Paragraph, string.Join(' ', sentences))), "T", maxTokens: 100, overlapTokens: 20);

        Assert.True(chunks.Count > 10);
        Assert.All(chunks, c => Assert.True(Chunker.Tokens(c.Text) <= 100, $"chunk {c.Position} is over the limit"));
        for (var i = 1; i < chunks.Count; i++)
        {
            var firstOfThis = Sentences.Split(chunks[i].Body)[0];
            Assert.Contains(firstOfThis, chunks[i - 1].Body, StringComparison.Ordinal); // the overlap: whole sentences
        }

        Assert.All(sentences, s => Assert.Contains(chunks, c => c.Body.Contains(s, StringComparison.Ordinal))); // nothing lost, nothing cut mid-sentence
    }

    [Fact]
    public void CodeAndTables_AreNeverCut_UnlessAloneOverTheLimit()
    {
        var code = string.Join('\n', Enumerable.Range(0, 12).Select(i => $"step {i}"));
        var table = string.Join('\n', Enumerable.Range(0, 6).Select(i => $"| key{i} | value{i} |"));
        var prose = string.Join(' ', Enumerable.Range(0, 12).Select(i => $"Prose sentence {i} is here."));
        var chunks = Chunker.Split(Doc(new Block(BlockKind.Paragraph, prose), new Block(BlockKind.Code, code), new Block(BlockKind.Table, table), new Block(BlockKind.Paragraph, prose)), "T", maxTokens: 90, overlapTokens: 0);

        Assert.Single(chunks, c => c.Body.Contains("```\n" + code + "\n```", StringComparison.Ordinal));
        Assert.Single(chunks, c => c.Body.Contains(table, StringComparison.Ordinal));

        // a code block longer than a chunk is cut at lines, each piece fenced again
        var big = string.Join('\n', Enumerable.Range(0, 200).Select(i => $"line {i} of the listing"));
        var pieces = Chunker.Split(Doc(new Block(BlockKind.Code, big)), "T", maxTokens: 90, overlapTokens: 10);
        Assert.True(pieces.Count > 5);
        Assert.All(pieces, p => Assert.True(p.Body.StartsWith("```\n", StringComparison.Ordinal) && p.Body.EndsWith("\n```", StringComparison.Ordinal) && Chunker.Tokens(p.Text) <= 90));
        Assert.Equal(big, string.Join('\n', pieces.Select(p => p.Body[4..^4])));
    }

    [Fact]
    public void AWordLongerThanAChunk_IsCutIntoPieces()
    {
        var chunks = Chunker.Split(Doc(new Block(BlockKind.Paragraph, new string('x', 5_000))), "T", maxTokens: 50, overlapTokens: 0);
        Assert.True(chunks.Count > 1);
        Assert.All(chunks, c => Assert.True(Chunker.Tokens(c.Text) <= 50));
        Assert.Equal(new string('x', 5_000), string.Concat(chunks.Select(c => c.Body.Replace(" ", string.Empty, StringComparison.Ordinal))));
    }

    [Fact]
    public void PdfPages_AreKeptOnTheirChunks()
    {
        var chunks = Chunker.Split(Doc(new Block(BlockKind.Paragraph, "First page text.", 0, 1), new Block(BlockKind.Heading, "Claims", 1, 2), new Block(BlockKind.Paragraph, "Second page text.", 0, 2)), "Warranty", 100, 10);
        Assert.Equal([1, 2], chunks.Select(c => c.Page));
    }

    [Theory]
    [InlineData("a", 1)]
    [InlineData("word", 1)]
    [InlineData("internationalization", 5)]
    [InlineData("e.g.", 4)]
    [InlineData("x86-64", 3)]
    public void TokenEstimate_CountsPunctuationAndLongRuns(string word, int pieces) => Assert.Equal(pieces, Chunker.EstimateTokens(word));
}
