using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Unicode;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Reports.Pages;
using ChatStats.Bot.Stats;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.Logging.Abstractions;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Reports;

/// <summary>
/// The report of a chat for a period as one HTML document (<see cref="ReportDocument"/>): overview, leaderboards, daily history, hour × weekday
/// heatmap, kinds, top words and reply pairs, with the same SVG charts the chat commands send, and a summary of what
/// was said when an AI model is configured (<see cref="ReportSummaries"/>). Printed to PDF by
/// <see cref="PdfRenderer"/>; also written as is by <c>chatstats report --out report.html</c>.
/// </summary>
internal sealed class ReportBuilder(StatsQueries queries, WordQueries wordQueries, ReportSummaries? summaries = null)
{
    public async Task<string?> BuildAsync(long chatId, string periodText, DateTimeOffset now, CancellationToken ct)
    {
        var chat = await queries.ChatAsync(chatId, ct);
        if (chat is null)
        {
            return null;
        }
        var period = Period.TryParse(periodText, chat.Zone, now, out var error) ?? throw new ArgumentException(error);
        var c = Localizer.Choose(chat.Language, null);
        string T(string key, params object?[] args) => args.Length == 0 ? Localizer.Get(key, c) : Localizer.Format(key, c, args);
        var label = Formats.Describe(period, c);

        var overview = await queries.OverviewAsync(chatId, period, ct);
        var byMessages = await queries.TopAsync(chatId, period, 15, TopMetric.Messages, ct);
        var byWords = await queries.TopAsync(chatId, period, 10, TopMetric.Words, ct);
        var days = await queries.HistoryAsync(chatId, period, ct);
        var grid = await queries.HeatmapAsync(chatId, period, ct);
        var kinds = await queries.KindsAsync(chatId, period, ct);
        var pairs = await queries.RepliesAsync(chatId, period, 10, ct);
        var words = await wordQueries.TopAsync(chatId, period, null, 30, ct);

        var title = chat.Title ?? T("ThisChat");
        var report = new ReportContent(c.TwoLetterISOLanguageName, title, label, chat.Zone.Id);
        if (overview.Messages == 0)
        {
            return await RenderAsync(report with { Empty = T("StatsEmptyPeriod", label) });
        }
        var summary = summaries is null ? null : await summaries.SectionAsync(chat, period, label, c, ct);

        List<string> highlights = [];
        if (overview.BusiestDay is { } day)
        {
            highlights.Add(T("StatsBusiestDay", Formats.Day(day, c), overview.BusiestDayMessages.ToString("N0", c)));
        }
        if (overview.BusiestHour is { } hour)
        {
            highlights.Add(T("StatsBusiestHour", hour, (hour + 1) % 24, overview.BusiestHourMessages.ToString("N0", c)));
        }
        if (overview.PreviousMessages is { } before && before > 0)
        {
            highlights.Add(T("StatsChange", $"{period.Days} d", Formats.Change(overview.Messages, before, c)));
        }

        List<ReportSection> sections = [];
        AddLeaders(sections, T("TopTitle", byMessages.Leaders.Count, T("MetricMessages"), label), byMessages, c);
        if (days.Count > 1)
        {
            sections.Add(ReportSection.Chart(T("HistoryTitle", label),
                SvgChart.LineChart(T("HistoryTitle", label), [.. days.Select(d => new Point(d.Day.ToString("d MMM", c), d.Messages))], 7, c)));
        }
        sections.Add(ReportSection.Chart(T("ActivityTitle", label), SvgChart.Heatmap(T("ActivityTitle", label), grid, T("Weekdays").Split(','), T("LegendMax"), c)));
        var kindBars = kinds.Where(k => k.Value > 0).OrderByDescending(k => k.Value).Select(k => new Bar(T($"Kind_{k.Key}"), k.Value)).ToList();
        sections.Add(ReportSection.Chart(T("TypesTitle", label), SvgChart.BarChart(T("TypesTitle", label), kindBars, c)));
        AddLeaders(sections, T("TopTitle", byWords.Leaders.Count, T("MetricWords"), label), byWords, c);
        if (words.Words.Count > 0)
        {
            sections.Add(ReportSection.Table(T("WordsTitle", label),
                [.. words.Words.Select((w, i) => new ReportRow([(i + 1).ToString(CultureInfo.InvariantCulture), w.Word], w.Count.ToString("N0", c)))]));
        }
        if (pairs.Count > 0)
        {
            sections.Add(ReportSection.Table(T("RepliesTitle", label), [.. pairs.Select(p => new ReportRow([$"{p.From} → {p.To}"], p.Count.ToString("N0", c)))]));
        }

        return await RenderAsync(report with
        {
            SummaryTitle = T("ReportSummaryTitle"),
            Summary = summary,
            Cards =
            [
                new(T("MetricMessages"), overview.Messages.ToString("N0", c)),
                new(T("MetricMembers"), overview.Members.ToString("N0", c)),
                new(T("MetricWords"), overview.Words.ToString("N0", c)),
                new(T("MetricMedia"), $"{overview.Media.ToString("N0", c)} ({((double)overview.Media / overview.Messages).ToString("P0", c)})"),
            ],
            Highlights = highlights,
            Sections = sections,
        });
    }

    private static void AddLeaders(List<ReportSection> sections, string title, Leaderboard board, CultureInfo c)
    {
        if (board.Leaders.Count == 0)
        {
            return;
        }
        sections.Add(ReportSection.Chart(title, SvgChart.BarChart(title, [.. board.Leaders.Select(l => new Bar(l.Name, l.Value,
            $"{l.Value.ToString("N0", c)} ({(board.Total == 0 ? 0 : (double)l.Value / board.Total).ToString("P0", c)})"))], c)));
    }

    /// <summary>
    /// The renderer's own services: text keeps its letters (Cyrillic, CJK and the rest of the Basic Multilingual Plane stay
    /// as written, where the default encoder makes a numeric reference of everything outside Basic Latin); only what HTML
    /// needs is escaped.
    /// </summary>
    private static readonly IServiceProvider RenderServices = new ServiceCollection()
        .AddSingleton(HtmlEncoder.Create(UnicodeRanges.All))
        .BuildServiceProvider();

    internal static async Task<string> RenderAsync(ReportContent report)
    {
        await using var renderer = new HtmlRenderer(RenderServices, NullLoggerFactory.Instance);
        return await renderer.Dispatcher.InvokeAsync(async () =>
        {
            var document = await renderer.RenderComponentAsync<ReportDocument>(
                ParameterView.FromDictionary(new Dictionary<string, object?> { [nameof(ReportDocument.Report)] = report }));
            return document.ToHtmlString();
        });
    }
}
