using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/activity [period]: the hour × weekday heatmap.</summary>
internal sealed class ActivityCommand(StatsSupport stats) : PeriodCommand(stats)
{
    public override string Name => "activity";
    public override string DescriptionKey => "CommandActivity";

    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        var grid = await Stats.Queries.HeatmapAsync(context.ChatId, request.Period, ct);
        var period = StatsSupport.Describe(request.Period, context.Culture);
        if (grid.Cast<long>().All(v => v == 0))
        {
            await Stats.Replies.SendAsync(context, context.T("StatsEmptyPeriod", period), ct);
            return;
        }
        var days = StatsSupport.Weekdays(context);
        var svg = SvgChart.Heatmap(context.T("ActivityTitle", period), grid, days, context.T("LegendMax"), context.Culture);
        await Stats.SendChartAsync(context, svg, Html.Escape(context.T("ActivityCaption", period, request.Chat.Zone.Id)), () => TextChart.Heatmap(grid, days), ct);
    }
}
