using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/activity [period]: the hour × weekday heatmap.</summary>
internal sealed class ActivityCommand(StatsSupport stats) : PeriodCommand(stats, "activity", "CommandActivity")
{
    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        var grid = await Stats.Queries.HeatmapAsync(context.ChatId, request.Period, ct);
        if (grid.Cast<long>().All(v => v == 0))
        {
            await NothingInPeriodAsync(context, request, ct);
            return;
        }
        var days = StatsSupport.Weekdays(context);
        var svg = SvgChart.Heatmap(context.T("ActivityTitle", request.Label), grid, days, context.T("LegendMax"), context.Culture);
        await Stats.SendChartAsync(context, svg, Html.Escape(context.T("ActivityCaption", request.Label, request.Chat.Zone.Id)), () => TextChart.Heatmap(grid, days), ct);
    }
}
