using System.Globalization;
using System.Text.Json;
using Bruno.Core.Agents;
using Bruno.Core.Evaluation;
using Bruno.Core.Retrieval;

namespace Bruno.Quality.Benchmarks;

/// <summary>
/// Fits the logistic models of Bruno's re-ranker and confidence on feature rows (see <see cref="Features"/>) by
/// Newton's method with a small L2 penalty, and says how they hold on each corpus left out of the fit.
/// </summary>
internal static class Fitting
{
    public static int Run(List<string> files)
    {
        var rows = files.SelectMany(File.ReadLines).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        // a passage is relevant when it comes from an expected page and holds the expected phrase: what an answer needs
        var passages = rows.Where(r => r.GetProperty("type").GetString() == "passage").Select(r => (Corpus: r.GetProperty("corpus").GetString()!, Y: r.GetProperty("label").GetInt32() * r.GetProperty("phrase").GetInt32(), X: r.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()).ToArray())).ToList();
        var answers = rows.Where(r => r.GetProperty("type").GetString() == "answer").Select(r => (Corpus: r.GetProperty("corpus").GetString()!, Answerable: r.GetProperty("answerable").GetInt32(), Y: r.GetProperty("correct").GetInt32(), Top: r.GetProperty("top").GetDouble(), X: r.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()).ToArray(), Gate: r.GetProperty("gate").EnumerateArray().Select(e => e.GetDouble()).ToArray())).ToList();
        var corpora = passages.Select(p => p.Corpus).Distinct().Order(StringComparer.Ordinal).ToList();

        Console.WriteLine($"passages: {passages.Count} rows ({passages.Count(p => p.Y == 1)} relevant), answers: {answers.Count}");
        Console.WriteLine("re-ranker (" + string.Join(", ", PassageFeatures.Names) + ")");
        var relevance = Fit([.. passages.Select(p => p.X)], [.. passages.Select(p => p.Y)]);
        Console.WriteLine("  all corpora: [" + string.Join(", ", relevance.Select(w => w.ToString("0.###", CultureInfo.InvariantCulture))) + "]");
        foreach (var held in corpora)
        {
            var train = passages.Where(p => p.Corpus != held).ToList();
            var test = passages.Where(p => p.Corpus == held).ToList();
            var w = Fit([.. train.Select(p => p.X)], [.. train.Select(p => p.Y)]);
            var scores = test.Select(p => RelevanceModel.Probability(w, p.X)).ToList();
            Console.WriteLine($"  held out {held}: AUC {Auc(scores, [.. test.Select(p => p.Y)]):0.000} (fit on the others), with all-corpora weights {Auc([.. test.Select(p => RelevanceModel.Probability(relevance, p.X))], [.. test.Select(p => p.Y)]):0.000}, with the shipped weights {Auc([.. test.Select(p => RelevanceModel.Probability(RelevanceModel.Weights, p.X))], [.. test.Select(p => p.Y)]):0.000}");
        }

        var sentences = rows.Where(r => r.GetProperty("type").GetString() == "sentence").Select(r => (Corpus: r.GetProperty("corpus").GetString()!, Y: r.GetProperty("label").GetInt32(), X: r.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()).ToArray())).ToList();
        if (sentences.Count > 0)
        {
            Console.WriteLine($"sentence ranker ({string.Join(", ", SentenceFeatures.Labels)}): {sentences.Count} rows ({sentences.Count(s => s.Y == 1)} with the phrase)");
            var w = Fit([.. sentences.Select(s => s.X)], [.. sentences.Select(s => s.Y)]);
            Console.WriteLine("  all corpora: [" + string.Join(", ", w.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture))) + "]");
            foreach (var held in corpora)
            {
                var train = sentences.Where(s => s.Corpus != held).ToList();
                var test = sentences.Where(s => s.Corpus == held).ToList();
                var fitted = Fit([.. train.Select(s => s.X)], [.. train.Select(s => s.Y)]);
                Console.WriteLine($"  held out {held}: AUC {Auc([.. test.Select(s => RelevanceModel.Probability(fitted, s.X))], [.. test.Select(s => s.Y)]):0.000}, shipped {Auc([.. test.Select(s => RelevanceModel.Probability(SentenceModel.Weights, s.X))], [.. test.Select(s => s.Y)]):0.000}");
            }
        }

        Listwise("re-ranker, page", [.. rows.Where(r => r.GetProperty("type").GetString() == "passage").Select(r => (Group: r.GetProperty("corpus").GetString() + "/" + r.GetProperty("id").GetString(), Corpus: r.GetProperty("corpus").GetString()!, Y: r.GetProperty("label").GetInt32(), X: r.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()).ToArray()))], RelevanceModel.Weights);
        Listwise("re-ranker, page with phrase", [.. rows.Where(r => r.GetProperty("type").GetString() == "passage").Select(r => (Group: r.GetProperty("corpus").GetString() + "/" + r.GetProperty("id").GetString(), Corpus: r.GetProperty("corpus").GetString()!, Y: r.GetProperty("label").GetInt32() * r.GetProperty("phrase").GetInt32(), X: r.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()).ToArray()))], RelevanceModel.Weights);
        Listwise("sentence ranker", [.. rows.Where(r => r.GetProperty("type").GetString() == "sentence").Select(r => (Group: r.GetProperty("corpus").GetString() + "/" + r.GetProperty("id").GetString(), Corpus: r.GetProperty("corpus").GetString()!, Y: r.GetProperty("label").GetInt32(), X: r.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()).ToArray()))], SentenceModel.Weights);

        if (answers.Count > 0)
        {
            Console.WriteLine("confidence of answers (" + string.Join(", ", AnswerSignals.Names) + ")");
            var confidence = Fit([.. answers.Select(a => a.X)], [.. answers.Select(a => a.Y)]);
            Console.WriteLine("  all corpora: [" + string.Join(", ", confidence.Select(w => w.ToString("0.###", CultureInfo.InvariantCulture))) + "]");
            Console.WriteLine("answerability (" + string.Join(", ", AnswerabilityModel.Names) + ") -> no answer exists");
            var gate = Fit([.. answers.Select(a => a.Gate)], [.. answers.Select(a => 1 - a.Answerable)]);
            Console.WriteLine("  all corpora: [" + string.Join(", ", gate.Select(w => w.ToString("0.###", CultureInfo.InvariantCulture))) + "]");
            foreach (var held in corpora)
            {
                var train = answers.Where(a => a.Corpus != held).ToList();
                var test = answers.Where(a => a.Corpus == held).ToList();
                var w = Fit([.. train.Select(a => a.Gate)], [.. train.Select(a => 1 - a.Answerable)]);
                Console.WriteLine($"  held out {held}: AUC {Auc([.. test.Select(a => RelevanceModel.Probability(w, a.Gate))], [.. test.Select(a => 1 - a.Answerable)]):0.000}");
            }

            Console.WriteLine("answerability bar (with the all-corpora gate): answer when P(an answer exists) >= bar");
            foreach (var bar in new[] { 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9 })
            {
                var answerable = answers.Where(a => a.Answerable == 1).ToList();
                var unanswerable = answers.Where(a => a.Answerable == 0).ToList();
                bool Answers((string Corpus, int Answerable, int Y, double Top, double[] X, double[] Gate) a) => 1 - RelevanceModel.Probability(gate, a.Gate) >= bar;
                Console.WriteLine($"  {bar:0.00}: right answers kept {answerable.Count(a => Answers(a) && a.Y == 1) / (double)answerable.Count:0.000}, answerable refused {answerable.Count(a => !Answers(a)) / (double)answerable.Count:0.000}, unanswerable refused {unanswerable.Count(a => !Answers(a)) / (double)Math.Max(1, unanswerable.Count):0.000}");
            }

            foreach (var held in corpora)
            {
                var train = answers.Where(a => a.Corpus != held).ToList();
                var test = answers.Where(a => a.Corpus == held).ToList();
                var w = Fit([.. train.Select(a => a.X)], [.. train.Select(a => a.Y)]);
                var p = test.Select(a => RelevanceModel.Probability(w, a.X)).ToList();
                Console.WriteLine($"  held out {held}: AUC {Auc(p, [.. test.Select(a => a.Y)]):0.000}, mean predicted {p.Average():0.00} vs right {test.Average(a => a.Y):0.00}");
            }

        }

        return 0;
    }

    /// <summary>
    /// Fits weights that put the right item of each question first: a listwise (softmax per question) fit, then a
    /// one-feature logistic fit of its score so the result is a probability again. Prints, for each corpus left out,
    /// how often the top item is right with the shipped, pointwise and listwise weights.
    /// </summary>
    private static void Listwise(string label, List<(string Group, string Corpus, int Y, double[] X)> rows, double[] shipped)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var all = FitListwise(rows);
        Console.WriteLine($"{label}, listwise: [" + string.Join(", ", all.Select(v => v.ToString("0.###", CultureInfo.InvariantCulture))) + "]");
        foreach (var held in rows.Select(r => r.Corpus).Distinct().Order(StringComparer.Ordinal))
        {
            var train = rows.Where(r => r.Corpus != held).ToList();
            var test = rows.Where(r => r.Corpus == held).ToList();
            var listwise = FitListwise(train);
            var pointwise = Fit([.. train.Select(r => r.X)], [.. train.Select(r => r.Y)]);
            Console.WriteLine($"  held out {held}: top right shipped {TopRight(test, shipped):0.000}, pointwise {TopRight(test, pointwise):0.000}, listwise {TopRight(test, listwise):0.000}");
        }
    }

    /// <summary>The share of questions (with a right item) whose best-scored item is right.</summary>
    private static double TopRight(List<(string Group, string Corpus, int Y, double[] X)> rows, double[] w)
    {
        var groups = rows.GroupBy(r => r.Group).Where(g => g.Any(r => r.Y == 1)).ToList();
        return groups.Count == 0 ? 0 : groups.Count(g => g.MaxBy(r => RelevanceModel.Probability(w, r.X)).Y == 1) / (double)groups.Count;
    }

    /// <summary>Softmax per group (uniform over its right items) by Newton's method, then calibrated; intercept first.</summary>
    public static double[] FitListwise(List<(string Group, string Corpus, int Y, double[] X)> rows, double lambda = 1.0)
    {
        var groups = rows.GroupBy(r => r.Group).Where(g => g.Any(r => r.Y == 1) && g.Any(r => r.Y == 0)).Select(g => g.ToList()).ToList();
        var d = rows[0].X.Length;
        var w = new double[d];
        for (var iteration = 0; iteration < 50; iteration++)
        {
            var gradient = new double[d];
            var hessian = new double[d, d];
            foreach (var g in groups)
            {
                var scores = g.Select(r => Dot(w, r.X)).ToArray();
                var max = scores.Max();
                var e = scores.Select(v => Math.Exp(v - max)).ToArray();
                var z = e.Sum();
                var positives = g.Count(r => r.Y == 1);
                var mean = new double[d];
                for (var i = 0; i < g.Count; i++)
                {
                    var p = e[i] / z;
                    var t = g[i].Y == 1 ? 1.0 / positives : 0;
                    for (var a = 0; a < d; a++)
                    {
                        gradient[a] += (p - t) * g[i].X[a];
                        mean[a] += p * g[i].X[a];
                        for (var b = 0; b < d; b++)
                        {
                            hessian[a, b] += p * g[i].X[a] * g[i].X[b];
                        }
                    }
                }

                for (var a = 0; a < d; a++)
                {
                    for (var b = 0; b < d; b++)
                    {
                        hessian[a, b] -= mean[a] * mean[b];
                    }
                }
            }

            if (NewtonStep(w, gradient, hessian, lambda, penalisedFrom: 0) < 1e-8)
            {
                break;
            }
        }

        // calibrate: P(right) = sigmoid(a + b * score)
        var calibration = Fit([.. rows.Select(r => new[] { Dot(w, r.X) })], [.. rows.Select(r => r.Y)], lambda: 0.01);
        return [calibration[0], .. w.Select(v => v * calibration[1])];
    }

    private static double Dot(double[] w, double[] x)
    {
        var s = 0.0;
        for (var i = 0; i < x.Length; i++)
        {
            s += w[i] * x[i];
        }

        return s;
    }

    /// <summary>Logistic regression (intercept first) by Newton's method with L2 penalty lambda on the weights.</summary>
    public static double[] Fit(double[][] x, int[] y, double lambda = 1.0)
    {
        var d = x[0].Length + 1;
        var w = new double[d];
        for (var iteration = 0; iteration < 50; iteration++)
        {
            var gradient = new double[d];
            var hessian = new double[d, d];
            for (var i = 0; i < x.Length; i++)
            {
                var row = Row(x[i]);
                var p = RelevanceModel.Probability(w, x[i]);
                var s = p * (1 - p);
                for (var a = 0; a < d; a++)
                {
                    gradient[a] += (p - y[i]) * row[a];
                    for (var b = 0; b < d; b++)
                    {
                        hessian[a, b] += s * row[a] * row[b];
                    }
                }
            }

            if (NewtonStep(w, gradient, hessian, lambda, penalisedFrom: 1) < 1e-8)
            {
                break;
            }
        }

        return w;
    }

    /// <summary>One Newton step with an L2 penalty on the weights from <paramref name="penalisedFrom"/> on; returns its size.</summary>
    private static double NewtonStep(double[] w, double[] gradient, double[,] hessian, double lambda, int penalisedFrom)
    {
        for (var a = penalisedFrom; a < w.Length; a++)
        {
            gradient[a] += lambda * w[a];
            hessian[a, a] += lambda;
        }

        var step = Solve(hessian, gradient);
        var change = 0.0;
        for (var a = 0; a < w.Length; a++)
        {
            w[a] -= step[a];
            change += Math.Abs(step[a]);
        }

        return change;
    }

    private static double[] Row(double[] x) => [1.0, .. x];

    private static double[] Solve(double[,] a, double[] b)
    {
        var n = b.Length;
        var m = (double[,])a.Clone();
        var v = (double[])b.Clone();
        for (var col = 0; col < n; col++)
        {
            var pivot = col;
            for (var r = col + 1; r < n; r++)
            {
                if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col]))
                {
                    pivot = r;
                }
            }

            for (var c = 0; c < n; c++)
            {
                (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
            }

            (v[col], v[pivot]) = (v[pivot], v[col]);
            var diag = Math.Abs(m[col, col]) < 1e-12 ? 1e-12 : m[col, col];
            for (var r = 0; r < n; r++)
            {
                if (r == col)
                {
                    continue;
                }

                var f = m[r, col] / diag;
                for (var c = col; c < n; c++)
                {
                    m[r, c] -= f * m[col, c];
                }

                v[r] -= f * v[col];
            }
        }

        return [.. Enumerable.Range(0, n).Select(i => v[i] / (Math.Abs(m[i, i]) < 1e-12 ? 1e-12 : m[i, i]))];
    }

    private static double Auc(List<double> scores, List<int> labels)
    {
        var right = scores.Where((_, i) => labels[i] == 1).ToList();
        var wrong = scores.Where((_, i) => labels[i] == 0).ToList();
        return right.Count == 0 || wrong.Count == 0 ? double.NaN : EvaluationService.Auc(right, wrong);
    }
}
