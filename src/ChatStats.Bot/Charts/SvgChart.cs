using System.Globalization;
using System.Security;
using System.Text;

namespace ChatStats.Bot.Charts;

/// <summary>One bar of a bar chart.</summary>
internal sealed record Bar(string Label, double Value, string? Note = null);

/// <summary>One point of a line chart: a label for the x axis (shown for some points) and a value.</summary>
internal sealed record Point(string Label, double Value);

/// <summary>
/// The SVG charts the chat commands send (as PNG), the PDF report prints and the dashboard shows: horizontal bars, a
/// line with its trend, and an hour × weekday heatmap. Sized to stay readable on a phone (800 px wide, 13 px text and
/// up); text is escaped and set in fonts that cover Latin, Cyrillic, CJK and emoji when installed. Laid out from
/// measured text (<see cref="ChartText"/>): a long title shrinks, then wraps onto a second line; labels are cut to
/// their column; the grid and the axes are sized to what is left, so nothing is drawn past the canvas in any language.
/// </summary>
internal static class SvgChart
{
    public const int Width = 800;
    private const int Margin = 24;
    internal static readonly string[] Families = ["DejaVu Sans", "Noto Sans", "Noto Sans CJK SC", "Droid Sans Fallback", "Noto Color Emoji", "Arial"];
    private static readonly string Font = string.Join(", ", Families) + ", sans-serif";
    private const string Ink = "#1f2933";
    private const string Muted = "#7b8794";
    private const string Grid = "#e4e7eb";
    private const string Accent = "#3b82f6";
    private const string AccentDark = "#1d4ed8";
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static string BarChart(string title, IReadOnlyList<Bar> bars, CultureInfo culture)
    {
        const int rowHeight = 34, labelWidth = 250;
        var (header, top) = Header(title);
        var height = top + Math.Max(1, bars.Count) * rowHeight + 24;
        var max = bars.Count == 0 ? 1 : Math.Max(1, bars.Max(b => b.Value));
        var notes = bars.Select(b => ChartText.Fit(b.Note ?? b.Value.ToString("N0", culture), 200, 15)).ToList();
        // The longest bar still leaves room for its note before the right edge.
        var plot = Width - labelWidth - Margin - 8 - (notes.Count == 0 ? 0 : notes.Max(n => ChartText.Width(n, 15)));
        var svg = Begin(height, header);
        for (var i = 0; i < bars.Count; i++)
        {
            var bar = bars[i];
            var y = top + i * rowHeight;
            var width = Math.Max(2, plot * bar.Value / max);
            svg.Append(C, $"""<text x="{labelWidth - 10}" y="{y + 22}" text-anchor="end" font-size="16" fill="{Ink}">{Escape(ChartText.Fit(bar.Label, labelWidth - 10 - Margin, 16))}</text>""");
            svg.Append(C, $"""<rect x="{labelWidth}" y="{y + 6}" width="{width:0.#}" height="{rowHeight - 12}" rx="4" fill="{(i == 0 ? AccentDark : Accent)}"/>""");
            svg.Append(C, $"""<text x="{labelWidth + width + 8:0.#}" y="{y + 22}" font-size="15" fill="{Ink}">{Escape(notes[i])}</text>""");
        }
        return End(svg);
    }

    /// <summary>A line over the points with a dashed moving average (the trend) when there are enough of them.</summary>
    public static string LineChart(string title, IReadOnlyList<Point> points, int trendWindow, CultureInfo culture)
    {
        const int right = Margin, bottom = 56;
        var (header, top) = Header(title);
        var height = top + 300 + bottom;
        var max = NiceMax(points.Count == 0 ? 1 : points.Max(p => p.Value));
        // The y axis is as wide as its widest number.
        var left = (int)Math.Ceiling(Math.Max(46, Enumerable.Range(0, 5).Max(i => ChartText.Width((max * i / 4).ToString("N0", culture), 14))) + Margin);
        var svg = Begin(height, header);
        var plotW = Width - left - right;
        var plotH = height - top - bottom;
        for (var i = 0; i <= 4; i++)
        {
            var y = top + plotH - plotH * i / 4.0;
            svg.Append(C, $"""<line x1="{left}" y1="{y:0.#}" x2="{Width - right}" y2="{y:0.#}" stroke="{Grid}"/>""");
            svg.Append(C, $"""<text x="{left - 8}" y="{y + 5:0.#}" text-anchor="end" font-size="14" fill="{Muted}">{(max * i / 4).ToString("N0", culture)}</text>""");
        }
        if (points.Count > 0)
        {
            double X(int i) => left + (points.Count == 1 ? plotW / 2.0 : plotW * i / (double)(points.Count - 1));
            double Y(double v) => top + plotH - plotH * v / max;
            var line = string.Join(" ", points.Select((p, i) => $"{X(i).ToString("0.#", C)},{Y(p.Value).ToString("0.#", C)}"));
            svg.Append(C, $"""<polygon points="{X(0):0.#},{top + plotH} {line} {X(points.Count - 1):0.#},{top + plotH}" fill="{Accent}" fill-opacity="0.15"/>""");
            svg.Append(C, $"""<polyline points="{line}" fill="none" stroke="{Accent}" stroke-width="2.5" stroke-linejoin="round"/>""");
            if (points.Count >= trendWindow * 2)
            {
                var trend = MovingAverage(points.Select(p => p.Value).ToList(), trendWindow);
                var path = string.Join(" ", trend.Select((v, i) => $"{X(i).ToString("0.#", C)},{Y(v).ToString("0.#", C)}"));
                svg.Append(C, $"""<polyline points="{path}" fill="none" stroke="{AccentDark}" stroke-width="2" stroke-dasharray="6 4"/>""");
            }
            var labels = Math.Min(points.Count, 6);
            for (var k = 0; k < labels; k++)
            {
                var i = labels == 1 ? 0 : (int)Math.Round(k * (points.Count - 1) / (double)(labels - 1));
                // Centred under its point, but never past either edge: the first and last dates stay whole.
                var label = ChartText.Fit(points[i].Label, plotW / (double)labels, 14);
                var half = ChartText.Width(label, 14) / 2;
                var x = Math.Clamp(X(i), 4 + half, Width - 4 - half);
                svg.Append(C, $"""<text x="{x:0.#}" y="{height - bottom + 24}" text-anchor="middle" font-size="14" fill="{Muted}">{Escape(label)}</text>""");
            }
        }
        svg.Append(C, $"""<line x1="{left}" y1="{top + plotH}" x2="{Width - right}" y2="{top + plotH}" stroke="{Muted}"/>""");
        return End(svg);
    }

    /// <summary>Rows are weekdays (labels given, Monday first), columns hours 0–23 of the chat's zone.</summary>
    public static string Heatmap(string title, long[,] grid, IReadOnlyList<string> dayLabels, string legend, CultureInfo culture)
    {
        const int gap = 2;
        var (header, top) = Header(title);
        var labels = dayLabels.Select(l => ChartText.Fit(l, 120, 14)).ToList();
        // Day labels as wide as the widest; 24 columns share what is left of the width (29 px at most).
        var left = (int)Math.Ceiling(Margin + labels.Max(l => ChartText.Width(l, 14)) + 8);
        var cell = Math.Min(29, (Width - left - Margin - 23 * gap) / 24);
        var height = top + 7 * (cell + gap) + 64;
        var svg = Begin(height, header);
        var max = Math.Max(1, grid.Cast<long>().Max());
        for (var d = 0; d < 7; d++)
        {
            var y = top + d * (cell + gap);
            svg.Append(C, $"""<text x="{left - 8}" y="{y + cell / 2 + 5}" text-anchor="end" font-size="14" fill="{Ink}">{Escape(labels[d])}</text>""");
            for (var h = 0; h < 24; h++)
            {
                var x = left + h * (cell + gap);
                var v = grid[d, h];
                var t = v == 0 ? 0 : 0.12 + 0.88 * v / max;
                svg.Append(C, $"""<rect x="{x}" y="{y}" width="{cell}" height="{cell}" rx="3" fill="{(v == 0 ? "#f1f5f9" : Accent)}" fill-opacity="{(v == 0 ? 1 : t):0.##}"><title>{v.ToString("N0", culture)}</title></rect>""");
            }
        }
        for (var h = 0; h < 24; h += 3)
        {
            svg.Append(C, $"""<text x="{left + h * (cell + gap) + cell / 2}" y="{top + 7 * (cell + gap) + 18}" text-anchor="middle" font-size="13" fill="{Muted}">{h:00}</text>""");
        }
        svg.Append(C, $"""<text x="{left}" y="{height - 14}" font-size="14" fill="{Muted}">{Escape(ChartText.Fit($"{legend} {max.ToString("N0", culture)}", Width - left - Margin, 14))}</text>""");
        return End(svg);
    }

    internal static List<double> MovingAverage(IReadOnlyList<double> values, int window)
    {
        var result = new List<double>(values.Count);
        var sum = 0.0;
        for (var i = 0; i < values.Count; i++)
        {
            sum += values[i];
            if (i >= window)
            {
                sum -= values[i - window];
            }
            result.Add(sum / Math.Min(i + 1, window));
        }
        return result;
    }

    /// <summary>1, 2, 2.5, 5 × 10ⁿ at or above the maximum, so the axis reads in round numbers.</summary>
    internal static double NiceMax(double max)
    {
        if (max <= 0)
        {
            return 1;
        }
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (var step in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (step * magnitude >= max)
            {
                return step * magnitude;
            }
        }
        return 10 * magnitude;
    }

    private static StringBuilder Begin(int height, string header)
    {
        var svg = new StringBuilder();
        svg.Append(C, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{Width}" height="{height}" viewBox="0 0 {Width} {height}" font-family="{Font}">""");
        svg.Append(C, $"""<rect width="{Width}" height="{height}" fill="#ffffff"/>""");
        return svg.Append(header);
    }

    /// <summary>
    /// The title, measured: at 22 px when it fits the width, smaller down to 17 px, then on two lines (the second cut
    /// with an ellipsis if even that is not enough). Returns its markup and where the chart below it starts.
    /// </summary>
    internal static (string Markup, int Top) Header(string title)
    {
        const double widest = Width - 2 * Margin;
        title = StripControl(title);
        for (var size = 22; size >= 17; size--)
        {
            if (ChartText.Width(title, size, bold: true) <= widest)
            {
                return (TitleLine(title, 38, size), 64);
            }
        }
        // Two lines at 18 px: as many words on the first as fit, the rest on the second.
        var words = title.Split(' ');
        var first = words[0];
        var n = 1;
        while (n < words.Length && ChartText.Width(first + " " + words[n], 18, bold: true) <= widest)
        {
            first += " " + words[n++];
        }
        first = ChartText.Fit(first, widest, 18, bold: true);
        var second = ChartText.Fit(string.Join(' ', words[n..]), widest, 18, bold: true);
        return (TitleLine(first, 32, 18) + TitleLine(second, 56, 18), 80);
    }

    private static string TitleLine(string text, int y, int size) =>
        string.Create(C, $"""<text x="{Margin}" y="{y}" font-size="{size}" font-weight="bold" fill="{Ink}">{Escape(text)}</text>""");

    private static string End(StringBuilder svg) => svg.Append("</svg>").ToString();

    internal static string Escape(string text) => SecurityElement.Escape(StripControl(text)) ?? "";

    // XML 1.0 has no place for most control characters; names can contain them.
    private static string StripControl(string text) =>
        text.Any(c => char.IsControl(c) && c is not '\t') ? new string([.. text.Where(c => !char.IsControl(c) || c == '\t')]) : text;
}
