using System.Text;
using ChatStats.Bot.Charts;
using ChatStats.Bot.Stats;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/types [period]: how the messages divide by kind.</summary>
internal sealed class TypesCommand(StatsSupport stats) : PeriodCommand(stats, "types", "CommandTypes")
{
    protected override async Task AnswerAsync(CommandContext context, StatsRequest request, CancellationToken ct)
    {
        var kinds = await Stats.Queries.KindsAsync(context.ChatId, request.Period, ct);
        var total = kinds.Values.Sum();
        if (total == 0)
        {
            await NothingInPeriodAsync(context, request, ct);
            return;
        }
        var c = context.Culture;
        var rows = kinds.Where(k => k.Value > 0).OrderByDescending(k => k.Value).ToList();
        var text = new StringBuilder();
        text.Append("<b>").Append(Html.Escape(context.T("TypesTitle", request.Label))).Append("</b>\n");
        foreach (var (kind, count) in rows)
        {
            text.Append(Html.Escape(context.T($"Kind_{kind}"))).Append(" — ").Append(count.ToString("N0", c))
                .Append(" (").Append(((double)count / total).ToString("P1", c)).Append(")\n<code>")
                .Append(TextChart.BarOf(count, rows[0].Value, 16)).Append("</code>\n");
        }
        await Stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }
}
