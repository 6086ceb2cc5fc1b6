using System.Globalization;
using System.Net;
using System.Text;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Commands.Statistics;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Stats;

namespace ChatStats.Bot.Reports;

/// <summary>
/// The report of a chat for a period as one HTML document: overview, leaderboards, daily history, hour × weekday
/// heatmap, kinds, top words and reply pairs, with the same SVG charts the chat commands send, and a summary of what
/// was said when an AI model is configured (<see cref="Summaries.ReportSummaries"/>). Printed to PDF by
/// <see cref="PdfRenderer"/>; also written as is by <c>chatstats report --out report.html</c>.
/// </summary>
internal sealed class ReportBuilder(StatsQueries queries, WordQueries wordQueries, Summaries.ReportSummaries? summaries = null)
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
        var label = StatsSupport.Describe(period, c);

        var overview = await queries.OverviewAsync(chatId, period, ct);
        var byMessages = await queries.TopAsync(chatId, period, 15, TopMetric.Messages, ct);
        var byWords = await queries.TopAsync(chatId, period, 10, TopMetric.Words, ct);
        var days = await queries.HistoryAsync(chatId, period, ct);
        var grid = await queries.HeatmapAsync(chatId, period, ct);
        var kinds = await queries.KindsAsync(chatId, period, ct);
        var pairs = await queries.RepliesAsync(chatId, period, 10, ct);
        var words = await wordQueries.TopAsync(chatId, period, null, 30, ct);

        var html = new StringBuilder();
        html.Append($$"""
            <!DOCTYPE html>
            <html lang="{{c.TwoLetterISOLanguageName}}"><head><meta charset="utf-8">
            <title>{{E(chat.Title ?? T("ThisChat"))}} — {{E(label)}}</title>
            <style>
              @page { size: A4; margin: 16mm 14mm; @bottom-right { content: counter(page) " / " counter(pages); font-size: 9pt; color: #7b8794; } }
              body { font-family: "DejaVu Sans", "Noto Sans", "Noto Sans CJK SC", "Droid Sans Fallback", "Noto Color Emoji", sans-serif; color: #1f2933; font-size: 10.5pt; }
              h1 { font-size: 20pt; margin: 0 0 2mm; } h2 { font-size: 13pt; margin: 7mm 0 2mm; border-bottom: 1px solid #e4e7eb; padding-bottom: 1mm; }
              .muted { color: #7b8794; } table { border-collapse: collapse; width: 100%; } td, th { padding: 1mm 2mm; text-align: left; }
              td.n, th.n { text-align: right; } tr:nth-child(even) td { background: #f5f7fa; }
              .grid { display: flex; flex-wrap: wrap; gap: 3mm; } .card { border: 1px solid #e4e7eb; border-radius: 2mm; padding: 2mm 4mm; min-width: 35mm; }
              .card b { display: block; font-size: 15pt; } svg { width: 100%; height: auto; } section { break-inside: avoid; }
            </style></head><body>
            <h1>{{E(chat.Title ?? T("ThisChat"))}}</h1>
            <div class="muted">{{E(label)}} · {{E(chat.Zone.Id)}} · ChatStats</div>
            """);

        if (overview.Messages == 0)
        {
            html.Append("<p>").Append(E(T("StatsEmptyPeriod", label))).Append("</p></body></html>");
            return html.ToString();
        }
        if (summaries is not null && await summaries.SectionAsync(chat, period, label, c, ct) is { } summary)
        {
            html.Append("<section><h2>").Append(E(T("ReportSummaryTitle"))).Append("</h2>").Append(summary).Append("</section>");
        }

        html.Append("<section><div class=\"grid\">");
        Card(html, T("MetricMessages"), overview.Messages.ToString("N0", c));
        Card(html, T("MetricMembers"), overview.Members.ToString("N0", c));
        Card(html, T("MetricWords"), overview.Words.ToString("N0", c));
        Card(html, T("MetricMedia"), $"{overview.Media.ToString("N0", c)} ({((double)overview.Media / overview.Messages).ToString("P0", c)})");
        html.Append("</div><p>");
        if (overview.BusiestDay is { } day)
        {
            html.Append(E(T("StatsBusiestDay", StatsSupport.Day(day, c), overview.BusiestDayMessages.ToString("N0", c)))).Append("<br>");
        }
        if (overview.BusiestHour is { } hour)
        {
            html.Append(E(T("StatsBusiestHour", hour, (hour + 1) % 24, overview.BusiestHourMessages.ToString("N0", c)))).Append("<br>");
        }
        if (overview.PreviousMessages is { } before && before > 0)
        {
            html.Append(E(T("StatsChange", $"{period.Days} d", StatsCommand.Change(overview.Messages, before, c))));
        }
        html.Append("</p></section>");

        Leaders(html, T("TopTitle", byMessages.Leaders.Count, T("MetricMessages"), label), byMessages, c);
        if (days.Count > 1)
        {
            html.Append("<section><h2>").Append(E(T("HistoryTitle", label))).Append("</h2>")
                .Append(SvgChart.LineChart(T("HistoryTitle", label), [.. days.Select(d => new Point(d.Day.ToString("d MMM", c), d.Messages))], 7, c)).Append("</section>");
        }
        html.Append("<section><h2>").Append(E(T("ActivityTitle", label))).Append("</h2>")
            .Append(SvgChart.Heatmap(T("ActivityTitle", label), grid, T("Weekdays").Split(','), T("LegendMax"), c)).Append("</section>");
        var kindBars = kinds.Where(k => k.Value > 0).OrderByDescending(k => k.Value).Select(k => new Bar(T($"Kind_{k.Key}"), k.Value)).ToList();
        html.Append("<section><h2>").Append(E(T("TypesTitle", label))).Append("</h2>").Append(SvgChart.BarChart(T("TypesTitle", label), kindBars, c)).Append("</section>");
        Leaders(html, T("TopTitle", byWords.Leaders.Count, T("MetricWords"), label), byWords, c);

        var top = words.Words;
        if (top.Count > 0)
        {
            html.Append("<section><h2>").Append(E(T("WordsTitle", label))).Append("</h2><table>");
            foreach (var (w, i) in top.Select((w, i) => (w, i)))
            {
                html.Append(CultureInfo.InvariantCulture, $"<tr><td>{i + 1}</td><td>{E(w.Word)}</td><td class=\"n\">{w.Count.ToString("N0", c)}</td></tr>");
            }
            html.Append("</table></section>");
        }
        if (pairs.Count > 0)
        {
            html.Append("<section><h2>").Append(E(T("RepliesTitle", label))).Append("</h2><table>");
            foreach (var pair in pairs)
            {
                html.Append($"<tr><td>{E(pair.From)} → {E(pair.To)}</td><td class=\"n\">{pair.Count.ToString("N0", c)}</td></tr>");
            }
            html.Append("</table></section>");
        }
        html.Append("</body></html>");
        return html.ToString();
    }

    private static void Card(StringBuilder html, string title, string value) =>
        html.Append("<div class=\"card\"><span class=\"muted\">").Append(E(title)).Append("</span><b>").Append(E(value)).Append("</b></div>");

    private static void Leaders(StringBuilder html, string title, Leaderboard board, CultureInfo c)
    {
        if (board.Leaders.Count == 0)
        {
            return;
        }
        html.Append("<section><h2>").Append(E(title)).Append("</h2>")
            .Append(SvgChart.BarChart(title, [.. board.Leaders.Select(l => new Bar(l.Name, l.Value,
                $"{l.Value.ToString("N0", c)} ({(board.Total == 0 ? 0 : (double)l.Value / board.Total).ToString("P0", c)})"))], c))
            .Append("</section>");
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
