using Bruno.Core.Documents;
using Bruno.Core.Evaluation;
using Bruno.Storage;
using Microsoft.Extensions.Options;

namespace Bruno.Core.Tests;

/// <summary>Evaluations over a tenant's real knowledge: the figures, the runs kept in the tenant's store, bad cases.</summary>
public sealed class EvaluationTests : IAsyncLifetime
{
    private TenantKnowledge _k = null!;
    private EvaluationService _evaluations = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TenantStore Store => _k.Store;

    private IOptions<BrunoOptions> Settings => _k.Options;

    public async ValueTask InitializeAsync()
    {
        _k = await TenantKnowledge.CreateAsync();
        _evaluations = new EvaluationService(_k.Ask, _k.Documents);
        await _k.Documents.PutAsync(Store, Readers.Admin, new DocumentInput("returns", "Returns policy", "text/markdown", "# Returns\nCustomers may return any product within 30 days of delivery for a full refund.\n# Shipping\nStandard shipping takes 3 to 5 business days."), Ct);
        await _k.Documents.PutAsync(Store, Readers.Admin, new DocumentInput("cafeteria", "Cafeteria", "text/plain", "The cafeteria serves soup on Mondays and fish on Fridays. It opens at half past eleven."), Ct);
    }

    private static readonly EvaluationCase[] Cases =
    [
        new("How many days do I have to send something back?", ["returns"], "30 days") { Id = "r1", Style = "natural" },
        new("return window days", ["returns"], "30 days") { Id = "r2", Style = "keyword" },
        new("What does the cafeteria serve on Fridays?", ["cafeteria"], "fish") { Id = "c1", Style = "natural" },
        new("What is the boiling point of tungsten?", MustNotAnswer: true) { Id = "u1" },
    ];

    [Fact]
    public async Task ARun_MeasuresRetrievalAnswersAndRefusals_AndIsKeptListedComparedAndDeleted()
    {
        var run = await _evaluations.RunAsync(Store, Readers.Admin, Cases, Settings.Value.Retrieval, "baseline", ct: Ct);

        Assert.Equal((4, 3, 1), (run.Metrics.Cases, run.Metrics.Answerable, run.Metrics.Unanswerable));
        Assert.Equal(1.0, run.Metrics.HitAt1);
        Assert.Equal(1.0, run.Metrics.HitAt5);
        Assert.Equal(1.0, run.Metrics.MrrAt10);
        Assert.Equal(1.0, run.Metrics.AnswerAccuracy);
        Assert.Equal(1.0, run.Metrics.NoAnswerRecall);
        Assert.Equal(1.0, run.Metrics.CitationPrecision);
        Assert.Equal(2, run.Documents);
        Assert.Equal(["keyword", "natural"], run.ByStyle.Keys.Order(StringComparer.Ordinal));
        Assert.All(run.Cases, c => Assert.True(c.Correct, c.Question + " -> " + c.Answer));
        Assert.InRange(run.Metrics.ConfidenceRight!.Value, 0, 1);

        var second = await _evaluations.RunAsync(Store, Readers.Admin, Cases[..2], Settings.Value.Retrieval, "two cases", ct: Ct);
        var listed = await EvaluationService.ListAsync(Store, Readers.Admin, ct: Ct);
        Assert.Equal([second.Id, run.Id], listed.Select(r => r.Id));
        var read = await EvaluationService.GetAsync(Store, Readers.Admin, run.Id, Ct);
        Assert.Equal(run.Cases.Select(c => (c.Id, c.Correct, c.Answer)), read!.Cases.Select(c => (c.Id, c.Correct, c.Answer)));
        Assert.Equal(run.Metrics, read.Metrics);

        var comparison = await EvaluationService.CompareAsync(Store, Readers.Admin, run.Id, second.Id, Ct);
        Assert.Equal(0, comparison!.Change["hit_at_1"]);
        Assert.Null(comparison.Change["no_answer_recall"]); // the second run had no unanswerable case

        Assert.True(await EvaluationService.DeleteAsync(Store, Readers.Admin, run.Id, Ct));
        Assert.False(await EvaluationService.DeleteAsync(Store, Readers.Admin, run.Id, Ct));
        Assert.Null(await EvaluationService.GetAsync(Store, Readers.Admin, run.Id, Ct));
        Assert.Equal([second.Id], (await EvaluationService.ListAsync(Store, Readers.Admin, ct: Ct)).Select(r => r.Id));
    }

    [Fact]
    public async Task ARunNotKept_LeavesNothingBehind()
    {
        await _evaluations.RunAsync(Store, Readers.Admin, Cases, Settings.Value.Retrieval, keep: false, ct: Ct);
        Assert.Empty(await EvaluationService.ListAsync(Store, Readers.Admin, ct: Ct));
    }

    [Theory]
    [InlineData("no cases")]
    [InlineData("empty question")]
    [InlineData("no expected documents")]
    [InlineData("bad document id")]
    [InlineData("phrase on an unanswerable case")]
    public async Task BadCases_AreRefusedBeforeAnythingRuns(string what)
    {
        EvaluationCase[] cases = what switch
        {
            "no cases" => [],
            "empty question" => [new("  ", ["returns"])],
            "no expected documents" => [new("How long?", [])],
            "bad document id" => [new("How long?", ["../etc/passwd"])],
            _ => [new("How long?", null, "30 days", MustNotAnswer: true)],
        };
        await Assert.ThrowsAsync<EvaluationRejectedException>(() => _evaluations.RunAsync(Store, Readers.Admin, cases, Settings.Value.Retrieval, ct: Ct));
        Assert.Empty(await EvaluationService.ListAsync(Store, Readers.Admin, ct: Ct));
    }

    [Fact]
    public void Calibration_AndAuc_AreComputedAsDefined()
    {
        CaseResult R(double confidence, bool correct) => new(null, "q", null, false, ["d"], true, correct, 1, ["d"], ["d"], confidence, 1, "a");
        // two bins: 0.9 (right 1 of 2) and 0.2 (right 0 of 2): |0.9 - 0.5| * 0.5 + |0.2 - 0| * 0.5
        var results = new[] { R(0.9, true), R(0.9, false), R(0.2, false), R(0.2, false) };
        Assert.Equal(0.3, EvaluationService.CalibrationError(results), 6);
        Assert.Equal(2.5 / 3, EvaluationService.Auc([0.9], [0.9, 0.2, 0.2]), 6); // a tie counts half
        Assert.Equal(410, EvaluationService.LongestQuote(new string('a', 410) + " [1] short [2]\n```\n" + new string('b', 900) + "\n```"));
        Assert.True(EvaluationService.HasRepeatedSentence("Backups run nightly. [1] Backups run nightly. [2]"));
    }

    public ValueTask DisposeAsync() => _k.DisposeAsync();
}
