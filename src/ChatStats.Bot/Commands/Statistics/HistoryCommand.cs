using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/history [period]: messages per day as a line, with a 7-day moving average and the week-on-week trend.</summary>
internal sealed class HistoryCommand(StatsSupport stats) : PeriodCommand(stats, "history", "CommandHistory")
{
    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        var days = await Stats.Queries.HistoryAsync(context.ChatId, request.Period, ct);
        if (days.Sum(d => d.Messages) == 0)
        {
            await NothingInPeriodAsync(context, request, ct);
            return;
        }
        var c = context.Culture;
        var points = days.Select(d => new Point(d.Day.ToString("d MMM", c), d.Messages)).ToList();
        var svg = SvgChart.LineChart(context.T("HistoryTitle", request.Label), points, 7, c);
        await Stats.SendChartAsync(context, svg, Caption(days, request.Label, context), () => TextChart.Sparkline([.. days.Select(d => (double)d.Messages)]), ct);
    }

    internal static string Caption(IReadOnlyList<DayCount> days, string period, CommandContext context)
    {
        var c = context.Culture;
        var total = days.Sum(d => d.Messages);
        var busiest = days.MaxBy(d => d.Messages)!;
        var trend = "";
        if (days.Count >= 14)
        {
            var last = days.TakeLast(7).Average(d => d.Messages);
            var before = days.SkipLast(7).TakeLast(7).Average(d => d.Messages);
            var change = before == 0 ? 1 : (last - before) / before;
            var key = change switch
            {
                > 0.1 => "TrendUp",
                < -0.1 => "TrendDown",
                _ => "TrendFlat",
            };
            trend = context.T(key, Formats.Number(last, c), Formats.Number(before, c));
        }
        return Html.Escape(context.T("HistoryCaption", period, total.ToString("N0", c), Formats.Number((double)total / days.Count, c),
            Formats.Day(busiest.Day, c), busiest.Messages.ToString("N0", c), trend).TrimEnd());
    }
}
