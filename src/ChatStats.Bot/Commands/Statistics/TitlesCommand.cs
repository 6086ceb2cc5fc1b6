using System.Text;
using ChatStats.Bot.Presentation;

namespace ChatStats.Bot.Commands.Statistics;

/// <summary>/titles: the chat's names over time, newest first.</summary>
internal sealed class TitlesCommand(StatsSupport stats) : IBotCommand
{
    public string Name => "titles";
    public bool ChatWide => true;
    public string DescriptionKey => "CommandTitles";

    public async Task ExecuteAsync(CommandContext context, CancellationToken ct)
    {
        if (!context.IsGroup)
        {
            await stats.Replies.SendAsync(context, context.T("GroupOnly"), ct);
            return;
        }
        var chat = context.Chat ?? await stats.Queries.ChatAsync(context.ChatId, ct);
        var titles = await stats.Queries.TitlesAsync(context.ChatId, 30, ct);
        if (titles.Count == 0)
        {
            await stats.Replies.SendAsync(context, context.T("TitlesEmpty"), ct);
            return;
        }
        var text = new StringBuilder();
        text.Append("<b>").Append(context.T("TitlesTitle")).Append("</b>\n");
        foreach (var title in titles)
        {
            text.Append(Formats.Local(title.At, chat?.Zone ?? TimeZoneInfo.Utc, context.Culture)).Append(" — <b>").Append(Html.Name(title.Title)).Append("</b>");
            if (title.By is not null)
            {
                text.Append(' ').Append(context.T("TitleBy", Html.Name(title.By)));
            }
            text.Append('\n');
        }
        await stats.Replies.SendAsync(context, text.ToString().TrimEnd(), ct);
    }
}
