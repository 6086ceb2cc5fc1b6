using System.Globalization;
using System.Xml.Linq;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Data;

namespace ChatStats.Bot.Tests.Stats;

public sealed class ChartAndWordTests
{
    private static readonly CultureInfo En = CultureInfo.GetCultureInfo("en");

    [Fact]
    public void WordsAreSplitFoldedAndFilteredButNeverStemmed()
    {
        var counter = new WordCounter();
        counter.Add("Running runs RUNNER, don't stop! https://x.com/running @runner /run #running 2026 42 ok");
        counter.Add("Санкт-Петербург и Москва — это города; ёлка елка");

        var words = counter.Top(20).ToDictionary(w => w.Word, w => w.Count);

        Assert.Equal(new Dictionary<string, long>
        {
            ["running"] = 1, ["runs"] = 1, ["runner"] = 1, ["stop"] = 1, ["санкт-петербург"] = 1, ["москва"] = 1, ["города"] = 1, ["елка"] = 2,
        }, words);
        Assert.Equal(2, counter.Messages);
    }

    [Fact]
    public void ChartsAreWellFormedSvgWithEscapedLabelsInAnyScript()
    {
        string[] names = ["<b>bold</b> & co", "Дмитрий", "李小龍", "🦄 Unicorn", "ctrl\u0001char"];
        var bars = SvgChart.BarChart("Top & more", [.. names.Select((n, i) => new Bar(n, 10 - i))], En);
        var line = SvgChart.LineChart("History", [.. Enumerable.Range(0, 30).Select(i => new Point($"{i + 1} Mar", i % 7))], 7, En);
        var grid = new long[7, 24];
        grid[2, 13] = 5;
        var heat = SvgChart.Heatmap("Activity", grid, ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "max", En);

        foreach (var svg in new[] { bars, line, heat })
        {
            var doc = XDocument.Parse(svg);
            Assert.Equal("svg", doc.Root!.Name.LocalName);
        }
        var texts = XDocument.Parse(bars).Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
        Assert.Contains("<b>bold</b> & co", texts);
        Assert.Contains("李小龍", texts);
        Assert.Contains("🦄 Unicorn", texts);
        Assert.Contains("ctrlchar", texts);
        // The trend line is drawn once there are two windows' worth of days.
        Assert.Equal(2, XDocument.Parse(line).Descendants().Count(e => e.Name.LocalName == "polyline"));
    }

    [Fact]
    public async Task TheSvgIsDrawnAsAPngInProcessOrTheRendererSaysItCannot()
    {
        var svg = SvgChart.BarChart("Names: Дмитрий, 李小龍", [new Bar("a", 1)], En);
        var renderer = new ChartRenderer(new ConfigurationBuilder().Build(), Microsoft.Extensions.Logging.Abstractions.NullLogger<ChartRenderer>.Instance);
        var off = new ChartRenderer(new ConfigurationBuilder().AddInMemoryCollection([new("Charts:Png", "off")]).Build(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<ChartRenderer>.Instance);

        var png = await renderer.ToPngAsync(svg, CancellationToken.None);

        Assert.Null(ChartRenderer.NativeProblem);
        Assert.NotNull(png);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Null(await off.ToPngAsync(svg, CancellationToken.None));
        Assert.Null(await renderer.ToPngAsync("<svg not closed", CancellationToken.None));
    }

    [Theory]
    [InlineData(5, 10, 4, "██")]
    [InlineData(1, 8, 1, "▏")]
    [InlineData(0, 10, 4, "")]
    [InlineData(10, 10, 3, "███")]
    public void TextBarsUseEighthsOfACell(double value, double max, int width, string expected) => Assert.Equal(expected, TextChart.BarOf(value, max, width));

    [Fact]
    public void AxesUseRoundNumbers() => Assert.Equal([0.5, 10, 20, 25, 50, 100, 200], new double[] { 0.3, 7, 13, 21, 42, 99, 101 }.Select(SvgChart.NiceMax));

    [Fact]
    public async Task AHelperThatHangsIsKilledAtItsTimeout()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<TimeoutException>(() => ChildProcess.RunAsync("/bin/sleep", ["30"], [], TimeSpan.FromMilliseconds(300), CancellationToken.None));

        Assert.Equal("sleep ran longer than 0 s and was killed", error.Message);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), "the sleep was not killed");
    }

    [Fact]
    public async Task WithoutWeasyprintAReportSaysWhatToInstall()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new("Reports:Weasyprint", "/nonexistent/weasyprint")]).Build();
        using var limiters = new ChatStats.Bot.Throttling.CommandLimiters(Microsoft.Extensions.Options.Options.Create(new ChatStats.Bot.Throttling.LimitsOptions()), TimeProvider.System);
        var renderer = new ChatStats.Bot.Reports.PdfRenderer(limiters, configuration, Microsoft.Extensions.Logging.Abstractions.NullLogger<ChatStats.Bot.Reports.PdfRenderer>.Instance);

        var error = await Assert.ThrowsAsync<ChatStats.Bot.Reports.PdfException>(() => renderer.RenderAsync("<p>x</p>", CancellationToken.None));

        Assert.Equal("Reports:Weasyprint is /nonexistent/weasyprint, which does not exist; fix the setting or remove it to use weasyprint from PATH.", error.Message);
    }
}
