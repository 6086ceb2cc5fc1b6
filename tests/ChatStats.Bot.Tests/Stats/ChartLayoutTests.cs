using System.Globalization;
using System.Xml.Linq;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Stats;
using SkiaSharp;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Tests.Stats;

/// <summary>
/// Every chart kind in every shipped language, with the longest title a period can produce and long names in several
/// scripts, drawn as the bot draws them; anything painted past the canvas shows up in a transparent margin around it.
/// Set CHATSTATS_CHART_DIR to keep the PNGs for a look.
/// </summary>
public sealed class ChartLayoutTests
{
    private const int Margin = 40;

    public static TheoryData<string, string> Charts()
    {
        var data = new TheoryData<string, string>();
        foreach (var language in Localizer.Supported)
        {
            foreach (var kind in new[] { "activity", "history", "types", "top" })
            {
                data.Add(language, kind);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Charts))]
    public void NothingIsDrawnPastTheCanvas(string language, string kind)
    {
        var culture = CultureInfo.GetCultureInfo(language);
        var period = LongestPeriod(culture);
        string T(string key, params object[] args) => Localizer.Format(key, culture, args);
        var svg = kind switch
        {
            "activity" => SvgChart.Heatmap(T("ActivityTitle", period), Grid(), Localizer.Get("Weekdays", culture).Split(','), Localizer.Get("LegendMax", culture), culture),
            "history" => SvgChart.LineChart(T("HistoryTitle", period),
                [.. Enumerable.Range(0, 90).Select(i => new Point(new DateOnly(2026, 9, 30).AddDays(i - 89).ToString("d MMM", culture), 1_000_000 + i * 7_919 % 500_000))], 7, culture),
            "types" => SvgChart.BarChart(T("TypesTitle", period),
                [.. Enum.GetNames<ChatStats.Bot.Data.MessageKind>().Select((k, i) => new Bar(Localizer.Get($"Kind_{k}", culture), 9_876_543 - i * 100_000))], culture),
            _ => SvgChart.BarChart(T("TopTitle", 10, Localizer.Get("MetricChars", culture), period),
                [.. Names.Select((n, i) => new Bar(n, 123_456_789 - i * 1_000_000, $"{(123_456_789 - i * 1_000_000).ToString("N0", culture)} (12.3 %)"))], culture),
        };

        var (width, height, outside) = Draw(svg, $"{kind}-{language}");

        Assert.Equal(SvgChart.Width, width);
        Assert.True(outside == 0, $"{outside} pixels of the {kind} chart in {language} were drawn outside its {width}×{height} canvas");
        if (kind == "activity")
        {
            // All 24 hour columns of all 7 days, each inside the canvas.
            var cells = XDocument.Parse(svg).Descendants().Where(e => e.Name.LocalName == "rect" && e.Elements().Any(c => c.Name.LocalName == "title")).ToList();
            Assert.Equal(7 * 24, cells.Count);
            Assert.All(cells, c => Assert.True(double.Parse(c.Attribute("x")!.Value, CultureInfo.InvariantCulture) + double.Parse(c.Attribute("width")!.Value, CultureInfo.InvariantCulture) <= width));
        }
    }

    [Fact]
    public void TheCheckSeesWhatIsDrawnPastTheEdge()
    {
        const string overflowing = """<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50" viewBox="0 0 200 50"><rect width="200" height="50" fill="#fff"/><text x="150" y="30" font-size="20">a long line of text</text></svg>""";

        Assert.True(Draw(overflowing, null).Outside > 0);
    }

    [Fact]
    public void ALongTitleShrinksThenWrapsOntoASecondLine()
    {
        var (oneLine, top) = SvgChart.Header("Short title");
        var (twoLines, lower) = SvgChart.Header(string.Join(' ', Enumerable.Repeat("Сообщения по часам и дням недели", 4)));

        Assert.Equal(64, top);
        Assert.Contains("font-size=\"22\"", oneLine);
        Assert.Equal(80, lower);
        Assert.Equal(2, XDocument.Parse($"<g>{twoLines}</g>").Root!.Elements().Count());
    }

    private static readonly string[] Names =
    [
        "Александра Константиновна Преображенская", "李小龍 (Bruce Lee) 🦄🦄🦄", "Jean-Baptiste Emmanuel Zorg-Marceau", "Ο Αλέξανδρος Παπαδόπουλος",
        "محمد عبد الرحمن", "Nguyễn Thị Minh Khai", "😀😃😄😁😆😅🤣😂🙂🙃", "A", "Bob", "Дмитрий",
    ];

    /// <summary>The longest description a period gets in this language: a range of days in the month with the longest name.</summary>
    private static string LongestPeriod(CultureInfo culture) => Enumerable.Range(1, 12)
        .Select(m => Period.TryParse($"2026-{m:00}-20..2026-{m:00}-27", TimeZoneInfo.Utc, new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), out _)!)
        .Select(p => Formats.Describe(p, culture))
        .MaxBy(d => d.Length)!;

    private static long[,] Grid()
    {
        var grid = new long[7, 24];
        for (var d = 0; d < 7; d++)
        {
            for (var h = 0; h < 24; h++)
            {
                grid[d, h] = (d + 1) * (h + 1) * 12_345;
            }
        }
        return grid;
    }

    /// <summary>Draws the SVG as the renderer does, inside a transparent margin; counts the margin's painted pixels.</summary>
    private static (int Width, int Height, int Outside) Draw(string svg, string? name)
    {
        using var document = new Svg.Skia.SKSvg();
        var picture = document.FromSvg(svg) ?? throw new InvalidOperationException("unreadable SVG");
        var root = XDocument.Parse(svg).Root!;
        var width = int.Parse(root.Attribute("width")!.Value, CultureInfo.InvariantCulture);
        var height = int.Parse(root.Attribute("height")!.Value, CultureInfo.InvariantCulture);
        using var surface = SKSurface.Create(new SKImageInfo(width + 2 * Margin, height + 2 * Margin, SKColorType.Rgba8888, SKAlphaType.Premul))!;
        surface.Canvas.Clear(SKColors.Transparent);
        surface.Canvas.Translate(Margin, Margin);
        surface.Canvas.DrawPicture(picture);
        using var image = surface.Snapshot();
        using var bitmap = SKBitmap.FromImage(image);
        var outside = 0;
        for (var y = 0; y < bitmap.Height; y++)
        {
            for (var x = 0; x < bitmap.Width; x++)
            {
                var inside = x >= Margin && x < Margin + width && y >= Margin && y < Margin + height;
                if (!inside && bitmap.GetPixel(x, y).Alpha > 0)
                {
                    outside++;
                }
            }
        }
        if (name is not null && Environment.GetEnvironmentVariable("CHATSTATS_CHART_DIR") is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            using var png = image.Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(Path.Combine(dir, name + ".png"), png.ToArray());
        }
        return (width, height, outside);
    }
}
