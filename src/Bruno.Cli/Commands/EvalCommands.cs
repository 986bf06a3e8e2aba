using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using Bruno.Core.Identity;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Bruno.Cli.Commands;

/// <summary>
/// <c>bruno eval run CASES.jsonl --tenant T</c>: runs evaluation cases (one JSON object per line: question,
/// expected_documents, expected_phrase, must_not_answer, optional id and style) against the tenant's current knowledge
/// through a running server, prints the figures (a table; <c>--json</c> for the whole run) and exits 1 when a figure
/// is below its <c>--min-*</c> threshold, so that a knowledge base can be gated in CI.
/// </summary>
internal sealed class EvalRunCommand : AsyncCommand<EvalRunCommand.Settings>
{
    public sealed class Settings : TenantUserSettings
    {
        [CommandArgument(0, "<CASES>")]
        [Description("A JSON Lines file of cases.")]
        public string Cases { get; init; } = string.Empty;

        [CommandOption("--label <LABEL>")]
        [Description("A name for the run (kept with it).")]
        public string? Label { get; init; }

        [CommandOption("--no-keep")]
        [Description("Do not keep the run in the tenant's store.")]
        public bool NoKeep { get; init; }

        [CommandOption("--min-hit1 <SHARE>")]
        public double? MinHit1 { get; init; }

        [CommandOption("--min-hit5 <SHARE>")]
        public double? MinHit5 { get; init; }

        [CommandOption("--min-mrr <SHARE>")]
        public double? MinMrr { get; init; }

        [CommandOption("--min-accuracy <SHARE>")]
        public double? MinAccuracy { get; init; }

        [CommandOption("--min-citation-precision <SHARE>")]
        public double? MinCitationPrecision { get; init; }

        [CommandOption("--min-no-answer-recall <SHARE>")]
        public double? MinNoAnswerRecall { get; init; }

        [CommandOption("--max-calibration-error <SHARE>")]
        public double? MaxCalibrationError { get; init; }

        public override ValidationResult Validate()
        {
            var thresholds = new[] { MinHit1, MinHit5, MinMrr, MinAccuracy, MinCitationPrecision, MinNoAnswerRecall, MaxCalibrationError };
            return thresholds.Any(t => t is < 0 or > 1 || (t is { } v && double.IsNaN(v)))
                ? ValidationResult.Error("thresholds are shares between 0 and 1")
                : base.Validate();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var cases = Read(settings.Cases);
        using var api = settings.Client(Scopes.Admin);
        var run = await api.SendAsync(HttpMethod.Post, "/api/v1/evaluations", new { cases, label = settings.Label, keep = !settings.NoKeep }, cancellationToken);
        var metrics = run.GetProperty("metrics");
        var failures = new List<string>();
        void AtLeast(string name, string label, double? min)
        {
            if (min is { } m && (metrics.GetProperty(name).ValueKind != JsonValueKind.Number || metrics.GetProperty(name).GetDouble() < m))
            {
                failures.Add($"{label} {Show(metrics.GetProperty(name))} is below {m.ToString(CultureInfo.InvariantCulture)}");
            }
        }

        AtLeast("hit_at_1", "hit@1", settings.MinHit1);
        AtLeast("hit_at_5", "hit@5", settings.MinHit5);
        AtLeast("mrr_at_10", "MRR@10", settings.MinMrr);
        AtLeast("answer_accuracy", "answer accuracy", settings.MinAccuracy);
        AtLeast("citation_precision", "citation precision", settings.MinCitationPrecision);
        AtLeast("no_answer_recall", "no-answer recall", settings.MinNoAnswerRecall);
        if (settings.MaxCalibrationError is { } max && (metrics.GetProperty("calibration_error").ValueKind != JsonValueKind.Number || metrics.GetProperty("calibration_error").GetDouble() > max))
        {
            failures.Add($"calibration error {Show(metrics.GetProperty("calibration_error"))} is above {max.ToString(CultureInfo.InvariantCulture)}");
        }

        CliConsole.For(settings).Write(run, c => Render(c, run));
        if (failures.Count > 0)
        {
            throw new CliException(BrunoCli.UserError, string.Join("; ", failures));
        }

        return BrunoCli.Ok;
    }

    /// <summary>The cases of a JSON Lines file; a line that is not a JSON object is the user's error, named by its number.</summary>
    internal static List<JsonElement> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException(BrunoCli.UserError, $"'{path}' does not exist");
        }

        var cases = new List<JsonElement>();
        var n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var json = JsonDocument.Parse(line);
                if (json.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw new CliException(BrunoCli.UserError, $"{path}:{n}: a case is a JSON object");
                }

                cases.Add(json.RootElement.Clone());
            }
            catch (JsonException)
            {
                throw new CliException(BrunoCli.UserError, $"{path}:{n}: not valid JSON");
            }
        }

        return cases.Count > 0 ? cases : throw new CliException(BrunoCli.UserError, $"'{path}' holds no cases");
    }

    private static string Show(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static void Render(IAnsiConsole console, JsonElement run)
    {
        var m = run.GetProperty("metrics");
        var table = new Table().Title($"evaluation {run.GetProperty("id").GetString()} — {m.GetProperty("cases").GetInt32()} cases over {run.GetProperty("documents").GetInt32()} documents");
        table.AddColumn("figure").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (name, label) in new[]
        {
            ("hit_at_1", "hit@1"), ("hit_at_5", "hit@5"), ("mrr_at_10", "MRR@10"), ("answer_accuracy", "answer accuracy"),
            ("citation_precision", "citation precision"), ("no_answer_precision", "no-answer precision"), ("no_answer_recall", "no-answer recall"),
            ("confidence_right", "mean confidence, right"), ("confidence_wrong", "mean confidence, wrong"), ("calibration_error", "calibration error"),
            ("confidence_auc", "confidence AUC"),
        })
        {
            table.AddRow(label, Show(m.GetProperty(name)));
        }

        table.AddRow("latency p50 / p95", $"{m.GetProperty("latency_p50_ms").GetDouble():0.0} / {m.GetProperty("latency_p95_ms").GetDouble():0.0} ms");
        console.Write(table);
        var wrong = run.GetProperty("cases").EnumerateArray().Where(c => !c.GetProperty("correct").GetBoolean()).Take(10).ToList();
        foreach (var c in wrong)
        {
            console.WriteLine($"wrong: {c.GetProperty("question").GetString()} ({(c.GetProperty("answered").GetBoolean() ? "answered" : "not answered")})");
        }
    }
}

/// <summary><c>bruno eval list --tenant T</c>: the tenant's kept evaluation runs, newest first.</summary>
internal sealed class EvalListCommand : AsyncCommand<TenantUserSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, TenantUserSettings settings, CancellationToken cancellationToken)
    {
        using var api = settings.Client(Scopes.Admin);
        var list = await api.SendAsync(HttpMethod.Get, "/api/v1/evaluations", (HttpContent?)null, cancellationToken);
        CliConsole.For(settings).Write(list, c =>
        {
            var table = new Table().AddColumn("id").AddColumn("label").AddColumn("cases").AddColumn("hit@5").AddColumn("accuracy").AddColumn("no-answer recall");
            foreach (var run in list.GetProperty("items").EnumerateArray())
            {
                var m = run.GetProperty("metrics");
                table.AddRow(run.GetProperty("id").GetString()!, Markup.Escape(run.GetProperty("label").GetString() ?? string.Empty), m.GetProperty("cases").GetInt32().ToString(CultureInfo.InvariantCulture), Fmt(m, "hit_at_5"), Fmt(m, "answer_accuracy"), Fmt(m, "no_answer_recall"));
            }

            c.Write(table);
        });
        return BrunoCli.Ok;
    }

    private static string Fmt(JsonElement m, string name) =>
        m.GetProperty(name).ValueKind == JsonValueKind.Number ? m.GetProperty(name).GetDouble().ToString("0.00", CultureInfo.InvariantCulture) : "-";
}

/// <summary><c>bruno eval compare A B --tenant T</c>: two kept runs side by side, with the change of each figure.</summary>
internal sealed class EvalCompareCommand : AsyncCommand<EvalCompareCommand.Settings>
{
    public sealed class Settings : TenantUserSettings
    {
        [CommandArgument(0, "<FIRST>")]
        public string First { get; init; } = string.Empty;

        [CommandArgument(1, "<SECOND>")]
        public string Second { get; init; } = string.Empty;
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var api = settings.Client(Scopes.Admin);
        var comparison = await api.SendAsync(HttpMethod.Get, $"/api/v1/evaluations/compare?first={Uri.EscapeDataString(settings.First)}&second={Uri.EscapeDataString(settings.Second)}", (HttpContent?)null, cancellationToken);
        CliConsole.For(settings).Write(comparison, c =>
        {
            var table = new Table().AddColumn("figure").AddColumn(settings.First).AddColumn(settings.Second).AddColumn("change");
            var a = comparison.GetProperty("first").GetProperty("metrics");
            var b = comparison.GetProperty("second").GetProperty("metrics");
            foreach (var change in comparison.GetProperty("change").EnumerateObject())
            {
                table.AddRow(change.Name, Fmt(a, change.Name), Fmt(b, change.Name), change.Value.ValueKind == JsonValueKind.Number ? change.Value.GetDouble().ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) : "-");
            }

            c.Write(table);
        });
        return BrunoCli.Ok;
    }

    private static string Fmt(JsonElement m, string name) =>
        m.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble().ToString("0.00", CultureInfo.InvariantCulture) : "-";
}
