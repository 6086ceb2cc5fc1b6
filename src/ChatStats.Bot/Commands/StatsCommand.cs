using System.Text;
using ChatStats.Bot.Stats;

namespace ChatStats.Bot.Commands;

/// <summary>/stats: the chat's messages, active members and top five, from the rollup.</summary>
internal sealed class StatsCommand(Replies replies, ChatTotalsQuery totals) : IBotCommand
{
    public const int TopCount = 5;

    public string Name => "stats";
    public string DescriptionKey => "CommandStats";
    public bool IsHeavy => true;

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (!context.IsGroup)
        {
            await replies.SendAsync(context.Message, context.T("GroupOnly"), ct);
            return;
        }
        var result = await totals.GetAsync(context.ChatId, TopCount, ct);
        await replies.SendAsync(context.Message, Render(result, context), ct);
    }

    internal static string Render(ChatTotals? totals, CommandContext context)
    {
        if (totals is null || totals.Messages == 0)
        {
            return context.T("StatsEmpty");
        }
        var culture = context.Culture;
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Escape(totals.Title ?? context.T("ThisChat"))).Append("</b>\n");
        text.Append(context.T("StatsMessages", totals.Messages.ToString("N0", culture))).Append('\n');
        text.Append(context.T("StatsMembers", totals.Members.ToString("N0", culture))).Append('\n');
        text.Append(context.T("StatsWords", totals.Words.ToString("N0", culture))).Append("\n\n");
        text.Append("<b>").Append(context.T("StatsTop", totals.Top.Count)).Append("</b>\n");
        var rank = 1;
        foreach (var member in totals.Top)
        {
            var share = totals.Messages == 0 ? 0 : (double)member.Messages / totals.Messages;
            text.Append(rank++).Append(". ").Append(Html.Escape(member.Name))
                .Append(" — ").Append(member.Messages.ToString("N0", culture))
                .Append(" (").Append(share.ToString("P0", culture)).Append(")\n");
        }
        return text.ToString().TrimEnd();
    }
}
