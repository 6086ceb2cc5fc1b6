using System.Text;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/replies [period]: the pairs of members who reply to each other most.</summary>
internal sealed class RepliesCommand(StatsSupport stats) : PeriodCommand(stats, "replies", "CommandReplies")
{
    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        var pairs = await Stats.Queries.RepliesAsync(context.ChatId, request.Period, 10, ct);
        if (pairs.Count == 0)
        {
            await Stats.Replies.SendAsync(context, context.T("RepliesEmpty", Html.Escape(request.Label)), ct);
            return;
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Escape(context.T("RepliesTitle", request.Label))).Append("</b>\n");
        var rank = 1;
        foreach (var pair in pairs)
        {
            text.Append(rank++).Append(". ").Append(Html.Name(pair.From)).Append(" → ").Append(Html.Name(pair.To))
                .Append(" — ").Append(pair.Count.ToString("N0", context.Culture)).Append('\n');
        }
        await Stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }
}
