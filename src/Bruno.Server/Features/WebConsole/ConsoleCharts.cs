using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Components;

namespace Bruno.Server.Features.WebConsole;

/// <summary>One value of a chart: its key (a day, a run id), the short label under it, and how it reads in words.</summary>
/// <param name="Key">What the point stands for (written as <c>data-key</c>).</param>
/// <param name="Label">The short label under the axis (may be empty).</param>
/// <param name="Value">The value; null draws nothing.</param>
/// <param name="Text">The value in words, shown as the point's tooltip.</param>
internal sealed record ChartPoint(string Key, string Label, double? Value, string Text);

/// <summary>
/// Charts of the console as inline SVG made on the server: geometry in SVG attributes and colours in classes (the
/// content security policy allows neither inline styles nor scripts). Each chart is an image with a summary as its
/// accessible name; the page shows the same figures in a table. Every text is HTML-encoded.
/// </summary>
internal static class ConsoleCharts
{
    private const double Width = 720, Height = 220, Left = 56, Right = 12, Top = 12, Bottom = 28;
    private const double PlotWidth = Width - Left - Right, PlotHeight = Height - Top - Bottom;
    private static readonly int[] Steps = [1, 2, 5, 10];

    /// <summary>A bar per point (a day of the month).</summary>
    public static MarkupString Bars(string name, string summary, IReadOnlyList<ChartPoint> points, Func<double, string> format)
    {
        var (svg, max) = Open(name, summary, points, format, null);
        var slot = PlotWidth / Math.Max(points.Count, 1);
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var x = Left + (i * slot);
            var h = p.Value is { } v && max > 0 ? PlotHeight * v / max : 0;
            svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"bar\" data-key=\"{Enc(p.Key)}\" data-value=\"{Num(p.Value ?? 0)}\" x=\"{Num(x + (slot * 0.15))}\" y=\"{Num(Top + PlotHeight - h)}\" width=\"{Num(slot * 0.7)}\" height=\"{Num(h)}\"><title>{Enc(p.Text)}</title></rect>");
            AxisLabel(svg, p.Label, x + (slot / 2));
        }

        return Close(svg);
    }

    /// <summary>
    /// A line through the points (runs, oldest first), a dot on each; points without a value are skipped. The scale goes
    /// up to <paramref name="scale"/> when given (1 for shares), else to a round number above the largest value.
    /// </summary>
    public static MarkupString Line(string name, string summary, IReadOnlyList<ChartPoint> points, Func<double, string> format, double? scale = null)
    {
        var (svg, max) = Open(name, summary, points, format, scale);
        var step = points.Count > 1 ? PlotWidth / (points.Count - 1) : 0;
        double X(int i) => points.Count > 1 ? Left + (i * step) : Left + (PlotWidth / 2);
        double Y(double v) => Top + PlotHeight - (max > 0 ? PlotHeight * v / max : 0);
        var line = string.Join(' ', points.Select((p, i) => (p, i)).Where(t => t.p.Value is not null).Select(t => $"{Num(X(t.i))},{Num(Y(t.p.Value!.Value))}"));
        if (line.Length > 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<polyline class=\"line\" points=\"{line}\" />");
        }

        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            if (p.Value is { } v)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<circle class=\"point\" data-key=\"{Enc(p.Key)}\" data-value=\"{Num(v)}\" cx=\"{Num(X(i))}\" cy=\"{Num(Y(v))}\" r=\"5\"><title>{Enc(p.Text)}</title></circle>");
            }

            AxisLabel(svg, p.Label, X(i));
        }

        return Close(svg);
    }

    /// <summary>The chart's element, its axes and the top of its scale (a round number above the largest value).</summary>
    private static (StringBuilder Svg, double Max) Open(string name, string summary, IReadOnlyList<ChartPoint> points, Func<double, string> format, double? scale)
    {
        var max = Math.Max(scale ?? 0, Ceiling(points.Select(p => p.Value ?? 0).DefaultIfEmpty(0).Max()));
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg class=\"chart\" data-chart=\"{Enc(name)}\" role=\"img\" aria-label=\"{Enc(summary)}\" viewBox=\"0 0 {Num(Width)} {Num(Height)}\" xmlns=\"http://www.w3.org/2000/svg\">");
        svg.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{Num(Left)}\" y1=\"{Num(Top + PlotHeight)}\" x2=\"{Num(Width - Right)}\" y2=\"{Num(Top + PlotHeight)}\" />");
        svg.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{Num(Left)}\" y1=\"{Num(Top)}\" x2=\"{Num(Width - Right)}\" y2=\"{Num(Top)}\" />");
        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"scale\" x=\"{Num(Left - 6)}\" y=\"{Num(Top + 4)}\" text-anchor=\"end\">{Enc(format(max))}</text>");
        svg.Append(CultureInfo.InvariantCulture, $"<text class=\"scale\" x=\"{Num(Left - 6)}\" y=\"{Num(Top + PlotHeight + 4)}\" text-anchor=\"end\">{Enc(format(0))}</text>");
        return (svg, max);
    }

    private static MarkupString Close(StringBuilder svg) => new(svg.Append("</svg>").ToString());

    private static void AxisLabel(StringBuilder svg, string label, double x)
    {
        if (label.Length > 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"scale\" x=\"{Num(x)}\" y=\"{Num(Height - 8)}\" text-anchor=\"middle\">{Enc(label)}</text>");
        }
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="value"/> (1 for nothing).</summary>
    internal static double Ceiling(double value)
    {
        if (value <= 0)
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        return Steps.Select(m => m * power).First(c => c >= value * (1 - 1e-12));
    }

    private static string Num(double v) => Math.Round(v, 2).ToString(CultureInfo.InvariantCulture);

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
