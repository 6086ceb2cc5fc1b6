using System.Globalization;
using System.Text;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/stats [period]: totals, media share, busiest day and hour, change against the period before.</summary>
internal sealed class StatsCommand(StatsSupport stats) : PeriodCommand(stats, "stats", "CommandStats")
{
    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        var overview = await Stats.Queries.OverviewAsync(context.ChatId, request.Period, ct);
        if (overview.Messages == 0 && !await Stats.Queries.HasAnyAsync(context.ChatId, ct))
        {
            await Stats.Replies.SendAsync(context, context.T("StatsEmpty"), ct);
            return;
        }
        var top = await Stats.Queries.TopAsync(context.ChatId, request.Period, 5, TopMetric.Messages, ct);
        await Stats.Replies.SendAsync(context, Render(request, overview, top, context), ct);
    }

    internal static string Render(StatsRequest request, Overview o, Leaderboard top, CommandContext context)
    {
        var c = context.Culture;
        if (o.Messages == 0)
        {
            return context.T("StatsEmptyPeriod", request.Label);
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Name(request.Chat.Title ?? context.T("ThisChat"))).Append("</b> · ").Append(Html.Escape(request.Label)).Append('\n');
        text.Append(context.T("StatsMessages", o.Messages.ToString("N0", c))).Append('\n');
        text.Append(context.T("StatsMembers", o.Members.ToString("N0", c))).Append('\n');
        text.Append(context.T("StatsWords", o.Words.ToString("N0", c))).Append('\n');
        text.Append(context.T("StatsMedia", o.Media.ToString("N0", c), ((double)o.Media / o.Messages).ToString("P0", c))).Append('\n');
        if (o.BusiestDay is { } day)
        {
            text.Append(context.T("StatsBusiestDay", Formats.Day(day, c), o.BusiestDayMessages.ToString("N0", c))).Append('\n');
        }
        if (o.BusiestHour is { } hour)
        {
            text.Append(context.T("StatsBusiestHour", hour, (hour + 1) % 24, o.BusiestHourMessages.ToString("N0", c))).Append('\n');
        }
        if (o.PreviousMessages is { } before && request.Period.From is not null)
        {
            var span = request.Period.Days == 1 ? "24 h" : $"{request.Period.Days} d";
            text.Append(before == 0
                ? context.T("StatsChangeNew", span)
                : context.T("StatsChange", span, Formats.Change(o.Messages, before, c))).Append('\n');
        }
        if (top.Leaders.Count > 0)
        {
            text.Append('\n').Append("<b>").Append(context.T("StatsTop", top.Leaders.Count)).Append("</b>\n");
            TopCommand.AppendRows(text, top, c);
        }
        return text.ToString().TrimEnd();
    }
}
